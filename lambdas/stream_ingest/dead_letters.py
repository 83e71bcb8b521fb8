"""Records that cannot be ingested go to an encrypted SQS queue, with where they came from and why."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from index_check.contract import PendingCheck
from stream_ingest.records import Coordinates

MAX_VALUE_CHARACTERS = 64 * 1024  # of the base64 value kept in the message; the rest is cut
_MAX_BATCH_ENTRIES = 10
_MAX_BATCH_BYTES = 240 * 1024  # under SendMessageBatch's 256 KiB total


class DeadLetterError(RuntimeError):
    """A dead letter could not be stored: the invocation fails so that nothing is lost."""


@dataclass(frozen=True)
class DeadLetter:
    coordinates: Coordinates
    reason: str
    value: str | None  # base64, as delivered
    document_id: str | None = None  # the document the record became, when it got that far
    status: str | None = None  # Bedrock's status of that document
    status_reason: str | None = None  # and Bedrock's reason

    def body(self) -> str:
        value = self.value if isinstance(self.value, str) else None
        kept = value[:MAX_VALUE_CHARACTERS] if value is not None else None
        document = {key: item for key, item in (("documentId", self.document_id), ("status", self.status),
                                                 ("statusReason", self.status_reason)) if item is not None}  # fmt: skip
        return json.dumps(
            {
                "topic": self.coordinates.topic,
                "partition": self.coordinates.partition,
                "offset": self.coordinates.offset,
                "reason": self.reason,
                **document,
                "value": kept,
                "valueTruncated": value is not None and len(value) > MAX_VALUE_CHARACTERS,
            }
        )

    def entry(self, entry_id: str) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "MessageBody": self.body(),
            "MessageAttributes": {
                "reason": {"DataType": "String", "StringValue": self.reason[:256]},
                "topic": {"DataType": "String", "StringValue": self.coordinates.topic},
                "partition": {"DataType": "Number", "StringValue": str(self.coordinates.partition)},
                "offset": {"DataType": "Number", "StringValue": str(self.coordinates.offset)},
            },
        }


def _batches(letters: Sequence[DeadLetter]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for index, letter in enumerate(letters):
        entry = letter.entry(str(index))
        entry_size = len(entry["MessageBody"].encode()) + 512  # attributes
        if batch and (len(batch) == _MAX_BATCH_ENTRIES or size + entry_size > _MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


def send_dead_letters(sqs: Any, queue_url: str, letters: Sequence[DeadLetter]) -> None:
    for batch in _batches(letters):
        response = sqs.send_message_batch(QueueUrl=queue_url, Entries=batch)
        failed = response.get("Failed", [])
        if failed:
            first = failed[0]
            raise DeadLetterError(
                f"{len(failed)} dead letters were not stored ({first.get('Code')}: {first.get('Message', '')})"
            )


def send_pending_checks(sqs: Any, queue_url: str, checks: Sequence[PendingCheck]) -> None:
    """Hand accepted documents to the indexing check; a failure fails the invocation (the IDs make a retry safe)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for index, check in enumerate(checks):
        body = check.body()
        if batch and (len(batch) == _MAX_BATCH_ENTRIES or size + len(body) > _MAX_BATCH_BYTES):
            _send_checks(sqs, queue_url, batch)
            batch, size = [], 0
        batch.append({"Id": str(index), "MessageBody": body})
        size += len(body)
    if batch:
        _send_checks(sqs, queue_url, batch)


def _send_checks(sqs: Any, queue_url: str, entries: list[dict[str, Any]]) -> None:
    failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
    if failed:
        first = failed[0]
        raise DeadLetterError(
            f"{len(failed)} documents could not be handed to the indexing check "
            f"({first.get('Code')}: {first.get('Message', '')})"
        )
