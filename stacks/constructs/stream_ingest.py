"""The streaming ingest function, its MSK event source mapping and its dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from index_check import contract as check_contract
from ingestion_jobs.contract import DataSourceRole
from stacks.constructs.buckets import DocumentBucketRef
from stacks.constructs.functions import FORMATS_LAYER, POWERTOOLS_LAYER, AppFunction, FunctionCode
from stacks.constructs.kafka import KafkaClusterRef
from stacks.constructs.queues import dead_letter_queue, encrypted_queue
from stacks.foundation.checkov import NETWORK_INTERFACE_WRITES, skip_on_role_policy
from stacks.foundation.encryption import acknowledge_key_grants
from stacks.foundation.nag import acknowledge
from stacks.settings import (
    BULK_FUNCTION_MEMORY_MB,
    KnowledgeBaseIdentity,
    Lifecycle,
    PollerMode,
    StreamSettings,
    quota_for_the_stream,
    stream_timeout_seconds,
)
from stream_ingest import contract as stream_contract
from stream_ingest.contract import STREAM_OBJECT_PREFIX


class StreamIngest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: KnowledgeBaseIdentity,
        cluster: KafkaClusterRef,
        topic_partitions: int,
        stream: StreamSettings,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        data_source_id: str,
        code: FunctionCode,
        lifecycle: Lifecycle,
        key: kms.IKey | None = None,
        documents: DocumentBucketRef | None = None,
    ) -> None:
        """``documents``: the bulk path, which writes the stream's documents into the document bucket."""
        super().__init__(scope, construct_id)
        object_bucket = documents.bucket(self, "DocumentBucket") if documents else None
        provisioned = stream.poller_mode is PollerMode.PROVISIONED
        self.dead_letters = dead_letter_queue(
            self, "DeadLetters", key=key, holds="the stream: records that cannot be ingested or indexed"
        )
        # Accepted documents wait here (delivered after the check delay) for the indexing check.
        check_timeout_seconds = 120
        self.check_queue = encrypted_queue(
            self,
            "IndexingChecks",
            key=key,
            delivery_delay=Duration.seconds(stream.check_delay_seconds),
            visibility_timeout=Duration.seconds(check_timeout_seconds * 6),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letters, max_receive_count=5),
        )
        self.function = AppFunction(
            self,
            "Ingest",
            code=code,
            handler=stream_contract.HANDLER,
            service=stream_contract.SERVICE,
            description="Ingests the Kafka topic's records into the knowledge base's stream data source",
            lifecycle=lifecycle,
            config=stream_contract.StreamConfig(
                knowledge_base_id=knowledge_base_id,
                knowledge_base_name=identity.name,
                data_source_id=data_source_id,
                data_source_name=identity.stream_data_source_name,
                dead_letter_queue_url=self.dead_letters.queue_url,
                check_queue_url=self.check_queue.queue_url,
                document_mapping=dict(stream.mapping.source),
                quota_requests_per_second=quota_for_the_stream(stream),
                topic_partitions=topic_partitions,
                partial_batch_response=provisioned,
                object_bucket=object_bucket.bucket_name if object_bucket else None,
            ),
            timeout_seconds=stream_timeout_seconds(stream, topic_partitions),
            memory_size=BULK_FUNCTION_MEMORY_MB if object_bucket else 512,
            layers=(POWERTOOLS_LAYER, FORMATS_LAYER),
            wildcard_reasons=[
                "The event source mapping creates its pollers' network interfaces in the cluster's subnets "
                "with this role; their IDs do not exist beforehand. The Describe actions and "
                "kafka:GetBootstrapBrokers support no resource-level permissions."
            ],
        )
        role = self.function.role
        self.dead_letters.grant_send_messages(role)
        self.check_queue.grant_send_messages(role)
        if key:
            acknowledge_key_grants(role)
        self.index_check = self._index_check(identity, stream, knowledge_base_id, knowledge_base_arn, data_source_id,
                                             code, lifecycle, check_timeout_seconds, object_bucket)  # fmt: skip
        if documents and object_bucket:
            self._grant_objects(role, object_bucket, deletes=stream.mapping.id.deletes)
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{documents.nag_objects_arn(self, STREAM_OBJECT_PREFIX)}]",
                        "The bulk path writes one object per document under the stream's prefix, and nowhere else; "
                        "their names come from the records.")  # fmt: skip
            self._grant_marker(self.index_check.role, object_bucket)
        # The Sid names the stream data source's generation, so the policy is updated (and the ARN read anew)
        # whenever the knowledge base or the data source is replaced.
        deletes = stream.mapping.id.deletes
        if not object_bucket:
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid=f"KnowledgeBase{identity.stream_generation}",
                    # Delete: with key-based document IDs, a tombstone removes its key's document.
                    actions=["bedrock:IngestKnowledgeBaseDocuments"]
                    + (["bedrock:DeleteKnowledgeBaseDocuments"] if deletes else []),
                    resources=[knowledge_base_arn],
                )
            )
        consumer_group_id = identity.stream_consumer_group_id
        cluster.grant_consume(role, consumer_group_id)

        # The plain mapping construct: ManagedKafkaEventSource would attach AWSLambdaMSKExecutionRole,
        # which allows writing any log group and describing any cluster. The role gets what the
        # mapping needs on this cluster instead (below).
        # One mapping per stream data source: a new knowledge base or data source gets a new mapping and
        # consumer group, which read the topic again from its start (as far back as Kafka retains it).
        self.event_source_mapping = lambda_.EventSourceMapping(
            self,
            f"EventSourceMapping{identity.stream_generation}",
            target=self.function.function,
            event_source_arn=cluster.cluster_arn,
            kafka_topic=cluster.topic_name,
            kafka_consumer_group_id=consumer_group_id,
            # Records published before the mapping existed (the first sample stream) are not skipped.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=stream.records_per_batch,
            max_batching_window=Duration.seconds(stream.batching_window_seconds),
            # Only provisioned mode honours these; on-demand mappings get none of them rather than ignore them.
            provisioned_poller_config=(
                lambda_.ProvisionedPollerConfig(minimum_pollers=1, maximum_pollers=2) if provisioned else None
            ),
            report_batch_item_failures=True if provisioned else None,
            bisect_batch_on_error=True if provisioned else None,
            retry_attempts=stream.retry_attempts if provisioned else None,
            on_failure=sources.SqsDlq(self.dead_letters) if provisioned else None,
            schema_registry_config=self._schema_registry(stream),
            # The mapping's own telemetry (AWS/Lambda, by EventSourceMappingUUID) and its poller's warnings in
            # the function's log group: the monitoring dashboard graphs them.
            metrics_config=lambda_.MetricsConfig(metrics=[lambda_.MetricType.EVENT_COUNT,
                                                          lambda_.MetricType.ERROR_COUNT,
                                                          lambda_.MetricType.KAFKA_METRICS]),
            log_level=lambda_.EventSourceMappingLogLevel.WARN,
        )  # fmt: skip
        if stream.schema_registry_arn:
            registry = stream.schema_registry_arn.rsplit("/", 1)[1]
            schemas = ('["arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:schema/${registryName}/*",'
                       f'{{"registryName":"{registry}"}}]')  # fmt: skip
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{schemas}]",
                        "The mapping reads whichever schema version a record names, so it may read every schema of "
                        "the one registry it is configured with (glue:GetSchemaVersion, granted by CDK).")  # fmt: skip
        if not provisioned:
            acknowledge(self.event_source_mapping, "Serverless-LambdaEventSourceMappingDestination",
                        "On-demand Kafka mappings take no on-failure destination (provisioned mode adds one); the "
                        "function dead-letters every record it cannot ingest itself, with the reason.")  # fmt: skip
        self.function.invoked_without_async_events(
            "the MSK event source mapping invokes it synchronously with each batch; it dead-letters the records "
            "it cannot ingest itself, and in provisioned mode the mapping sends failed batches there too."
        )
        self._grant_mapping(role, cluster.cluster_arn)
        skip_on_role_policy(role, "CKV_AWS_111", NETWORK_INTERFACE_WRITES)

    def _index_check(
        self,
        identity: KnowledgeBaseIdentity,
        stream: StreamSettings,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        data_source_id: str,
        code: FunctionCode,
        lifecycle: Lifecycle,
        timeout_seconds: int,
        object_bucket: s3.IBucket | None,
    ) -> AppFunction:
        """The function that follows accepted documents until Bedrock has indexed them or failed."""
        # At most two invocations at a time (SQS's minimum): each takes half the status-request budget.
        concurrency = 2
        check = AppFunction(
            self,
            "IndexCheck",
            code=code,
            handler=check_contract.HANDLER,
            service=check_contract.SERVICE,
            description="Confirms that stream documents become searchable; dead-letters those that do not",
            lifecycle=lifecycle,
            config=check_contract.IndexCheckConfig(
                knowledge_base_id=knowledge_base_id,
                knowledge_base_name=identity.name,
                data_source_id=data_source_id,
                data_source_name=identity.stream_data_source_name,
                check_queue_url=self.check_queue.queue_url,
                dead_letter_queue_url=self.dead_letters.queue_url,
                status_requests_per_second=round(stream.status_requests_per_second / concurrency, 3),
                indexed_within_seconds=stream.indexed_within_seconds,
                deleted_by_tombstones=stream.mapping.id.deletes,
                object_bucket=object_bucket.bucket_name if object_bucket else None,
            ),
            timeout_seconds=timeout_seconds,
        )
        check.function.add_event_source(
            sources.SqsEventSource(
                self.check_queue, batch_size=10, report_batch_item_failures=True, max_concurrency=concurrency
            )
        )
        check.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"KnowledgeBase{identity.stream_generation}",
                # The bulk path follows the objects through the data source's ingestion jobs.
                actions=["bedrock:GetKnowledgeBaseDocuments"]
                + (["bedrock:ListIngestionJobs", "bedrock:GetIngestionJob"] if object_bucket else []),
                resources=[knowledge_base_arn],
            )
        )
        check.invoked_without_async_events(
            "an SQS event source mapping invokes it synchronously; a message that "
            "keeps failing moves to the dead-letter queue by the check queue's redrive"
        )
        check.acknowledge_sqs_mappings("the stream's dead-letter queue")
        self.check_queue.grant_send_messages(check.role)
        if self.check_queue.encryption_master_key:
            acknowledge_key_grants(check.role)
        self.dead_letters.grant_send_messages(check.role)
        return check

    @staticmethod
    def _grant_objects(role: iam.Role, bucket: s3.IBucket, *, deletes: bool) -> None:
        """Writes under the stream's prefix only (and its marker); deletes only where tombstones delete documents."""
        objects = bucket.arn_for_objects(f"{STREAM_OBJECT_PREFIX}*")
        role.add_to_principal_policy(iam.PolicyStatement(
            sid="StreamObjects", actions=["s3:PutObject"] + (["s3:DeleteObject"] if deletes else []),
            resources=[objects]))  # fmt: skip
        StreamIngest._grant_marker(role, bucket)

    @staticmethod
    def _grant_marker(role: iam.Role, bucket: s3.IBucket) -> None:
        """The stream data source's marker: changes wait for the ingestion-job starter."""
        marker = bucket.arn_for_objects(DataSourceRole.STREAM.marker_key)
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[marker]))

    @staticmethod
    def _schema_registry(stream: StreamSettings) -> sources.GlueSchemaRegistry | None:
        """The Glue registry the mapping validates and decodes values with; CDK grants the role what the
        mapping needs of it (glue:GetRegistry, glue:GetSchemaVersion on the registry and its schemas)."""
        if not stream.schema_registry_arn:
            return None
        return sources.GlueSchemaRegistry(
            schema_registry_arn=stream.schema_registry_arn,
            event_record_format=lambda_.EventRecordFormat.JSON,
            schema_validation_configs=[
                lambda_.KafkaSchemaValidationConfig(attribute=lambda_.KafkaSchemaValidationAttribute.VALUE)
            ],
        )

    @staticmethod
    def _grant_mapping(role: iam.Role, cluster_arn: str) -> None:
        """What AWSLambdaMSKExecutionRole is for, as narrow as AWS's authorization data allows.

        The Lambda developer guide's list for MSK mappings
        (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html); tests/support/
        documented_permissions.py records it and the tests hold this role to it.
        """
        # DescribeClusterV2 alone: the guide asks for it rather than DescribeCluster, one of the two suffices.
        role.add_to_principal_policy(iam.PolicyStatement(actions=["kafka:DescribeClusterV2"], resources=[cluster_arn]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                # No resource types for GetBootstrapBrokers, and the pollers' network interfaces in the
                # cluster's subnets have no IDs before they exist: the Describe actions take no resource.
                actions=[
                    "kafka:GetBootstrapBrokers",
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                ],
                resources=["*"],
            )
        )
