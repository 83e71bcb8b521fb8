"""Records that cannot be ingested go to an encrypted SQS queue, with where they came from and why."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from function_runtime.sqs_limits import (
    ATTRIBUTES_BUDGET_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_ENTRIES,
    MAX_MESSAGE_BYTES,
    acceptable_text,
)
from index_check.contract import PendingCheck
from stream_ingest.records import Coordinates

# A dead letter must fit SQS's 1 MiB with its reason and attributes: a larger value (Kafka's default 1 MB record
# is 1.33 MiB in base64) is cut to what fits, and the letter says so (valueTruncated).
_MAX_REASON_CHARACTERS = 4 * 1024


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
    value_truncated: bool = False  # the value was already cut on its way here (an indexing-check message)

    def body(self) -> str:
        """The letter as JSON within SQS's message size: a value too large for it is cut, and says so."""
        value = self.value if isinstance(self.value, str) else None
        document = {key: item[:_MAX_REASON_CHARACTERS] for key, item in (
            ("documentId", self.document_id), ("status", self.status), ("statusReason", self.status_reason))
            if item is not None}  # fmt: skip
        letter: dict[str, Any] = {
            "topic": self.coordinates.topic,
            "partition": self.coordinates.partition,
            "offset": self.coordinates.offset,
            "reason": self.reason[:_MAX_REASON_CHARACTERS],
            **document,
            "value": None,
            "valueTruncated": self.value_truncated,
        }
        room = MAX_MESSAGE_BYTES - ATTRIBUTES_BUDGET_BYTES - len(json.dumps(letter).encode()) - 64
        if value is not None:  # base64: one byte a character, nothing JSON escapes
            letter["value"] = value[: max(0, room)]
            letter["valueTruncated"] = self.value_truncated or len(value) > room
        return json.dumps(letter)

    def entry(self, entry_id: str) -> dict[str, Any]:
        return {
            "Id": entry_id,
            "MessageBody": self.body(),
            "MessageAttributes": {
                # The reason may quote a document ID or a field: characters SQS refuses become U+FFFD here (the
                # body keeps them, escaped as JSON does).
                "reason": {"DataType": "String", "StringValue": acceptable_text(self.reason[:256])},
                "topic": {"DataType": "String", "StringValue": acceptable_text(self.coordinates.topic)},
                "partition": {"DataType": "Number", "StringValue": str(self.coordinates.partition)},
                "offset": {"DataType": "Number", "StringValue": str(self.coordinates.offset)},
            },
        }


def _batches(letters: Sequence[DeadLetter]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    size = 0
    for index, letter in enumerate(letters):
        entry = letter.entry(str(index))
        entry_size = len(entry["MessageBody"].encode()) + ATTRIBUTES_BUDGET_BYTES
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
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
        if batch and (len(batch) == MAX_BATCH_ENTRIES or size + len(body.encode()) > MAX_BATCH_BYTES):
            _send_checks(sqs, queue_url, batch)
            batch, size = [], 0
        batch.append({"Id": str(index), "MessageBody": body})
        size += len(body.encode())
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
