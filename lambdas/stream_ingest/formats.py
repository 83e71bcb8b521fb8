"""Decoding record values by the mapping's format, and checking a mapping against its schema.

JSON values are validated with ``jsonschema`` (the reference JSON Schema implementation); Avro values
are read with Apache ``avro``, the library Powertools' Kafka consumer uses for Avro. Both are imported
on first use, so a mapping that needs neither never loads them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from stream_ingest.mapping import (
    DocumentMapping,
    FieldError,
    MappingError,
    RecordFormat,
    RecordView,
    attribute_value,
)

CONFLUENT_MAGIC_BYTE = 0  # Confluent wire format: magic byte 0, a 4-byte schema ID, then Avro binary
_CONFLUENT_HEADER_BYTES = 5
MAX_NESTING = 64  # deeper JSON is refused before the parser recurses (and jsonschema after it)


class UndecodableValue(ValueError):
    """The value cannot be decoded or breaks the schema; the message says where and why."""


def _reject_constant(name: str) -> Any:
    raise UndecodableValue(f"the value contains {name}, which is not a JSON number")


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


def decode_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodableValue("the value is not UTF-8 text") from None
    if text.count("[") + text.count("{") > MAX_NESTING:  # cheap test first: most values nest little
        _check_nesting(text)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise UndecodableValue(f"the value is not JSON ({error.msg} at position {error.pos})") from None


def decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodableValue("the value is not UTF-8 text") from None


@dataclass(frozen=True)
class Decoder:
    """Decodes and validates one mapping's values (its schema compiled once per execution environment)."""

    mapping: DocumentMapping

    def decode(self, raw: bytes) -> Any:
        if self.mapping.format is RecordFormat.TEXT:
            return decode_text(raw)
        if self.mapping.format is RecordFormat.AVRO:
            return self._avro(raw)
        value = decode_json(raw)
        if self._json_validator is not None:
            self._validate(value)
        return value

    @cached_property
    def _json_validator(self) -> Any:
        if self.mapping.schema is None:
            return None
        from jsonschema.validators import validator_for

        schema = self.mapping.schema
        return validator_for(schema)(schema, format_checker=validator_for(schema).FORMAT_CHECKER)

    def _validate(self, value: Any) -> None:
        from jsonschema.exceptions import best_match

        error = best_match(self._json_validator.iter_errors(value))
        if error is not None:
            where = ".".join(str(part) for part in error.absolute_path) or "(the value)"
            raise UndecodableValue(f"{where}: {_cut(error.message)}")

    @cached_property
    def _avro_reader(self) -> Any:
        from avro.io import DatumReader
        from avro.schema import parse

        return DatumReader(parse(json.dumps(self.mapping.schema)))

    def _avro(self, raw: bytes) -> Any:
        # A plain Avro value may also start with byte 0 (a null union branch, a zero, an empty string), so a
        # value counts as Confluent-framed only when what follows the header decodes to its last byte.
        attempts = [raw]
        if len(raw) > _CONFLUENT_HEADER_BYTES and raw[0] == CONFLUENT_MAGIC_BYTE:
            attempts.insert(0, raw[_CONFLUENT_HEADER_BYTES:])
        problem = "no bytes"
        for body in attempts:
            try:
                return self._read_avro(body)
            except Exception as error:  # avro raises many types for bad input: each is this record's problem
                problem = f"{type(error).__name__}: {_cut(str(error))}"
        raise UndecodableValue(f"the value is not Avro of the mapping's schema ({problem})")

    def _read_avro(self, body: bytes) -> Any:
        from avro.io import BinaryDecoder

        stream = io.BytesIO(body)
        value = self._avro_reader.read(BinaryDecoder(stream))
        if stream.tell() != len(body):
            raise ValueError(f"{len(body) - stream.tell()} bytes left after the record")
        return value


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


# --- Checks at synthesis -----------------------------------------------------------------------------


