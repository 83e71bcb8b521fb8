"""IngestKnowledgeBaseDocuments at a steady pace, several requests in flight, botocore retrying throttles."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stream_ingest.documents import IngestRequest, StreamDocument, operation_token

# Statuses that mean Bedrock will not index the document as sent (the others are accepted or done).
REJECTED_STATUSES = frozenset({"FAILED", "IGNORED", "METADATA_UPDATE_FAILED"})
# A deletion counts only when Bedrock reports it under way (DocumentStatus in the botocore model); a document it
# reports NOT_FOUND, or does not report, was not deleted by this request.
DELETING_STATUSES = frozenset({"DELETING", "DELETE_IN_PROGRESS"})
MAX_IN_FLIGHT = 10  # Bedrock allows 10 concurrent ingest/delete requests per account
DOCUMENTS_PER_DELETE_REQUEST = 10  # DeleteKnowledgeBaseDocuments takes 1-10 identifiers (botocore model)
# Errors that say the request itself is wrong, so sending it again cannot succeed. Bedrock answers them for
# the whole request, so a request of several documents is split until the document at fault stands alone.
# (The operation's other errors, throttling, access, a missing knowledge base or server faults, concern
# every document alike: they fail the batch, which the mapping delivers again.)
PERMANENT_ERRORS = frozenset({"ValidationException"})


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
        report = IngestReport(requests=0)
        if not requests:
            return report
        with ThreadPoolExecutor(max_workers=min(self._workers, len(requests))) as pool:
            for outcome in pool.map(self._send_all, requests):
                report.requests += outcome.requests
                report.retries += outcome.retries
                report.ingested += outcome.ingested
                report.rejected += outcome.rejected
                report.failed += outcome.failed
        return report

    def _send_all(self, request: IngestRequest) -> IngestReport:
        """Send the request; after a permanent rejection, its halves, until the document at fault is alone."""
        report = IngestReport(requests=1)
        response, error, code = self._send(request)
        report.retries += int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
        if error is None:
            _sort_outcome(request, response, report)
        elif code not in PERMANENT_ERRORS:
            report.failed += [(document, error) for document in request.documents]
        elif len(request.documents) == 1:
            report.rejected.append((request.documents[0], error))
        else:
            middle = len(request.documents) // 2
            for half in (request.documents[:middle], request.documents[middle:]):
                outcome = self._send_all(IngestRequest(documents=list(half)))
                for name in ("requests", "retries"):
                    setattr(report, name, getattr(report, name) + getattr(outcome, name))
                report.ingested += outcome.ingested
                report.rejected += outcome.rejected
                report.failed += outcome.failed
        return report

    def _send(self, request: IngestRequest) -> tuple[dict[str, Any], str | None, str | None]:
        """(response, error text, error code); botocore has already retried throttling and server faults."""
        self._pacer.wait()
        try:
            response = self._agent.ingest_knowledge_base_documents(
                knowledgeBaseId=self._knowledge_base_id,
                dataSourceId=self._data_source_id,
                clientToken=request.client_token(self._knowledge_base_id, self._data_source_id),
                documents=request.body(),
            )
        except ClientError as error:  # after botocore's retries
            details = error.response.get("Error", {})
            metadata = {"ResponseMetadata": error.response.get("ResponseMetadata", {})}
            code = str(details.get("Code", "Error"))
            return metadata, f"{code}: {details.get('Message', '')}", code
        except BotoCoreError as error:
            return {}, f"{type(error).__name__}: {error}", None
        return response, None, None


@dataclass
class DeleteReport:
    requests: int = 0
    deleted: list[str] = field(default_factory=list)
    not_deleted: list[tuple[str, str]] = field(default_factory=list)  # (ID, Bedrock's status): nothing was deleted
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)  # with the reason, after retries


def delete_documents(agent: Any, deletions: Sequence[StreamDocument], *, knowledge_base_id: str,
                     data_source_id: str, pacer: Pacer) -> DeleteReport:  # fmt: skip
    """DeleteKnowledgeBaseDocuments, 10 a request, paced within the same budget as ingestion."""
    report = DeleteReport()
    for start in range(0, len(deletions), DOCUMENTS_PER_DELETE_REQUEST):
        chunk = list(deletions[start : start + DOCUMENTS_PER_DELETE_REQUEST])
        identifiers = [{"dataSourceType": "CUSTOM", "custom": {"id": document.document_id}} for document in chunk]
        pacer.wait()
        report.requests += 1
        try:
            response = agent.delete_knowledge_base_documents(
                knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id, documentIdentifiers=identifiers,
                clientToken=operation_token("delete", knowledge_base_id, data_source_id, identifiers,
                                            [document.origin for document in chunk]),
            )  # fmt: skip
        except (ClientError, BotoCoreError) as error:  # after botocore's retries
            report.failed += [(document, f"{type(error).__name__}: {error}") for document in chunk]
            continue
        statuses = {detail["identifier"].get("custom", {}).get("id"): detail.get("status")
                    for detail in response.get("documentDetails", [])}  # fmt: skip
        for document in chunk:
            status = statuses.get(document.document_id)
            if status in DELETING_STATUSES:
                report.deleted.append(document.document_id)
            else:
                report.not_deleted.append((document.document_id, str(status or "not reported")))
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
