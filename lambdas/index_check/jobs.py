"""The bulk path's confirmation: objects followed through the first ingestion job that started after they were
written, until it reports them indexed or failed (docs/bulk-path.md, "Confirmed, record by record")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from index_check.checks import CheckOutcome, freshness_of, letters_for
from index_check.contract import (
    DELETED_STATUSES,
    DOCUMENTS_PER_STATUS_REQUEST,
    FAILED_STATUSES,
    INDEXED,
    PendingCheck,
    PendingDocument,
)
from ingestion_jobs.contract import RUNNING_STATUSES
from stream_ingest.ingest import Pacer

COMPLETE = "COMPLETE"
UNFINISHED_JOB_STATUSES = frozenset({"FAILED", "STOPPED"})  # the objects are still there: a later job takes them
_JOBS_PER_PAGE = 50


@dataclass(frozen=True)
class Job:
    job_id: str
    status: str
    started_at: float
    updated_at: float
    failed_documents: int

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Job:
        started: datetime = summary["startedAt"]
        updated: datetime = summary.get("updatedAt", started)
        statistics = summary.get("statistics", {})
        return cls(str(summary["ingestionJobId"]), str(summary["status"]), started.timestamp(), updated.timestamp(),
                   int(statistics.get("numberOfDocumentsFailed", 0)))  # fmt: skip


class JobHistory:
    """The stream data source's jobs, read newest first and only as far back as a check needs (once an invocation)."""

    def __init__(self, agent: Any, *, knowledge_base_id: str, data_source_id: str) -> None:
        self._agent = agent
        self._where = {"knowledgeBaseId": knowledge_base_id, "dataSourceId": data_source_id}
        self._jobs: list[Job] = []  # newest first
        self._next_token: str | None = None
        self._complete = False
        self._reasons: dict[str, str] = {}

    def started_since(self, moment: float) -> list[Job]:
        """Jobs that started at or after ``moment``, oldest first."""
        while not self._complete and (not self._jobs or self._jobs[-1].started_at >= moment):
            page = self._agent.list_ingestion_jobs(
                **self._where,
                maxResults=_JOBS_PER_PAGE,
                sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
                **({"nextToken": self._next_token} if self._next_token else {}),
            )
            self._jobs += [Job.from_summary(summary) for summary in page.get("ingestionJobSummaries", [])]
            self._next_token = page.get("nextToken")
            self._complete = not self._next_token
        return sorted((job for job in self._jobs if job.started_at >= moment), key=lambda job: job.started_at)

    def failure_reasons(self, job: Job) -> str:
        if job.job_id not in self._reasons:
            found = self._agent.get_ingestion_job(**self._where, ingestionJobId=job.job_id)["ingestionJob"]
            self._reasons[job.job_id] = "; ".join(found.get("failureReasons", [])) or "no reason given"
        return self._reasons[job.job_id]


@dataclass
class ObjectsOutcome(CheckOutcome):
    # No job of the stream data source started after the objects were written (none yet, or the one that took the
    # marker did not finish): the marker must be there, so that the starter starts one. Putting it is idempotent.
    marker_needed: bool = False


def follow_objects(agent: Any, check: PendingCheck, *, history: JobHistory, knowledge_base_id: str,
                   data_source_id: str, bucket: str, pacer: Pacer, now: float, indexed_within_seconds: int,
                   deleted_by_tombstones: bool = False) -> ObjectsOutcome:  # fmt: skip
    outcome = ObjectsOutcome()
    jobs = history.started_since(check.accepted_at)
    covering = next((job for job in jobs if job.status not in UNFINISHED_JOB_STATUSES), None)
    unfinished = [job for job in jobs if job.status in UNFINISHED_JOB_STATUSES
                  and (covering is None or job.started_at < covering.started_at)]  # fmt: skip
    overdue = now - check.accepted_at > indexed_within_seconds
    documents = list(check.documents)
    if covering is None or covering.status in RUNNING_STATUSES:
        outcome.marker_needed = covering is None
        if not overdue:
            outcome.still_pending += documents
            return outcome
        if unfinished:
            last = unfinished[-1]
            reason = f"ingestion job {last.job_id} {last.status}: {history.failure_reasons(last)}"
        elif covering is not None:
            reason = f"not indexed within {indexed_within_seconds} s (ingestion job {covering.job_id} still running)"
        else:
            reason = f"no ingestion job of the stream data source started within {indexed_within_seconds} s"
        for document in documents:
            outcome.not_indexed += 1
            outcome.letters += letters_for(document, f"{_where(bucket, document)}: {reason}", None, None)
        return outcome
    if covering.failed_documents == 0:
        for document in documents:
            outcome.indexed += 1
            outcome.freshness_seconds += freshness_of(document, covering.updated_at)
        return outcome
    # The job failed some documents: which, this message's objects' statuses say.
    statuses = _statuses(agent, documents, knowledge_base_id=knowledge_base_id, data_source_id=data_source_id,
                         bucket=bucket, pacer=pacer)  # fmt: skip
    for document in documents:
        status, status_reason = statuses.get(_uri(bucket, document), ("NOT_FOUND", "not in Bedrock's answer"))
        if status == INDEXED:
            outcome.indexed += 1
            outcome.freshness_seconds += freshness_of(document, covering.updated_at)
        elif deleted_by_tombstones and status in DELETED_STATUSES:
            outcome.deleted += 1
        elif status in FAILED_STATUSES or overdue:
            outcome.not_indexed += 1
            detail = f"{status}: {status_reason or 'no reason given'}"
            outcome.letters += letters_for(document, f"{_where(bucket, document)}: {detail}", status, status_reason)
        else:  # a later write of the object is being indexed by a later job
            outcome.still_pending.append(document)
    return outcome


def _uri(bucket: str, document: PendingDocument) -> str:
    return f"s3://{bucket}/{document.document_id}"


def _where(bucket: str, document: PendingDocument) -> str:
    return f"object {_uri(bucket, document)}"


def _statuses(agent: Any, documents: Sequence[PendingDocument], *, knowledge_base_id: str, data_source_id: str,
              bucket: str, pacer: Pacer) -> dict[str, tuple[str, str | None]]:  # fmt: skip
    statuses: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(documents), DOCUMENTS_PER_STATUS_REQUEST):
        chunk = documents[start : start + DOCUMENTS_PER_STATUS_REQUEST]
        pacer.wait()
        response = agent.get_knowledge_base_documents(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id,
            documentIdentifiers=[{"dataSourceType": "S3", "s3": {"uri": _uri(bucket, document)}} for document in chunk],
        )  # fmt: skip
        for detail in response.get("documentDetails", []):
            uri = detail.get("identifier", {}).get("s3", {}).get("uri")
            statuses[uri] = (detail["status"], detail.get("statusReason"))
    return statuses
