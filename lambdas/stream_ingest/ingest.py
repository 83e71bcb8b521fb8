"""IngestKnowledgeBaseDocuments at a steady pace, several requests in flight, botocore retrying throttles."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from stream_ingest.documents import IngestRequest, StreamDocument

# Statuses that mean Bedrock will not index the document as sent (the others are accepted or done).
REJECTED_STATUSES = frozenset({"FAILED", "IGNORED", "METADATA_UPDATE_FAILED"})
MAX_IN_FLIGHT = 10  # Bedrock allows 10 concurrent ingest/delete requests per account


class Pacer:
    """Spaces request starts ``1 / rate`` seconds apart, across threads."""

    def __init__(
        self,
        requests_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / requests_per_second
        self._clock, self._sleep = clock, sleep
        self._next = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            self._sleep(start - now)


@dataclass
class IngestReport:
    requests: int = 0
    retries: int = 0  # attempts botocore repeated, mostly after throttling
    ingested: list[StreamDocument] = field(default_factory=list)
    rejected: list[tuple[StreamDocument, str]] = field(default_factory=list)  # Bedrock said no: a reason
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)  # still failing after retries


class Ingestor:
    def __init__(self, agent: Any, *, knowledge_base_id: str, data_source_id: str, requests_per_second: float) -> None:
        self._agent = agent
        self._knowledge_base_id = knowledge_base_id
        self._data_source_id = data_source_id
        self._pacer = Pacer(requests_per_second)
        # Enough threads to keep the pace with up to 2 s of latency, never more than Bedrock admits.
        self._workers = max(1, min(MAX_IN_FLIGHT, math.ceil(requests_per_second * 2)))

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
