"""One batch of the event source mapping: records in, documents ingested, poison set aside."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from index_check.contract import PendingDocument, PendingSource, pending_checks
from stream_ingest.contract import DocumentIds, StreamConfig
from stream_ingest.dead_letters import DeadLetter, send_dead_letters, send_pending_checks
from stream_ingest.documents import StreamDocument, plan_requests, ticker_document_id, to_documents
from stream_ingest.ingest import Ingestor, Pacer, delete_documents
from stream_ingest.records import (
    Coordinates,
    KafkaRecord,
    PoisonRecord,
    TickerPrice,
    kafka_records,
    parse_ticker_price,
    tombstone_ticker,
)


@dataclass
class BatchOutcome:
    records: int = 0
    poison: int = 0
    documents: int = 0
    requests: int = 0
    retries: int = 0
    ingested: int = 0
    rejected: int = 0
    deleted: int = 0  # documents deleted by tombstones (per-ticker mode)
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[Coordinates]:
        return sorted({source for document, _ in self.failed for source in document.sources},
                      key=lambda where: (where.topic, where.partition, where.offset))  # fmt: skip


def process_batch(event: Any, config: StreamConfig, *, agent: Any, sqs: Any) -> BatchOutcome:
    """Raises InvalidEvent for an event that is not an MSK batch, DeadLetterError if SQS refuses."""
    records = list(kafka_records(event))
    values = {record.coordinates: record.value for record in records}
    timestamps = {record.coordinates: record.timestamp_ms for record in records}
    prices: list[TickerPrice] = []
    letters: list[DeadLetter] = []
    tombstones: dict[str, KafkaRecord] = {}  # ticker -> its latest tombstone in the batch
    for record in records:
        try:
            if not record.is_tombstone:
                prices.append(parse_ticker_price(record))
            elif config.document_ids is DocumentIds.PER_MESSAGE:
                raise PoisonRecord("tombstone: per-message documents are kept, not deleted by key")
            else:
                ticker = tombstone_ticker(record)
                if ticker not in tombstones or tombstones[ticker].coordinates.offset < record.coordinates.offset:
                    tombstones[ticker] = record
        except PoisonRecord as error:
            letters.append(DeadLetter(coordinates=record.coordinates, reason=str(error), value=record.value))
    # Set poison aside first: if SQS fails, the invocation fails before anything else happened.
    send_dead_letters(sqs, config.dead_letter_queue_url, letters)

    # A tombstone deletes its ticker's document unless a later price of the ticker came in the same batch.
    deletions = {ticker: tombstone for ticker, tombstone in tombstones.items()
                 if not any(price.ticker == ticker and price.coordinates.offset > tombstone.coordinates.offset
                            for price in prices)}  # fmt: skip
    prices = [price for price in prices if price.ticker not in deletions]
    documents = to_documents(prices, config.document_ids)
    requests = list(plan_requests(documents))
    # The batch's partitions own their slots of the quota's schedule (see Pacer); deletions share them.
    pacer = Pacer(
        config.quota_requests_per_second,
        owned={record.coordinates.partition for record in records},
        slot_count=config.topic_partitions,
    )
    removed = delete_documents(agent, [ticker_document_id(ticker) for ticker in deletions],
                               knowledge_base_id=config.knowledge_base_id, data_source_id=config.data_source_id,
                               pacer=pacer)  # fmt: skip
    tombstone_of = {ticker_document_id(ticker): record for ticker, record in deletions.items()}
    failed_deletions = [(StreamDocument(document, "", {}, (tombstone_of[document].coordinates,)), reason)
                        for document, reason in removed.failed]  # fmt: skip
    ingestor = Ingestor(agent, knowledge_base_id=config.knowledge_base_id, data_source_id=config.data_source_id,
                        pacer=pacer)  # fmt: skip
    report = ingestor.ingest(requests)
    refused = [
        DeadLetter(coordinates=source, reason=f"Bedrock rejected {document.document_id}: {reason}",
                   value=values.get(source))
        for document, reason in report.rejected
        for source in document.sources
    ]  # fmt: skip
    send_dead_letters(sqs, config.dead_letter_queue_url, refused)
    # Accepted is not searchable yet: the indexing check confirms each document (or dead-letters it).
    pending = [PendingDocument(document.document_id, tuple(
        PendingSource(source.topic, source.partition, source.offset, timestamps.get(source), values.get(source))
        for source in document.sources)) for document in report.ingested]  # fmt: skip
    send_pending_checks(sqs, config.check_queue_url, pending_checks(time.time(), pending))
    return BatchOutcome(
        records=len(records),
        poison=len(letters),
        documents=len(documents),
        requests=report.requests + removed.requests,
        retries=report.retries,
        ingested=len(report.ingested),
        rejected=len(report.rejected),
        deleted=len(removed.deleted),
        failed=report.failed + failed_deletions,
    )
