"""Record formats: each format's one home. A format decodes a value, checks a mapping at synthesis, turns the
mapping's example (or a producer's record, given in JSON form) into the bytes a producer sends, and describes
itself for the docs. Adding a format is one class here, registered in :data:`FORMATS`, with its tests and its
section in docs/streaming.md (a test holds the docs to this registry).

JSON values are validated with ``jsonschema`` (the reference JSON Schema implementation); Avro values are read
and written with Apache ``avro``, the library Powertools' Kafka consumer uses for Avro, named and logical types
included. Both are imported on first use, so a mapping that needs neither never loads them.

A value's framing is declared by the mapping, never guessed: ``plain``, or ``confluent`` (the Confluent wire
format: byte 0, a 4-byte schema ID, then the value). The schema ID is not looked up.
"""

from __future__ import annotations

import io
import json
import math
import struct
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from stream_ingest.mapping import (
    CONFLUENT_FRAMING,
    PLAIN_FRAMING,
    DocumentMapping,
    FieldError,
    MappingError,
    RecordView,
    attribute_value,
)

CONFLUENT_MAGIC_BYTE = 0  # Confluent wire format: magic byte 0, a 4-byte schema ID, then the value
CONFLUENT_HEADER_BYTES = 5
MAX_NESTING = 64  # deeper JSON is refused before the parser recurses (and jsonschema after it)
# Python refuses to convert integers longer than this to or from text (sys.get_int_max_str_digits's default):
# such an integer is this record's problem, not the invocation's.
MAX_INTEGER_DIGITS = 4300
# A Confluent-framed value the producer sends names schema ID 0: the stream function reads every value with the
# mapping's schema and looks no ID up.
PRODUCER_SCHEMA_ID = 0


class UndecodableValue(ValueError):
    """The value cannot be decoded or breaks the schema; the message says where and why."""


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


class RecordFormat(ABC):
    """One format of record values, in every role the app gives it."""

    name: ClassVar[str]
    summary: ClassVar[str]  # what a value is, for the docs' table of mapping parts
    schema_rule: ClassVar[str]  # "optional", "required" or "none": whether the mapping gives a schema
    schema_summary: ClassVar[str]  # what the schema is, for the same table
    has_fields: ClassVar[bool] = True  # templates and metadata may name fields of the value
    framings: ClassVar[tuple[str, ...]] = (PLAIN_FRAMING,)  # the framings a value may come in
    framing_required: ClassVar[bool] = False  # the mapping must say which (a plain value could pass for framed)

    @abstractmethod
    def read(self, mapping: DocumentMapping) -> Callable[[bytes], Any]:
        """How the stream function reads one unframed value (a closure holding what it compiled once)."""

    @abstractmethod
    def write(self, mapping: DocumentMapping, value: Any) -> bytes:
        """The unframed bytes of ``value``, given in JSON form, as a producer sends them."""

    def check_schema(self, mapping: DocumentMapping) -> None:
        """At synthesis: the schema is valid and defines every field the mapping reads (MappingError)."""
        return


# --- JSON ------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise UndecodableValue(f"the value contains {name}, which is not a JSON number")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise UndecodableValue(f"the value holds an integer of {digits:,} digits; at most {MAX_INTEGER_DIGITS:,} "
                               "are read")  # fmt: skip
    return int(text)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise UndecodableValue(f"the value holds the number {_cut(text, 40)}, beyond a double's range")
    return number


def _check_nesting(text: str) -> None:
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_NESTING:
                    raise UndecodableValue(f"the value nests deeper than {MAX_NESTING} levels")
        elif character in "]}":
            depth -= 1


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UndecodableValue(f"the value is not UTF-8 text (byte {error.start + 1})") from None


def decode_json(raw: bytes) -> Any:
    text = decode_utf8(raw)
    if text.count("[") + text.count("{") > MAX_NESTING:  # cheap test first: most values nest little
        _check_nesting(text)
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_integer, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise UndecodableValue(f"the value is not JSON ({error.msg} at position {error.pos})") from None


