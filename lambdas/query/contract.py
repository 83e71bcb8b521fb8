"""The query function's contract with the app: its configuration and telemetry names. The construct
that deploys the function imports this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from function_runtime.environment import variable

SERVICE = "query"
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler


class QueryMetric(StrEnum):
    GENERATE_QUERIES = "GenerateQueries"
    RETRIEVE_QUERIES = "RetrieveQueries"
    INVALID_QUERIES = "InvalidQueries"
    FAILED_QUERIES = "FailedQueries"  # Bedrock refused, after botocore's retries


@dataclass(frozen=True)
class QueryConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    # Changes whenever the knowledge base is replaced: the function is then updated with the new ID.
    knowledge_base_name: str = variable("KNOWLEDGE_BASE_NAME")
    model_arn: str = variable("MODEL_ARN")  # the inference profile RetrieveAndGenerate generates with
    default_number_of_results: int = variable("DEFAULT_NUMBER_OF_RESULTS")
    # Group -> enforced RetrievalFilter ({} for unrestricted); empty: no access control.
    group_filters: dict[str, Any] = variable("GROUP_FILTERS")
    default_group: str = variable("DEFAULT_GROUP")
    temperature: float | None = variable("GENERATION_TEMPERATURE", default=None)
    max_tokens: int | None = variable("GENERATION_MAX_TOKENS", default=None)
    prompt_template: str | None = variable("PROMPT_TEMPLATE", default=None)
