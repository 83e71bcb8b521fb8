"""Storage stack: the document bucket with the sample corpus, and the S3 Vectors store."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from custom_resources.vector_store import S3VectorBucket
from stacks.constructs.buckets import AccessLogBucket, DocumentBucketRef, SecureBucket
from stacks.constructs.document_upload import DocumentUpload
from stacks.constructs.evaluation import EVALUATION_DATA_DAYS, EvaluationBucketRef
from stacks.foundation.encryption import imported_key
from stacks.settings import Lifecycle, StorageSettings


class StorageStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        storage: StorageSettings,
        lifecycle: Lifecycle,
        sample_documents: Path,
        data_key_arn: str | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        key = imported_key(self, data_key_arn)
        self.documents = DocumentBucketRef(name_prefix=name_prefix, document_prefix=storage.document_prefix)

        access_logs = AccessLogBucket(self, "AccessLogs", retain_data=lifecycle.retain_data)
        documents = SecureBucket(
            self,
            "Documents",
            access_logs=access_logs.bucket,
            log_prefix="documents/",
            retain_data=lifecycle.retain_data,
            event_bridge=True,  # object changes drive the knowledge base's sync
            bucket_name=self.documents.bucket_name(self),
            key=key,
        )

        samples = DocumentUpload(
            self,
            "SampleDocuments",
            source=sample_documents,
            bucket=documents.bucket,
            prefix=storage.document_prefix,
            lifecycle=lifecycle,
        )
        self.sample_documents_version = samples.version

        # The index lives with the knowledge base (knowledge base stack), so that a replacement deletes
        # the old knowledge base before its index.
        vector_store = S3VectorBucket(self, "VectorStore", index=storage.vector_index, lifecycle=lifecycle)

        # Datasets and results of Bedrock's RAG evaluation jobs (make evaluate ARGS=--judge): working data.
        evaluation = SecureBucket(
            self,
            "Evaluation",
            access_logs=access_logs.bucket,
            log_prefix="evaluation/",
            retain_data=lifecycle.retain_data,
            bucket_name=EvaluationBucketRef(name_prefix).bucket_name(self),
            key=key,
            expiration_days=EVALUATION_DATA_DAYS,
        )

        CfnOutput(self, "DocumentBucketName", value=documents.bucket.bucket_name)
        CfnOutput(self, "EvaluationBucketName", value=evaluation.bucket.bucket_name)
        CfnOutput(self, "DocumentPrefix", value=storage.document_prefix)
        CfnOutput(self, "VectorBucketArn", value=vector_store.bucket_arn)
