"""Log groups for the Lambda functions CDK creates behind its built-in custom resources.

CDK's own providers (S3 auto-delete-objects, VPC default-security-group restriction) are bare
``AWS::Lambda::Function`` resources that log to ``/aws/lambda/<name>``, a group Lambda creates on
first use and CloudFormation never deletes. Giving each one a log group of the stack, with the
configured retention and removal policy, makes ``cdk destroy`` remove their logs too.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from stacks.foundation.lifecycle import log_group
from stacks.settings import Lifecycle


def _is_bare_function(node: IConstruct) -> bool:
    return (
        isinstance(node, CfnResource)
        and node.cfn_resource_type == "AWS::Lambda::Function"
        and not isinstance(node, lambda_.CfnFunction)  # functions built with the L2 construct choose their own
    )


def adopt_provider_log_groups(stack: Stack, lifecycle: Lifecycle) -> None:
    """Call once the stack is complete (providers are created as their users are)."""
    for node in stack.node.find_all():
        if _is_bare_function(node):
            assert isinstance(node, CfnResource)
            parent = node.node.scope
            assert isinstance(parent, Construct)
            logs = log_group(parent, "Logs", lifecycle)
            node.add_property_override("LoggingConfig.LogGroup", logs.log_group_name)
