"""What the producer sends: the sample stream, or the records an invocation gives it, encoded as the
stream's mapping says (its format and framing, from ``stream_ingest.formats``)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream_ingest import formats
from stream_ingest.formats import JSON, UndecodableValue
from stream_ingest.mapping import TICKER_PRICES, DocumentMapping

# A link to sample_data/TestData.csv, resolved into the code asset at synthesis.
SAMPLE_STREAM = Path(__file__).with_name("sample_stream.csv")
MAX_RECORDS = 1000
MAX_KEY_BYTES = 4096
MAX_TICKER_LENGTH = 32
MAX_RAW_BYTES = 1024 * 1024
EXAMPLE_KEY = "example-1"  # the key of the mapping's example when it is sent as the sample


class RequestError(ValueError):
    """The invocation event cannot be turned into records; nothing was sent."""


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes | None  # None: a tombstone
    label: str  # what reports call it: its key, or "raw value"


def is_ticker_stream(mapping: DocumentMapping) -> bool:
    """The sample's ticker prices: the CSV sample and the {"ticker", "price"} shorthand apply."""
    return mapping.format is JSON and mapping.schema == TICKER_PRICES["schema"]


def ticker_price(ticker: str, price: str, timestamp: float) -> Message:
    # Keyed by ticker: one ticker's prices stay in one partition, in order.
    value = json.dumps({"ticker": ticker, "price": price, "timestamp": timestamp}).encode()
    return Message(key=ticker.encode(), value=value, label=ticker)


def encode_value(mapping: DocumentMapping, value: Any, where: str) -> bytes:
    """The value as the mapping's format and framing carry it on the topic."""
    try:
        return formats.encode_value(mapping, value)
    except UndecodableValue as error:
        raise RequestError(f"{where}.value {error}") from None


def sample_stream(now: Callable[[], float] = time.time) -> list[Message]:
    with SAMPLE_STREAM.open(newline="", encoding="utf-8") as file:
        return [ticker_price(row["ticker"], row["price"], now()) for row in csv.DictReader(file)]


def parse_request(event: Any, mapping: DocumentMapping, now: Callable[[], float] = time.time) -> list[Message]:
    """``{}`` or null: the sample (the ticker CSV for the ticker mapping, else the mapping's example).
    ``{"records": [{"key": ..., "value": ...}]}`` (or a list of them): those records, encoded by the mapping.
    ``{"raw": ["text", ...]}``: those values, unchecked. ``{"delete": ["KEY", ...]}``: tombstones."""
    if event is None or event == {}:
        return _sample(mapping, now)
    if isinstance(event, dict):
        unknown = sorted(set(event) - {"records", "raw", "delete"})
        if unknown:
            raise RequestError(f"unknown field(s) {', '.join(map(repr, unknown))}; expected 'records', 'raw' "
                               "or 'delete'")  # fmt: skip
        if len(event) != 1:
            raise RequestError("give one of 'records', 'raw' or 'delete'")
        if "raw" in event:
            return _raw_messages(event["raw"])
        if "delete" in event:
            return _tombstones(event["delete"])
        event = event["records"]
    if not isinstance(event, list):
        raise RequestError(f"expected an object or a list of records, got {type(event).__name__}")
    _check_count(event, "records")
    return [_record(index, record, mapping, now) for index, record in enumerate(event)]


def _sample(mapping: DocumentMapping, now: Callable[[], float]) -> list[Message]:
    if is_ticker_stream(mapping):
        return sample_stream(now)
    example = mapping.source.get("example")
    if example is None:
        raise RequestError("the stream's mapping has no example to send: give streamDocument an \"example\", or "
                           "send {\"records\": [{\"key\": ..., \"value\": ...}]}")  # fmt: skip
    return [Message(key=EXAMPLE_KEY.encode(), value=encode_value(mapping, example, "example"), label=EXAMPLE_KEY)]


def _record(index: int, record: Any, mapping: DocumentMapping, now: Callable[[], float]) -> Message:
    where = f"records[{index}]"
    if isinstance(record, dict) and "value" in record and set(record) <= {"key", "value"}:
        key = record.get("key")
        if key is not None and (not isinstance(key, str) or not key or len(key.encode()) > MAX_KEY_BYTES):
            raise RequestError(f"{where}.key must be a non-empty string of at most {MAX_KEY_BYTES} bytes, or absent")
        if record["value"] is None:
            raise RequestError(f'{where}.value is null; send tombstones with {{"delete": [key, ...]}}')
        value = encode_value(mapping, record["value"], where)
        return Message(key=key.encode() if key else None, value=value, label=key or "no key")
    if is_ticker_stream(mapping):
        return _ticker_price(index, record, now)
    raise RequestError(f'{where} must be {{"key": "...", "value": ...}} (the key is optional)')


def _check_count(items: list[Any], name: str) -> None:
    if not items:
        raise RequestError(f"'{name}' is empty; send {{}} for the sample")
    if len(items) > MAX_RECORDS:
        raise RequestError(f"{len(items)} {name} is more than {MAX_RECORDS} per invocation")


def _tombstones(keys: Any) -> list[Message]:
    if not isinstance(keys, list):
        raise RequestError(f"'delete' must be a list of keys, got {type(keys).__name__}")
    _check_count(keys, "delete")
    for index, key in enumerate(keys):
        if not isinstance(key, str) or not key.strip() or len(key.encode()) > MAX_KEY_BYTES:
            raise RequestError(f"delete[{index}] must be a key of 1-{MAX_KEY_BYTES} bytes")
    return [Message(key=key.encode(), value=None, label=key) for key in keys]


def _raw_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list):
        raise RequestError(f"'raw' must be a list of strings, got {type(raw).__name__}")
    _check_count(raw, "raw")
    for index, text in enumerate(raw):
        if not isinstance(text, str):
            raise RequestError(f"raw[{index}] must be a string, got {type(text).__name__}")
        if len(text.encode()) > MAX_RAW_BYTES:
            raise RequestError(f"raw[{index}] is larger than {MAX_RAW_BYTES} bytes")
    return [Message(key=None, value=text.encode(), label="raw value") for text in raw]


def _ticker_price(index: int, record: Any, now: Callable[[], float]) -> Message:
    where = f"records[{index}]"
    if not isinstance(record, dict):
        raise RequestError(f"{where} must be {{\"key\": ..., \"value\": ...}} or a ticker price with 'ticker' and "
                           f"'price', got {type(record).__name__}")  # fmt: skip
    unknown = sorted(set(record) - {"ticker", "price", "timestamp"})
    if unknown:
        raise RequestError(f"{where} has unknown field(s) {', '.join(map(repr, unknown))}")
    ticker, price, timestamp = record.get("ticker"), record.get("price"), record.get("timestamp", None)
    if not isinstance(ticker, str) or not ticker.strip():
        raise RequestError(f"{where}.ticker must be a non-empty string")
    if len(ticker) > MAX_TICKER_LENGTH:
        raise RequestError(f"{where}.ticker is longer than {MAX_TICKER_LENGTH} characters")
    if not isinstance(price, str) or not price.strip():
        raise RequestError(f'{where}.price must be a non-empty string such as "$3,413.23"')
    if timestamp is None:
        timestamp = now()
    elif isinstance(timestamp, bool) or not isinstance(timestamp, int | float) or timestamp < 0:
        raise RequestError(f"{where}.timestamp must be epoch seconds (a non-negative number)")
    return ticker_price(ticker, price, float(timestamp))
