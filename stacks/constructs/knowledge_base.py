"""A Bedrock vector knowledge base on S3 Vectors, its service role, data sources and logs."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from custom_resources.vector_store import VectorIndexRef
from stacks.constructs.buckets import DocumentBucketRef
from stacks.foundation.lifecycle import removal_policy, retention
from stacks.foundation.nag import acknowledge
from stacks.foundation.service_trust import bedrock_acting_for
from stacks.settings import Chunking, ChunkingStrategy, EmbeddingSettings, KnowledgeBaseIdentity, Lifecycle
from stream_ingest.contract import STREAM_OBJECT_PREFIX

# What Bedrock does with an index when it ingests, queries and deletes documents.
VECTOR_INDEX_ACTIONS = [
    "s3vectors:GetIndex",
    "s3vectors:QueryVectors",
    "s3vectors:PutVectors",
    "s3vectors:GetVectors",
    "s3vectors:DeleteVectors",
]


# The documents data source: RETAIN, so deleting it never touches the vector store and a destroy cannot end in
# DELETE_UNSUCCESSFUL when the index is already gone or being deleted. Stream data sources: DELETE, because one is
# retired when the stream changes path or chunking, and its vectors must leave with it, or answers would cite the
# same record from two data sources. A data source depends on its knowledge base, which depends on the index, so
# CloudFormation deletes a data source while the index still exists.
STREAM_DATA_DELETION_POLICY = "DELETE"


def foundation_model_arn(scope: Construct, model_id: str) -> str:
    return Stack.of(scope).format_arn(
        service="bedrock", account="", resource="foundation-model", resource_name=model_id
    )


def chunking_configuration(chunking: Chunking) -> bedrock.CfnDataSource.ChunkingConfigurationProperty:
    """A data source's chunking configuration."""
    strategy, tokens, overlap = chunking.strategy, chunking.max_tokens, chunking.overlap_percentage
    if strategy is ChunkingStrategy.FIXED_SIZE:
        return bedrock.CfnDataSource.ChunkingConfigurationProperty(
            chunking_strategy=strategy.value,
            fixed_size_chunking_configuration=bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
                max_tokens=tokens, overlap_percentage=overlap
            ),
        )
    if strategy is ChunkingStrategy.SEMANTIC:
        return bedrock.CfnDataSource.ChunkingConfigurationProperty(
            chunking_strategy=strategy.value,
            semantic_chunking_configuration=bedrock.CfnDataSource.SemanticChunkingConfigurationProperty(
                max_tokens=tokens, buffer_size=0, breakpoint_percentile_threshold=95
            ),
        )
    if strategy is ChunkingStrategy.HIERARCHICAL:
        level = bedrock.CfnDataSource.HierarchicalChunkingLevelConfigurationProperty
        return bedrock.CfnDataSource.ChunkingConfigurationProperty(
            chunking_strategy=strategy.value,
            hierarchical_chunking_configuration=bedrock.CfnDataSource.HierarchicalChunkingConfigurationProperty(
                level_configurations=[level(max_tokens=tokens * 5), level(max_tokens=tokens)],
                overlap_tokens=max(1, tokens * overlap // 100),
            ),
        )
    return bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy=strategy.value)


def _s3_objects(bucket: s3.IBucket, prefix: str) -> bedrock.CfnDataSource.DataSourceConfigurationProperty:
    """An S3 data source's configuration: the objects under one prefix of one bucket."""
    return bedrock.CfnDataSource.DataSourceConfigurationProperty(
        type="S3",
        s3_configuration=bedrock.CfnDataSource.S3DataSourceConfigurationProperty(
            bucket_arn=bucket.bucket_arn, inclusion_prefixes=[prefix]
        ),
    )


