"""The document-sync function's contract with the app: its configuration and telemetry names. The
construct that deploys the function imports this module (standard library only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from function_runtime.environment import variable

SERVICE = "kb_sync"
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler


class SyncMetric(StrEnum):
    INGESTION_JOBS_STARTED = "IngestionJobsStarted"
    SYNCS_DEFERRED = "SyncsDeferred"  # a job was running: the changes wait on the queue
    SYNCS_HANDED_TO_STARTER = "SyncsHandedToStarter"  # bulk path: the marker says the documents wait
    INVALID_SYNC_MESSAGES = "InvalidSyncMessages"


@dataclass(frozen=True)
class SyncConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    data_source_id: str = variable("DATA_SOURCE_ID")
    bucket: str = variable("DOCUMENT_BUCKET")
    prefix: str = variable("DOCUMENT_PREFIX")
    dead_letter_queue_url: str = variable("DEAD_LETTER_QUEUE_URL")
    # The bulk path: the knowledge base's jobs are the ingestion-job starter's, which takes turns between the data
    # sources; the sync leaves its marker instead of starting a job itself (docs/bulk-path.md).
    jobs_by_starter: bool = variable("JOBS_BY_STARTER", default=False)


# The deploy-time sync request the app puts on the queue; the handler reads it with the same names.
DEPLOYMENT_TRIGGER = "deployment"


def deployment_notice(documents_version: str, data_source_id: str) -> str:
    """The message body of a deploy-time sync request. It names the sample documents' version and the
    data source, so that either changing (a new data source replaces the old one) sends a new request."""
    return json.dumps({"trigger": DEPLOYMENT_TRIGGER, "documentsVersion": documents_version,
                       "dataSourceId": data_source_id})  # fmt: skip
