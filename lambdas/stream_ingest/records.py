"""Kafka records from the MSK event source mapping, validated into ticker prices or set aside as poison."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_VALUE_BYTES = 10 * 1024  # a ticker price is ~80 bytes; anything this large is not one
_TICKER = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_PRICE = re.compile(r"^\$?(?P<amount>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)$")
_LATEST_TIMESTAMP = datetime(9999, 12, 31, tzinfo=UTC).timestamp()


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


@dataclass(frozen=True)
class TickerPrice:
    coordinates: Coordinates
    ticker: str
    price: Decimal
    timestamp: float  # epoch seconds

    @property
    def observed_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)


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


def tombstone_ticker(record: KafkaRecord) -> str:
    """The ticker a tombstone deletes (its key), or :class:`PoisonRecord` saying what is wrong with it."""
    try:
        ticker = base64.b64decode(str(record.key), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise PoisonRecord("tombstone whose key is not base64 UTF-8 text") from None
    if not _TICKER.fullmatch(ticker):
        raise PoisonRecord(f"tombstone whose key {ticker[:40]!r} is not a ticker")
    return ticker


def parse_ticker_price(record: KafkaRecord) -> TickerPrice:
    """The record's value as a ticker price, or :class:`PoisonRecord` saying what is wrong with it."""
    if record.value is None:
        raise PoisonRecord("the record has no value")
    if not isinstance(record.value, str):
        raise PoisonRecord("the value is not a base64 string")
    if len(record.value) > math.ceil(MAX_VALUE_BYTES / 3) * 4:
        raise PoisonRecord(f"the value is larger than {MAX_VALUE_BYTES} bytes")
    try:
        raw = base64.b64decode(record.value, validate=True)
    except (binascii.Error, ValueError):
        raise PoisonRecord("the value is not valid base64") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PoisonRecord("the value is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise PoisonRecord(f"the value is not JSON ({error.msg} at position {error.pos})") from None
    if not isinstance(document, dict):
        raise PoisonRecord(f"the value is a JSON {type(document).__name__}, expected an object")
    missing = [name for name in ("ticker", "price", "timestamp") if name not in document]
    if missing:
        raise PoisonRecord(f"the value has no {', '.join(repr(name) for name in missing)}")
    return TickerPrice(
        coordinates=record.coordinates,
        ticker=_ticker(document["ticker"]),
        price=_price(document["price"]),
        timestamp=_timestamp(document["timestamp"]),
    )


def _ticker(value: Any) -> str:
    if not isinstance(value, str) or not _TICKER.fullmatch(value):
        raise PoisonRecord(f"ticker {value!r} is not 1-32 letters, digits, '.', '_' or '-'")
    return value


def _price(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise PoisonRecord(f"price must be a string such as '$3,413.23', got {type(value).__name__}")
    match = _PRICE.fullmatch(value.strip())
    if match is None:
        raise PoisonRecord(f"price {value!r} is not an amount such as '$3,413.23'")
    try:
        return Decimal(match["amount"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal digits
        raise PoisonRecord(f"price {value!r} is not a number") from None


def _timestamp(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PoisonRecord(f"timestamp must be epoch seconds (a number), got {value!r}")
    if not 0 <= value < _LATEST_TIMESTAMP:
        raise PoisonRecord(f"timestamp {value!r} is not epoch seconds between 1970 and 9999")
    return float(value)
