"""Log groups for the Lambda functions CDK creates behind its built-in custom resources.

CDK's own providers (S3 auto-delete-objects, VPC default-security-group restriction) are bare
``AWS::Lambda::Function`` resources that log to ``/aws/lambda/<name>``, a group Lambda creates on
first use and CloudFormation never deletes. Giving each one a log group of the stack, with the
configured retention and removal policy, makes ``cdk destroy`` remove their logs too. The same
functions get their memory stated and their scanner findings (cdk-nag Serverless, Checkov) acknowledged
here, once per stack, each with the reason.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from stacks.foundation.checkov import skip_check
from stacks.foundation.lifecycle import log_group
from stacks.foundation.nag import acknowledge
from stacks.settings import Lifecycle

PROVIDER_MEMORY_MB = 128


def _is_bare_function(node: IConstruct) -> bool:
    return (
        isinstance(node, CfnResource)
        and node.cfn_resource_type == "AWS::Lambda::Function"
        and not isinstance(node, lambda_.CfnFunction)  # functions built with the L2 construct choose their own
    )


# The stack-level function behind every AwsCustomResource, and the one behind BucketDeployment.
_AWS_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
_BUCKET_DEPLOYMENT_PROVIDER = "Custom::CDKBucketDeployment"
_DEPLOY_TIME_ONLY = (
    "aws-cdk-lib's provider function: CloudFormation invokes it synchronously, during deployments only, and a "
    "failure fails that stack operation. It calls AWS APIs only and its environment holds no secret."
)


def acknowledge_cdk_provider_functions(stack: Stack) -> None:
    """cdk-nag Serverless findings on the functions aws-cdk-lib creates for its custom resources."""
    for child in stack.node.children:
        name = child.node.id
        if name != _AWS_CUSTOM_RESOURCE_PROVIDER and not name.startswith(_BUCKET_DEPLOYMENT_PROVIDER):
            continue
        function = child.node.find_child("Resource")
        assert isinstance(function, lambda_.CfnFunction)
        if function.memory_size is None:
            function.memory_size = PROVIDER_MEMORY_MB  # Lambda's default, stated
        for finding in ("Serverless-LambdaDLQ", "Serverless-LambdaTracing"):
            acknowledge(function, finding, _DEPLOY_TIME_ONLY)
        _skip_checkov_on_provider(function)
        if name.startswith(_BUCKET_DEPLOYMENT_PROVIDER):
            acknowledge(function, "Serverless-LambdaLatestVersion",
                        "aws-cdk-lib pins the runtime of its BucketDeployment handler (with the AWS CLI layer it "
                        "is tested with); it runs only during deployments.")  # fmt: skip


def _skip_checkov_on_provider(function: CfnResource) -> None:
    for check in PROVIDER_CHECKOV_SKIPS:
        skip_check(function, check, _DEPLOY_TIME_ONLY)


# Checkov's Lambda checks that do not apply to a function that runs during deployments only.
PROVIDER_CHECKOV_SKIPS = ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173")


def adopt_provider_log_groups(stack: Stack, lifecycle: Lifecycle) -> None:
    """Call once the stack is complete (providers are created as their users are)."""
    for node in stack.node.find_all():
        if _is_bare_function(node):
            assert isinstance(node, CfnResource)
            parent = node.node.scope
            assert isinstance(parent, Construct)
            logs = log_group(parent, "Logs", lifecycle)
            node.add_property_override("LoggingConfig.LogGroup", logs.log_group_name)
            _skip_checkov_on_provider(node)
