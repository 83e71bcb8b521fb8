"""The IAM policy an operator needs for produce, ask, sync and doctor (with --probe): the same document that
``make doctor ARGS=--print-policy`` prints and that the deploy role gets for the pipeline's smoke test."""

from __future__ import annotations

from typing import Any

from stacks.settings import data_key_alias


def operator_policy(name_prefix: str) -> dict[str, Any]:
    """What an operator needs for produce, ask, sync and doctor (with --probe): an IAM policy to attach.

    Resource IDs are unknown before deployment, so ARNs name this app's prefix and leave the Region and
    account open; an identity policy reaches its own account's resources only."""

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:*:*:{resource}"

    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "FindTheApp", "Effect": "Allow", "Action": "cloudformation:DescribeStacks",
             "Resource": arn("cloudformation", f"stack/{name_prefix}-*/*")},
            {"Sid": "KnowledgeBase", "Effect": "Allow",
             "Action": ["bedrock:GetKnowledgeBase", "bedrock:GetDataSource", "bedrock:ListIngestionJobs",
                        "bedrock:GetIngestionJob", "bedrock:StartIngestionJob",
                        "bedrock:DeleteKnowledgeBaseDocuments"],
             "Resource": arn("bedrock", "knowledge-base/*")},
            {"Sid": "ModelAccess", "Effect": "Allow", "Action": "bedrock:GetFoundationModelAvailability",
             "Resource": "*"},
            {"Sid": "VectorIndex", "Effect": "Allow", "Action": "s3vectors:GetIndex",
             "Resource": arn("s3vectors", f"bucket/{name_prefix}-vectors/index/*")},
            {"Sid": "Functions", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": arn("lambda", f"function:{name_prefix}-*")},
            {"Sid": "StreamMapping", "Effect": "Allow", "Action": "lambda:GetEventSourceMapping",
             "Resource": arn("lambda", "event-source-mapping:*")},
            {"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
             "Resource": arn("sqs", f"{name_prefix}-*")},
            {"Sid": "Alarms", "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
             "Resource": arn("cloudwatch", f"alarm:{name_prefix}-monitoring-*")},
            {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricStatistics", "Resource": "*"},
            # encryption=customer-managed: reading the dead letters decrypts them; the app's key by its alias.
            {"Sid": "DataKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": arn("kms", "key/*"),
             "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": data_key_alias(name_prefix)}}},
        ],
    }  # fmt: skip
