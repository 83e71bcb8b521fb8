"""The sample-stream producer, with a fake Kafka producer standing in for the brokers."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError, NotLeaderForPartitionError
from kafka.partitioner.default import murmur2

from devtools.lambda_events import FakeLambdaContext
from producer import handler as producer_handler
from producer.contract import ProducerConfig
from producer.publish import PublishError, connect, kafka_producer_config, publish
from producer.records import SAMPLE_STREAM, Message, RequestError, parse_request, ticker_price
from stream_ingest.formats import Decoder
from stream_ingest.mapping import TICKER_PRICES, parse_mapping
from tests.conftest import REPO_ROOT
from tests.support.contracts import use_config

NOW = 1771151400.25  # 2026-02-15 10:30:00.25 UTC
PARTITIONS = 3


@dataclass
class Ack:
    partition: int
    offset: int


@dataclass
class PendingAck:
    ack: Ack | None
    error: Exception | None = None

    def get(self, timeout: float | None = None) -> Ack:
        if self.error is not None:
            raise self.error
        assert self.ack is not None
        return self.ack


@dataclass
class FakeProducer:
    """Partitions like Kafka's default partitioner (murmur2 of the key) and numbers offsets per partition."""

    fail_sends: set[int] = field(default_factory=set)  # indexes of sends the brokers never acknowledge
    sent: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    offsets: dict[int, int] = field(default_factory=dict)
    flushed: int = 0

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> PendingAck:
        index = len(self.sent)
        self.sent.append((topic, key, value))
        if index in self.fail_sends:
            return PendingAck(ack=None, error=NotLeaderForPartitionError("leader moved"))
        partition = (murmur2(key) & 0x7FFFFFFF) % PARTITIONS if key is not None else index % PARTITIONS
        offset = self.offsets.get(partition, 0)
        self.offsets[partition] = offset + 1
        return PendingAck(ack=Ack(partition=partition, offset=offset))

    def flush(self, timeout: float | None = None) -> None:
        self.flushed += 1


def now() -> float:
    return NOW


TICKERS = parse_mapping(TICKER_PRICES)


def request(event: Any, mapping: Any = TICKERS) -> list[Message]:
    return parse_request(event, mapping, now)


