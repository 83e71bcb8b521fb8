"""What real producers send, and what hostile ones do: every record ends as a document or as a dead letter with its
reason, whatever its content, key or format. Hypothesis fuzzes the record path across every format and mapping
feature; the named cases below are the ones a review found, each with the outcome the docs promise."""

from __future__ import annotations

import base64
import json
import struct
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.sdk_model import validate_request
from function_runtime.sqs_limits import REFUSED_CHARACTERS
from stream_ingest.dead_letters import DeadLetter
from stream_ingest.documents import plan_requests, winners
from stream_ingest.formats import Decoder, check_mapping, encode_value
from stream_ingest.mapping import MAX_METADATA_BYTES, IdKind, MappingError, parse_mapping
from stream_ingest.records import Coordinates, DocumentPart, KafkaRecord, PoisonRecord, document_part

WHERE = Coordinates(topic="orders", partition=3, offset=1200)


def decoder(mapping: dict[str, Any]) -> Decoder:
    parsed = parse_mapping(mapping)
    check_mapping(parsed)
    return Decoder(parsed)


def kafka(value: bytes | None, key: bytes | None = b"k-1", where: Coordinates = WHERE) -> KafkaRecord:
    encoded = base64.b64encode(value).decode() if value is not None else None
    return KafkaRecord(coordinates=where, value=encoded, timestamp_ms=1771151400000,
                       key=base64.b64encode(key).decode() if key is not None else None)  # fmt: skip


def outcome(record: KafkaRecord, mapped: Decoder) -> DocumentPart | str:
    """The part, or the dead letter's reason: never anything else."""
    try:
        return document_part(record, mapped)
    except PoisonRecord as poison:
        return f"poison: {poison}"


# --- Mappings that exercise every feature ---------------------------------------------------------------------

ORDERS = {"format": "json", "id": "order/{order_id:d}", "text": "Order {order_id:,} of {customer}: {note}",
          "metadata": {"customer": "customer", "total": {"field": "total", "type": "number"}, "tags": "tags",
                       "rush": "rush"}}  # fmt: skip
