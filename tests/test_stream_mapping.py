"""The stream's record mapping (app:streamDocument) for topics other than the sample's: support tickets in
JSON with a JSON Schema, plain text, and Avro (plain and in the Confluent wire format)."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable
from typing import Any

import pytest

from devtools.lambda_events import b64
from stacks.settings import SettingsError, load_settings
from stream_ingest.formats import FORMATS, Decoder, check_mapping, encode_value
from stream_ingest.mapping import MAX_METADATA_KEYS, TICKER_PRICES, IdKind, MappingError, parse_mapping
from stream_ingest.records import Coordinates, KafkaRecord, PoisonRecord, document_part
from tests.conftest import REPO_ROOT, SCHEMA_REGISTRY_ARN, Synthesized
from tests.support.templates import kafka_mappings, resources_of_type

WHERE = Coordinates(topic="support-tickets", partition=2, offset=17)

# The example a team streaming support tickets declares (docs/streaming.md shows the same).
TICKETS: dict[str, Any] = {
    "format": "json",
    "schema": {
        "type": "object",
        "required": ["id", "subject", "body", "priority"],
        "properties": {
            "id": {"type": "integer"},
            "subject": {"type": "string"},
            "body": {"type": "string"},
            "priority": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}},
            "opened": {"type": "number"},
            "escalated": {"type": "boolean"},
            "customer": {"type": "object", "properties": {"tier": {"type": "string"}, "name": {"type": "string"}}},
        },
    },
    "id": "ticket/{id}",
    "text": "{subject}\n\nOpened {opened:%Y-%m-%d} by {customer.name} ({customer.tier}), "
    "priority {priority}.\n\n{body}",
    "metadata": {
        "priority": "priority",
        "tags": {"field": "tags", "type": "stringList"},
        "tier": "customer.tier",
        "opened": {"field": "opened", "type": "number"},
        "escalated": "escalated",
    },
    "example": {
        "id": 1042,
        "subject": "Cannot sign in",
        "body": "Since this morning the sign-in page loops.",
        "priority": 2,
        "tags": ["sign-in"],
        "opened": 1771151400,
        "escalated": False,
        "customer": {"tier": "gold", "name": "Ana"},
    },
}
TICKET = TICKETS["example"]


def ticket_record(value: Any, key: str | None = "1042") -> KafkaRecord:
    raw = value if isinstance(value, str) else b64(json.dumps(value))
    return KafkaRecord(coordinates=WHERE, value=raw, timestamp_ms=1771151400000,
                       key=b64(key) if key is not None else None)  # fmt: skip


def decoder(mapping: dict[str, Any]) -> Decoder:
    parsed = parse_mapping(mapping)
    check_mapping(parsed)
    return Decoder(parsed)


def test_a_ticket_becomes_a_readable_document_with_typed_metadata() -> None:
    part = document_part(ticket_record(TICKET), decoder(TICKETS))
    assert part.document_id == "ticket/1042"
    assert part.text == ("Cannot sign in\n\nOpened 2026-02-15 by Ana (gold), priority 2.\n\n"
                         "Since this morning the sign-in page loops.")  # fmt: skip
    assert part.metadata == {"priority": 2.0, "tags": ["sign-in"], "tier": "gold", "opened": 1771151400.0,
                             "escalated": False}  # fmt: skip


def test_a_30_kb_ticket_body_is_ingested_whole() -> None:
    body = "The export stalls at 90 percent. " * 1000
    assert len(body.encode()) > 30_000
    part = document_part(ticket_record({**TICKET, "body": body}), decoder(TICKETS))
    assert part.text.endswith(body)


def test_a_ticket_that_breaks_the_schema_is_poison_naming_the_field() -> None:
    with pytest.raises(PoisonRecord, match=r"^priority: 'high' is not of type 'integer'$"):
        document_part(ticket_record({**TICKET, "priority": "high"}), decoder(TICKETS))
    with pytest.raises(PoisonRecord, match=r"^customer\.tier: 3 is not of type 'string'$"):
        document_part(ticket_record({**TICKET, "customer": {"tier": 3}}), decoder(TICKETS))


def test_optional_fields_may_be_missing_but_not_the_ids() -> None:
    lean = {key: TICKET[key] for key in ("id", "subject", "body", "priority")}
    part = document_part(ticket_record(lean), decoder(TICKETS))
    assert part.text.startswith("Cannot sign in\n\nOpened  by  (), priority 2.")
    assert part.metadata == {"priority": 2.0}
    without_schema = {key: value for key, value in TICKETS.items() if key != "schema"}
    with pytest.raises(PoisonRecord) as raised:
        document_part(ticket_record({"subject": "?"}), decoder(without_schema))
    assert str(raised.value) == "the value has no 'id', which the document ID 'ticket/{id}' needs"


def test_metadata_over_the_knowledge_bases_limits_is_poison_with_the_reason() -> None:
    many_tags = {**TICKET, "tags": [f"t{index}" for index in range(11)]}
    with pytest.raises(PoisonRecord, match="11 items; a string list holds at most 10"):
        document_part(ticket_record(many_tags), decoder(TICKETS))
    heavy = {**TICKET, "tags": ["x" * 400, "y" * 400], "customer": {"tier": "z" * 300}}
    with pytest.raises(PoisonRecord, match="bytes of custom metadata per document"):
        document_part(ticket_record(heavy), decoder(TICKETS))
    too_many = {**TICKETS, "metadata": {f"m{index}": "subject" for index in range(MAX_METADATA_KEYS)}}
    with pytest.raises(MappingError, match="exceed the knowledge base's 35 metadata keys"):
        parse_mapping(too_many)


def test_a_hostile_value_is_poison_and_never_an_exception_for_the_batch() -> None:
    nested: Any = "x"
    for _ in range(500):
        nested = {"a": nested}
    for value in ({**TICKET, "subject": nested}, b64('{"id": 1e999}'), b64("\u0000" * 10), b64('"just text"')):
        with pytest.raises(PoisonRecord):
            document_part(ticket_record(value), decoder(TICKETS))


def test_key_ids_keep_the_key_readable_and_need_a_key() -> None:
    keyed = decoder({**TICKETS, "id": "key"})
    assert keyed.mapping.id.kind is IdKind.KEYED
    assert document_part(ticket_record(TICKET, key="TCK-1042"), keyed).document_id == "TCK-1042"
    with pytest.raises(PoisonRecord, match="the record has no key"):
        document_part(ticket_record(TICKET, key=None), keyed)
    tombstone = KafkaRecord(coordinates=WHERE, value=None, key=b64("TCK-1042"))
    assert document_part(tombstone, keyed).deletes


def test_text_values_are_the_document() -> None:
    text = decoder({"format": "text", "id": "offset", "text": "{value}"})
    part = document_part(ticket_record(b64("Release 4.2 ships on Monday.")), text)
    assert (part.document_id, part.text) == ("support-tickets/2/17", "Release 4.2 ships on Monday.")
    with pytest.raises(PoisonRecord, match="not UTF-8"):
        document_part(ticket_record(base64.b64encode(b"\xff").decode()), text)


AVRO_SCHEMA = {
    "type": "record", "name": "Reading", "namespace": "plant",
    "fields": [
        {"name": "sensor", "type": "string"},
        {"name": "celsius", "type": "double"},
        {"name": "site", "type": ["null", "string"], "default": None},
    ],
}  # fmt: skip
READINGS = {"format": "avro", "framing": "plain", "schema": AVRO_SCHEMA, "id": "sensor/{sensor}",
            "text": "{sensor} reads {celsius:.1f} C", "metadata": {"celsius": "celsius", "site": "site"},
            "example": {"sensor": "t-7", "celsius": 21.5, "site": "north"}}  # fmt: skip


def test_avro_values_decode_in_the_framing_the_mapping_declares() -> None:
    plain_mapping = decoder({**READINGS, "framing": "plain"})
    framed_mapping = decoder({**READINGS, "framing": "confluent"})
    plain = encode_value(plain_mapping.mapping, {"sensor": "t-7", "celsius": 21.54, "site": None})
    framed = bytes([0]) + struct.pack(">I", 42) + plain
    for raw, readings in ((plain, plain_mapping), (framed, framed_mapping)):
        part = document_part(ticket_record(base64.b64encode(raw).decode()), readings)
        assert (part.document_id, part.text, part.metadata) == ("sensor/t-7", "t-7 reads 21.5 C", {"celsius": 21.54})
    with pytest.raises(PoisonRecord, match="starts with byte 6; the mapping declares the Confluent wire format"):
        document_part(ticket_record(base64.b64encode(plain).decode()), framed_mapping)


def test_a_plain_avro_value_that_would_also_decode_as_framed_is_read_as_declared() -> None:
    schema = {"type": "record", "name": "Series", "fields": [
        {"name": "first", "type": "long"}, {"name": "rest", "type": {"type": "array", "items": "long"}}]}  # fmt: skip
    mapping = {"format": "avro", "schema": schema, "id": "offset", "text": "{first} then {rest}"}
    plain_mapping = decoder({**mapping, "framing": "plain"})
    raw = encode_value(plain_mapping.mapping, {"first": 0, "rest": [0, 0, 0, 21, 1, 5]})
    assert raw[0] == 0  # it starts as a Confluent header would, and what follows 5 bytes decodes too:
    assert decoder({**mapping, "framing": "confluent"}).decode(raw) == {"first": 21, "rest": [5]}
    assert plain_mapping.decode(raw) == {"first": 0, "rest": [0, 0, 0, 21, 1, 5]}


@pytest.mark.parametrize("framing", [None, "guess"])
def test_an_avro_mapping_declares_its_framing(framing: str | None) -> None:
    mapping = {key: value for key, value in READINGS.items() if key != "framing"}
    if framing is not None:
        mapping["framing"] = framing
    with pytest.raises(MappingError, match=r"framing: .*'plain' or 'confluent'"):
        parse_mapping(mapping)


def test_an_avro_value_of_another_schema_is_poison() -> None:
    with pytest.raises(PoisonRecord, match="not Avro of the mapping's schema"):
        document_part(ticket_record(base64.b64encode(b"\x02\x03").decode()), decoder(READINGS))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "xml"}, f"format: 'xml' is not one of {', '.join(FORMATS)}"),
        ({"schema": {"type": "objekt"}}, "schema: not a valid JSON Schema"),
        ({"text": "{subject} {sumary}"}, "text: 'sumary' is not a property the schema defines"),
        ({"metadata": {"p": "customer.level"}}, "metadata.p: 'customer.level' is not a property the schema defines"),
        ({"metadata": {"p": {"field": "priority", "type": "integer"}}}, "type 'integer' is not one of string"),
        ({"metadata": {"topic": "subject"}}, "'topic' is built in"),
        ({"metadata": {"x-amz-bedrock-kb-source-uri": "subject"}}, "Bedrock's own"),
        ({"id": "ticket"}, "names no field"),
        ({"text": "{subject!r}"}, "conversions are not supported"),
        ({"example": {**TICKET, "priority": 9}}, "example: priority: 9 is greater than the maximum of 5"),
        ({"colour": "blue"}, "colour: unknown part"),
        (
            {"format": "avro", "framing": "plain", "schema": {"type": "record", "name": "R"}},
            "schema: not a valid Avro schema",
        ),
    ],
)
def test_a_mapping_that_cannot_work_fails_synthesis_naming_stream_document(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"app:streamDocument": {**TICKETS, **change}})
    assert raised.value.key == "streamDocument"
    assert message in str(raised.value)


def test_the_mapping_can_be_given_as_json_on_the_command_line() -> None:
    settings = load_settings({"app:streamDocument": json.dumps(TICKETS)})
    assert settings.stream.mapping.id.template.source == "ticket/{id}"


def test_the_retired_document_ids_setting_says_what_replaces_it() -> None:
    with pytest.raises(SettingsError, match=r'replaced by streamDocument\'s "id"'):
        load_settings({"app:streamDocumentIds": "per-ticker"})


def test_a_mapping_too_large_for_the_functions_environment_is_refused() -> None:
    described = {**TICKETS, "schema": {**TICKETS["schema"], "description": "d" * 4000}}
    with pytest.raises(SettingsError, match="the function's environment holds at most 3,072"):
        load_settings({"app:streamDocument": described})


def test_the_ticket_mapping_the_streaming_guide_shows_synthesizes() -> None:
    guide = (REPO_ROOT / "docs" / "streaming.md").read_text()
    block = guide.split('"app:streamDocument": ', 1)[1].split("\n```", 1)[0]
    mapping = json.loads(block)
    settings = load_settings({"app:streamDocument": mapping, "app:streamChunkingStrategy": "FIXED_SIZE"})
    assert settings.stream.mapping.id.deletes  # ticket/{key}: tombstones delete
    part = document_part(ticket_record(mapping["example"], key="1042"), decoder(mapping))
    assert part.document_id == "ticket/1042" and part.text.startswith("Cannot sign in\n\nOpened 2026-02-15 by Ana")
    sample = guide.split("## The sample's ticker prices", 1)[1].split("```json\n", 1)[1].split("\n```", 1)[0]
    assert json.loads(sample) == TICKER_PRICES


def test_console_test_events_follow_the_mapping() -> None:
    from stacks.constructs.producer import TICKER_TEST_EVENTS, producer_test_events
    from stacks.constructs.query_function import TICKER_STREAM_EVENT, stream_test_event

    tickets = parse_mapping({**TICKETS, "id": "ticket/{key}"})
    assert producer_test_events(tickets)["send-example"] == {"records": [{"key": "example-1", "value": TICKET}]}
    assert producer_test_events(tickets)["delete-example"] == {"delete": ["example-1"]}
    assert stream_test_event(tickets) == {
        "question": "What do the stream's records say about tier gold, escalated False?",
        "mode": "retrieve",
        "where": {"tier": "gold", "escalated": False},
    }
    assert producer_test_events(parse_mapping(TICKER_PRICES)) == TICKER_TEST_EVENTS
    assert stream_test_event(parse_mapping(TICKER_PRICES)) == TICKER_STREAM_EVENT


def test_a_glue_schema_registry_decodes_values_in_provisioned_mode(synth: Callable[..., Synthesized]) -> None:
    app = synth(streamPollerMode="provisioned", streamSchemaRegistryArn=SCHEMA_REGISTRY_ARN)
    template = app.template("Streaming")
    (mapping,) = kafka_mappings(template).values()
    assert mapping["Properties"]["AmazonManagedKafkaEventSourceConfig"]["SchemaRegistryConfig"] == {
        "EventRecordFormat": "JSON", "SchemaRegistryURI": SCHEMA_REGISTRY_ARN,
        "SchemaValidationConfigs": [{"Attribute": "VALUE"}]}  # fmt: skip
    statements = [statement for policy in resources_of_type(template, "AWS::IAM::Policy").values()
                  for statement in policy["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip
    glue = {statement["Action"] for statement in statements if "glue" in json.dumps(statement["Action"])}
    assert glue == {"glue:GetRegistry", "glue:GetSchemaVersion"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"streamSchemaRegistryArn": SCHEMA_REGISTRY_ARN}, "streamPollerMode=provisioned only"),
        ({"streamSchemaRegistryArn": SCHEMA_REGISTRY_ARN, "streamPollerMode": "provisioned",
          "streamDocument": {"format": "text", "id": "key"}}, 'give streamDocument "format": "json"'),
        ({"streamSchemaRegistryArn": "arn:aws:glue:us-east-1:123456789012:schema/x/y"}, "an AWS Glue registry ARN"),
    ],
)  # fmt: skip
def test_a_schema_registry_needs_provisioned_mode_and_json(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({f"app:{key}": value for key, value in settings.items()})
    assert raised.value.key == "streamSchemaRegistryArn" and message in str(raised.value)


@pytest.mark.parametrize(
    ("value", "spec", "text"),
    [("ab", ">5", "   ab"), (12345, ",", "12,345"), ("$3,413.23", ",.2f", "3,413.23"), (0.5, ".0%", "50%"),
     (7, "05d", "00007"), (1771151400, "%Y-%m-%d", "2026-02-15"), ("2026-02-15T10:30:00", "%H:%M", "10:30")],
)  # fmt: skip
def test_format_specs_format_text_numbers_and_dates(value: Any, spec: str, text: str) -> None:
    from stream_ingest.mapping import format_value

    assert format_value(value, spec, "field") == text


def test_the_streaming_guide_describes_exactly_the_registered_formats() -> None:
    guide = (REPO_ROOT / "docs" / "streaming.md").read_text()
    row = next(line for line in guide.splitlines() if line.startswith("| `format` |"))
    section = guide.split("### Formats", 1)[1].split("\n**Keys.**", 1)[0]
    documented = re.findall(r"^- \*\*[^*]+\*\* \(`([a-z0-9-]+)`\)", section, flags=re.MULTILINE)
    assert documented == list(FORMATS)
    assert re.findall(r"`([a-z0-9-]+)` \(", row) == list(FORMATS)
    for name, record_format in FORMATS.items():
        assert f"`{name}` ({record_format.summary}" in row


def test_the_preview_shows_the_document_the_example_makes() -> None:
    from scripts.preview_document import preview

    shown = preview({**TICKETS, "id": "ticket/{key}"}, "support-tickets")
    assert shown.startswith("Document ID: ticket/example-key\nText:\n  Cannot sign in\n")
    assert "  priority: 2.0\n" in shown and '  topic: "support-tickets"' in shown
    assert shown.endswith("A tombstone of key 'example-key' deletes ticket/example-key.")
    assert "tombstone is dead-lettered" in preview(TICKETS, "support-tickets")
    assert 'has no "example"' in preview({k: v for k, v in TICKETS.items() if k != "example"}, "t")
