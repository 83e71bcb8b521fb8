"""Ticker prices as custom-data-source documents: stable IDs, readable text, filterable metadata."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream_ingest.contract import DOCUMENTS_PER_INGEST_REQUEST, DocumentIds
from stream_ingest.records import Coordinates, TickerPrice

MAX_REQUEST_BYTES = 6 * 1024 * 1024  # the API's payload limit
_REQUEST_OVERHEAD_BYTES = 512  # knowledgeBaseId, dataSourceId, clientToken and JSON punctuation


@dataclass(frozen=True)
class StreamDocument:
    document_id: str
    text: str
    metadata: dict[str, str | float]
    sources: tuple[Coordinates, ...]  # every record this document stands for

    def as_request_item(self) -> dict[str, Any]:
        return {
            "content": {
                "dataSourceType": "CUSTOM",
                "custom": {
                    "customDocumentIdentifier": {"id": self.document_id},
                    "sourceType": "IN_LINE",
                    "inlineContent": {"type": "TEXT", "textContent": {"data": self.text}},
                },
            },
            "metadata": {
                "type": "IN_LINE_ATTRIBUTE",
                "inlineAttributes": [_attribute(key, value) for key, value in self.metadata.items()],
            },
        }


def _attribute(key: str, value: str | float) -> dict[str, Any]:
    if isinstance(value, str):
        return {"key": key, "value": {"type": "STRING", "stringValue": value}}
    return {"key": key, "value": {"type": "NUMBER", "numberValue": value}}


def render_text(price: TickerPrice) -> str:
    when = price.observed_at.strftime("%Y-%m-%d %H:%M:%S")
    return f"At {when} UTC the price of {price.ticker} is ${price.price:,.2f}."


def ticker_document_id(ticker: str) -> str:
    return f"ticker/{ticker}"


def document_id(price: TickerPrice, strategy: DocumentIds) -> str:
    if strategy is DocumentIds.PER_TICKER:
        return ticker_document_id(price.ticker)
    where = price.coordinates
    return f"{where.topic}/{where.partition}/{where.offset}"


def to_document(price: TickerPrice, strategy: DocumentIds, sources: Sequence[Coordinates] = ()) -> StreamDocument:
    where = price.coordinates
    return StreamDocument(
        document_id=document_id(price, strategy),
        text=render_text(price),
        metadata={
            "ticker": price.ticker,
            "price": float(price.price),
            "timestamp": price.timestamp,
            "topic": where.topic,
            "partition": float(where.partition),
            "offset": float(where.offset),
        },
        sources=tuple(sources) or (where,),
    )


def to_documents(prices: Iterable[TickerPrice], strategy: DocumentIds) -> list[StreamDocument]:
    """One document per ID: when several records share one (a ticker, a redelivered offset), the
    latest wins and the document stands for all of them."""
    latest: dict[str, TickerPrice] = {}
    sources: dict[str, list[Coordinates]] = {}
    for price in prices:
        key = document_id(price, strategy)
        sources.setdefault(key, []).append(price.coordinates)
        current = latest.get(key)
        if current is None or _recency(price) >= _recency(current):
            latest[key] = price
    return [to_document(price, strategy, sources[key]) for key, price in latest.items()]


def _recency(price: TickerPrice) -> tuple[float, int]:
    return (price.timestamp, price.coordinates.offset)


@dataclass
class IngestRequest:
    documents: list[StreamDocument] = field(default_factory=list)
    size: int = _REQUEST_OVERHEAD_BYTES

    def body(self) -> list[dict[str, Any]]:
        return [document.as_request_item() for document in self.documents]

    @property
    def client_token(self) -> str:
        """Same documents, same token: a retried request is recognized as the same request."""
        digest = hashlib.sha256(json.dumps(self.body(), sort_keys=True).encode()).hexdigest()
        return f"stream-{digest}"


def plan_requests(documents: Iterable[StreamDocument]) -> Iterator[IngestRequest]:
    """Groups of at most 10 documents whose request stays within the 6 MB payload limit."""
    request = IngestRequest()
    for document in documents:
        size = len(json.dumps(document.as_request_item()).encode()) + 1
        full = len(request.documents) == DOCUMENTS_PER_INGEST_REQUEST or request.size + size > MAX_REQUEST_BYTES
        if request.documents and full:
            yield request
            request = IngestRequest()
        request.documents.append(document)
        request.size += size
    if request.documents:
        yield request