def test_the_sample_stream_is_the_csv_of_the_repository() -> None:
    assert SAMPLE_STREAM.read_bytes() == (REPO_ROOT / "sample_data" / "TestData.csv").read_bytes()
    with (REPO_ROOT / "sample_data" / "TestData.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    records = request({})
    assert len(records) == 17
    assert [(r.label, json.loads(r.value or b"")["price"]) for r in records] == [
        (row["ticker"], row["price"]) for row in rows
    ]


@pytest.mark.parametrize("event", [None, {}])
def test_an_empty_event_sends_the_17_sample_rows_as_json(event: Any) -> None:
    producer = FakeProducer()
    result = publish(request(event), producer, "ticker-prices").as_dict()
    assert result["sent"] == 17 and result["topic"] == "ticker-prices"
    messages = [json.loads(value or b"") for _, _, value in producer.sent]
    assert messages[1] == {"ticker": "ZVZZT", "price": "$3,413.23", "timestamp": NOW}
    assert {message["price"] for message in messages} >= {"$44.50", "$2,802.86", "$0.45", "$63.00"}
    assert all(set(message) == {"ticker", "price", "timestamp"} for message in messages)
    assert all(isinstance(message["timestamp"], float) for message in messages)
    assert producer.flushed == 1


def test_records_are_keyed_by_ticker_so_each_ticker_keeps_one_partition() -> None:
    producer = FakeProducer()
    records = [{"ticker": ticker, "price": "$1.00"} for ticker in ["ZVZZT", "NTEST", "ZVZZT", "OOOO", "ZVZZT"]]
    result = publish(request({"records": records}), producer, "ticker-prices")
    assert [key for _, key, _ in producer.sent] == [b"ZVZZT", b"NTEST", b"ZVZZT", b"OOOO", b"ZVZZT"]
    partitions = {record.partition for record in result.records if record.key == "ZVZZT"}
    assert len(partitions) == 1
    zvzzt = [record.offset for record in result.records if record.key == "ZVZZT"]
    assert zvzzt == sorted(zvzzt)  # in order within the partition
    summary = result.as_dict()
    assert sum(summary["partitions"].values()) == 5
    assert summary["records"][0] == {"key": "ZVZZT", "partition": result.records[0].partition, "offset": 0}


def test_a_plain_list_and_given_timestamps_are_accepted() -> None:
    records = request([{"ticker": "ZTEST", "price": "$23.75", "timestamp": 1700000000}])
    assert records == [ticker_price("ZTEST", "$23.75", 1700000000.0)]


def test_raw_values_are_sent_unchecked_and_unkeyed() -> None:
    producer = FakeProducer()
    messages = request({"raw": ["not json", '{"ticker": "X"}']})
    assert [(m.key, m.value) for m in messages] == [(None, b"not json"), (None, b'{"ticker": "X"}')]
    result = publish(messages, producer, "t").as_dict()
    assert [(key, value) for _, key, value in producer.sent] == [(None, b"not json"), (None, b'{"ticker": "X"}')]
    assert [record["key"] for record in result["records"]] == [None, None]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("ZVZZT", "expected an object or a list of records, got str"),
        (42, "expected an object or a list of records, got int"),
        ([], "'records' is empty"),
        ({"records": []}, "'records' is empty"),
        ({"records": [{"ticker": "A", "price": "$1"}], "raw": ["x"]}, "give one of"),
        ({"delete": "ZVZZT"}, "'delete' must be a list of keys"),
        ({"delete": [""]}, "delete[0] must be a key"),
        ({"tickers": []}, "unknown field(s) 'tickers'"),
        ([{"ticker": "A", "price": "$1"}] * 1001, "more than 1000"),
        (["ZVZZT"], 'records[0] must be {"key": ..., "value": ...} or a ticker price'),
        ([{"price": "$1.00"}], "records[0].ticker must be a non-empty string"),
        ([{"ticker": " ", "price": "$1.00"}], "records[0].ticker must be a non-empty string"),
        ([{"ticker": "X" * 33, "price": "$1.00"}], "longer than 32"),
        ([{"ticker": "A", "price": 1.5}], "records[0].price must be a non-empty string"),
        ([{"ticker": "A"}], "records[0].price must be a non-empty string"),
        ([{"ticker": "A", "price": "$1", "timestamp": "now"}], "records[0].timestamp must be epoch seconds"),
        ([{"ticker": "A", "price": "$1", "timestamp": True}], "records[0].timestamp must be epoch seconds"),
        ([{"ticker": "A", "price": "$1", "timestamp": -5}], "records[0].timestamp must be epoch seconds"),
        ([{"ticker": "A", "price": "$1", "volume": 3}], "records[0] has unknown field(s) 'volume'"),
        ({"raw": "text"}, "'raw' must be a list of strings"),
        ({"raw": [1]}, "raw[0] must be a string"),
        ({"raw": ["x" * (1024 * 1024 + 1)]}, "larger than"),
    ],
)
def test_bad_requests_are_rejected_with_a_clear_message(event: Any, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        request(event)
    assert message in str(raised.value)


def test_unacknowledged_records_fail_the_publish_and_say_how_many() -> None:
    producer = FakeProducer(fail_sends={1, 3})
    with pytest.raises(PublishError) as raised:
        publish(request({}), producer, "ticker-prices")
    message = str(raised.value)
    assert "2 of 17 records were not acknowledged" in message
    assert "(15 were)" in message
    assert "ZVZZT: NotLeaderForPartitionError" in message
    assert len(producer.sent) == 17  # every record was attempted


def test_the_client_authenticates_with_iam_over_tls_and_waits_for_all_replicas() -> None:
    config = kafka_producer_config("b-1.kafka:9098, b-2.kafka:9098", client_id="producer")
    assert config["bootstrap_servers"] == ["b-1.kafka:9098", "b-2.kafka:9098"]
    assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "AWS_MSK_IAM")
    assert config["acks"] == "all" and config["enable_idempotence"] is True


