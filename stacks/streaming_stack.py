"""Streaming stack: Kafka topic -> event source mapping -> ingest function -> knowledge base (directly, or through
S3 objects and ingestion jobs on the bulk path)."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.buckets import DocumentBucketRef
from stacks.constructs.functions import FunctionCode, LambdaSources
from stacks.constructs.kafka import KafkaClusterRef
from stacks.constructs.stream_ingest import StreamIngest
from stacks.foundation.encryption import imported_key
from stacks.settings import FunctionSettings, KnowledgeBaseIdentity, Lifecycle, StreamSettings


class StreamingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: KnowledgeBaseIdentity,
        stream: StreamSettings,
        cluster: KafkaClusterRef,
        topic_partitions: int,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        data_source_id: str,
        documents: DocumentBucketRef,
        lambda_sources: LambdaSources,
        functions: FunctionSettings,
        lifecycle: Lifecycle,
        data_key_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.ingest = StreamIngest(
            self,
            "StreamIngest",
            identity=identity,
            cluster=cluster,
            topic_partitions=topic_partitions,
            stream=stream,
            knowledge_base_id=knowledge_base_id,
            knowledge_base_arn=knowledge_base_arn,
            data_source_id=data_source_id,
            # The bulk path writes the stream's documents into the document bucket, under a prefix of their own.
            documents=documents if stream.bulk else None,
            code=FunctionCode.for_stack(self, lambda_sources, functions),
            lifecycle=lifecycle,
            key=imported_key(self, data_key_arn),
        )
        CfnOutput(self, "IngestFunctionName", value=self.ingest.function.function.function_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.ingest.dead_letters.queue_url)
        CfnOutput(self, "EventSourceMappingId", value=self.ingest.event_source_mapping.event_source_mapping_id)
