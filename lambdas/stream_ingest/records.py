"""Kafka records from the MSK event source mapping, turned into document parts by the mapping or set aside as poison.

The event is read field by field rather than through Powertools' Kafka data classes: a record that is
not what Lambda sends must become one dead letter with its reason, not an exception for the whole batch."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_ingest.formats import Decoder, UndecodableValue
from stream_ingest.mapping import (
    MAX_DOCUMENT_ID_CHARACTERS,
    MAX_METADATA_BYTES,
    MAX_TEXT_CHARACTERS,
    MAX_VALUE_BYTES,
    AttributeValue,
    DocumentMapping,
    FieldError,
    RecordView,
    attribute_value,
    built_in_metadata,
    metadata_bytes,
)


class InvalidEvent(ValueError):
    """The invocation event is not an MSK event at all; nothing in it was processed."""


class PoisonRecord(ValueError):
    """One record cannot become a document; it is set aside with this reason."""


@dataclass(frozen=True)
class Coordinates:
    """Where a record lives in Kafka: its identity across redeliveries."""

    topic: str
    partition: int
    offset: int

    @property
    def partition_key(self) -> str:
        """The ``<topic>-<partition>`` key of the event, also the partition of a batch item failure."""
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True)
class KafkaRecord:
    coordinates: Coordinates
    value: str | None  # base64, as delivered
    timestamp_ms: int | None = None  # Kafka's record timestamp, when the event gives a valid one
    key: str | None = None  # base64, as delivered

    @property
    def is_tombstone(self) -> bool:
        """A key with no value: a deletion on a compacted topic."""
        return self.value is None and bool(self.key)


def kafka_records(event: Any) -> Iterator[KafkaRecord]:
    """Every record of every partition in the event, in partition and offset order."""
    if not isinstance(event, Mapping) or not isinstance(event.get("records"), Mapping):
        raise InvalidEvent("not an MSK event: expected an object with 'records' keyed by '<topic>-<partition>'")
    for key, records in event["records"].items():
        if not isinstance(records, list):
            raise InvalidEvent(f"records[{key!r}] is not a list")
        for index, record in enumerate(records):
            timestamp = record.get("timestamp") if isinstance(record, Mapping) else None
            valid = isinstance(timestamp, int) and not isinstance(timestamp, bool) and timestamp >= 0
            yield KafkaRecord(coordinates=_coordinates(key, index, record), value=record.get("value"),
                              timestamp_ms=timestamp if valid else None, key=record.get("key"))  # fmt: skip


def _coordinates(key: str, index: int, record: Any) -> Coordinates:
    where = f"records[{key!r}][{index}]"
    if not isinstance(record, Mapping):
        raise InvalidEvent(f"{where} is not an object")
    topic, partition, offset = record.get("topic"), record.get("partition"), record.get("offset")
    if not isinstance(topic, str) or not topic:
        raise InvalidEvent(f"{where} has no topic")
    return Coordinates(
        topic=topic, partition=_count(where, "partition", partition), offset=_count(where, "offset", offset)
    )


def _count(where: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEvent(f"{where} has no valid {name}")
    return value


@dataclass(frozen=True)
class DocumentPart:
    """What one record contributes: the document it is, and (unless a tombstone) its text and metadata."""

    coordinates: Coordinates
    document_id: str
    timestamp_ms: int | None
    text: str = ""
    metadata: Mapping[str, AttributeValue] = field(default_factory=dict)
    deletes: bool = False  # a tombstone: the document is deleted


def _decoded_key(record: KafkaRecord, mapping: DocumentMapping) -> str | None:
    """The key as the mapping reads it; None when the record has none or the mapping never reads it, so a key of
    any bytes is no problem for a mapping that does not use it."""
    if not record.key or not mapping.uses_key:
        return None
    try:
        raw = base64.b64decode(str(record.key), validate=True)
    except (binascii.Error, ValueError):
        raise PoisonRecord("the key is not valid base64") from None
    return mapping.key_format.decode(raw)


def _view(record: KafkaRecord, value: Any, mapping: DocumentMapping) -> RecordView:
    where = record.coordinates
    seconds = record.timestamp_ms / 1000 if record.timestamp_ms is not None else None
    return RecordView(value=value, key=_decoded_key(record, mapping), topic=where.topic, partition=where.partition,
                      offset=where.offset, timestamp=seconds)  # fmt: skip


def _document_id(mapping: DocumentMapping, view: RecordView) -> str:
    rule = mapping.id
    for field_ in rule.template.fields:
        if view.lookup(field_) in (None, ""):
            what = "the record has no key" if field_.coordinate == "key" else f"the value has no {field_.name!r}"
            raise PoisonRecord(f"{what}, which the document ID {rule.template.source!r} needs")
    document_id = rule.template.render(view)
    if len(document_id) > MAX_DOCUMENT_ID_CHARACTERS:
        raise PoisonRecord(f"the document ID is {len(document_id):,} characters; Bedrock takes at most "
                           f"{MAX_DOCUMENT_ID_CHARACTERS:,}")  # fmt: skip
    return document_id


def _raw_value(record: KafkaRecord) -> bytes:
    if not isinstance(record.value, str):
        raise PoisonRecord("the value is not a base64 string")
    if len(record.value) > math.ceil(MAX_VALUE_BYTES / 3) * 4:
        raise PoisonRecord(f"the value is larger than {MAX_VALUE_BYTES:,} bytes (Kafka's default largest record)")
    try:
        return base64.b64decode(record.value, validate=True)
    except (binascii.Error, ValueError):
        raise PoisonRecord("the value is not valid base64") from None


def document_part(record: KafkaRecord, decoder: Decoder) -> DocumentPart:
    """The record through the mapping, or :class:`PoisonRecord` saying what is wrong with it.

    Whatever the record holds, this returns or raises PoisonRecord: it does no I/O, so any error in it comes from
    the record's content, and one record's content must never fail its batch (the partition would stall)."""
    try:
        return _document_part(record, decoder)
    except (FieldError, UndecodableValue) as error:
        raise PoisonRecord(str(error)) from None
    except PoisonRecord:
        raise
    except (ValueError, TypeError, LookupError, ArithmeticError, RecursionError) as error:  # UnicodeError too
        raise PoisonRecord(f"the record cannot be mapped ({type(error).__name__}: {str(error)[:300]})") from None


def _document_part(record: KafkaRecord, decoder: Decoder) -> DocumentPart:
    mapping = decoder.mapping
    if record.is_tombstone:
        if not mapping.id.deletes:
            raise PoisonRecord(mapping.id.tombstone_refusal)
        view = _view(record, None, mapping)
        document_id = _unicode(_document_id(mapping, view), "the document ID")
        return DocumentPart(record.coordinates, document_id, record.timestamp_ms, deletes=True)
    if record.value is None:
        raise PoisonRecord("the record has no value (and no key, so it is no tombstone)")
    view = _view(record, decoder.decode(_raw_value(record)), mapping)
    document_id = _unicode(_document_id(mapping, view), "the document ID")
    text = _unicode(mapping.text.render(view), "the text")
    metadata: dict[str, AttributeValue] = {}
    for attribute in mapping.metadata:
        value = attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
        if value is not None:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    _unicode(item, f"metadata {attribute.name}")
            metadata[attribute.name] = value
    if not text.strip():
        raise PoisonRecord(f"the text {mapping.text.source!r} renders empty for this record")
    if len(text) > MAX_TEXT_CHARACTERS:
        raise PoisonRecord(f"the text is {len(text):,} characters; Bedrock takes at most {MAX_TEXT_CHARACTERS:,} "
                           "per document")  # fmt: skip
    # The knowledge base's 1 KB holds every custom key of a document: the function's own (topic, partition, offset)
    # as well as the mapping's.
    weight = metadata_bytes({**metadata, **built_in_metadata(record.coordinates.topic, record.coordinates.partition,
                                                             record.coordinates.offset)})  # fmt: skip
    if weight > MAX_METADATA_BYTES:
        raise PoisonRecord(f"its metadata is {weight:,} bytes with the built-in topic, partition and offset; the "
                           f"knowledge base keeps at most {MAX_METADATA_BYTES:,} bytes of custom metadata per "
                           "document")  # fmt: skip
    return DocumentPart(record.coordinates, document_id, record.timestamp_ms, text=text, metadata=metadata)


def _unicode(text: str, what: str) -> str:
    """A JSON value may escape a lone surrogate (\\ud800): that is no Unicode text, and no request could carry it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise PoisonRecord(f"{what} holds a lone surrogate (U+{ord(text[error.start]):04X} at character "
                           f"{error.start + 1}), which is not Unicode text") from None  # fmt: skip
    return text
