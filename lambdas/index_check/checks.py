"""Follow accepted documents to a terminal status: INDEXED, or a failure that is dead-lettered with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from index_check.contract import (
    DELETED_STATUSES,
    DOCUMENTS_PER_STATUS_REQUEST,
    FAILED_STATUSES,
    INDEXED,
    PendingCheck,
    PendingDocument,
)
from stream_ingest.dead_letters import DeadLetter
from stream_ingest.ingest import Pacer
from stream_ingest.records import Coordinates


@dataclass
class CheckOutcome:
    indexed: int = 0
    freshness_seconds: list[float] = field(default_factory=list)  # one value per record of an indexed document
    letters: list[DeadLetter] = field(default_factory=list)  # one per record of a document that failed
    not_indexed: int = 0  # documents dead-lettered
    deleted: int = 0  # deleted by a tombstone before they were confirmed: nothing to confirm
    still_pending: list[PendingDocument] = field(default_factory=list)


def letters_for(
    document: PendingDocument, reason: str, status: str | None, status_reason: str | None
) -> list[DeadLetter]:
    return [DeadLetter(coordinates=Coordinates(source.topic, source.partition, source.offset), reason=reason,
                       value=source.value, document_id=document.document_id, status=status,
                       status_reason=status_reason, value_truncated=source.value_truncated)
            for source in document.sources]  # fmt: skip


def check_documents(
    agent: Any,
    check: PendingCheck,
    *,
    knowledge_base_id: str,
    data_source_id: str,
    pacer: Pacer,
    now: float,
    indexed_within_seconds: int,
    deleted_by_tombstones: bool = False,
) -> CheckOutcome:
    """Ask Bedrock for each document's status (10 a request, paced) and sort the documents by it."""
    outcome = CheckOutcome()
    statuses: dict[str, tuple[str, str | None]] = {}
    documents = list(check.documents)
    for start in range(0, len(documents), DOCUMENTS_PER_STATUS_REQUEST):
        chunk = documents[start : start + DOCUMENTS_PER_STATUS_REQUEST]
        pacer.wait()
        response = agent.get_knowledge_base_documents(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            documentIdentifiers=[{"dataSourceType": "CUSTOM", "custom": {"id": d.document_id}} for d in chunk],
        )
        for detail in response.get("documentDetails", []):
            document_id = detail.get("identifier", {}).get("custom", {}).get("id")
            statuses[document_id] = (detail["status"], detail.get("statusReason"))
    overdue = now - check.accepted_at > indexed_within_seconds
    for document in documents:
        status, reason = statuses.get(document.document_id, ("NOT_FOUND", "not in Bedrock's answer"))
        if status == INDEXED:
            outcome.indexed += 1
            outcome.freshness_seconds += freshness_of(document, now)
        elif deleted_by_tombstones and status in DELETED_STATUSES:
            # Accepted documents leave Bedrock only by deletion; with key-based IDs a tombstone did that.
            outcome.deleted += 1
        elif status in FAILED_STATUSES:
            outcome.not_indexed += 1
            outcome.letters += letters_for(document, f"{status}: {reason or 'no reason given'}", status, reason)
        elif overdue:
            outcome.not_indexed += 1
            outcome.letters += letters_for(document, f"not indexed within {indexed_within_seconds} s (still {status})",
                                        status, reason)  # fmt: skip
        else:
            outcome.still_pending.append(document)
    return outcome


def freshness_of(document: PendingDocument, now: float) -> Sequence[float]:
    return [max(0.0, now - source.kafka_timestamp_ms / 1000) for source in document.sources
            if source.kafka_timestamp_ms is not None]  # fmt: skip