def check_mapping(mapping: DocumentMapping) -> None:
    """The schema is valid for its format, it defines every field the mapping reads, and the example (if any)
    decodes and renders. Raises :class:`MappingError`."""
    if mapping.format is RecordFormat.JSON and mapping.schema is not None:
        _check_json_schema(mapping)
    if mapping.format is RecordFormat.AVRO:
        _check_avro_schema(mapping)
    example = mapping.source.get("example")
    if example is not None:
        check_example(mapping, example)


def _check_json_schema(mapping: DocumentMapping) -> None:
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


def _check_avro_schema(mapping: DocumentMapping) -> None:
    from avro.errors import AvroException
    from avro.schema import parse

    try:
        schema = parse(json.dumps(mapping.schema))
    except (AvroException, ValueError, TypeError) as error:
        raise MappingError("schema", f"not a valid Avro schema: {_cut(str(error))}") from None
    for where, field in mapping.value_fields:
        if not _avro_defines(schema.to_json(), field.value_path or ()):
            raise MappingError(where, f"'{field.name}' is not a field the Avro schema defines")


def _avro_defines(schema: Any, path: tuple[str, ...]) -> bool:
    if not path:
        return True
    if isinstance(schema, list):  # a union: any branch
        return any(_avro_defines(branch, path) for branch in schema)
    if not isinstance(schema, dict):
        return False
    head, rest = path[0], path[1:]
    if schema.get("type") == "record":
        return any(item.get("name") == head and _avro_defines(item.get("type"), rest) for item in schema["fields"])
    if schema.get("type") == "array" and head.isdigit():
        return _avro_defines(schema.get("items"), rest)
    if schema.get("type") == "map":
        return _avro_defines(schema.get("values"), rest)
    return False


def check_example(mapping: DocumentMapping, example: Any) -> None:
    """The example value decodes, passes the schema and renders into a document."""
    decoder = Decoder(mapping)
    try:
        if mapping.format is RecordFormat.AVRO:
            value = decoder.decode(encode_avro(mapping, example))
        elif mapping.format is RecordFormat.TEXT:
            if not isinstance(example, str):
                raise MappingError("example", "a text mapping's example is a string")
            value = example
        else:
            value = decoder.decode(json.dumps(example).encode())
        view = RecordView(value=value, key="example-key", topic="topic", partition=0, offset=0, timestamp=0.0)
        for where, template in mapping.templates:
            if not template.render(view) and where == "id":
                raise MappingError("id", "renders empty for the example")
        for attribute in mapping.metadata:
            attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
    except (UndecodableValue, FieldError) as error:
        raise MappingError("example", str(error)) from None


@lru_cache(maxsize=4)
def _avro_writer(schema_json: str) -> Any:
    from avro.io import DatumWriter
    from avro.schema import parse

    return DatumWriter(parse(schema_json))


def encode_avro(mapping: DocumentMapping, value: Any) -> bytes:
    """Avro binary of ``value`` (its JSON form) with the mapping's schema, as a producer sends it."""
    from avro.errors import AvroTypeException
    from avro.io import BinaryEncoder

    stream = io.BytesIO()
    try:
        _avro_writer(json.dumps(mapping.schema, sort_keys=True)).write(value, BinaryEncoder(stream))
    except AvroTypeException as error:
        raise UndecodableValue(f"does not fit the Avro schema: {_cut(str(error))}") from None
    return stream.getvalue()


def example_fields(mapping: DocumentMapping) -> Iterator[tuple[str, Any]]:
    """(attribute, value) of the example's metadata, for test events that filter on them."""
    example = mapping.source.get("example")
    if example is None:
        return
    view = RecordView(value=example, key=None, topic="", partition=0, offset=0, timestamp=None)
    for attribute in mapping.metadata:
        if attribute.field.value_path is not None:
            value = attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
            if value is not None:
                yield attribute.name, value
