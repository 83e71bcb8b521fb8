"""The stream function's contract with the app: its configuration, telemetry names and the AWS limit it
works within. The construct that deploys the function imports this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from function_runtime.environment import variable

SERVICE = "stream_ingest"  # Powertools service name: the "service" dimension of the metrics below
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler

# IngestKnowledgeBaseDocuments takes 1-10 documents a request (botocore model: documents, min 1, max 10).
# https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent_IngestKnowledgeBaseDocuments.html
DOCUMENTS_PER_INGEST_REQUEST = 10
# The bulk path writes the stream's documents as objects under this prefix of the document bucket, which the
# stream's S3 data source reads (docs/bulk-path.md).
STREAM_OBJECT_PREFIX = "stream/"


def batch_share(quota_requests_per_second: float, partitions_in_batch: int, topic_partitions: int) -> float:
    """Requests per second for a batch holding ``partitions_in_batch`` of the topic's partitions.

    Batches in flight at the same time never share a partition, so their shares never add up to more
    than the quota, and a batch holding every partition gets all of it (``stream_ingest.ingest.Pacer``
    gives each partition its slots of one schedule).
    """
    share = max(1, min(partitions_in_batch, topic_partitions)) / max(1, topic_partitions)
    return quota_requests_per_second * share


class StreamMetric(StrEnum):
    RECORDS_RECEIVED = "RecordsReceived"
    POISON_RECORDS = "PoisonRecords"
    INGEST_REQUESTS = "IngestRequests"
    INGEST_RETRIES = "IngestRetries"  # attempts botocore repeated, mostly after throttling
    DOCUMENTS_INGESTED = "DocumentsIngested"
    DOCUMENTS_REJECTED = "DocumentsRejected"
    DOCUMENTS_FAILED = "DocumentsFailed"
    DOCUMENTS_DELETED = "DocumentsDeleted"  # by tombstones (key-based document IDs)
    OBJECTS_WRITTEN = "ObjectsWritten"  # bulk path: documents and CSV groups written to S3 (sidecars not counted)
    S3_REQUESTS = "S3Requests"  # bulk path: PUT and DELETE requests, sidecars and the marker included


@dataclass(frozen=True)
class StreamConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    # Changes whenever the knowledge base is replaced: the function is then updated with the new ID.
    knowledge_base_name: str = variable("KNOWLEDGE_BASE_NAME")
    data_source_id: str = variable("DATA_SOURCE_ID")
    # Changes whenever the stream data source is replaced (its chunking changed): the function is then updated.
    data_source_name: str = variable("DATA_SOURCE_NAME")
    dead_letter_queue_url: str = variable("DEAD_LETTER_QUEUE_URL")
    # Accepted documents go here: the indexing check follows them until they are searchable.
    check_queue_url: str = variable("CHECK_QUEUE_URL")
    # The app:streamDocument mapping (stream_ingest.mapping), validated at synthesis.
    document_mapping: dict[str, Any] = variable("STREAM_DOCUMENT")
    # The account's IngestKnowledgeBaseDocuments quota for the whole topic, less headroom. The mapping runs
    # at most one invocation per partition at a time; each paces at the share of the partitions it holds.
    quota_requests_per_second: float = variable("INGEST_QUOTA_REQUESTS_PER_SECOND")
    topic_partitions: int = variable("TOPIC_PARTITIONS")
    # Provisioned pollers honour batchItemFailures; on-demand mappings ignore them.
    partial_batch_response: bool = variable("PARTIAL_BATCH_RESPONSE")
    # The bulk path (docs/bulk-path.md): the bucket its objects go to; empty on the direct path.
    object_bucket: str | None = variable("OBJECT_BUCKET", default=None)