ORDERS_BY_KEY = {**ORDERS, "id": "order/{key}", "text": "{value}"}
SCHEMALESS_TEXT = {"format": "text", "id": "{key}/{offset}", "text": "{value}", "metadata": {"k": "key"}}
AVRO_SCHEMA = {
    "type": "record", "name": "Shipment", "namespace": "logistics",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "origin", "type": {"type": "record", "name": "Address", "fields": [
            {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"], "default": None}]}},
        {"name": "destination", "type": "Address"},  # a named type defined earlier, reused
        {"name": "shipped", "type": {"type": "int", "logicalType": "date"}},
        {"name": "scanned", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "logged", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "value", "type": {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 2}},
        {"name": "tracking", "type": {"type": "string", "logicalType": "uuid"}},
    ],
}  # fmt: skip
SHIPMENTS: dict[str, Any] = {
    "format": "avro", "framing": "confluent", "schema": AVRO_SCHEMA, "id": "shipment/{id}",
    "text": "Shipment {id} from {origin.city} to {destination.city}, shipped {shipped}, scanned {scanned}, "
            "logged {logged}, worth {value.value}, tracking {tracking}.",
    "metadata": {"to": "destination.city", "shipped": "shipped", "shippedAt": {"field": "shipped", "type": "number"},
                 "scanned": "scanned", "worth": "value.value", "tracking": "tracking"},
    "example": {"id": 7, "origin": {"city": "Lyon"}, "destination": {"city": "Porto", "zip": "4000"},
                "shipped": 20000, "scanned": 1771151400000, "logged": 1771151400123456, "value": "1234.50",
                "tracking": "3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a"},
}  # fmt: skip


# --- 1. Content that used to fail the whole invocation ----------------------------------------------------------


@pytest.mark.parametrize("where", ["order_id", "note", "unused"])
def test_an_integer_past_pythons_digit_limit_is_a_dead_letter(where: str) -> None:
    value = {"order_id": 1, "customer": "c", "note": "n", where: 0}
    text = json.dumps(value).replace(f'"{where}": 0', f'"{where}": {"9" * 4400}')  # json.dumps cannot write it
    assert "4,400 digits; at most 4,300 are read" in str(outcome(kafka(text.encode()), decoder(ORDERS)))


def test_a_number_beyond_a_double_is_a_dead_letter() -> None:
    raw = b'{"order_id": 1, "customer": "c", "note": "n", "total": 1e999}'
    assert "beyond a double's range" in str(outcome(kafka(raw), decoder(ORDERS)))


@pytest.mark.parametrize("field", ["customer", "note"])
def test_a_lone_surrogate_escape_is_a_dead_letter_where_the_mapping_has_no_schema(field: str) -> None:
    value = {"order_id": 1, "customer": "c", "note": "n", field: "broken \ud800 text"}
    reason = str(outcome(kafka(json.dumps(value).encode()), decoder(ORDERS)))
    assert reason.startswith("poison: ") and "lone surrogate (U+D800" in reason


def test_a_lone_surrogate_in_a_field_the_mapping_never_reads_is_no_problem() -> None:
    value = {"order_id": 1, "customer": "c", "note": "n", "internal": "\udfff"}
    part = outcome(kafka(json.dumps(value).encode()), decoder(ORDERS))
    assert isinstance(part, DocumentPart) and part.document_id == "order/1"


# --- 2. Keys that are not UTF-8 text ----------------------------------------------------------------------------


TRACKING = uuid.UUID("3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a")


@pytest.mark.parametrize("key", [struct.pack(">q", -42), TRACKING.bytes, b"\xff\xfe", b""])
def test_a_key_the_mapping_never_reads_is_never_decoded(key: bytes) -> None:
    part = outcome(kafka(b'{"order_id": 5, "customer": "c", "note": "n"}', key=key), decoder(ORDERS))
    assert isinstance(part, DocumentPart) and part.document_id == "order/5"


@pytest.mark.parametrize(
    ("key_format", "key", "document_id"),
    [("long", struct.pack(">q", 9_007_199_254_740_993), "order/9007199254740993"),
     ("long", struct.pack(">q", -1), "order/-1"),
     ("integer", struct.pack(">i", 1042), "order/1042"),
     ("uuid", uuid.UUID("3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a").bytes, "order/3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a"),
     ("uuid", b"3E4666BF-D5E5-4AA7-B8CE-CEFE41C7568A", "order/3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a"),
     ("hex", b"\x00\xff\x10", "order/00ff10"),
     ("text", "pedido-ñ".encode(), "order/pedido-ñ")],
)  # fmt: skip
def test_a_used_key_is_read_in_the_format_the_mapping_declares(key_format: str, key: bytes, document_id: str) -> None:
    mapped = decoder({**ORDERS_BY_KEY, "keyFormat": key_format})
    part = outcome(kafka(b'{"order_id": 5, "customer": "c", "note": "n"}', key=key), mapped)
    assert isinstance(part, DocumentPart) and part.document_id == document_id
    tombstone = outcome(kafka(None, key=key), mapped)
    assert isinstance(tombstone, DocumentPart) and tombstone.deletes and tombstone.document_id == document_id


@pytest.mark.parametrize(
    ("key_format", "key", "reason"),
    [("text", struct.pack(">q", -2), 'the key is not UTF-8 text; give the mapping the "keyFormat"'),
     ("long", b"\x01\x02", "the key is 2 bytes; a long key is 8"),
     ("uuid", b"not-a-uuid", "not a UUID")],
)  # fmt: skip
def test_a_used_key_of_another_format_is_a_dead_letter_saying_so(key_format: str, key: bytes, reason: str) -> None:
    mapped = decoder({**ORDERS_BY_KEY, "keyFormat": key_format})
    assert reason in str(outcome(kafka(b'{"order_id": 5, "customer": "c", "note": "n"}', key=key), mapped))


def test_an_unknown_key_format_fails_synthesis() -> None:
    with pytest.raises(MappingError, match="keyFormat: 'bytes' is not one of text, long, integer, uuid, hex"):
        parse_mapping({**ORDERS_BY_KEY, "keyFormat": "bytes"})


# --- 3. Tombstones only where they can name a document ----------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "kind"),
    [("{key}", IdKind.KEYED), ("t/{topic}/{partition}/{key}", IdKind.KEYED), ("{key}/{offset}", IdKind.OFFSET),
     ("{key}@{timestamp}", IdKind.OFFSET), ("{topic}/{partition}/{offset}", IdKind.OFFSET),
     ("{key}/{order_id}", IdKind.FIELDS)],
)  # fmt: skip
def test_only_ids_from_the_key_topic_and_partition_delete_by_tombstone(template: str, kind: IdKind) -> None:
    mapped = decoder({**ORDERS_BY_KEY, "id": template})
    assert mapped.mapping.id.kind is kind
    tombstone = outcome(kafka(None, key=b"k-1"), mapped)
    if kind is IdKind.KEYED:
        assert isinstance(tombstone, DocumentPart) and tombstone.deletes
    else:
        assert isinstance(tombstone, str) and tombstone.startswith("poison: tombstone: ")
        assert "delete by tombstone" in tombstone


def test_a_tombstone_under_a_per_record_id_names_the_coordinate_at_fault() -> None:
    reason = outcome(kafka(None), decoder({**ORDERS_BY_KEY, "id": "{key}/{offset}"}))
    assert "names each record by its {offset}" in str(reason)


# --- 4. Integers stay exact in IDs and text ---------------------------------------------------------------------


def test_two_nineteen_digit_order_numbers_stay_two_documents() -> None:
    mapped = decoder(ORDERS)
    first, second = (outcome(kafka(json.dumps({"order_id": n, "customer": "c", "note": "n"}).encode()), mapped)
                     for n in (1234567890123456789, 1234567890123456788))  # fmt: skip
    assert isinstance(first, DocumentPart) and isinstance(second, DocumentPart)
    assert (first.document_id, second.document_id) == ("order/1234567890123456789", "order/1234567890123456788")
    assert first.text.startswith("Order 1,234,567,890,123,456,789 of c")
    assert len(winners([first, second]).documents) == 2


@pytest.mark.parametrize(
    ("spec", "value", "text"),
    [(",", 12345678901234567890, "12,345,678,901,234,567,890"), (",.2f", 12345678901234567890,
     "12,345,678,901,234,567,890.00"), ("020d", 9007199254740993, "00009007199254740993"),
     (",.2f", "$12,345,678,901,234,567.89", "12,345,678,901,234,567.89"), ("x", 2**64 + 1, "10000000000000001"),
     (".1f", 0.25, "0.2"), (",", "3,413", "3,413")],
)  # fmt: skip
def test_number_specs_format_the_exact_value(spec: str, value: Any, text: str) -> None:
    mapped = decoder({"format": "json", "id": "offset", "text": f"{{amount:{spec}}}"})
    part = outcome(kafka(json.dumps({"amount": value}).encode()), mapped)
    assert isinstance(part, DocumentPart) and part.text == text


# --- 5 and 6. Avro: declared framing, named and logical types ---------------------------------------------------


def test_avro_named_and_logical_types_render_as_text_and_metadata() -> None:
    mapped = decoder(SHIPMENTS)  # the reused named type passes synthesis, and the example renders
    part = outcome(kafka(encode_value(mapped.mapping, SHIPMENTS["example"])), mapped)
    assert isinstance(part, DocumentPart), part
    assert part.document_id == "shipment/7"
    assert part.text == ("Shipment 7 from Lyon to Porto, shipped 2024-10-04, scanned 2026-02-15T10:30:00+00:00, "
                         "logged 2026-02-15T10:30:00.123456+00:00, worth 1234.50, tracking "
                         "3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a.")  # fmt: skip
    assert part.metadata == {"to": "Porto", "shipped": "2024-10-04", "shippedAt": 1728000000.0,
                             "scanned": "2026-02-15T10:30:00+00:00", "worth": 1234.5,
                             "tracking": "3e4666bf-d5e5-4aa7-b8ce-cefe41c7568a"}  # fmt: skip
    assert not any('"' in str(item) for item in part.metadata.values())


def test_an_avro_example_may_give_logical_types_as_iso_text() -> None:
    example = {**SHIPMENTS["example"], "shipped": "2024-10-04", "scanned": "2026-02-15T10:30:00Z", "value": 1234.5}
    mapped = decoder({**SHIPMENTS, "example": example})
    value = mapped.decode(encode_value(mapped.mapping, example))
    assert value["shipped"].isoformat() == "2024-10-04" and value["value"] == Decimal("1234.50")


@pytest.mark.parametrize(
    ("path", "message"),
    [("destination.street", "'destination.street' is not a field the Avro schema defines"),
     ("origin.zip", None), ("destination.zip", None)],
)  # fmt: skip
def test_fields_of_a_reused_named_type_are_checked_at_synthesis(path: str, message: str | None) -> None:
    mapping = {**SHIPMENTS, "metadata": {"where": path}}
    if message is None:
        check_mapping(parse_mapping(mapping))
    else:
        with pytest.raises(MappingError, match=message):
            check_mapping(parse_mapping(mapping))


# --- SQS's characters and the knowledge base's metadata limits ---------------------------------------------------


def test_a_dead_letters_attributes_hold_only_characters_sqs_accepts() -> None:
    letter = DeadLetter(coordinates=WHERE, reason="Bedrock rejected order/\x01\x1b[31m\ud800: bad ID",
                        value=None, document_id="order/\x01\x1b[31m\ud800")  # fmt: skip
    entry = letter.entry("0")
    assert validate_request("sqs", "SendMessageBatch", {"QueueUrl": "https://sqs/q", "Entries": [entry]}) == []
    assert json.loads(entry["MessageBody"])["documentId"] == "order/\x01\x1b[31m\ud800"  # kept, escaped as JSON
    refused = "\ufffd"
    assert (
        entry["MessageAttributes"]["reason"]["StringValue"]
        == f"Bedrock rejected order/{refused * 2}[31m{refused}: bad ID"
    )


def test_the_sdk_check_refuses_what_sqs_refuses() -> None:
    entry = {"Id": "0", "MessageBody": "ok", "MessageAttributes": {"r": {"DataType": "String", "StringValue": "\x01"}}}
    assert validate_request("sqs", "SendMessageBatch", {"QueueUrl": "q", "Entries": [entry]}) == [
        "SendMessageBatch.MessageAttributes.r: SQS refuses the character '\\x01'"
    ]


def test_the_metadata_limit_counts_the_built_in_topic_partition_and_offset() -> None:
    mapped = decoder({"format": "json", "id": "offset", "text": "{note}", "metadata": {"note": "note"}})
    built_in = len("topic") + len("orders") + len("partition") + len("3.0") + len("offset") + len("1200.0")
    fits = "n" * (MAX_METADATA_BYTES - len("note") - built_in)
    part = outcome(kafka(json.dumps({"note": fits}).encode()), mapped)
    assert isinstance(part, DocumentPart)
    over = outcome(kafka(json.dumps({"note": fits + "n"}).encode()), mapped)
    assert "with the built-in topic, partition and offset" in str(over)


# --- Hypothesis: any content, any key, every format ---------------------------------------------------------------

JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**18, max_value=10**25),
    st.floats(allow_nan=False, allow_infinity=False), st.text(), st.text(alphabet=st.characters(codec="utf-16")),
)  # fmt: skip
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(["order_id", "customer", "note", "total", "tags", "rush", "x"]) | st.text(max_size=5), inner,
    max_size=6), max_leaves=20)  # fmt: skip
