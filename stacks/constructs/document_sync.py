"""Keeps the S3 data source in sync: at deploy time and whenever a document changes.

S3 (EventBridge) -> rule -> SQS -> sync function -> StartIngestionJob. The queue gathers a burst of
changes for ``batch_window`` seconds, so many uploads become one ingestion job. A deploy-time custom
resource puts a message on the same queue whenever the sample documents change, which covers the
first deployment too (the documents were uploaded before this pipeline existed).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from custom_resources.sdk_call import sdk_call_resource
from ingestion_jobs.contract import DataSourceRole
from kb_sync import contract as sync_contract
from stacks.constructs.functions import AppFunction, FunctionCode
from stacks.constructs.queues import dead_letter_queue, encrypted_queue
from stacks.foundation.encryption import acknowledge_key_grants
from stacks.settings import Lifecycle

# With a 3-minute visibility timeout, 100 receives keep a change waiting up to about 5 hours for a
# long-running ingestion job to finish before the message moves to the dead-letter queue.
VISIBILITY_TIMEOUT = Duration.minutes(3)
MAX_RECEIVE_COUNT = 100


class DocumentSync(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        data_source_id: str,
        bucket: s3.IBucket,
        prefix: str,
        documents_version: str,
        batch_window_seconds: int,
        code: FunctionCode,
        lifecycle: Lifecycle,
        key: kms.IKey | None = None,
        jobs_by_starter: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(self, "DeadLetters", key=key,
                                              holds="document changes that could not start a sync")  # fmt: skip
        self.queue = encrypted_queue(
            self,
            "Changes",
            key=key,
            visibility_timeout=VISIBILITY_TIMEOUT,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=MAX_RECEIVE_COUNT),
        )
        events.Rule(
            self,
            "DocumentChanged",
            description=f"Objects created or deleted under s3://<documents>/{prefix}",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created", "Object Deleted"],
                detail={"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": prefix}]}},
            ),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dead_letters)],
        )

        self.function = AppFunction(
            self,
            "Handler",
            code=code,
            handler=sync_contract.HANDLER,
            service=sync_contract.SERVICE,
            description="Starts an ingestion job of the documents data source when documents change",
            lifecycle=lifecycle,
            timeout_seconds=30,
            config=sync_contract.SyncConfig(
                knowledge_base_id=knowledge_base_id,
                data_source_id=data_source_id,
                bucket=bucket.bucket_name,
                prefix=prefix,
                dead_letter_queue_url=self.dead_letters.queue_url,
                jobs_by_starter=jobs_by_starter,
            ),
        )
        self.function.function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=1000,
                max_batching_window=Duration.seconds(batch_window_seconds),
                report_batch_item_failures=True,
                max_concurrency=2,  # the minimum; more would only collide on the one-job-at-a-time limit
            )
        )
        if jobs_by_starter:  # the bulk path: the marker says the documents wait; the starter starts their job
            marker = bucket.arn_for_objects(DataSourceRole.DOCUMENTS.marker_key)
            self.function.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["s3:PutObject"], resources=[marker])
            )
        else:
            self.function.role.add_to_principal_policy(
                iam.PolicyStatement(actions=["bedrock:StartIngestionJob"], resources=[knowledge_base_arn])
            )
        self.dead_letters.grant_send_messages(self.function.role)
        self.function.invoked_without_async_events(
            "an SQS event source mapping invokes it synchronously; a change "
            "that keeps failing moves to the dead-letter queue by redrive"
        )
        self.function.acknowledge_sqs_mappings("the sync's dead-letter queue")
        if key:
            acknowledge_key_grants(self.function.role)

        self.deployment_trigger = sdk_call_resource(
            self,
            "DeploymentTrigger",
            lifecycle=lifecycle,
            resource_type="Custom::DocumentSyncTrigger",
            # Create, and every change of the documents version or of the data source (a replacement),
            # put one sync request on the queue.
            on_create=self._send(documents_version, data_source_id),
            on_update=self._send(documents_version, data_source_id),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.queue.queue_arn])]
            ),
        )

    def _send(self, documents_version: str, data_source_id: str) -> cr.AwsSdkCall:
        return cr.AwsSdkCall(
            service="SQS",
            action="SendMessage",
            parameters={
                "QueueUrl": self.queue.queue_url,
                "MessageBody": sync_contract.deployment_notice(documents_version, data_source_id),
            },
            physical_resource_id=cr.PhysicalResourceId.of("document-sync-trigger"),
        )
