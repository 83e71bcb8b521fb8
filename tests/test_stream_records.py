"""Kafka records to documents: parsing, poison, text, metadata, IDs, request planning, pacing."""

from __future__ import annotations

import base64
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest

from devtools.lambda_events import b64, kafka_event, ticker_value
from devtools.sdk_model import validate_request
from stream_ingest.contract import DocumentIds
from stream_ingest.documents import (
    MAX_REQUEST_BYTES,
    IngestRequest,
    StreamDocument,
    plan_requests,
    render_text,
    to_documents,
)
from stream_ingest.ingest import Pacer
from stream_ingest.records import (
    Coordinates,
    InvalidEvent,
    KafkaRecord,
    PoisonRecord,
    TickerPrice,
    kafka_records,
    parse_ticker_price,
)

WHERE = Coordinates(topic="ticker-prices", partition=1, offset=42)


def record(value: str | None) -> KafkaRecord:
    return KafkaRecord(coordinates=WHERE, value=value)


def price(ticker: str = "ZVZZT", amount: str = "3413.23", timestamp: float = 1771151400.0,
          partition: int = 1, offset: int = 42) -> TickerPrice:  # fmt: skip
    return TickerPrice(
        coordinates=Coordinates("ticker-prices", partition, offset),
        ticker=ticker,
        price=Decimal(amount),
        timestamp=timestamp,
    )


@pytest.mark.parametrize(
    ("text", "amount"),
    [("$3,413.23", "3413.23"), ("$44.50", "44.50"), ("$0.45", "0.45"), ("$1,000,000", "1000000"), ("12.5", "12.5")],
)
def test_prices_are_parsed_from_the_csv_strings(text: str, amount: str) -> None:
    parsed = parse_ticker_price(record(ticker_value("ZVZZT", text)))
    assert parsed.price == Decimal(amount)
    assert (parsed.ticker, parsed.timestamp, parsed.coordinates) == ("ZVZZT", 1771151400.0, WHERE)


def test_extra_fields_are_tolerated() -> None:
    value = b64(json.dumps({"ticker": "OOOO", "price": "$44.50", "timestamp": 1, "exchange": "TEST"}))
    assert parse_ticker_price(record(value)).ticker == "OOOO"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "has no value"),
        ("%%%not-base64%%%", "not valid base64"),
        (b64("x" * 20_000), "larger than 10240 bytes"),
        (base64.b64encode(b"\xff\xfe\x00").decode(), "not UTF-8"),
        (b64("ticker=ZVZZT"), "not JSON"),
        (b64("[1, 2]"), "JSON list, expected an object"),
        (b64('{"ticker": "ZVZZT", "timestamp": 1}'), "has no 'price'"),
        (b64("{}"), "has no 'ticker', 'price', 'timestamp'"),
        (b64('{"ticker": 7, "price": "$1.00", "timestamp": 1}'), "ticker 7 is not"),
        (b64('{"ticker": "", "price": "$1.00", "timestamp": 1}'), "ticker '' is not"),
        (b64('{"ticker": "A B", "price": "$1.00", "timestamp": 1}'), "ticker 'A B' is not"),
        (b64('{"ticker": "A", "price": 3.5, "timestamp": 1}'), "price must be a string"),
        (b64('{"ticker": "A", "price": "$3.41.23", "timestamp": 1}'), "is not an amount"),
        (b64('{"ticker": "A", "price": "-$5", "timestamp": 1}'), "is not an amount"),
        (b64('{"ticker": "A", "price": "$1,23", "timestamp": 1}'), "is not an amount"),
        (b64('{"ticker": "A", "price": "", "timestamp": 1}'), "is not an amount"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": "2026-02-15"}'), "timestamp must be epoch seconds"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": true}'), "timestamp must be epoch seconds"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": -1}'), "between 1970 and 9999"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": 1e300}'), "between 1970 and 9999"),
        (b64('{"ticker": "A", "price": "$1", "timestamp": NaN}'), "timestamp must be epoch seconds"),
    ],
)
def test_every_kind_of_poison_is_named(value: str | None, reason: str) -> None:
    with pytest.raises(PoisonRecord, match=reason.replace("(", r"\(").replace("$", r"\$")):
        parse_ticker_price(record(value))


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
        ("3413.23", 1771151400.0, "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $3,413.23."),
        ("44.5", 1771151400.9, "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $44.50."),
        ("0.45", 0.0, "At 1970-01-01 00:00:00 UTC the price of ZVZZT is $0.45."),
    ],
)
def test_text_reads_naturally(amount: str, timestamp: float, text: str) -> None:
    assert render_text(price(amount=amount, timestamp=timestamp)) == text


def test_document_carries_filterable_typed_metadata_and_validates_against_the_model() -> None:
    (document,) = to_documents([price()], DocumentIds.PER_MESSAGE)
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
    parameters = {"knowledgeBaseId": "KB12345678", "dataSourceId": "DS12345678",
                  "clientToken": request.client_token, "documents": request.body()}  # fmt: skip
    assert validate_request("bedrock-agent", "IngestKnowledgeBaseDocuments", parameters) == []


def test_per_message_ids_come_from_the_coordinates_and_survive_redelivery() -> None:
    first = to_documents([price(offset=42), price(offset=43)], DocumentIds.PER_MESSAGE)
    again = to_documents([price(offset=43), price(offset=42)], DocumentIds.PER_MESSAGE)
    assert [d.document_id for d in first] == ["ticker-prices/1/42", "ticker-prices/1/43"]
    assert {d.document_id for d in again} == {d.document_id for d in first}
    duplicate = to_documents([price(offset=42), price(offset=42)], DocumentIds.PER_MESSAGE)
    assert len(duplicate) == 1


def test_per_ticker_ids_keep_the_latest_price_and_stand_for_every_record() -> None:
    documents = to_documents(
        [
            price("ZVZZT", "1.00", timestamp=100, offset=1),
            price("ZVZZT", "3.00", timestamp=300, offset=3),
            price("ZVZZT", "2.00", timestamp=200, offset=2),
            price("OOOO", "44.50", timestamp=100, offset=4),
        ],
        DocumentIds.PER_TICKER,
    )
    by_id = {document.document_id: document for document in documents}
    assert set(by_id) == {"ticker/ZVZZT", "ticker/OOOO"}
    assert by_id["ticker/ZVZZT"].metadata["price"] == 3.0
    assert [source.offset for source in by_id["ticker/ZVZZT"].sources] == [1, 3, 2]


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
                   "clientToken": request.client_token, "documents": request.body()}  # fmt: skip
        assert len(json.dumps(payload).encode()) <= MAX_REQUEST_BYTES


def test_the_client_token_identifies_the_documents() -> None:
    one = IngestRequest(documents=[document(5, 1)])
    same = IngestRequest(documents=[document(5, 1)])
    other = IngestRequest(documents=[document(6, 1)])
    assert one.client_token == same.client_token != other.client_token
    assert 33 <= len(one.client_token) <= 256


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
