"""The indexing check's contract with the app: configuration, telemetry names and the message that the
stream function sends it. The construct and the stream function import this module (standard library only).

IngestKnowledgeBaseDocuments answers before indexing: STARTING, PENDING and IN_PROGRESS mean accepted,
not yet searchable, and indexing can still fail. The stream function therefore sends every accepted
document here (a queue with a delivery delay), and this function follows it to a terminal status.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from function_runtime.environment import variable
from function_runtime.sqs_limits import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES

SERVICE = "index_check"
HANDLER = f"{__package__}.handler.handler"

# GetKnowledgeBaseDocuments takes 1-10 identifiers a request (botocore model: documentIdentifiers).
DOCUMENTS_PER_STATUS_REQUEST = 10
DOCUMENTS_PER_MESSAGE = 10
# The bulk path's messages name S3 objects, which a job's statistics confirm together: many a message, so that
# 1,000 records/s make a few messages a second. Sources carry no values there (the records stay in Kafka).
OBJECTS_PER_CHECK = 500
BULK_RECHECK_SECONDS = 60  # ingestion jobs take minutes: a bulk check that must wait looks again this much later
# A check message (no attributes) within SQS's 1 MiB, so that a batch of messages also fits its 1 MiB.
MAX_CHECK_BYTES = min(MAX_MESSAGE_BYTES, MAX_BATCH_BYTES) - 1024
INDEXED = "INDEXED"
# Statuses after which the document will not become searchable as sent (values of the botocore model's
# DocumentStatus; tests/test_status_values.py checks that every value is either these, INDEXED or pending).
FAILED_STATUSES = frozenset({"FAILED", "IGNORED", "METADATA_UPDATE_FAILED", "PARTIALLY_INDEXED",
                             "METADATA_PARTIALLY_INDEXED", "NOT_FOUND"})  # fmt: skip
# Statuses of a document that is being or has been deleted. When tombstones delete documents (key-based IDs),
# an accepted document in one of these was deleted by its key before its check ran: not a failure.
DELETED_STATUSES = frozenset({"DELETING", "DELETE_IN_PROGRESS", "NOT_FOUND"})


class CheckMetric(StrEnum):
    DOCUMENTS_INDEXED = "DocumentsIndexed"
    DOCUMENTS_NOT_INDEXED = "DocumentsNotIndexed"  # failed, or not indexed within the bound: dead-lettered
    DOCUMENTS_DELETED_BEFORE_INDEXED = "DocumentsDeletedBeforeIndexed"  # by their key's tombstone
    CHECK_MESSAGES_FAILED = "CheckMessagesFailed"  # could not be stored or requeued: SQS delivers them again
    FRESHNESS = "Freshness"  # seconds from a record's Kafka timestamp to its document's confirmed INDEXED
    CHECKS_REQUEUED = "ChecksRequeued"


@dataclass(frozen=True)
class IndexCheckConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    knowledge_base_name: str = variable("KNOWLEDGE_BASE_NAME")
    data_source_id: str = variable("DATA_SOURCE_ID")
    data_source_name: str = variable("DATA_SOURCE_NAME")  # changes when the data source is replaced
    check_queue_url: str = variable("CHECK_QUEUE_URL")  # documents still indexing go back here
    dead_letter_queue_url: str = variable("DEAD_LETTER_QUEUE_URL")
    status_requests_per_second: float = variable("STATUS_REQUESTS_PER_SECOND")
    indexed_within_seconds: int = variable("INDEXED_WITHIN_SECONDS")
    # Key-based document IDs: tombstones delete documents, so a deleted document is not a failure.
    deleted_by_tombstones: bool = variable("DELETED_BY_TOMBSTONES", default=False)
    # The bulk path: the messages name objects of this bucket, which ingestion jobs index (empty: direct path).
    object_bucket: str | None = variable("OBJECT_BUCKET", default=None)


@dataclass(frozen=True)
class PendingSource:
    """A record a pending document stands for, with what a dead letter must carry."""

    topic: str
    partition: int
    offset: int
    kafka_timestamp_ms: int | None
    value: str | None  # base64, as delivered (cut only when this one value would exceed SQS's message size)
    value_truncated: bool = False


@dataclass(frozen=True)
class PendingDocument:
    document_id: str
    sources: tuple[PendingSource, ...]


@dataclass(frozen=True)
class PendingCheck:
    accepted_at: float  # epoch seconds when Bedrock accepted the documents
    documents: tuple[PendingDocument, ...]

    def body(self) -> str:
        return json.dumps({"acceptedAt": self.accepted_at, "documents": [
            {"id": document.document_id, "sources": [vars(source) for source in document.sources]}
            for document in self.documents]}, separators=(",", ":"))  # fmt: skip

    @classmethod
    def parse(cls, body: str) -> PendingCheck:
        """Raises ValueError for a body that is not a pending check."""
        try:
            content: Any = json.loads(body)
        except RecursionError:
            raise ValueError("not a pending check: nested too deeply to parse") from None
        try:
            documents = tuple(
                PendingDocument(str(item["id"]), tuple(PendingSource(**_source(source)) for source in item["sources"]))
                for item in content["documents"]
            )
            return cls(accepted_at=float(content["acceptedAt"]), documents=documents)
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a pending check: {error!r}") from None


def _source(source: Any) -> dict[str, Any]:
    if not isinstance(source, dict) or not set(source) <= set(PendingSource.__dataclass_fields__):
        raise TypeError(f"not a pending source: {str(source)[:100]}")
    return source


def _size(source: PendingSource) -> int:
    return len(json.dumps(vars(source), separators=(",", ":")).encode()) + 1


def pending_checks(
    accepted_at: float, documents: Sequence[PendingDocument], documents_per_message: int = DOCUMENTS_PER_MESSAGE
) -> list[PendingCheck]:
    """Messages of at most 10 documents within SQS's size. A document that stands for more records than one
    message holds (a hot key) is split over several messages, each with some of its records; only a value
    that alone exceeds a message is cut, and its source says so."""
    checks: list[PendingCheck] = []
    batch: list[PendingDocument] = []
    size = len(PendingCheck(accepted_at, ()).body())

    def flush() -> None:
        nonlocal batch, size
        if batch:
            checks.append(PendingCheck(accepted_at, tuple(batch)))
        batch, size = [], len(PendingCheck(accepted_at, ()).body())

    for document in documents:
        overhead = len(json.dumps({"id": document.document_id, "sources": []}).encode()) + 1
        sources: list[PendingSource] = []
        for source in map(_fit, document.sources):
            needed = _size(source) + (overhead if not sources else 0)
            if size + needed > MAX_CHECK_BYTES or (not sources and len(batch) == documents_per_message):
                if sources:
                    batch.append(PendingDocument(document.document_id, tuple(sources)))
                    sources = []
                flush()
                needed = _size(source) + overhead
            sources.append(source)
            size += needed
        if sources:
            batch.append(PendingDocument(document.document_id, tuple(sources)))
    flush()
    return checks


def _fit(source: PendingSource) -> PendingSource:
    """The source within one message: its value cut only if it alone would not fit."""
    budget = MAX_CHECK_BYTES - 4096  # the message's own fields, the document ID and this source's coordinates
    if source.value is None or len(source.value) <= budget:
        return source
    return PendingSource(source.topic, source.partition, source.offset, source.kafka_timestamp_ms,
                         source.value[:budget], value_truncated=True)  # fmt: skip
