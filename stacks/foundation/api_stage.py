"""What every API Gateway stage of this app has: an access log in its own log group, in a JSON format of the API's
choosing (the L2 stages take only some of their API type's variables, so the format is set on the resource)."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigateway
from constructs import Construct

from stacks.foundation.lifecycle import log_group
from stacks.settings import Lifecycle


def log_access(scope: Construct, stage: apigateway.HttpStage | apigateway.WebSocketStage, access_log_format: str,
               lifecycle: Lifecycle) -> None:  # fmt: skip
    access_logs = log_group(scope, "AccessLogs", lifecycle)
    resource = stage.node.default_child
    assert isinstance(resource, apigateway.CfnStage)
    resource.access_log_settings = apigateway.CfnStage.AccessLogSettingsProperty(
        destination_arn=access_logs.log_group_arn, format=access_log_format
    )