def test_unreachable_brokers_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with pytest.raises(PublishError, match=r"cannot connect to the brokers 127\.0\.0\.1:9:") as raised:
        connect("127.0.0.1:9", client_id="test", bootstrap_timeout_ms=300)
    assert isinstance(raised.value.__cause__, KafkaTimeoutError)


@pytest.fixture
def producer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_config(
        monkeypatch,
        ProducerConfig(
            bootstrap_brokers="127.0.0.1:9", topic_name="ticker-prices", document_mapping=dict(TICKER_PRICES)
        ),
    )


@pytest.mark.parametrize("event", [[], {"records": "x"}, [{"ticker": "A"}]])
def test_the_handler_answers_bad_requests_without_touching_kafka(producer_env: None, event: Any) -> None:
    # The brokers are unreachable: reaching them would fail the test with PublishError.
    response = producer_handler.handler(event, FakeLambdaContext())
    assert set(response) == {"error"}
    assert response["error"]["type"] == "ValidationError"
    assert response["error"]["message"]


def test_a_delete_request_sends_tombstones_keyed_by_ticker() -> None:
    (tombstone,) = request({"delete": ["ZVZZT"]})
    assert (tombstone.key, tombstone.value) == (b"ZVZZT", None)


AVRO_READINGS = parse_mapping({
    "format": "avro", "framing": "confluent", "id": "key", "text": "{sensor}: {celsius} C",
    "schema": {"type": "record", "name": "Reading", "fields": [{"name": "sensor", "type": "string"},
                                                               {"name": "celsius", "type": "double"}]},
    "example": {"sensor": "t-7", "celsius": 21.5},
})  # fmt: skip
TEXT_NOTES = parse_mapping({"format": "text", "id": "key", "text": "{value}"})


def test_keyed_records_of_any_format_are_encoded_as_the_mapping_says() -> None:
    (avro,) = request({"records": [{"key": "t-7", "value": {"sensor": "t-7", "celsius": 21.5}}]}, AVRO_READINGS)
    assert avro.key == b"t-7"
    assert Decoder(AVRO_READINGS).decode(avro.value or b"") == {"sensor": "t-7", "celsius": 21.5}
    (note,) = request({"records": [{"key": "n1", "value": "Release 4.2 ships Monday."}]}, TEXT_NOTES)
    assert (note.key, note.value) == (b"n1", b"Release 4.2 ships Monday.")
    (unkeyed,) = request([{"value": {"ticker": "A", "price": "$1", "timestamp": 1}}])
    assert unkeyed.key is None and json.loads(unkeyed.value or b"") == {"ticker": "A", "price": "$1", "timestamp": 1}


def test_the_sample_of_another_mapping_is_its_example() -> None:
    (example,) = request({}, AVRO_READINGS)
    assert Decoder(AVRO_READINGS).decode(example.value or b"") == {"sensor": "t-7", "celsius": 21.5}
    with pytest.raises(RequestError, match="has no example"):
        request({}, TEXT_NOTES)


@pytest.mark.parametrize(
    ("event", "mapping", "message"),
    [
        ({"records": [{"key": "t", "value": {"sensor": 5}}]}, AVRO_READINGS, "does not fit the Avro schema"),
        ({"records": [{"key": "n", "value": {"a": 1}}]}, TEXT_NOTES, "must be a string (the stream's format is text)"),
        ({"records": [{"key": "", "value": "x"}]}, TEXT_NOTES, "records[0].key must be a non-empty string"),
        ({"records": [{"key": "n", "value": None}]}, TEXT_NOTES, "send tombstones with"),
        ({"records": [{"ticker": "A", "price": "$1"}]}, TEXT_NOTES, 'must be {"key": "...", "value": ...}'),
    ],
)
def test_records_that_do_not_fit_the_mapping_are_refused(event: Any, mapping: Any, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        request(event, mapping)
    assert message in str(raised.value)