class VectorKnowledgeBase(Construct):
    """``CfnKnowledgeBase`` (VECTOR, S3_VECTORS) with a least-privilege role and application logs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        identity: KnowledgeBaseIdentity,
        embedding: EmbeddingSettings,
        vector_index: VectorIndexRef,
        documents: DocumentBucketRef,
        lifecycle: Lifecycle,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.identity = identity
        self.key = key
        name = self.name = identity.name
        embedding_model_arn = foundation_model_arn(self, embedding.model_id)
        document_prefix = documents.document_prefix
        document_bucket = self.document_bucket = documents.bucket(self, "DocumentBucket")
        self.documents = documents
        document_objects = document_bucket.arn_for_objects(f"{document_prefix}*")

        self.role = iam.Role(
            self,
            "ServiceRole",
            description=f"Bedrock knowledge base {name}: embeds the documents and manages their vectors",
            # Only Bedrock acting for a knowledge base of this account may assume the role.
            assumed_by=bedrock_acting_for(self, "knowledge-base"),
            # Inline policies exist as soon as the role does: Bedrock checks them at CreateKnowledgeBase.
            inline_policies={
                "EmbeddingModel": iam.PolicyDocument(
                    statements=[iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[embedding_model_arn])]
                ),
                # As the Bedrock user guide's service-role page writes the S3 data source statements
                # (https://docs.aws.amazon.com/bedrock/latest/userguide/kb-permissions.html): ListBucket on
                # the bucket, with no s3:prefix condition (the crawler's list requests are not documented
                # to carry one), GetObject on the documents; both only in this account's bucket.
                "Documents": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["s3:ListBucket"],
                            resources=[document_bucket.bucket_arn],
                            conditions={"StringEquals": {"aws:ResourceAccount": [stack.account]}},
                        ),
                        iam.PolicyStatement(
                            actions=["s3:GetObject"],
                            resources=[document_objects],
                            conditions={"StringEquals": {"aws:ResourceAccount": [stack.account]}},
                        ),
                    ]
                ),
                "VectorIndex": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(actions=VECTOR_INDEX_ACTIONS, resources=[vector_index.index_arn(self)])
                    ]
                ),
            },
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{documents.nag_documents_arn(self)}]",
            "The knowledge base reads every document under its prefix; the object set is open-ended.",
        )

        self.resource = bedrock.CfnKnowledgeBase(
            self,
            "Resource",
            name=name,
            description="Documents from S3 and records from the Kafka stream, embedded into S3 Vectors",
            role_arn=self.role.role_arn,
            knowledge_base_configuration=bedrock.CfnKnowledgeBase.KnowledgeBaseConfigurationProperty(
                type="VECTOR",
                vector_knowledge_base_configuration=bedrock.CfnKnowledgeBase.VectorKnowledgeBaseConfigurationProperty(
                    embedding_model_arn=embedding_model_arn,
                    embedding_model_configuration=bedrock.CfnKnowledgeBase.EmbeddingModelConfigurationProperty(
                        bedrock_embedding_model_configuration=bedrock.CfnKnowledgeBase.BedrockEmbeddingModelConfigurationProperty(
                            dimensions=embedding.dimension, embedding_data_type="FLOAT32"
                        )
                    ),
                ),
            ),
            # The index ARN alone: giving the bucket ARN and index name as well fails validation.
            storage_configuration=bedrock.CfnKnowledgeBase.StorageConfigurationProperty(
                type="S3_VECTORS",
                s3_vectors_configuration=bedrock.CfnKnowledgeBase.S3VectorsConfigurationProperty(
                    index_arn=vector_index.index_arn(self)
                ),
            ),
        )
        if key:
            self._allow_key(key)
        # Depending on the role construct covers the role and any policy later attached to it.
        self.resource.node.add_dependency(self.role)
        self.knowledge_base_id = self.resource.attr_knowledge_base_id
        self.knowledge_base_arn = self.resource.attr_knowledge_base_arn
        self._add_application_logs(lifecycle)

    def _allow_key(self, key: kms.IKey) -> None:
        """What the service role needs of the customer-managed key, as the Bedrock user guide writes it:
        https://docs.aws.amazon.com/bedrock/latest/userguide/kb-permissions.html (documents encrypted in S3)
        and https://docs.aws.amazon.com/bedrock/latest/userguide/encryption-kb.html (transient data)."""
        region = Stack.of(self).region
        self.role.add_to_policy(iam.PolicyStatement(
            sid="DocumentsKey", actions=["kms:Decrypt"], resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}))  # fmt: skip
        # Ingestion's transient data, and the vectors it writes to and reads from the encrypted index.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TransientDataAndVectorsKey",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
            )
        )

    def allow_reranking(self, model_id: str) -> None:
        """Retrieve with a reranker runs the model as the knowledge base's service role: it needs
        bedrock:Rerank (no resource types) and InvokeModel on the reranking model. Reference:
        https://docs.aws.amazon.com/bedrock/latest/userguide/rerank-prereq.html"""
        self.role.add_to_policy(iam.PolicyStatement(actions=["bedrock:Rerank"], resources=["*"]))
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[foundation_model_arn(self, model_id)])
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:Rerank supports no resource-level permissions; InvokeModel names the one reranking model.",
        )

    def _add_application_logs(self, lifecycle: Lifecycle) -> None:
        # Vended logs need no resource policy on a log group under /aws/vendedlogs/.
        group_name = self.identity.application_log_group_name
        self.application_logs = logs.LogGroup(
            self,
            "ApplicationLogs",
            log_group_name=group_name,
            retention=retention(lifecycle),
            removal_policy=removal_policy(lifecycle),
        )
        source = logs.CfnDeliverySource(
            self,
            "LogSource",
            name=f"{self.name}-application",
            log_type="APPLICATION_LOGS",
            resource_arn=self.knowledge_base_arn,
        )
        destination = logs.CfnDeliveryDestination(
            self,
            "LogDestination",
            name=f"{self.name}-application",
            destination_resource_arn=Stack.of(self).format_arn(
                service="logs",
                resource="log-group",
                resource_name=group_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        destination.node.add_dependency(self.application_logs)
        delivery = logs.CfnDelivery(
            self,
            "LogDelivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.attr_arn,
        )
        delivery.node.add_dependency(source)

    def add_s3_data_source(
        self, construct_id: str, *, name: str, bucket: s3.IBucket, prefix: str, chunking: Chunking
    ) -> bedrock.CfnDataSource:
        return self._data_source(
            construct_id,
            name=name,
            description=f"Documents under s3://.../{prefix}",
            configuration=_s3_objects(bucket, prefix),
            chunking=chunking_configuration(chunking),
        )

    def add_custom_data_source(self, construct_id: str, *, name: str, chunking: Chunking) -> bedrock.CfnDataSource:
        # With no chunking each record is one chunk; either way a document is replaced as a whole by its ID.
        return self._data_source(
            construct_id,
            name=name,
            description="Records ingested directly from the Kafka stream",
            configuration=bedrock.CfnDataSource.DataSourceConfigurationProperty(type="CUSTOM"),
            chunking=chunking_configuration(chunking),
            deletion_policy=STREAM_DATA_DELETION_POLICY,
        )

    def add_stream_objects_data_source(self, construct_id: str, *, name: str,
                                       chunking: Chunking) -> bedrock.CfnDataSource:  # fmt: skip
        """The bulk path's stream data source: the objects the stream function writes under its own prefix."""
        bucket = self.document_bucket
        objects = bucket.arn_for_objects(f"{STREAM_OBJECT_PREFIX}*")
        self.role.add_to_policy(iam.PolicyStatement(
            sid="StreamObjects", actions=["s3:GetObject"], resources=[objects],
            conditions={"StringEquals": {"aws:ResourceAccount": [Stack.of(self).account]}}))  # fmt: skip
        nag_objects = self.documents.nag_objects_arn(self, STREAM_OBJECT_PREFIX)
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{nag_objects}]",
            "The knowledge base reads every object the stream function writes under its prefix.",
        )
        return self._data_source(
            construct_id,
            name=name,
            description=f"Records of the Kafka stream, written as objects under s3://.../{STREAM_OBJECT_PREFIX}",
            configuration=_s3_objects(bucket, STREAM_OBJECT_PREFIX),
            chunking=chunking_configuration(chunking),
            deletion_policy=STREAM_DATA_DELETION_POLICY,
        )

    def _data_source(
        self,
        construct_id: str,
        *,
        name: str,
        description: str,
        configuration: bedrock.CfnDataSource.DataSourceConfigurationProperty,
        chunking: bedrock.CfnDataSource.ChunkingConfigurationProperty,
        deletion_policy: str = "RETAIN",
    ) -> bedrock.CfnDataSource:
        return bedrock.CfnDataSource(
            self,
            construct_id,
            knowledge_base_id=self.knowledge_base_id,
            name=name,
            description=description,
            data_source_configuration=configuration,
            vector_ingestion_configuration=bedrock.CfnDataSource.VectorIngestionConfigurationProperty(
                chunking_configuration=chunking
            ),
            data_deletion_policy=deletion_policy,
            # Ingestion's transient copies, under the customer-managed key when there is one.
            server_side_encryption_configuration=bedrock.CfnDataSource.ServerSideEncryptionConfigurationProperty(
                kms_key_arn=self.key.key_arn
            )
            if self.key
            else None,
        )
