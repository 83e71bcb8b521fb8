"""IngestKnowledgeBaseDocuments at a steady pace, several requests in flight, botocore retrying throttles."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stream_ingest.documents import IngestRequest, StreamDocument

# Statuses that mean Bedrock will not index the document as sent (the others are accepted or done).
REJECTED_STATUSES = frozenset({"FAILED", "IGNORED", "METADATA_UPDATE_FAILED"})
MAX_IN_FLIGHT = 10  # Bedrock allows 10 concurrent ingest/delete requests per account
DOCUMENTS_PER_DELETE_REQUEST = 10  # DeleteKnowledgeBaseDocuments takes 1-10 identifiers (botocore model)


class Pacer:
    """Starts requests at the slots of one wall-clock schedule of ``rate`` slots per second.

    Slot ``k`` belongs to partition ``k mod slot_count``; a pacer uses the slots of the partitions it
    owns. Invocations that run at the same time hold different partitions, so together they send on the
    one schedule, evenly spaced, never two in the same slot: the quota is shared without a burst, and a
    batch holding every partition gets all of it. Lambda's clocks are synchronized, so the schedule is
    the same in every execution environment.
    """

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        owned: Collection[int] = (0,),
        slot_count: int = 1,
    ) -> None:
        self._interval = 1.0 / rate
        self._owned = {slot % slot_count for slot in owned} or {0}
        self._slot_count = slot_count
        self._clock, self._sleep = clock, sleep
        self._next_slot = 0
        self._lock = threading.Lock()

    @property
    def requests_per_second(self) -> float:
        return len(self._owned) / self._slot_count / self._interval

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(math.ceil(now / self._interval - 1e-9), self._next_slot)
            while slot % self._slot_count not in self._owned:
                slot += 1
            self._next_slot = slot + 1
        delay = slot * self._interval - now
        if delay > 1e-6:  # not a rounding error of the slot arithmetic
            self._sleep(delay)


@dataclass
class IngestReport:
    requests: int = 0
    retries: int = 0  # attempts botocore repeated, mostly after throttling
    ingested: list[StreamDocument] = field(default_factory=list)
    rejected: list[tuple[StreamDocument, str]] = field(default_factory=list)  # Bedrock said no: a reason
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)  # still failing after retries


class Ingestor:
    def __init__(self, agent: Any, *, knowledge_base_id: str, data_source_id: str, pacer: Pacer) -> None:
        self._agent = agent
        self._knowledge_base_id = knowledge_base_id
        self._data_source_id = data_source_id
        self._pacer = pacer
        # Enough threads to keep the pace with up to 2 s of latency, never more than Bedrock admits.
        self._workers = max(1, min(MAX_IN_FLIGHT, math.ceil(pacer.requests_per_second * 2)))

    def ingest(self, requests: Sequence[IngestRequest]) -> IngestReport:
        report = IngestReport(requests=len(requests))
        if not requests:
            return report
        with ThreadPoolExecutor(max_workers=min(self._workers, len(requests))) as pool:
            outcomes = list(pool.map(self._send, requests))
        for request, (response, error) in zip(requests, outcomes, strict=True):
            report.retries += int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
            if error is not None:
                report.failed += [(document, error) for document in request.documents]
                continue
            _sort_outcome(request, response, report)
        return report

    def _send(self, request: IngestRequest) -> tuple[dict[str, Any], str | None]:
        self._pacer.wait()
        try:
            response = self._agent.ingest_knowledge_base_documents(
                knowledgeBaseId=self._knowledge_base_id,
                dataSourceId=self._data_source_id,
                clientToken=request.client_token,
                documents=request.body(),
            )
        except ClientError as error:  # after botocore's retries
            details = error.response.get("Error", {})
            metadata = {"ResponseMetadata": error.response.get("ResponseMetadata", {})}
            return metadata, f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
        except BotoCoreError as error:
            return {}, f"{type(error).__name__}: {error}"
        return response, None


@dataclass
class DeleteReport:
    requests: int = 0
    deleted: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (document ID, reason) after retries


def delete_documents(agent: Any, document_ids: Sequence[str], *, knowledge_base_id: str, data_source_id: str,
                     pacer: Pacer) -> DeleteReport:  # fmt: skip
    """DeleteKnowledgeBaseDocuments, 10 a request, paced within the same budget as ingestion."""
    report = DeleteReport()
    for start in range(0, len(document_ids), DOCUMENTS_PER_DELETE_REQUEST):
        chunk = list(document_ids[start : start + DOCUMENTS_PER_DELETE_REQUEST])
        pacer.wait()
        report.requests += 1
        try:
            agent.delete_knowledge_base_documents(
                knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id,
                clientToken=hashlib.sha256(json.dumps(chunk).encode()).hexdigest(),
                documentIdentifiers=[{"dataSourceType": "CUSTOM", "custom": {"id": document}} for document in chunk],
            )  # fmt: skip
        except (ClientError, BotoCoreError) as error:  # after botocore's retries
            report.failed += [(document, f"{type(error).__name__}: {error}") for document in chunk]
            continue
        report.deleted += chunk
    return report


def _sort_outcome(request: IngestRequest, response: dict[str, Any], report: IngestReport) -> None:
    details = {
        detail["identifier"].get("custom", {}).get("id"): detail for detail in response.get("documentDetails", [])
    }
    for document in request.documents:
        detail = details.get(document.document_id)
        if detail is not None and detail["status"] in REJECTED_STATUSES:
            report.rejected.append((document, f"{detail['status']}: {detail.get('statusReason', 'no reason given')}"))
        else:
            report.ingested.append(document)
