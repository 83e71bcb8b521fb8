"""Knowledge base stack: the Bedrock knowledge base, its two data sources and their sync."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from custom_resources.vector_store import S3VectorIndex
from stacks.constructs.buckets import DocumentBucketRef
from stacks.constructs.document_sync import DocumentSync
from stacks.constructs.functions import FunctionCode, LambdaSources
from stacks.constructs.ingestion_jobs import IngestionJobStarter
from stacks.constructs.knowledge_base import VectorKnowledgeBase
from stacks.foundation.encryption import imported_key
from stacks.settings import (
    Chunking,
    EmbeddingSettings,
    FunctionSettings,
    KnowledgeBaseIdentity,
    KnowledgeBaseSettings,
    Lifecycle,
    VectorIndexSettings,
)


class KnowledgeBaseStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: KnowledgeBaseIdentity,
        embedding: EmbeddingSettings,
        knowledge_base: KnowledgeBaseSettings,
        stream_chunking: Chunking,
        stream_bulk: bool,
        vector_index: VectorIndexSettings,
        documents: DocumentBucketRef,
        documents_version: str,
        lambda_sources: LambdaSources,
        functions: FunctionSettings,
        lifecycle: Lifecycle,
        reranking_model_id: str = "",
        data_key_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        key = imported_key(self, data_key_arn)
        document_bucket = documents.bucket(self, "DocumentBucket")
        document_prefix = documents.document_prefix
        index = S3VectorIndex(self, "VectorIndex", index=vector_index, lifecycle=lifecycle, key=key)
        kb = VectorKnowledgeBase(
            self,
            "KnowledgeBase",
            identity=identity,
            embedding=embedding,
            vector_index=index.ref,
            documents=documents,
            lifecycle=lifecycle,
            key=key,
        )
        if reranking_model_id:
            kb.allow_reranking(reranking_model_id)
        # Created after its index; in a replacement, deleted before it.
        kb.resource.node.add_dependency(index.index)
        s3_source = kb.add_s3_data_source(
            "DocumentsDataSource",
            name=identity.documents_data_source_name,
            bucket=document_bucket,
            prefix=document_prefix,
            chunking=knowledge_base.chunking,
        )
        # One stream data source, of the path the stream takes: switching paths replaces it (docs/bulk-path.md).
        if stream_bulk:
            stream = kb.add_stream_objects_data_source(
                "StreamObjectsDataSource", name=identity.stream_data_source_name, chunking=stream_chunking
            )
        else:
            stream = kb.add_custom_data_source("StreamDataSource", name=identity.stream_data_source_name,
                                               chunking=stream_chunking)  # fmt: skip
        self.knowledge_base = kb
        self.stream_data_source_id = stream.attr_data_source_id

        sync = DocumentSync(
            self,
            "DocumentSync",
            knowledge_base_id=kb.knowledge_base_id,
            knowledge_base_arn=kb.knowledge_base_arn,
            data_source_id=s3_source.attr_data_source_id,
            bucket=document_bucket,
            prefix=document_prefix,
            documents_version=documents_version,
            batch_window_seconds=knowledge_base.sync_batch_window_seconds,
            code=FunctionCode.for_stack(self, lambda_sources, functions),
            lifecycle=lifecycle,
            key=key,
            jobs_by_starter=stream_bulk,
        )
        # The first sync waits for the data source (and the documents, deployed by the storage stack).
        sync.deployment_trigger.node.add_dependency(s3_source)
        # A replaced data source: the function's configuration names the new one before the request is sent.
        sync.deployment_trigger.node.add_dependency(sync.function)
        self.sync = sync
        # The bulk path: one starter for the knowledge base's jobs, taking turns between the two data sources.
        self.job_starter = IngestionJobStarter(
            self, "IngestionJobStarter", knowledge_base_id=kb.knowledge_base_id,
            knowledge_base_arn=kb.knowledge_base_arn, documents_data_source_id=s3_source.attr_data_source_id,
            stream_data_source_id=stream.attr_data_source_id, bucket=document_bucket,
            code=FunctionCode.for_stack(self, lambda_sources, functions), lifecycle=lifecycle,
        ) if stream_bulk else None  # fmt: skip

        CfnOutput(self, "VectorIndexArn", value=index.index_arn)
        CfnOutput(self, "KnowledgeBaseName", value=identity.name)
        CfnOutput(self, "KnowledgeBaseId", value=kb.knowledge_base_id)
        CfnOutput(self, "KnowledgeBaseArn", value=kb.knowledge_base_arn)
        CfnOutput(self, "DocumentsDataSourceId", value=s3_source.attr_data_source_id)
        CfnOutput(self, "StreamDataSourceId", value=stream.attr_data_source_id)
        CfnOutput(self, "SyncQueueUrl", value=sync.queue.queue_url)
        CfnOutput(self, "SyncDeadLetterQueueUrl", value=sync.dead_letters.queue_url)
