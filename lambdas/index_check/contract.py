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

SERVICE = "index_check"
HANDLER = f"{__package__}.handler.handler"

# GetKnowledgeBaseDocuments takes 1-10 identifiers a request (botocore model: documentIdentifiers).
DOCUMENTS_PER_STATUS_REQUEST = 10
DOCUMENTS_PER_MESSAGE = 10
MAX_MESSAGE_BYTES = 200 * 1024  # under SQS's 256 KiB, with room for attributes
INDEXED = "INDEXED"
# Statuses after which the document will not become searchable as sent (values of the botocore model's
# DocumentStatus; tests/test_status_values.py checks that every value is either these, INDEXED or pending).
FAILED_STATUSES = frozenset({"FAILED", "IGNORED", "METADATA_UPDATE_FAILED", "PARTIALLY_INDEXED",
                             "METADATA_PARTIALLY_INDEXED", "NOT_FOUND"})  # fmt: skip


class CheckMetric(StrEnum):
    DOCUMENTS_INDEXED = "DocumentsIndexed"
    DOCUMENTS_NOT_INDEXED = "DocumentsNotIndexed"  # failed, or not indexed within the bound: dead-lettered
    FRESHNESS = "Freshness"  # seconds from a record's Kafka timestamp to its document's confirmed INDEXED
    CHECKS_REQUEUED = "ChecksRequeued"


@dataclass(frozen=True)
class IndexCheckConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    knowledge_base_name: str = variable("KNOWLEDGE_BASE_NAME")
    data_source_id: str = variable("DATA_SOURCE_ID")
    check_queue_url: str = variable("CHECK_QUEUE_URL")  # documents still indexing go back here
    dead_letter_queue_url: str = variable("DEAD_LETTER_QUEUE_URL")
    status_requests_per_second: float = variable("STATUS_REQUESTS_PER_SECOND")
    indexed_within_seconds: int = variable("INDEXED_WITHIN_SECONDS")


@dataclass(frozen=True)
class PendingSource:
    """A record a pending document stands for, with what a dead letter must carry."""

    topic: str
    partition: int
    offset: int
    kafka_timestamp_ms: int | None
    value: str | None  # base64, as delivered (cut when a message would exceed SQS's size)


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
        content: Any = json.loads(body)
        try:
            documents = tuple(
                PendingDocument(str(item["id"]), tuple(PendingSource(**source) for source in item["sources"]))
                for item in content["documents"]
            )
            return cls(accepted_at=float(content["acceptedAt"]), documents=documents)
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a pending check: {error!r}") from None


def pending_checks(accepted_at: float, documents: Sequence[PendingDocument]) -> list[PendingCheck]:
    """Messages of at most 10 documents and 200 KiB; values are cut to fit when a document alone is larger."""
    checks: list[PendingCheck] = []
    batch: list[PendingDocument] = []
    for document in documents:
        candidate = PendingCheck(accepted_at, (*batch, document))
        if batch and (len(batch) == DOCUMENTS_PER_MESSAGE or len(candidate.body()) > MAX_MESSAGE_BYTES):
            checks.append(PendingCheck(accepted_at, tuple(batch)))
            batch = []
        batch.append(_fit(accepted_at, document))
    if batch:
        checks.append(PendingCheck(accepted_at, tuple(batch)))
    return checks


def _fit(accepted_at: float, document: PendingDocument) -> PendingDocument:
    if len(PendingCheck(accepted_at, (document,)).body()) <= MAX_MESSAGE_BYTES:
        return document
    budget = max(0, MAX_MESSAGE_BYTES // max(1, len(document.sources)) - 200)
    return PendingDocument(document.document_id, tuple(
        PendingSource(source.topic, source.partition, source.offset, source.kafka_timestamp_ms,
                      source.value[:budget] if source.value else source.value)
        for source in document.sources))  # fmt: skip