class JsonFormat(RecordFormat):
    name = "json"
    summary = "a UTF-8 JSON value"
    schema_rule = "optional"
    schema_summary = "a JSON Schema"
    framings = (PLAIN_FRAMING, CONFLUENT_FRAMING)  # Confluent's JSON Schema serializer frames its values too

    def read(self, mapping: DocumentMapping) -> Callable[[bytes], Any]:
        if mapping.schema is None:
            return decode_json
        from jsonschema.exceptions import best_match
        from jsonschema.validators import validator_for

        schema = mapping.schema
        validator = validator_for(schema)(schema, format_checker=validator_for(schema).FORMAT_CHECKER)

        def read_valid(raw: bytes) -> Any:
            value = decode_json(raw)
            error = best_match(validator.iter_errors(value))
            if error is not None:
                where = ".".join(str(part) for part in error.absolute_path) or "(the value)"
                raise UndecodableValue(f"{where}: {_cut(error.message)}")
            return value

        return read_valid

    def write(self, mapping: DocumentMapping, value: Any) -> bytes:
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
        except (ValueError, TypeError) as error:
            raise UndecodableValue(f"is not a JSON value ({error})") from None

    def check_schema(self, mapping: DocumentMapping) -> None:
        if mapping.schema is None:
            return
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        if not isinstance(mapping.schema, dict):
            raise MappingError("schema", "a JSON Schema is an object")
        try:
            validator_for(mapping.schema).check_schema(mapping.schema)
        except SchemaError as error:
            where = ".".join(str(part) for part in error.absolute_path)
            at = f" at {where}" if where else ""
            raise MappingError("schema", f"not a valid JSON Schema{at}: {_cut(error.message)}") from None
        for where, field in mapping.value_fields:
            if not _json_schema_defines(mapping.schema, mapping.schema, field.value_path or ()):
                raise MappingError(where, f"'{field.name}' is not a property the schema defines")


