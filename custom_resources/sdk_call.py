"""``AwsCustomResource`` with the defaults this app wants, sharing one role and log group per stack."""

from __future__ import annotations

from typing import Any

from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.foundation.handler_role import HandlerRole
from stacks.foundation.lifecycle import log_group
from stacks.foundation.singleton import stack_singleton
from stacks.settings import Lifecycle

_PROVIDER_ID = "SdkCallProvider"


class SdkCallProvider(Construct):
    """Role and log group of the stack's singleton AwsCustomResource function.

    Every AwsCustomResource in a stack runs on one function; giving it our own role (logs to one log
    group only) avoids the AWSLambdaBasicExecutionRole managed policy, and each resource still adds
    its own narrowly scoped policy to that role.
    """

    def __init__(self, scope: Construct, construct_id: str, *, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", lifecycle)
        self.role = HandlerRole(
            self, "Role", log_group=self.log_group, description="Runs this stack's SDK-call custom resources"
        ).role

    @staticmethod
    def of(scope: Construct, lifecycle: Lifecycle) -> SdkCallProvider:
        return stack_singleton(
            scope, _PROVIDER_ID, SdkCallProvider, lambda stack, name: SdkCallProvider(stack, name, lifecycle=lifecycle)
        )


def sdk_call_resource(
    scope: Construct, construct_id: str, *, lifecycle: Lifecycle, **props: Any
) -> cr.AwsCustomResource:
    provider = SdkCallProvider.of(scope, lifecycle)
    return cr.AwsCustomResource(
        scope,
        construct_id,
        role=provider.role,
        log_group=provider.log_group,
        # The Lambda runtime's SDK is used as is: nothing is downloaded from npm during a deployment.
        install_latest_aws_sdk=False,
        **props,
    )
