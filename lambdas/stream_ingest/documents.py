"""Document parts as custom-data-source documents: one winner per document ID, requests, idempotency tokens.

The ordering rule: of the records that share a document ID, the one that comes last in its partition wins
(Kafka's own order, which log compaction keeps too), whether it is a value or a tombstone. The rule is the
same within a batch and across batches, because the mapping delivers each partition's records in offset
order. Records of one document ID belong in one partition, which producing them with the same key
ensures; when one batch brings them from several partitions, the latest Kafka timestamp wins (then the
higher partition), and across batches the one processed last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream_ingest.contract import DOCUMENTS_PER_INGEST_REQUEST
from stream_ingest.mapping import AttributeValue, built_in_metadata
from stream_ingest.records import Coordinates, DocumentPart

MAX_REQUEST_BYTES = 6 * 1024 * 1024  # the API's payload limit
_REQUEST_OVERHEAD_BYTES = 512  # knowledgeBaseId, dataSourceId, clientToken and JSON punctuation
_BEDROCK_TYPES = {str: "STRING", bool: "BOOLEAN", float: "NUMBER", list: "STRING_LIST"}


@dataclass(frozen=True)
class StreamDocument:
    document_id: str
    text: str
    metadata: Mapping[str, AttributeValue]
    sources: tuple[Coordinates, ...]  # every record this document stands for
    winner: Coordinates | None = None  # the record whose content it carries (its last one)

    @property
    def origin(self) -> Coordinates:
        return self.winner or self.sources[-1]

    @property
    def attributes(self) -> dict[str, AttributeValue]:
        """The mapping's metadata and the built-in topic, partition and offset of the record it carries."""
        where = self.origin
        return {**self.metadata, **built_in_metadata(where.topic, where.partition, where.offset)}

    def as_request_item(self) -> dict[str, Any]:
        attributes = self.attributes
        return {
            "content": {
                "dataSourceType": "CUSTOM",
                "custom": {
                    "customDocumentIdentifier": {"id": self.document_id},
                    "sourceType": "IN_LINE",
                    "inlineContent": {"type": "TEXT", "textContent": {"data": self.text}},
                },
            },
            "metadata": {
                "type": "IN_LINE_ATTRIBUTE",
                "inlineAttributes": [_attribute(key, value) for key, value in attributes.items()],
            },
        }


def typed_value(value: AttributeValue) -> dict[str, Any]:
    """Bedrock's MetadataAttributeValue: the same in a request's inline attributes and an S3 sidecar."""
    kind = _BEDROCK_TYPES[type(value)]
    member = {"STRING": "stringValue", "BOOLEAN": "booleanValue", "NUMBER": "numberValue",
              "STRING_LIST": "stringListValue"}[kind]  # fmt: skip
    return {"type": kind, member: value}


def _attribute(key: str, value: AttributeValue) -> dict[str, Any]:
    return {"key": key, "value": typed_value(value)}


def _recency(part: DocumentPart) -> tuple[int, int, int]:
    return (part.timestamp_ms if part.timestamp_ms is not None else -1, part.coordinates.partition,
            part.coordinates.offset)  # fmt: skip


@dataclass(frozen=True)
class Winners:
    documents: list[StreamDocument]  # to ingest
    deletions: list[StreamDocument]  # to delete: the winner is a tombstone (text and metadata empty)


def winners(parts: Iterable[DocumentPart]) -> Winners:
    """One outcome per document ID, by the ordering rule; each stands for every record of its ID."""
    by_id: dict[str, dict[int, DocumentPart]] = {}  # document ID -> partition -> its last record
    sources: dict[str, list[Coordinates]] = {}
    for part in parts:
        sources.setdefault(part.document_id, []).append(part.coordinates)
        last = by_id.setdefault(part.document_id, {})
        current = last.get(part.coordinates.partition)
        if current is None or part.coordinates.offset > current.coordinates.offset:
            last[part.coordinates.partition] = part
    documents: list[StreamDocument] = []
    deletions: list[StreamDocument] = []
    for document_id, last in by_id.items():
        winner = max(last.values(), key=_recency)
        document = StreamDocument(document_id=document_id, text=winner.text, metadata=winner.metadata,
                                  sources=tuple(sources[document_id]), winner=winner.coordinates)  # fmt: skip
        (deletions if winner.deletes else documents).append(document)
    return Winners(documents=documents, deletions=deletions)


def operation_token(operation: str, knowledge_base_id: str, data_source_id: str, payload: Any,
                    origins: Sequence[Coordinates]) -> str:  # fmt: skip
    """An idempotency token for one operation: the same records redelivered give the same token; the same
    content from other records (a key deleted, re-created and deleted again), another knowledge base or
    data source gives another."""
    identity = {
        "operation": operation,
        "knowledgeBase": knowledge_base_id,
        "dataSource": data_source_id,
        "records": [[where.topic, where.partition, where.offset] for where in origins],
        "payload": payload,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"stream-{digest}"


@dataclass
class IngestRequest:
    documents: list[StreamDocument] = field(default_factory=list)
    size: int = _REQUEST_OVERHEAD_BYTES

    def body(self) -> list[dict[str, Any]]:
        return [document.as_request_item() for document in self.documents]

    def client_token(self, knowledge_base_id: str, data_source_id: str) -> str:
        return operation_token("ingest", knowledge_base_id, data_source_id, self.body(),
                               [document.origin for document in self.documents])  # fmt: skip


def plan_requests(documents: Iterable[StreamDocument]) -> Iterator[IngestRequest]:
    """Groups of at most 10 documents whose request stays within the 6 MB payload limit."""
    request = IngestRequest()
    for document in documents:
        size = len(json.dumps(document.as_request_item()).encode()) + 1
        full = len(request.documents) == DOCUMENTS_PER_INGEST_REQUEST or request.size + size > MAX_REQUEST_BYTES
        if request.documents and full:
            yield request
            request = IngestRequest()
        request.documents.append(document)
        request.size += size
    if request.documents:
        yield request
