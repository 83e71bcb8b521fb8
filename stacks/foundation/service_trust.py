"""Trust for Bedrock service roles: only Bedrock, acting for a resource of this account, may assume them.

The conditions are the confused-deputy protection Bedrock documents for its service roles
(https://docs.aws.amazon.com/bedrock/latest/userguide/kb-permissions.html and
https://docs.aws.amazon.com/bedrock/latest/userguide/rag-eval-service-roles.html).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


def bedrock_acting_for(scope: Construct, resource: str) -> iam.ServicePrincipal:
    """bedrock.amazonaws.com, for any ``resource`` (``knowledge-base``, ``evaluation-job``) of this account."""
    stack = Stack.of(scope)
    return iam.ServicePrincipal(
        "bedrock.amazonaws.com",
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": stack.format_arn(service="bedrock", resource=resource, resource_name="*")},
        },
    )
