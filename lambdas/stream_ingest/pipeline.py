"""One batch of the event source mapping: records in, documents ingested or deleted, poison set aside."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from index_check.contract import OBJECTS_PER_CHECK, PendingDocument, PendingSource, pending_checks
from stream_ingest.bulk import ObjectWriter
from stream_ingest.contract import StreamConfig
from stream_ingest.dead_letters import DeadLetter, send_dead_letters, send_pending_checks
from stream_ingest.documents import StreamDocument, Winners, plan_requests, winners
from stream_ingest.formats import Decoder
from stream_ingest.ingest import Ingestor, Pacer, delete_documents
from stream_ingest.mapping import parse_mapping
from stream_ingest.objects import document_object, groups_records, record_groups
from stream_ingest.records import Coordinates, DocumentPart, PoisonRecord, document_part, kafka_records


@dataclass
class BatchOutcome:
    records: int = 0
    poison: int = 0
    documents: int = 0
    requests: int = 0
    retries: int = 0
    ingested: int = 0
    rejected: int = 0
    deleted: int = 0  # documents deleted by tombstones (key-based IDs), as Bedrock reports them deleting
    not_deleted: int = 0  # tombstones whose document Bedrock did not hold (NOT_FOUND): nothing to delete
    objects: int = 0  # bulk path: objects written (documents, or CSV groups of them)
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)

    @property
    def failed_sources(self) -> list[Coordinates]:
        return sorted({source for document, _ in self.failed for source in document.sources},
                      key=lambda where: (where.topic, where.partition, where.offset))  # fmt: skip


@lru_cache(maxsize=4)
def _decoder(mapping_json: str) -> Decoder:
    """One decoder per mapping and execution environment: its schema is compiled once."""
    return Decoder(parse_mapping(json.loads(mapping_json)))


def decoder_for(config: StreamConfig) -> Decoder:
    return _decoder(json.dumps(config.document_mapping, sort_keys=True))


def process_batch(event: Any, config: StreamConfig, *, agent: Any, sqs: Any, s3: Any = None) -> BatchOutcome:
    """Raises InvalidEvent for an event that is not an MSK batch, DeadLetterError if SQS refuses."""
    decoder = decoder_for(config)
    records = list(kafka_records(event))
    values = {record.coordinates: record.value for record in records}
    timestamps = {record.coordinates: record.timestamp_ms for record in records}
    parts: list[DocumentPart] = []
    letters: list[DeadLetter] = []
    for record in records:
        try:
            parts.append(document_part(record, decoder))
        except PoisonRecord as error:
            letters.append(DeadLetter(coordinates=record.coordinates, reason=str(error), value=record.value))
    # Set poison aside first: if SQS fails, the invocation fails before anything else happened.
    send_dead_letters(sqs, config.dead_letter_queue_url, letters)

    outcome = winners(parts)
    if config.object_bucket:
        return _write_objects(outcome, config, decoder, s3=s3, sqs=sqs, records=len(records), poison=len(letters),
                              timestamps=timestamps)  # fmt: skip
    requests = list(plan_requests(outcome.documents))
    # The batch's partitions own their slots of the quota's schedule (see Pacer); deletions share them.
    pacer = Pacer(
        config.quota_requests_per_second,
        owned={record.coordinates.partition for record in records},
        slot_count=config.topic_partitions,
    )
    removed = delete_documents(agent, outcome.deletions, knowledge_base_id=config.knowledge_base_id,
                               data_source_id=config.data_source_id, pacer=pacer)  # fmt: skip
    ingestor = Ingestor(agent, knowledge_base_id=config.knowledge_base_id, data_source_id=config.data_source_id,
                        pacer=pacer)  # fmt: skip
    report = ingestor.ingest(requests)
    refused = [
        DeadLetter(coordinates=source, reason=f"Bedrock rejected {document.document_id}: {reason}",
                   value=values.get(source), document_id=document.document_id)
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
        documents=len(outcome.documents) + len(outcome.deletions),
        requests=report.requests + removed.requests,
        retries=report.retries,
        ingested=len(report.ingested),
        rejected=len(report.rejected),
        deleted=len(removed.deleted),
        not_deleted=len(removed.not_deleted),
        failed=report.failed + removed.failed,
    )


def _write_objects(outcome: Winners, config: StreamConfig, decoder: Decoder, *, s3: Any, sqs: Any, records: int,
                   poison: int, timestamps: dict[Coordinates, int | None]) -> BatchOutcome:  # fmt: skip
    """The bulk path: objects instead of requests; the indexing check follows them through the next ingestion job."""
    mapping = decoder.mapping
    if groups_records(mapping):
        objects = list(record_groups(outcome.documents, mapping))
    else:
        objects = [document_object(document) for document in outcome.documents]
    report = ObjectWriter(s3, str(config.object_bucket)).write(objects, outcome.deletions)
    # Written before this time: the first ingestion job of the stream data source that starts after it covers them.
    written_at = time.time()
    pending = [PendingDocument(item.key, tuple(
        PendingSource(source.topic, source.partition, source.offset, timestamps.get(source), None)
        for document in item.documents for source in document.sources)) for item in report.written]  # fmt: skip
    send_pending_checks(sqs, config.check_queue_url,
                        pending_checks(written_at, pending, documents_per_message=OBJECTS_PER_CHECK))  # fmt: skip
    return BatchOutcome(
        records=records,
        poison=poison,
        documents=len(outcome.documents) + len(outcome.deletions),
        requests=report.requests,
        ingested=sum(len(item.documents) for item in report.written),
        deleted=len(report.deleted),
        objects=len(report.written),
        failed=report.failed,
    )
