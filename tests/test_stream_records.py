"""Kafka records to documents with the sample's ticker mapping: parsing, poison, text, metadata, IDs, the
ordering rule, request planning, idempotency tokens and pacing."""

from __future__ import annotations

import base64
import itertools
import json
from typing import Any

import pytest

from devtools.lambda_events import b64, kafka_event, ticker_value
from devtools.sdk_model import validate_request
from stream_ingest.documents import (
    MAX_REQUEST_BYTES,
    IngestRequest,
    StreamDocument,
    operation_token,
    plan_requests,
    winners,
)
from stream_ingest.formats import Decoder
from stream_ingest.ingest import Pacer
from stream_ingest.mapping import TICKER_PRICES, parse_mapping
from stream_ingest.records import (
    Coordinates,
    DocumentPart,
    InvalidEvent,
    KafkaRecord,
    PoisonRecord,
    document_part,
    kafka_records,
)
from tests.conftest import PER_KEY_TICKERS

WHERE = Coordinates(topic="ticker-prices", partition=1, offset=42)
TICKERS = Decoder(parse_mapping(TICKER_PRICES))
PER_KEY = Decoder(parse_mapping(PER_KEY_TICKERS))


def record(value: str | None, *, key: str | None = None, where: Coordinates = WHERE,
           timestamp_ms: int | None = 1771151400000) -> KafkaRecord:  # fmt: skip
    return KafkaRecord(coordinates=where, value=value, timestamp_ms=timestamp_ms,
                       key=b64(key) if key is not None else None)  # fmt: skip


def price(ticker: str = "ZVZZT", amount: str = "$3,413.23", timestamp: float = 1771151400.0, partition: int = 1,
          offset: int = 42, decoder: Decoder = TICKERS, timestamp_ms: int | None = None) -> DocumentPart:  # fmt: skip
    where = Coordinates("ticker-prices", partition, offset)
    return document_part(record(ticker_value(ticker, amount, timestamp), key=ticker, where=where,
                                timestamp_ms=timestamp_ms), decoder)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "amount"),
    [("$3,413.23", 3413.23), ("$44.50", 44.5), ("$0.45", 0.45), ("$1,000,000", 1000000.0), ("12.5", 12.5)],
)
def test_prices_are_parsed_from_the_csv_strings(text: str, amount: float) -> None:
    parsed = price(amount=text)
    assert parsed.metadata == {"ticker": "ZVZZT", "price": amount, "timestamp": 1771151400.0}
    assert (parsed.document_id, parsed.coordinates) == ("ticker-prices/1/42", Coordinates("ticker-prices", 1, 42))


def test_extra_fields_are_tolerated() -> None:
    value = b64(json.dumps({"ticker": "OOOO", "price": "$44.50", "timestamp": 1, "exchange": "TEST"}))
    assert document_part(record(value), TICKERS).metadata["ticker"] == "OOOO"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "has no value"),
        ("%%%not-base64%%%", "not valid base64"),
        (b64("x" * 1_100_000), "larger than 1,048,576 bytes"),
        (base64.b64encode(b"\xff\xfe\x00").decode(), "not UTF-8"),
        (b64("ticker=ZVZZT"), "not JSON"),
        (b64("[1, 2]"), "(the value): [1, 2] is not of type 'object'"),
        (b64('{"ticker": "ZVZZT", "timestamp": 1}'), "'price' is a required property"),
        (b64('{"ticker": 7, "price": "$1.00", "timestamp": 1}'), "ticker: 7 is not of type 'string'"),
        (b64('{"ticker": "", "price": "$1.00", "timestamp": 1}'), "ticker: '' does not match"),
        (b64('{"ticker": "A B", "price": "$1.00", "timestamp": 1}'), "ticker: 'A B' does not match"),
        (b64('{"ticker": "A", "price": 3.5, "timestamp": 1}'), "price: 3.5 is not of type 'string'"),
        (b64('{"ticker": "A", "price": "$3.41.23", "timestamp": 1}'), "price: '$3.41.23' does not match"),
        (b64('{"ticker": "A", "price": "-$5", "timestamp": 1}'), "price: '-$5' does not match"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": "2026-02-15"}'), "timestamp: '2026-02-15' is not of type"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": true}'), "timestamp: True is not of type 'number'"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": -1}'), "timestamp: -1 is less than the minimum of 0"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": 1e300}'), "timestamp: 1e+300 is greater than or equal"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": NaN}'), "contains NaN, which is not a JSON number"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": Infinity}'), "contains Infinity"),
        (b64('{"ticker": "A", "price": "$' + "9" * 400 + '", "timestamp": 1}'), "is not a finite number"),
        (b64("[" * 100_000), "nests deeper than 64 levels"),
    ],
)
def test_every_kind_of_poison_is_named(value: str | None, reason: str) -> None:
    with pytest.raises(PoisonRecord) as raised:
        document_part(record(value), TICKERS)
    assert reason in str(raised.value)


