"""The bulk path's ingestion-job starter: every minute, the knowledge base's next job, for the data source whose
changes waited longest (docs/bulk-path.md, "One starter, oldest wait first")."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ingestion_jobs import contract as jobs_contract
from stacks.constructs.functions import AppFunction, FunctionCode
from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge
from stacks.settings import Lifecycle

# Ticks are independent: a failed one is followed by the next a minute later, and the markers it left wait for it.
_TICK_FAILURES = ("EventBridge invokes it asynchronously once a minute; a failed run needs no retry or dead letter: "
                  "the next run a minute later finds the same markers and jobs, so nothing is lost.")  # fmt: skip


class IngestionJobStarter(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        documents_data_source_id: str,
        stream_data_source_id: str,
        bucket: s3.IBucket,
        code: FunctionCode,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = AppFunction(
            self,
            "Handler",
            code=code,
            handler=jobs_contract.HANDLER,
            service=jobs_contract.SERVICE,
            description="Starts the knowledge base's ingestion jobs, taking turns between its data sources",
            lifecycle=lifecycle,
            timeout_seconds=jobs_contract.RUN_SECONDS + 10,
            # One starter: two would both see a free slot and race for it.
            reserved_concurrency=1,
            config=jobs_contract.StarterConfig(
                knowledge_base_id=knowledge_base_id,
                bucket=bucket.bucket_name,
                documents_data_source_id=documents_data_source_id,
                stream_data_source_id=stream_data_source_id,
            ),
        )
        role = self.function.role
        jobs = iam.PolicyStatement(
            actions=["bedrock:StartIngestionJob", "bedrock:ListIngestionJobs"], resources=[knowledge_base_arn]
        )
        role.add_to_principal_policy(jobs)
        markers = [bucket.arn_for_objects(role_.marker_key) for role_ in jobs_contract.DataSourceRole]
        # HeadObject is authorized by s3:GetObject.
        role.add_to_principal_policy(iam.PolicyStatement(
            actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources=markers))  # fmt: skip
        tick = targets.LambdaFunction(self.function.function, retry_attempts=0, max_event_age=Duration.minutes(1))
        rule = events.Rule(
            self,
            "EveryMinute",
            description="Starts the knowledge base's next ingestion job when one is due",
            schedule=events.Schedule.rate(Duration.minutes(1)),
            targets=[tick],
        )
        acknowledge(rule, "Serverless-EventBusDLQ", _TICK_FAILURES)
        acknowledge(self.function.function, "Serverless-LambdaDLQ", _TICK_FAILURES)
        skip_check(self.function.function, "CKV_AWS_116", _TICK_FAILURES)
