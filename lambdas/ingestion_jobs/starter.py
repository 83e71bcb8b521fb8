"""One ingestion job at a time for the whole knowledge base, the data sources taking turns.

Bedrock runs one job per knowledge base at a time. Only this function starts jobs on the bulk path; the stream
function and the document sync leave markers (``ingestion_jobs.markers``). When both data sources have changes
waiting, the one whose last job is older goes: a change waits for the job running when it arrives and at most one
job of the other data source, so neither starves the other.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion_jobs.contract import LOOK_INTERVAL_SECONDS, RUNNING_STATUSES, DataSourceRole
from ingestion_jobs.markers import clear, mark_waiting, waiting_since

# Bedrock's answers that mean "not now": a job runs (perhaps started by someone else), or the account runs its five.
NOT_NOW = frozenset({"ConflictException", "ThrottlingException", "ServiceQuotaExceededException"})


class Step(Enum):
    IDLE = "idle"  # no job runs and no changes wait
    BUSY = "busy"  # a job runs
    STARTED = "started"
    REFUSED = "refused"  # Bedrock said not now; the marker is back


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    role: DataSourceRole | None = None
    job_id: str | None = None
    waited_seconds: float | None = None
    reason: str | None = None


def latest_jobs(agent: Any, knowledge_base_id: str,
                data_sources: Mapping[DataSourceRole, str]) -> dict[DataSourceRole, dict[str, Any] | None]:  # fmt: skip
    """Each data source's latest job summary (None: it never had one)."""
    latest: dict[DataSourceRole, dict[str, Any] | None] = {}
    for role, data_source_id in data_sources.items():
        summaries = agent.list_ingestion_jobs(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id,
            sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"}, maxResults=1,
        ).get("ingestionJobSummaries", [])  # fmt: skip
        latest[role] = summaries[0] if summaries else None
    return latest


def _turn(role: DataSourceRole, latest: Mapping[DataSourceRole, dict[str, Any] | None]) -> float:
    """When ``role`` last had the knowledge base's job (-inf: never): the longer ago, the sooner its turn."""
    summary = latest.get(role)
    return summary["startedAt"].timestamp() if summary else float("-inf")


class Starter:
    def __init__(self, agent: Any, s3: Any, *, knowledge_base_id: str, bucket: str,
                 data_sources: Mapping[DataSourceRole, str], clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:  # fmt: skip
        self._agent, self._s3 = agent, s3
        self._knowledge_base_id, self._bucket = knowledge_base_id, bucket
        self._data_sources = dict(data_sources)
        self._clock, self._sleep = clock, sleep

    def step(self) -> StepOutcome:
        latest = latest_jobs(self._agent, self._knowledge_base_id, self._data_sources)
        running = [summary for summary in latest.values() if summary and summary["status"] in RUNNING_STATUSES]
        if running:
            return StepOutcome(Step.BUSY, job_id=str(running[0]["ingestionJobId"]))
        waiting = {role: found for role in self._data_sources
                   if (found := waiting_since(self._s3, self._bucket, role)) is not None}  # fmt: skip
        if not waiting:
            return StepOutcome(Step.IDLE)
        # Turns: of the data sources with changes waiting, the one whose last job is older goes (the oldest wait
        # first between equals). A busy stream and a busy document folder alternate job by job.
        role = min(waiting, key=lambda candidate: (_turn(candidate, latest), waiting[candidate][0]))
        since, etag = waiting[role]
        # Cleared before the start: a change that arrives from now on makes a new marker, so the next job takes it.
        clear(self._s3, self._bucket, role)
        token = hashlib.sha256(f"{role.value}\n{since}\n{etag}".encode()).hexdigest()  # the same wait, the same job
        try:
            response = self._agent.start_ingestion_job(
                knowledgeBaseId=self._knowledge_base_id, dataSourceId=self._data_sources[role], clientToken=token,
                description=f"{role.value} changes waiting since {time.strftime('%H:%M:%S', time.gmtime(since))} UTC",
            )  # fmt: skip
        except (ClientError, BotoCoreError) as error:
            mark_waiting(self._s3, self._bucket, role)  # the changes still wait, whatever went wrong
            code = str(error.response.get("Error", {}).get("Code", "")) if isinstance(error, ClientError) else ""
            if code not in NOT_NOW:
                raise
            return StepOutcome(Step.REFUSED, role=role, reason=code)
        return StepOutcome(Step.STARTED, role=role, job_id=str(response["ingestionJob"]["ingestionJobId"]),
                           waited_seconds=max(0.0, self._clock() - since))  # fmt: skip

    def run(self, seconds: float) -> list[StepOutcome]:
        """Look every LOOK_INTERVAL_SECONDS for ``seconds``; stop early when nothing runs and nothing waits."""
        deadline = self._clock() + seconds
        outcomes: list[StepOutcome] = []
        while True:
            outcome = self.step()
            outcomes.append(outcome)
            if outcome.step is Step.IDLE or self._clock() + LOOK_INTERVAL_SECONDS > deadline:
                return outcomes
            self._sleep(LOOK_INTERVAL_SECONDS)