def test_every_partition_of_the_event_is_read() -> None:
    event = kafka_event([("t", 0, 5, "a"), ("t", 1, 9, "b"), ("t", 0, 6, None), ("u", 0, 1, "c")])
    coordinates = [(r.coordinates.topic, r.coordinates.partition, r.coordinates.offset) for r in kafka_records(event)]
    assert coordinates == [("t", 0, 5), ("t", 0, 6), ("t", 1, 9), ("u", 0, 1)]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "not an MSK event"),
        ([], "not an MSK event"),
        ({"records": []}, "not an MSK event"),
        ({"records": {"t-0": {}}}, "is not a list"),
        ({"records": {"t-0": ["x"]}}, "is not an object"),
        ({"records": {"t-0": [{"partition": 0, "offset": 1}]}}, "has no topic"),
        ({"records": {"t-0": [{"topic": "t", "partition": -1, "offset": 1}]}}, "has no valid partition"),
        ({"records": {"t-0": [{"topic": "t", "partition": 0, "offset": "1"}]}}, "has no valid offset"),
    ],
)
def test_an_event_that_is_not_an_msk_batch_is_refused(event: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        list(kafka_records(event))


@pytest.mark.parametrize(
    ("amount", "timestamp", "text"),
    [
        ("$3,413.23", 1771151400.0, "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $3,413.23."),
        ("44.5", 1771151400.9, "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $44.50."),
        ("0.45", 0.0, "At 1970-01-01 00:00:00 UTC the price of ZVZZT is $0.45."),
    ],
)
def test_text_reads_naturally(amount: str, timestamp: float, text: str) -> None:
    assert price(amount=amount, timestamp=timestamp).text == text


def as_document(part: DocumentPart) -> StreamDocument:
    (document,) = winners([part]).documents
    return document


def test_document_carries_filterable_typed_metadata_and_validates_against_the_model() -> None:
    document = as_document(price())
    item = document.as_request_item()
    attributes = {a["key"]: a["value"] for a in item["metadata"]["inlineAttributes"]}
    assert attributes == {
        "ticker": {"type": "STRING", "stringValue": "ZVZZT"},
        "price": {"type": "NUMBER", "numberValue": 3413.23},
        "timestamp": {"type": "NUMBER", "numberValue": 1771151400.0},
        "topic": {"type": "STRING", "stringValue": "ticker-prices"},
        "partition": {"type": "NUMBER", "numberValue": 1.0},
        "offset": {"type": "NUMBER", "numberValue": 42.0},
    }
    assert item["content"]["custom"]["inlineContent"] == {
        "type": "TEXT",
        "textContent": {"data": "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $3,413.23."},
    }
    request = IngestRequest(documents=[document])
    token = request.client_token("KB12345678", "DS12345678")
    parameters = {"knowledgeBaseId": "KB12345678", "dataSourceId": "DS12345678", "clientToken": token,
                  "documents": request.body()}  # fmt: skip
    assert validate_request("bedrock-agent", "IngestKnowledgeBaseDocuments", parameters) == []


def test_offset_ids_come_from_the_coordinates_and_survive_redelivery() -> None:
    first = winners([price(offset=42), price(offset=43)]).documents
    again = winners([price(offset=43), price(offset=42)]).documents
    assert [d.document_id for d in first] == ["ticker-prices/1/42", "ticker-prices/1/43"]
    assert {d.document_id for d in again} == {d.document_id for d in first}
    assert len(winners([price(offset=42), price(offset=42)]).documents) == 1


def test_key_ids_keep_the_last_record_of_the_partition_and_stand_for_every_record() -> None:
    # The offset decides, not the value's own timestamp: Kafka's order, the same within and across batches.
    documents = winners([
        price("ZVZZT", "1.00", timestamp=100, offset=1, decoder=PER_KEY),
        price("ZVZZT", "3.00", timestamp=300, offset=3, decoder=PER_KEY),
        price("ZVZZT", "2.00", timestamp=900, offset=2, decoder=PER_KEY),
        price("OOOO", "44.50", timestamp=100, offset=4, decoder=PER_KEY),
    ]).documents  # fmt: skip
    by_id = {document.document_id: document for document in documents}
    assert set(by_id) == {"ticker/ZVZZT", "ticker/OOOO"}
    assert by_id["ticker/ZVZZT"].metadata["price"] == 3.0
    assert [source.offset for source in by_id["ticker/ZVZZT"].sources] == [1, 3, 2]


def test_across_partitions_the_later_kafka_timestamp_wins() -> None:
    early = price("ZVZZT", "1.00", partition=0, offset=90, decoder=PER_KEY, timestamp_ms=1_000)
    late = price("ZVZZT", "2.00", partition=1, offset=5, decoder=PER_KEY, timestamp_ms=2_000)
    for order in ([early, late], [late, early]):
        (document,) = winners(order).documents
        assert document.metadata["price"] == 2.0 and document.winner == late.coordinates


def test_a_tombstone_after_the_last_value_deletes_and_one_before_it_is_superseded() -> None:
    value = price("ZVZZT", offset=5, decoder=PER_KEY)
    tombstone = document_part(record(None, key="ZVZZT", where=Coordinates("ticker-prices", 1, 6)), PER_KEY)
    assert tombstone.deletes and tombstone.document_id == "ticker/ZVZZT"
    outcome = winners([value, tombstone])
    assert outcome.documents == [] and [d.document_id for d in outcome.deletions] == ["ticker/ZVZZT"]
    earlier = document_part(record(None, key="ZVZZT", where=Coordinates("ticker-prices", 1, 4)), PER_KEY)
    outcome = winners([earlier, value])
    assert outcome.deletions == [] and [d.document_id for d in outcome.documents] == ["ticker/ZVZZT"]


def test_tombstones_are_poison_where_documents_are_not_keyed() -> None:
    with pytest.raises(PoisonRecord, match=r"only IDs from the key .* delete by tombstone"):
        document_part(record(None, key="ZVZZT"), TICKERS)
    with pytest.raises(PoisonRecord, match="the record has no key"):
        document_part(record(ticker_value("ZVZZT", "$1")), PER_KEY)


def document(size: int, index: int = 0) -> StreamDocument:
    return StreamDocument(document_id=f"d{index}", text="x" * size, metadata={"ticker": "X"},
                          sources=(Coordinates("t", 0, index),))  # fmt: skip


def test_requests_hold_at_most_ten_documents() -> None:
    requests = list(plan_requests([document(10, index) for index in range(25)]))
    assert [len(request.documents) for request in requests] == [10, 10, 5]


def test_requests_stay_within_the_payload_limit() -> None:
    big = [document(2 * 1024 * 1024, index) for index in range(5)]
    requests = list(plan_requests(big))
    assert [len(request.documents) for request in requests] == [2, 2, 1]
    for request in requests:
        payload = {"knowledgeBaseId": "KB12345678", "dataSourceId": "DS12345678",
                   "clientToken": request.client_token("KB", "DS"), "documents": request.body()}  # fmt: skip
        assert len(json.dumps(payload).encode()) <= MAX_REQUEST_BYTES


def test_the_client_token_identifies_the_operation_not_just_its_payload() -> None:
    one = IngestRequest(documents=[document(5, 1)])
    assert one.client_token("KB", "DS") == IngestRequest(documents=[document(5, 1)]).client_token("KB", "DS")
    assert one.client_token("KB", "DS") != IngestRequest(documents=[document(6, 1)]).client_token("KB", "DS")
    # The same content from another record, another knowledge base or data source is another operation.
    moved = StreamDocument("d1", "x" * 5, {"ticker": "X"}, (Coordinates("t", 0, 7),))
    assert one.client_token("KB", "DS") != IngestRequest(documents=[moved]).client_token("KB", "DS")
    assert len({one.client_token("KB", "DS"), one.client_token("KB2", "DS"), one.client_token("KB", "DS2")}) == 3
    # A key deleted, re-created and deleted again: two deletions, two tokens.
    ids = [{"dataSourceType": "CUSTOM", "custom": {"id": "ticker/ZVZZT"}}]
    first = operation_token("delete", "KB", "DS", ids, [Coordinates("t", 0, 3)])
    second = operation_token("delete", "KB", "DS", ids, [Coordinates("t", 0, 9)])
    assert first != second and 33 <= len(first) <= 256


def test_the_pacer_spaces_request_starts() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    pacer = Pacer(5, clock=lambda: now[0], sleep=sleep)
    for _ in range(4):
        pacer.wait()
    assert slept == [0.2, 0.2, 0.2]
    now[0] += 10  # idle: no debt is carried over as a burst
    pacer.wait()
    assert slept == [0.2, 0.2, 0.2]


def test_concurrent_pacers_of_different_partitions_share_one_schedule_without_collisions() -> None:
    now = [100.0]
    starts: list[tuple[int, float]] = []

    def pacer(partition: int) -> Pacer:
        def sleep(seconds: float) -> None:
            starts.append((partition, round(now[0] + seconds, 6)))

        return Pacer(4.0, clock=lambda: now[0], sleep=sleep, owned={partition}, slot_count=2)

    first, second = pacer(0), pacer(1)
    for _ in range(4):
        first.wait()
        second.wait()
    times = sorted(start for _, start in starts)
    assert len(times) == len(set(times))  # never two in one slot
    gaps = {round(later - earlier, 6) for earlier, later in itertools.pairwise(times)}
    assert gaps == {0.25}  # together: the whole quota, evenly spaced
    assert all(round(start / 0.25) % 2 == partition for partition, start in starts)


def test_a_pacer_that_owns_every_partition_uses_every_slot() -> None:
    assert Pacer(5.0, owned={0, 1}, slot_count=2).requests_per_second == 5.0
    assert Pacer(5.0, owned={1}, slot_count=2).requests_per_second == 2.5
