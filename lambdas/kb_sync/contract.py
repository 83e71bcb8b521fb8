"""The document-sync function's contract with the app: its configuration and telemetry names. The
construct that deploys the function imports this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from function_runtime.environment import variable

SERVICE = "kb_sync"
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler


class SyncMetric(StrEnum):
    INGESTION_JOBS_STARTED = "IngestionJobsStarted"
    SYNCS_DEFERRED = "SyncsDeferred"  # a job was running: the changes wait on the queue
    INVALID_SYNC_MESSAGES = "InvalidSyncMessages"


@dataclass(frozen=True)
class SyncConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    data_source_id: str = variable("DATA_SOURCE_ID")
    bucket: str = variable("DOCUMENT_BUCKET")
    prefix: str = variable("DOCUMENT_PREFIX")
    dead_letter_queue_url: str = variable("DEAD_LETTER_QUEUE_URL")
