"""What the producer sends: the sample ticker stream, or the records an invocation gives it."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A link to sample_data/TestData.csv, resolved into the code asset at synthesis.
SAMPLE_STREAM = Path(__file__).with_name("sample_stream.csv")
MAX_RECORDS = 1000
MAX_TICKER_LENGTH = 32
MAX_RAW_BYTES = 1024 * 1024


class RequestError(ValueError):
    """The invocation event cannot be turned into records; nothing was sent."""


@dataclass(frozen=True)
class TickerPrice:
    ticker: str
    price: str  # kept exactly as given ("$3,413.23"): parsing is the consumer's job
    timestamp: float  # epoch seconds

    @property
    def key(self) -> bytes:
        # Keyed by ticker: one ticker's prices stay in one partition, in order.
        return self.ticker.encode()

    @property
    def value(self) -> bytes:
        return json.dumps({"ticker": self.ticker, "price": self.price, "timestamp": self.timestamp}).encode()


@dataclass(frozen=True)
class RawMessage:
    """A value sent as given, for trying out how the consumer handles malformed records."""

    text: str

    @property
    def key(self) -> None:
        return None

    @property
    def value(self) -> bytes:
        return self.text.encode()


@dataclass(frozen=True)
class Tombstone:
    """A key with no value: on a compacted topic, the deletion of that ticker."""

    ticker: str

    @property
    def key(self) -> bytes:
        return self.ticker.encode()

    @property
    def value(self) -> None:
        return None


Message = TickerPrice | RawMessage | Tombstone


def sample_stream(now: Callable[[], float] = time.time) -> list[TickerPrice]:
    with SAMPLE_STREAM.open(newline="", encoding="utf-8") as file:
        return [TickerPrice(ticker=row["ticker"], price=row["price"], timestamp=now()) for row in csv.DictReader(file)]


def parse_request(event: Any, now: Callable[[], float] = time.time) -> list[Message]:
    """``{}`` or null: the sample stream. ``[...]`` or ``{"records": [...]}``: those records.
    ``{"raw": ["text", ...]}``: those values, unchecked. ``{"delete": ["TICKER", ...]}``: tombstones."""
    if event is None or event == {}:
        return list(sample_stream(now))
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
    return [_ticker_price(index, record, now) for index, record in enumerate(event)]


def _check_count(items: list[Any], name: str) -> None:
    if not items:
        raise RequestError(f"'{name}' is empty; send {{}} for the sample stream")
    if len(items) > MAX_RECORDS:
        raise RequestError(f"{len(items)} {name} is more than {MAX_RECORDS} per invocation")


def _tombstones(tickers: Any) -> list[Message]:
    if not isinstance(tickers, list):
        raise RequestError(f"'delete' must be a list of tickers, got {type(tickers).__name__}")
    _check_count(tickers, "delete")
    for index, ticker in enumerate(tickers):
        if not isinstance(ticker, str) or not ticker.strip() or len(ticker) > MAX_TICKER_LENGTH:
            raise RequestError(f"delete[{index}] must be a ticker of 1-{MAX_TICKER_LENGTH} characters")
    return [Tombstone(ticker) for ticker in tickers]


def _raw_messages(raw: Any) -> list[Message]:
    if not isinstance(raw, list):
        raise RequestError(f"'raw' must be a list of strings, got {type(raw).__name__}")
    _check_count(raw, "raw")
    for index, text in enumerate(raw):
        if not isinstance(text, str):
            raise RequestError(f"raw[{index}] must be a string, got {type(text).__name__}")
        if len(text.encode()) > MAX_RAW_BYTES:
            raise RequestError(f"raw[{index}] is larger than {MAX_RAW_BYTES} bytes")
    return [RawMessage(text) for text in raw]


def _ticker_price(index: int, record: Any, now: Callable[[], float]) -> TickerPrice:
    where = f"records[{index}]"
    if not isinstance(record, dict):
        raise RequestError(f"{where} must be an object with 'ticker' and 'price', got {type(record).__name__}")
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
    return TickerPrice(ticker=ticker, price=price, timestamp=float(timestamp))