def _json_schema_defines(root: Any, schema: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return True
    if not isinstance(schema, dict):
        return False
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target: Any = root
        for part in reference[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return _json_schema_defines(root, target, path)
    head, rest = path[0], path[1:]
    properties = schema.get("properties", {})
    if isinstance(properties, dict) and head in properties:
        return _json_schema_defines(root, properties[head], rest)
    items = schema.get("items")
    if head.isdigit() and isinstance(items, dict):
        return _json_schema_defines(root, items, rest)
    branches = [branch for key in ("allOf", "anyOf", "oneOf") for branch in schema.get(key, [])]
    return any(_json_schema_defines(root, branch, path) for branch in branches)


# --- Text ------------------------------------------------------------------------------------------------


class TextFormat(RecordFormat):
    name = "text"
    summary = "the UTF-8 value is the text"
    schema_rule = "none"
    schema_summary = "none"
    has_fields = False

    def read(self, mapping: DocumentMapping) -> Callable[[bytes], Any]:
        return decode_utf8

    def write(self, mapping: DocumentMapping, value: Any) -> bytes:
        if not isinstance(value, str):
            raise UndecodableValue("must be a string (the stream's format is text)")
        try:
            return value.encode()
        except UnicodeEncodeError:
            raise UndecodableValue("is not Unicode text (it holds a lone surrogate)") from None


# --- Avro ------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _avro_schema(schema_json: str) -> Any:
    from avro.schema import parse

    return parse(schema_json)


def _parsed_avro(mapping: DocumentMapping) -> Any:
    return _avro_schema(json.dumps(mapping.schema, sort_keys=True))


class AvroFormat(RecordFormat):
    name = "avro"
    summary = "Avro binary"
    schema_rule = "required"
    schema_summary = "the writer schema"
    framings = (PLAIN_FRAMING, CONFLUENT_FRAMING)
    framing_required = True  # a plain value may start with byte 0 too (a null branch, a zero, an empty string)

    def read(self, mapping: DocumentMapping) -> Callable[[bytes], Any]:
        from avro.io import BinaryDecoder, DatumReader

        reader = DatumReader(_parsed_avro(mapping))

        def read_avro(raw: bytes) -> Any:
            stream = io.BytesIO(raw)
            try:
                value = reader.read(BinaryDecoder(stream))
                if stream.tell() != len(raw):
                    raise ValueError(f"{len(raw) - stream.tell()} bytes left after the record")
            except Exception as error:  # avro raises many types for bad input: each is this record's problem
                raise UndecodableValue(f"the value is not Avro of the mapping's schema "
                                       f"({type(error).__name__}: {_cut(str(error))})") from None  # fmt: skip
            return value

        return read_avro

    def write(self, mapping: DocumentMapping, value: Any) -> bytes:
        from avro.errors import AvroException
        from avro.io import BinaryEncoder, DatumWriter

        schema = _parsed_avro(mapping)
        stream = io.BytesIO()
        try:
            DatumWriter(schema).write(avro_datum(schema, value), BinaryEncoder(stream))
        except (AvroException, ValueError, TypeError, ArithmeticError) as error:
            raise UndecodableValue(f"does not fit the Avro schema: {_cut(str(error))}") from None
        return stream.getvalue()

    def check_schema(self, mapping: DocumentMapping) -> None:
        from avro.errors import AvroException

        try:
            schema = _parsed_avro(mapping)
        except (AvroException, ValueError, TypeError) as error:
            raise MappingError("schema", f"not a valid Avro schema: {_cut(str(error))}") from None
        for where, field in mapping.value_fields:
            if not _avro_defines(schema, field.value_path or ()):
                raise MappingError(where, f"'{field.name}' is not a field the Avro schema defines")


def _avro_defines(schema: Any, path: tuple[str, ...]) -> bool:
    """Walks the parsed schema, where a reference to a named type defined earlier is that type itself."""
    from avro.schema import ArraySchema, MapSchema, RecordSchema, UnionSchema

    if not path:
        return True
    if isinstance(schema, UnionSchema):
        return any(_avro_defines(branch, path) for branch in schema.schemas)
    head, rest = path[0], path[1:]
    if isinstance(schema, RecordSchema):
        field = schema.fields_dict.get(head)
        return field is not None and _avro_defines(field.type, rest)
    if isinstance(schema, ArraySchema) and head.isdigit():
        return _avro_defines(schema.items, rest)
    if isinstance(schema, MapSchema):
        return _avro_defines(schema.values, rest)
    return False


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def avro_datum(schema: Any, value: Any) -> Any:
    """A value in JSON form as avro's writer takes it: logical types by the Avro specification's JSON encoding
    (a date as days, a timestamp as milli- or microseconds, a decimal as a number) or as ISO 8601 text, bytes
    as text of code points 0-255, and a union as the first branch the value fits."""
    from avro import schema as avro_schema
    from avro.io import validate

    if isinstance(schema, avro_schema.UnionSchema):
        for branch in schema.schemas:
            try:
                datum = avro_datum(branch, value)
            except (ValueError, TypeError, ArithmeticError):
                continue
            if validate(branch, datum):
                return datum
        return value  # the writer names what does not fit
    if isinstance(schema, avro_schema.RecordSchema) and isinstance(value, Mapping):
        return {field.name: avro_datum(field.type, value.get(field.name, field.default))
                for field in schema.fields if field.name in value or field.has_default}  # fmt: skip
    if isinstance(schema, avro_schema.ArraySchema) and isinstance(value, list):
        return [avro_datum(schema.items, item) for item in value]
    if isinstance(schema, avro_schema.MapSchema) and isinstance(value, Mapping):
        return {key: avro_datum(schema.values, item) for key, item in value.items()}
    return _logical_datum(schema, value)


def _logical_datum(schema: Any, value: Any) -> Any:
    from avro import schema as avro_schema

    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(schema, avro_schema.DateSchema):
        return date.fromisoformat(value) if isinstance(value, str) else _EPOCH.date() + timedelta(days=value)
    if isinstance(schema, avro_schema.TimestampMillisSchema | avro_schema.TimestampMicrosSchema):
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        per_second = 1_000 if isinstance(schema, avro_schema.TimestampMillisSchema) else 1_000_000
        return _EPOCH + timedelta(microseconds=value * (1_000_000 // per_second)) if is_number else value
    if isinstance(schema, avro_schema.TimeMillisSchema | avro_schema.TimeMicrosSchema):
        if isinstance(value, str):
            return time.fromisoformat(value)
        per_second = 1_000 if isinstance(schema, avro_schema.TimeMillisSchema) else 1_000_000
        return (datetime.min + timedelta(microseconds=value * (1_000_000 // per_second))).time() if is_number else value
    if isinstance(schema, avro_schema.BytesDecimalSchema | avro_schema.FixedDecimalSchema):
        if not (is_number or isinstance(value, str | Decimal)):
            return value
        try:
            number = Decimal(str(value))
            # avro writes a Decimal's own digits unscaled: 1234.5 at scale 2 must be 1234.50, or it reads as 123.45.
            scaled = number.quantize(Decimal(1).scaleb(-int(str(schema.get_prop("scale") or 0))))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number of the schema's precision") from None
        if scaled != number:
            raise ValueError(f"{value!r} has more decimal places than the schema's scale {schema.get_prop('scale')}")
        return scaled
    if isinstance(schema, avro_schema.UUIDSchema) and isinstance(value, str):
        return str(uuid.UUID(value))
    if isinstance(value, str) and schema.type in ("bytes", "fixed"):
        return value.encode("latin-1")  # the specification's JSON encoding of bytes
    return value


# --- The registry, and what every format shares ------------------------------------------------------------

FORMATS: Mapping[str, RecordFormat] = {fmt.name: fmt for fmt in (JsonFormat(), TextFormat(), AvroFormat())}
JSON = FORMATS["json"]


def format_named(name: Any) -> RecordFormat:
    """The registered format, or MappingError listing them."""
    if not isinstance(name, str) or name not in FORMATS:
        raise MappingError("format", f"{name!r} is not one of {', '.join(FORMATS)}")
    return FORMATS[name]


def _unframed(mapping: DocumentMapping, raw: bytes) -> bytes:
    if mapping.framing != CONFLUENT_FRAMING:
        return raw
    if len(raw) < CONFLUENT_HEADER_BYTES or raw[0] != CONFLUENT_MAGIC_BYTE:
        first = f"starts with byte {raw[0]}" if raw else "is empty"
        raise UndecodableValue(f"the value {first}; the mapping declares the Confluent wire format (byte 0, a 4-byte "
                               "schema ID, then the value)")  # fmt: skip
    return raw[CONFLUENT_HEADER_BYTES:]


@dataclass(frozen=True)
class Decoder:
    """Decodes and validates one mapping's values (its schema compiled once per execution environment)."""

    mapping: DocumentMapping

    @cached_property
    def _read(self) -> Callable[[bytes], Any]:
        return self.mapping.format.read(self.mapping)

    def decode(self, raw: bytes) -> Any:
        return self._read(_unframed(self.mapping, raw))


def encode_value(mapping: DocumentMapping, value: Any) -> bytes:
    """``value`` (its JSON form) as a producer sends it on the topic: the format's bytes in the mapping's framing.
    UndecodableValue when it does not fit the format."""
    body = mapping.format.write(mapping, value)
    if mapping.framing == CONFLUENT_FRAMING:
        return struct.pack(">bI", CONFLUENT_MAGIC_BYTE, PRODUCER_SCHEMA_ID) + body
    return body


# --- Checks at synthesis -----------------------------------------------------------------------------------


def check_mapping(mapping: DocumentMapping) -> None:
    """The schema is valid for its format, it defines every field the mapping reads, and the example (if any)
    decodes and renders. Raises :class:`MappingError`."""
    mapping.format.check_schema(mapping)
    example = mapping.source.get("example")
    if example is not None:
        check_example(mapping, example)


def example_view(mapping: DocumentMapping, example: Any) -> RecordView:
    """The example as the stream function sees it: encoded as a producer would, then decoded."""
    try:
        value = Decoder(mapping).decode(encode_value(mapping, example))
    except UndecodableValue as error:
        raise MappingError("example", str(error)) from None
    return RecordView(value=value, key="example-key", topic="topic", partition=0, offset=0, timestamp=0.0)


def check_example(mapping: DocumentMapping, example: Any) -> None:
    """The example value decodes, passes the schema and renders into a document."""
    view = example_view(mapping, example)
    try:
        for where, template in mapping.templates:
            if not template.render(view) and where == "id":
                raise MappingError("id", "renders empty for the example")
        for attribute in mapping.metadata:
            attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
    except FieldError as error:
        raise MappingError("example", str(error)) from None


def example_fields(mapping: DocumentMapping) -> Iterator[tuple[str, Any]]:
    """(attribute, value) of the example's metadata, for test events that filter on them."""
    example = mapping.source.get("example")
    if example is None:
        return
    view = example_view(mapping, example)
    for attribute in mapping.metadata:
        if attribute.field.value_path is not None:
            value = attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
            if value is not None:
                yield attribute.name, value
