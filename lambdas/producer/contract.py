"""The producer function's contract with the app: its configuration and telemetry names. The construct
that deploys the function imports this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from function_runtime.environment import variable

SERVICE = "producer"
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler


class ProducerMetric(StrEnum):
    RECORDS_PUBLISHED = "RecordsPublished"
    INVALID_PRODUCER_REQUESTS = "InvalidProducerRequests"


@dataclass(frozen=True)
class ProducerConfig:
    bootstrap_brokers: str = variable("BOOTSTRAP_BROKERS")  # IAM-auth brokers, comma-separated
    topic_name: str = variable("TOPIC_NAME")
    # The stream's app:streamDocument mapping: the producer encodes values in its format.
    document_mapping: dict[str, Any] = variable("STREAM_DOCUMENT")
