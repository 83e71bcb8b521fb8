"""How a Kafka record becomes a knowledge-base document: the ``app:streamDocument`` setting.

The settings validate a mapping at synthesis with :func:`parse_mapping`; the stream function reads the
same JSON back from its environment and applies it to every record. Standard library only: the CDK app
imports this module, and the decoders that need third-party libraries live in ``stream_ingest.formats``.

A mapping says how to decode the value (``format``, ``schema``, ``framing``) and the key (``keyFormat``), which
document a record is (``id``), what its text says (``text``) and which metadata it carries (``metadata``). The
formats themselves live in ``stream_ingest.formats``, one class each. Templates name fields of the
decoded value by dotted paths (``{customer.tier}``, ``{items.0.sku}``) and the record's Kafka
coordinates by name (``{key}``, ``{topic}``, ``{partition}``, ``{offset}``, ``{timestamp}``); a value
field with one of those five names is ``{value.<name>}``, and ``{value}`` is the whole value.
"""

from __future__ import annotations

import json
import math
import re
import string
import struct
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream_ingest.formats import RecordFormat


class MappingError(ValueError):
    """The mapping itself is wrong: ``where`` names the part of it (``text``, ``metadata.priority``, ...)."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where


class FieldError(ValueError):
    """One record does not fit the mapping (a missing field, a value of the wrong type): it is dead-lettered."""


# How a value is framed on the topic: as it is, or in the Confluent wire format (byte 0, a 4-byte schema ID).
PLAIN_FRAMING = "plain"
CONFLUENT_FRAMING = "confluent"


class KeyFormat(Enum):
    """How the record key is written, by the producer's key serializer; read only where the mapping uses the key."""

    TEXT = "text"  # UTF-8 text: Kafka's StringSerializer (and its UUIDSerializer, which writes the UUID's text)
    LONG = "long"  # 8 bytes, big-endian two's complement: Kafka's LongSerializer
    INTEGER = "integer"  # 4 bytes, big-endian two's complement: Kafka's IntegerSerializer
    UUID = "uuid"  # 16 bytes (or its 36-character text), shown as the canonical text
    HEX = "hex"  # any bytes, shown as lowercase hexadecimal

    def decode(self, raw: bytes) -> str:
        """The key as text in IDs and templates; FieldError when the bytes are not of this format."""
        if self is KeyFormat.TEXT:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise FieldError('the key is not UTF-8 text; give the mapping the "keyFormat" your producer '
                                 "writes (long, integer, uuid or hex)") from None  # fmt: skip
        if self is KeyFormat.HEX:
            return raw.hex()
        if self is KeyFormat.UUID:
            if len(raw) == 16:
                return str(uuid.UUID(bytes=raw))
            try:
                return str(uuid.UUID(raw.decode("ascii")))
            except (UnicodeDecodeError, ValueError):
                raise FieldError(f"the key is {len(raw)} bytes, not a UUID (16 bytes or its text)") from None
        size, code = (8, ">q") if self is KeyFormat.LONG else (4, ">i")
        if len(raw) != size:
            raise FieldError(f"the key is {len(raw)} bytes; a {self.value} key is {size}")
        return str(struct.unpack(code, raw)[0])


