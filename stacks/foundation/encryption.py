"""Encryption at rest under the app's customer-managed key, when the settings ask for one.

Constructs that create a data store take ``key`` (None: the service's own encryption) and name it on
the store, so CDK's grants include the key for the roles that use the store. Log groups are the one
exception: every log group of a stack gets the key from an aspect, because CloudWatch
Logs uses the key itself (the key policy admits it) and no role needs a grant to write logs: see
:class:`LogGroupEncryption`.
"""

from __future__ import annotations

import jsii
from aws_cdk import IAspect
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge

# What CDK's grants on an encrypted queue or bucket give a role on its key.
_GRANT_WILDCARDS = ("kms:GenerateDataKey*", "kms:ReEncrypt*")


def imported_key(scope: Construct, key_arn: str | None) -> kms.IKey | None:
    """The data key in ``scope``'s stack, or None without a customer-managed key."""
    return kms.Key.from_key_arn(scope, "DataKey", key_arn) if key_arn else None


def acknowledge_key_grants(role: iam.IRole) -> None:
    """CDK's grants on a store under the key add these wildcard actions, on that one key only."""
    for action in _GRANT_WILDCARDS:
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Action::{action}]",
            "CDK's grant on a store encrypted with the app's key: these KMS actions on that one key only.",
        )


@jsii.implements(IAspect)
class LogGroupEncryption:
    """Every log group of a stack, CDK's own included: under the key when there is one; otherwise under
    CloudWatch Logs' own encryption, which Checkov's CKV_AWS_158 is told on each group."""

    def __init__(self, key_arn: str | None) -> None:
        self.key_arn = key_arn

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, logs.CfnLogGroup) or node.kms_key_id is not None:
            return
        if self.key_arn:
            node.kms_key_id = self.key_arn
        else:
            skip_check(node, "CKV_AWS_158", "encryption=aws-managed: CloudWatch Logs encrypts log data with its own "
                       "keys. encryption=customer-managed puts every log group under the app's key.")  # fmt: skip


# What the customer-managed key does not encrypt, and why; the README's Security section says the same.
# A test holds every resource type whose CloudFormation schema takes a KMS key to the key or to this list.
NOT_UNDER_THE_KEY: dict[str, str] = {
    "AWS::MSK::Cluster": "The brokers' storage stays under the AWS managed key aws/kafka: its key is create-only and "
    "the cluster keeps its name, so a change would need a new cluster and lose the records it retains. Bring a "
    "cluster created with your key (existingClusterArn) to have the stream under it.",
    "AWS::Lambda::Function": "Function environments hold configuration, no data or secret; Lambda encrypts them "
    "with its own key.",
    "AWS::Lambda::EventSourceMapping": "The key would encrypt filter criteria; the mappings have none.",
    "AWS::Bedrock::Guardrail": "A guardrail holds its policy (filters, topics), not the app's data.",
    "AWS::Cognito::UserPool": "User profiles stay under Cognito's own encryption; the app stores no data there.",
    "AWS::Bedrock::KnowledgeBase": "Its ServerSideEncryptionConfiguration is for managed knowledge bases; a vector "
    "knowledge base keeps its data in the index and data sources, which are under the key.",
    "AWS::EC2::VPC": "VPC encryption controls concern traffic in transit, not data at rest.",
    "access-log bucket": "S3 delivers server access logs only to buckets encrypted with SSE-S3.",
    "chat page bucket": "It holds the chat page's public files (HTML, JavaScript, CSS and its config), which "
    "CloudFront serves to anyone; SSE-S3 keeps them encrypted at rest without giving CloudFront a key grant.",
    "vector bucket": "Each index takes its own key when it is created; the bucket keeps the SSE-S3 default it was "
    "created with, so switching the setting never replaces it.",
}
