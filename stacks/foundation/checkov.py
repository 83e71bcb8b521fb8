"""Checkov skips, each on the one resource it concerns and with its reason.

Checkov reads ``Metadata.checkov.skip`` of a CloudFormation resource (``[{"id", "comment"}]``) and reports
the check as skipped with that comment; the tests fail on any skip without a reason and on any global skip.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource
from aws_cdk import aws_iam as iam
from constructs import IConstruct

# Checkov's CKV_AWS_111 on the ENI actions Lambda documents for VPC functions and Kafka mappings.
NETWORK_INTERFACE_WRITES = (
    "Lambda's documented permissions for functions and mappings in a VPC: it creates and deletes the network "
    "interfaces with this role, and their IDs do not exist beforehand (AWSLambdaVPCAccessExecutionRole and "
    "AWSLambdaMSKExecutionRole grant the same on *)."
)


def skip_check(construct: IConstruct, check_id: str, reason: str) -> None:
    """Skip Checkov's ``check_id`` (``CKV_AWS_117``) on ``construct``'s CloudFormation resource."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    assert isinstance(resource, CfnResource), f"{construct.node.path} has no CloudFormation resource"
    existing: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    skips = [skip for skip in existing["skip"] if skip["id"] != check_id]
    resource.add_metadata("checkov", {"skip": [*skips, {"id": check_id, "comment": reason}]})


def skip_on_role_policy(role: iam.Role, check_id: str, reason: str) -> None:
    """Skip ``check_id`` on the policy CDK attaches to ``role`` for its added statements."""
    policy = role.node.find_child("DefaultPolicy")
    skip_check(policy.node.find_child("Resource"), check_id, reason)
