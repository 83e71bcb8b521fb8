"""The IAM policy an operator needs for produce, ask, sync, upload, evaluate (with --judge) and doctor (with
--probe): the same document that ``make doctor ARGS=--print-policy`` prints and that the deploy role gets for
the pipeline's smoke test."""

from __future__ import annotations

from typing import Any

from stacks.settings import QuerySettings, data_key_alias

# The evaluation bucket's prefixes, shared with make evaluate ARGS=--judge (which imports no CDK).
DATASETS_PREFIX = "datasets/"  # what the operator uploads: the cases as Bedrock's prompt dataset
RESULTS_PREFIX = "results/"  # where the jobs write


def evaluation_role_name(name_prefix: str, region: str) -> str:
    """The role Bedrock's evaluation jobs run as: named, so that an operator may pass exactly it."""
    return f"{name_prefix}-evaluation-{region}"


def operator_policy(name_prefix: str, query: QuerySettings | None = None) -> dict[str, Any]:
    """What an operator needs for the operator commands: an IAM policy to attach.

    Resource IDs are unknown before deployment, so ARNs name this app's prefix and leave the Region and
    account open; an identity policy reaches its own account's resources only."""
    query = query or QuerySettings.model_validate({})

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:*:*:{resource}"

    def model(model_id: str) -> str:
        return f"arn:aws:bedrock:*::foundation-model/{model_id}"

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
            {"Sid": "Documents", "Effect": "Allow", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{name_prefix}-documents-*/*"},
            # make evaluate ARGS=--judge: the dataset in, the jobs started as the app's evaluation role, results out.
            {"Sid": "EvaluationData", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
             "Resource": f"arn:aws:s3:::{name_prefix}-evaluation-*/*"},
            {"Sid": "EvaluationResults", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": f"arn:aws:s3:::{name_prefix}-evaluation-*"},
            {"Sid": "EvaluationJobs", "Effect": "Allow", "Action": "bedrock:CreateEvaluationJob",
             "Resource": [model(query.evaluation_judge_model_id), model(query.foundation_model_id)]},
            {"Sid": "EvaluationProgress", "Effect": "Allow", "Action": "bedrock:GetEvaluationJob",
             "Resource": arn("bedrock", "evaluation-job/*")},
            {"Sid": "EvaluationRole", "Effect": "Allow", "Action": "iam:PassRole",
             "Resource": f"arn:aws:iam::*:role/{evaluation_role_name(name_prefix, '*')}",
             "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}},
            # encryption=customer-managed: dead letters, documents and evaluation data are under the app's key.
            {"Sid": "DataKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": arn("kms", "key/*"),
             "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": data_key_alias(name_prefix)}}},
        ],
    }  # fmt: skip
