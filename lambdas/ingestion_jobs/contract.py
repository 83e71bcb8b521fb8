"""The ingestion-job starter's contract with the app: its configuration, telemetry names and the markers through
which the stream function and the document sync say that their data source has changes waiting. The constructs,
the stream function and the document sync import this module (standard library only). Design: docs/bulk-path.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from function_runtime.environment import variable

SERVICE = "ingestion_jobs"
HANDLER = f"{__package__}.handler.handler"

# Markers live under this prefix of the document bucket, which no data source reads.
MARKER_PREFIX = "ingestion-jobs/"
# StartIngestionJob takes 0.1 requests/s (Bedrock's quota table): the starter looks at most this often.
LOOK_INTERVAL_SECONDS = 10
# The starter runs every minute and looks until this much of the minute has passed.
RUN_SECONDS = 50
# Job statuses (botocore model: IngestionJobStatus) that hold the knowledge base's one job slot.
RUNNING_STATUSES = frozenset({"STARTING", "IN_PROGRESS", "STOPPING"})


class DataSourceRole(StrEnum):
    DOCUMENTS = "documents"
    STREAM = "stream"

    @property
    def marker_key(self) -> str:
        """The object whose existence says "this data source has changes no job has taken yet"; its time, since when."""
        return f"{MARKER_PREFIX}{self.value}.waiting"


class JobMetric(StrEnum):
    JOBS_STARTED = "JobsStarted"
    STARTS_REFUSED = "JobStartsRefused"  # Bedrock said not now (another job, the account's five): tried again
    WAITED = "ChangesWaited"  # seconds from a data source's oldest waiting change to the start of its job


@dataclass(frozen=True)
class StarterConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    bucket: str = variable("MARKER_BUCKET")
    documents_data_source_id: str = variable("DOCUMENTS_DATA_SOURCE_ID")
    stream_data_source_id: str = variable("STREAM_DATA_SOURCE_ID")

    def data_source_id(self, role: DataSourceRole) -> str:
        return self.documents_data_source_id if role is DataSourceRole.DOCUMENTS else self.stream_data_source_id