HOSTILE_JSON = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.just(b"[" * 70 + b"]" * 70), st.just(b'{"order_id": ' + b"9" * 5000 + b"}"), st.just(b'{"total": -1e400}'),
    st.just(b'{"note": "\\udc80", "order_id": 1, "customer": "\\ud83d"}'), st.binary(max_size=64),
    st.just(b'{"order_id": NaN}'),
)  # fmt: skip
KEYS = st.one_of(st.none(), st.binary(max_size=20), st.text(max_size=10).map(str.encode))
MAPPINGS = st.sampled_from([
    ORDERS, ORDERS_BY_KEY, {**ORDERS_BY_KEY, "keyFormat": "long"}, {**ORDERS_BY_KEY, "keyFormat": "uuid"},
    {**ORDERS_BY_KEY, "id": "{key}/{offset}"}, {**ORDERS, "framing": "confluent"},
    {"format": "json", "id": "offset", "text": "{value}", "metadata": {"all": "value", "note": "note"}},
    {"format": "json", "id": "key", "text": "{note:>10} {total:,.3f} {rush:%Y}", "metadata": {"t": "total"}},
])  # fmt: skip


def assert_bedrock_can_take(part: DocumentPart) -> None:
    """What the function would send is a valid request that botocore can serialize."""
    if part.deletes:
        return
    (request,) = plan_requests(winners([part]).documents)
    body = {"knowledgeBaseId": "KB12345678", "dataSourceId": "DS12345678", "clientToken": "t" * 33,
            "documents": [document.as_request_item() for document in request.documents]}  # fmt: skip
    assert validate_request("bedrock-agent", "IngestKnowledgeBaseDocuments", body) == []
    json.dumps(body, ensure_ascii=False).encode("utf-8")