class AttributeType(Enum):
    """Bedrock's metadata attribute types (MetadataAttributeValue.type in the botocore model)."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    STRING_LIST = "stringList"

    @property
    def bedrock(self) -> str:
        return {"string": "STRING", "number": "NUMBER", "boolean": "BOOLEAN", "stringList": "STRING_LIST"}[self.value]


# The record's Kafka coordinates as templates name them. ``timestamp`` is epoch seconds (Kafka gives ms).
COORDINATES = ("key", "topic", "partition", "offset", "timestamp")
# Every stream document carries where its record came from, as metadata operators can filter on.
BUILT_IN_METADATA = ("topic", "partition", "offset")

# Limits of a document's parts, from the botocore model of IngestKnowledgeBaseDocuments
# (CustomDocumentIdentifier.id 1-2048, TextContentDoc.data 1-5,242,880, MetadataAttribute.key 1-200, stringValue 1-2048,
# stringListValue 1-10 items) and of a Bedrock knowledge base on S3 Vectors: at most 35 custom metadata
# keys and 1 KB of custom metadata per document (Bedrock user guide, "Use S3 Vectors with a knowledge
# base"; S3 Vectors' own limits are 50 keys and 2 KB of filterable metadata, of which Bedrock uses some).
MAX_DOCUMENT_ID_CHARACTERS = 2048
MAX_TEXT_CHARACTERS = 5_242_880  # TextContentDoc.data
MAX_ATTRIBUTE_KEY_CHARACTERS = 200
MAX_STRING_CHARACTERS = 2048
MAX_LIST_ITEMS = 10
MAX_METADATA_KEYS = 35
MAX_METADATA_BYTES = 1024
# Keys Bedrock keeps for itself: its own metadata (x-amz-bedrock-kb-*) and the index's non-filterable keys.
RESERVED_KEY_PREFIXES = ("x-amz-bedrock-kb-", "AMAZON_BEDROCK_")
# The function's environment carries the mapping; Lambda allows 4 KB for all variables together
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html), the rest need about 1 KB.
MAX_MAPPING_BYTES = 3 * 1024
# Kafka's default largest record (message.max.bytes, 1 MB; MSK's default configuration keeps it).
MAX_VALUE_BYTES = 1024 * 1024

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.([A-Za-z0-9_-]+))*$")
_AMOUNT = re.compile(r"^[$€£¥]?\s?(?P<number>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?)$")
# A format spec that formats a number: it names a number type (``.2f``, ``d``, ``%``) or groups digits (``,``).
_NUMERIC_SPEC = re.compile(r"^(.?[<>=^])?[+\- ]?#?0?\d*([,_](\.\d+)?[bcdeEfFgGnoxX%]?|(\.\d+)?[bcdeEfFgGnoxX%])$")


@dataclass(frozen=True)
class Field:
    """A place in a template: a path into the value or a coordinate, and how to format it."""

    path: tuple[str, ...]  # ("value",) is the whole value; ("customer", "tier") a field
    spec: str  # a format spec: "%Y-%m-%d" formats a date, ",.2f" a number, "" as is
    coordinate: str | None = None  # key, topic, partition, offset or timestamp

    @property
    def name(self) -> str:
        return ".".join(self.path) if self.coordinate is None else self.coordinate

    @property
    def value_path(self) -> tuple[str, ...] | None:
        """The path inside the decoded value, or None for a coordinate; () is the whole value."""
        if self.coordinate is not None:
            return None
        return self.path[1:] if self.path[0] == "value" else self.path


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Field, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(part for part in self.parts if isinstance(part, Field))

    def render(self, record: RecordView) -> str:
        return "".join(part if isinstance(part, str) else record.formatted(part) for part in self.parts)


def parse_template(source: str, where: str) -> Template:
    """``{path}`` or ``{path:spec}``; ``{{`` and ``}}`` are braces."""
    if not isinstance(source, str) or not source:
        raise MappingError(where, "must be a non-empty template such as '{subject}\\n\\n{body}'")
    parts: list[str | Field] = []
    try:
        parsed = list(string.Formatter().parse(source))
    except ValueError as error:
        raise MappingError(where, f"{source!r} is not a template ({error})") from None
    for literal, name, spec, conversion in parsed:
        if literal:
            parts.append(literal)
        if name is None:
            continue
        if conversion:
            raise MappingError(where, f"'{{{name}!{conversion}}}': conversions are not supported; use a format spec")
        if not _PATH.fullmatch(name):
            raise MappingError(where, f"'{{{name}}}' is not a field path such as 'customer.tier'")
        if "{" in (spec or ""):
            raise MappingError(where, f"'{{{name}:{spec}}}': nested fields in a format spec are not supported")
        path = tuple(name.split("."))
        coordinate = name if name in COORDINATES else None
        parts.append(Field(path=path, spec=spec or "", coordinate=coordinate))
    return Template(source=source, parts=tuple(parts))


class IdKind(Enum):
    OFFSET = "offset"  # from the record's own coordinates (<topic>/<partition>/<offset>): every record is kept
    KEYED = "keyed"  # from the key (and topic, partition): re-sending a key replaces, a tombstone deletes
    FIELDS = "fields"  # from value fields: re-sending replaces; a tombstone cannot name its document


# Coordinates that differ from one record of a key to the next: an ID holding one names that record alone, so a
# tombstone (a later record) cannot name the document a value made.
PER_RECORD_COORDINATES = ("offset", "timestamp")


@dataclass(frozen=True)
class IdRule:
    template: Template

    @property
    def kind(self) -> IdKind:
        fields = self.template.fields
        if self.template.source == OFFSET_ID:
            return IdKind.OFFSET
        if any(field.coordinate is None for field in fields):
            return IdKind.FIELDS
        if any(field.coordinate in PER_RECORD_COORDINATES for field in fields):
            return IdKind.OFFSET
        return IdKind.KEYED if any(field.coordinate == "key" for field in fields) else IdKind.OFFSET

    @property
    def deletes(self) -> bool:
        """Tombstones delete documents: only when the key (with the topic and partition) alone names the document;
        ``ticket/{key}/{offset}`` names each record, and a tombstone is a record of its own."""
        return self.kind is IdKind.KEYED

    @property
    def tombstone_refusal(self) -> str:
        """Why a tombstone cannot delete under this rule (the dead letter's reason)."""
        source = self.template.source
        if self.kind is IdKind.FIELDS:
            return (f"tombstone: documents are identified by {source!r}, which a record without a value cannot "
                    "name; only IDs from the key delete by tombstone")  # fmt: skip
        per_record = [f"{{{f.coordinate}}}" for f in self.template.fields if f.coordinate in PER_RECORD_COORDINATES]
        return (f"tombstone: the document ID {source!r} names each record by its {' and '.join(per_record)}, so "
                "no tombstone names a document a value made; only IDs from the key (and topic, partition) delete "
                "by tombstone")  # fmt: skip


OFFSET_ID = "{topic}/{partition}/{offset}"


@dataclass(frozen=True)
class MetadataField:
    name: str
    field: Field
    type: AttributeType | None  # None: the value's own JSON type decides


@dataclass(frozen=True)
class DocumentMapping:
    format: RecordFormat
    schema: Any  # JSON Schema (json), Avro schema (avro), or None
    id: IdRule
    text: Template
    metadata: tuple[MetadataField, ...]
    source: Mapping[str, Any]  # the setting as given, for the function's environment
    framing: str = PLAIN_FRAMING
    key_format: KeyFormat = KeyFormat.TEXT

    def as_json(self) -> str:
        """As the function's environment carries it (function_runtime.environment encodes the same way)."""
        return json.dumps(self.source, sort_keys=True, separators=(",", ":"))

    @property
    def templates(self) -> Iterator[tuple[str, Template]]:
        yield "id", self.id.template
        yield "text", self.text

    @cached_property
    def uses_key(self) -> bool:
        """The ID, the text or the metadata reads the key: only then is it decoded."""
        fields = [field for _, template in self.templates for field in template.fields]
        return any(field.coordinate == "key" for field in fields + [item.field for item in self.metadata])

    @property
    def value_fields(self) -> Iterator[tuple[str, Field]]:
        """Every value field the mapping reads, with the part of the mapping that reads it."""
        for where, template in self.templates:
            for field in template.fields:
                if field.value_path:
                    yield where, field
        for attribute in self.metadata:
            if attribute.field.value_path:
                yield f"metadata.{attribute.name}", attribute.field


_MAPPING_KEYS = {"format", "schema", "framing", "keyFormat", "id", "text", "metadata", "example"}


def parse_mapping(source: Any) -> DocumentMapping:
    """The mapping as the function applies it; raises :class:`MappingError` naming the part that is wrong.

    Checks that need the format's library (the schema's validity, fields the schema does not define)
    are ``stream_ingest.formats.check_mapping``.
    """
    from stream_ingest.formats import format_named  # the formats' home imports this module

    if not isinstance(source, Mapping):
        raise MappingError("", "must be an object with 'format', 'id', 'text' and optionally 'schema' and 'metadata'")
    unknown = sorted(set(source) - _MAPPING_KEYS)
    if unknown:
        raise MappingError(unknown[0], f"unknown part; a mapping has {', '.join(sorted(_MAPPING_KEYS))}")
    record_format = format_named(source.get("format", "json"))
    schema = source.get("schema")
    if record_format.schema_rule == "required" and schema is None:
        raise MappingError("schema", f"format {record_format.name} needs the {record_format.schema_summary}")
    if record_format.schema_rule == "none" and schema is not None:
        raise MappingError("schema", f"format {record_format.name} takes no schema")
    framing = _framing(source, record_format)
    try:
        key_format = KeyFormat(source.get("keyFormat", KeyFormat.TEXT.value))
    except ValueError:
        allowed = ", ".join(member.value for member in KeyFormat)
        raise MappingError("keyFormat", f"{source.get('keyFormat')!r} is not one of {allowed}") from None
    if (schema is not None and not isinstance(schema, dict | list | str)) or isinstance(schema, bool):
        raise MappingError("schema", "must be a JSON Schema object (json) or an Avro schema (avro)")
    identity = source.get("id", "offset")
    if not isinstance(identity, str):
        raise MappingError("id", "must be 'key', 'offset' or a template such as 'ticket/{id}'")
    id_source = {"key": "{key}", "offset": OFFSET_ID}.get(identity, identity)
    id_template = parse_template(id_source, "id")
    if not id_template.fields:
        raise MappingError("id", f"{identity!r} names no field: every record would be the same document")
    if any(field.value_path == () for field in id_template.fields):
        raise MappingError("id", "'{value}' is the whole value; name a field or use 'key'")
    text = parse_template(source.get("text", "{value}"), "text")
    if not record_format.has_fields:
        for field in text.fields + id_template.fields:
            if field.value_path:  # the whole value, () , is fine
                raise MappingError("text" if field in text.fields else "id",
                                   f"'{{{field.name}}}': a {record_format.name} value has no fields")  # fmt: skip
    metadata = tuple(_metadata_fields(source.get("metadata", {}), record_format))
    mapping = DocumentMapping(format=record_format, schema=schema, id=IdRule(id_template), text=text,
                              metadata=metadata, source=dict(source), framing=framing,
                              key_format=key_format)  # fmt: skip
    size = len(mapping.as_json().encode())
    if size > MAX_MAPPING_BYTES:
        raise MappingError("", f"is {size:,} bytes as JSON; the function's environment holds at most "
                               f"{MAX_MAPPING_BYTES:,} (Lambda allows 4 KB of variables): shorten the schema "
                               "(descriptions, titles), or let the mapping's schema registry decode the records "
                               "and give no schema")  # fmt: skip
    return mapping


def _framing(source: Mapping[str, Any], record_format: RecordFormat) -> str:
    framing = source.get("framing")
    allowed = " or ".join(repr(name) for name in record_format.framings)
    if framing is None:
        if record_format.framing_required:
            raise MappingError("framing", f"format {record_format.name} needs the framing your producer writes: "
                               f"{allowed} (a plain value may start with byte 0 too, so it is never "
                               "guessed)")  # fmt: skip
        return PLAIN_FRAMING
    if framing not in record_format.framings:
        raise MappingError("framing", f"{framing!r}: format {record_format.name} takes {allowed}")
    return str(framing)


def _metadata_fields(source: Any, record_format: RecordFormat) -> Iterator[MetadataField]:
    if not isinstance(source, Mapping):
        raise MappingError("metadata", 'must map attribute names to field paths or {"field", "type"}')
    if len(source) + len(BUILT_IN_METADATA) > MAX_METADATA_KEYS:
        raise MappingError("metadata", f"{len(source)} attributes and the {len(BUILT_IN_METADATA)} built in "
                                       f"({', '.join(BUILT_IN_METADATA)}) exceed the knowledge base's "
                                       f"{MAX_METADATA_KEYS} metadata keys per document")  # fmt: skip
    for name, spec in source.items():
        where = f"metadata.{name}"
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_ATTRIBUTE_KEY_CHARACTERS:
            raise MappingError(where, f"attribute names are 1-{MAX_ATTRIBUTE_KEY_CHARACTERS} characters")
        if name in BUILT_IN_METADATA:
            raise MappingError(where, f"'{name}' is built in: every stream document carries its Kafka {name}")
        if name.startswith(RESERVED_KEY_PREFIXES):
            raise MappingError(where, f"names starting with {' or '.join(RESERVED_KEY_PREFIXES)} are Bedrock's own")
        if isinstance(spec, str):
            path, type_name = spec, None
        elif isinstance(spec, Mapping) and set(spec) <= {"field", "type"} and isinstance(spec.get("field"), str):
            path, type_name = spec["field"], spec.get("type")
        else:
            raise MappingError(where, 'must be a field path or {"field": "<path>", "type": "<type>"}')
        try:
            attribute_type = AttributeType(type_name) if type_name is not None else None
        except ValueError:
            allowed = ", ".join(member.value for member in AttributeType)
            raise MappingError(where, f"type {type_name!r} is not one of {allowed}") from None
        if not _PATH.fullmatch(path):
            raise MappingError(where, f"{path!r} is not a field path such as 'customer.tier'")
        parts = tuple(path.split("."))
        field = Field(path=parts, spec="", coordinate=path if path in COORDINATES else None)
        if not record_format.has_fields and field.value_path:
            raise MappingError(where, f"'{path}': a {record_format.name} value has no fields")
        yield MetadataField(name=name, field=field, type=attribute_type)


# --- Applying a mapping to one decoded record ---------------------------------------------------------


@dataclass(frozen=True)
class RecordView:
    """One decoded record as templates see it."""

    value: Any  # the decoded value: a dict for json and avro, a str for text
    key: str | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None  # epoch seconds

    def lookup(self, field: Field) -> Any:
        """The field's value, None when the record lacks it."""
        if field.coordinate is not None:
            return getattr(self, field.coordinate)
        current = self.value
        for part in field.value_path or ():
            if isinstance(current, Mapping):
                current = current.get(part)
            elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
                current = current[int(part)]
            else:
                return None
        return current

    def formatted(self, field: Field) -> str:
        value = self.lookup(field)
        if value is None:
            return ""
        return format_value(value, field.spec, field.name)


def format_value(value: Any, spec: str, name: str) -> str:
    """A value as text. ``%`` specs format dates (epoch seconds or ISO 8601), numeric specs numbers."""
    if spec.startswith("%"):
        return as_datetime(value, name).strftime(spec)
    if spec:
        if _NUMERIC_SPEC.fullmatch(spec):
            number = exact_number(value, name)
            try:
                whole = spec[-1:] in "bcdoxX" or (_is_integral(number) and not any(c in spec for c in ".eEfFgG%"))
                exact = Decimal(number) if isinstance(number, int) else number  # a float spec on an int: no float
                return format(int(number) if whole else exact, spec)
            except (ValueError, OverflowError, InvalidOperation) as error:
                raise FieldError(f"{name}: {_shown(value)} cannot be formatted as {spec!r} ({error})") from None
        try:
            return format(as_text(value), spec)
        except ValueError as error:
            raise FieldError(f"{name}: {_shown(value)} cannot be formatted as {spec!r} ({error})") from None
    return as_text(value)


def as_text(value: Any) -> str:
    """A value as text: logical types (Avro's date, time, timestamp, decimal, uuid) by their ISO 8601 or canonical
    form, never quoted."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _is_integral(number: int | float | Decimal) -> bool:
    return (
        isinstance(number, int)
        or (isinstance(number, float) and number.is_integer())
        or (isinstance(number, Decimal) and number == number.to_integral_value())
    )


def exact_number(value: Any, name: str) -> int | float | Decimal:
    """A finite number without going through a float: integers stay integers (a 19-digit order number keeps every
    digit), text such as '3,413.23' becomes a Decimal, and a float stays the float it is."""
    if isinstance(value, bool):
        raise FieldError(f"{name}: {value!r} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        as_number(value, name)  # finite, or FieldError
        return value
    if isinstance(value, str) and (match := _AMOUNT.fullmatch(value.strip())):
        as_number(value, name)  # within a double's range, or FieldError: no million-digit expansions
        number = Decimal(match["number"].replace(",", ""))
        return int(number) if number == number.to_integral_value() and "e" not in match["number"].lower() else number
    return as_number(value, name)


def as_number(value: Any, name: str) -> float:
    """A finite number: numbers as they are, text such as '42', '3,413.23' or '$3,413.23' read as one."""
    if isinstance(value, bool):
        raise FieldError(f"{name}: {value!r} is not a number")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    number: float
    try:
        if isinstance(value, int | float | Decimal):
            number = float(value)
        elif isinstance(value, str) and (match := _AMOUNT.fullmatch(value.strip())):
            number = float(Decimal(match["number"].replace(",", "")))
        else:
            raise FieldError(f"{name}: {_shown(value)} is not a number")
    except (OverflowError, InvalidOperation):
        raise FieldError(f"{name}: {_shown(value)} is not a finite number") from None
    if not math.isfinite(number):
        raise FieldError(f"{name}: {_shown(value)} is not a finite number")
    return number


def as_datetime(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FieldError(f"{name}: {_shown(value)} is neither epoch seconds nor an ISO 8601 date") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    seconds = as_number(value, name)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise FieldError(f"{name}: {_shown(value)} is not epoch seconds between 1970 and 9999") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


AttributeValue = str | float | bool | list[str]


def attribute_value(value: Any, attribute_type: AttributeType | None, name: str) -> AttributeValue | None:
    """The metadata value Bedrock gets, None to leave the attribute out (missing, null or empty)."""
    if value is None or value == "" or value == []:
        return None
    if attribute_type is None:
        attribute_type = _inferred_type(value, name)
    if attribute_type is AttributeType.NUMBER:
        return as_number(value, name)
    if attribute_type is AttributeType.BOOLEAN:
        if not isinstance(value, bool):
            raise FieldError(f"{name}: {_shown(value)} is not a boolean")
        return value
    if attribute_type is AttributeType.STRING_LIST:
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise FieldError(f"{name}: {_shown(value)} is not a list of non-empty strings")
        if len(value) > MAX_LIST_ITEMS:
            raise FieldError(f"{name}: {len(value)} items; a string list holds at most {MAX_LIST_ITEMS}")
        for item in value:
            _check_length(item, name)
        return list(value)
    if isinstance(value, Mapping | list):
        raise FieldError(f"{name}: {_shown(value)} is not a string")
    return _check_length(as_text(value), name)


def _inferred_type(value: Any, name: str) -> AttributeType:
    """The value's own type decides: JSON's, or Avro's logical type (a decimal is a number; a date, time or
    timestamp is its ISO 8601 text, unless the mapping asks for a number, its epoch seconds)."""
    if isinstance(value, bool):
        return AttributeType.BOOLEAN
    if isinstance(value, int | float | Decimal):
        return AttributeType.NUMBER
    if isinstance(value, list):
        return AttributeType.STRING_LIST
    if isinstance(value, Mapping):
        raise FieldError(f"{name}: an object is not a metadata value; map one of its fields")
    return AttributeType.STRING


def _check_length(text: str, name: str) -> str:
    if len(text) > MAX_STRING_CHARACTERS:
        raise FieldError(f"{name}: {len(text):,} characters; a metadata string holds at most {MAX_STRING_CHARACTERS}")
    return text


def built_in_metadata(topic: str, partition: int, offset: int) -> dict[str, AttributeValue]:
    """What every stream document carries besides the mapping's attributes: where its record came from."""
    return {"topic": topic, "partition": float(partition), "offset": float(offset)}


