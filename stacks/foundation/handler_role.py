"""Execution role for deploy-time handlers that CDK creates for us (custom resources)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct


class HandlerRole(Construct):
    """Lambda execution role that may write to one log group and nothing else until granted more.

    Used instead of the AWSLambdaBasicExecutionRole managed policy, which allows writing to any log group.
    """

    def __init__(self, scope: Construct, construct_id: str, *, log_group: logs.ILogGroup, description: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        log_group.grant_write(self.role)
