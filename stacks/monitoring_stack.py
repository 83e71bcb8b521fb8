"""Monitoring stack: alarms, an SNS topic for them, and one operations dashboard."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.monitoring import MonitoredResources, Monitoring
from stacks.foundation.encryption import imported_key


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        resources: MonitoredResources,
        alarm_email: str,
        data_key_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.monitoring = Monitoring(self, "Monitoring", name_prefix=name_prefix, resources=resources,
                                     email=alarm_email, key=imported_key(self, data_key_arn))  # fmt: skip
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