def metadata_bytes(attributes: Mapping[str, AttributeValue]) -> int:
    """What the attributes weigh: names and values as UTF-8 text (numbers as written)."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode())
        items: Sequence[Any] = value if isinstance(value, list) else [value]
        total += sum(len(as_text(item).encode()) for item in items)
    return total


# --- The sample stream's preset ----------------------------------------------------------------------

TICKER_PRICES: Mapping[str, Any] = {
    "format": "json",
    "schema": {
        "type": "object",
        "required": ["ticker", "price", "timestamp"],
        "properties": {
            "ticker": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"},
            "price": {"type": "string", "pattern": "^\\$?(\\d{1,3}(,\\d{3})+|\\d+)(\\.\\d+)?$"},
            "timestamp": {"type": "number", "minimum": 0, "exclusiveMaximum": 253402300800},
        },
    },
    "id": "offset",
    "text": "At {value.timestamp:%Y-%m-%d %H:%M:%S} UTC the price of {ticker} is ${price:,.2f}.",
    "metadata": {
        "ticker": "ticker",
        "price": {"field": "price", "type": "number"},
        "timestamp": {"field": "value.timestamp", "type": "number"},
    },
    "example": {"ticker": "ZVZZT", "price": "$3,413.23", "timestamp": 1771151400.0},
}