@given(mapping=MAPPINGS, value=st.one_of(st.none(), HOSTILE_JSON), key=KEYS)
def test_any_json_record_becomes_a_document_or_a_dead_letter(mapping: dict[str, Any], value: bytes | None,
                                                             key: bytes | None) -> None:  # fmt: skip
    result = outcome(kafka(value, key=key), decoder(mapping))
    if isinstance(result, DocumentPart):
        assert_bedrock_can_take(result)
    else:
        assert result.startswith("poison: ") and not REFUSED_CHARACTERS.search(result[:0])


@given(value=st.one_of(st.text(), st.binary(max_size=200)), key=KEYS)
def test_any_text_record_becomes_a_document_or_a_dead_letter(value: str | bytes, key: bytes | None) -> None:
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    result = outcome(kafka(raw, key=key), decoder(SCHEMALESS_TEXT))
    if isinstance(result, DocumentPart):
        assert_bedrock_can_take(result)


SHIPMENT_VALUES = st.fixed_dictionaries({
    "id": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "origin": st.fixed_dictionaries({"city": st.text(max_size=30), "zip": st.none() | st.text(max_size=8)}),
    "destination": st.fixed_dictionaries({"city": st.text(max_size=30)}),
    "shipped": st.integers(min_value=-700_000, max_value=2_900_000),
    "scanned": st.integers(min_value=-(10**13), max_value=10**14),
    "logged": st.integers(min_value=-(10**16), max_value=10**17),
    "value": st.decimals(min_value=-(10**17), max_value=10**17, places=2, allow_nan=False).map(str),
    "tracking": st.uuids().map(str),
})  # fmt: skip


@given(value=SHIPMENT_VALUES, tail=st.binary(max_size=4), cut=st.integers(min_value=0, max_value=8))
def test_any_avro_record_becomes_a_document_or_a_dead_letter(value: dict[str, Any], tail: bytes, cut: int) -> None:
    mapped = decoder(SHIPMENTS)
    try:
        raw = encode_value(mapped.mapping, value)
    except ValueError:
        return  # a value the writer refuses never reaches the topic
    for candidate in (raw, raw + tail, raw[: max(0, len(raw) - cut)], raw[5:]):
        result = outcome(kafka(candidate), mapped)
        if isinstance(result, DocumentPart):
            assert_bedrock_can_take(result)
    whole = outcome(kafka(raw), mapped)
    assert isinstance(whole, DocumentPart) or "metadata" in whole or "characters" in whole, whole
