"""Invoked from the Lambda console or ``make ask``: a question in, a grounded answer with sources out."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from common.aws import client, required_env

from query.access import AccessPolicy, combine
from query.answer import Generation, ask
from query.model_access import FIX as MODEL_ACCESS_FIX
from query.model_access import needs_model_access
from query.request import RequestError, parse_request

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@dataclass(frozen=True)
class QueryConfig:
    knowledge_base_id: str
    default_number_of_results: int
    generation: Generation
    access: AccessPolicy


@cache
def config() -> QueryConfig:
    """Read once per execution environment; a bad policy fails the first invocation loudly."""
    inference = json.loads(os.environ.get("GENERATION_SETTINGS", "{}"))
    return QueryConfig(
        knowledge_base_id=required_env("KNOWLEDGE_BASE_ID"),
        default_number_of_results=int(required_env("DEFAULT_NUMBER_OF_RESULTS")),
        generation=Generation(
            model_arn=required_env("MODEL_ARN"),
            temperature=inference.get("temperature"),
            max_tokens=inference.get("maxTokens"),
            prompt_template=inference.get("promptTemplate") or None,
        ),
        access=AccessPolicy.from_json(os.environ.get("GROUP_FILTERS", "{}"), os.environ.get("DEFAULT_GROUP", "")),
    )


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = config()
    try:
        request = parse_request(event, settings.default_number_of_results)
    except RequestError as problem:
        logger.info("Invalid request", reason=str(problem))
        metrics.add_metric(name="InvalidQueries", unit=MetricUnit.Count, value=1)
        return error("ValidationError", str(problem))
    search_filter = combine(settings.access.enforced_filter(request.groups), request.filter)
    try:
        response = ask(client("bedrock-agent-runtime"), request, search_filter, settings.knowledge_base_id,
                       settings.generation)  # fmt: skip
    except ClientError as failure:  # after botocore's retries
        details = failure.response.get("Error", {})
        code, message = str(details.get("Code", "BedrockError")), str(details.get("Message", failure))
        logger.warning("Bedrock refused the query", code=code, reason=message)
        metrics.add_metric(name="FailedQueries", unit=MetricUnit.Count, value=1)
        if needs_model_access(code, message):
            return {"error": {"type": "ModelAccessRequired", "message": message, "fix": MODEL_ACCESS_FIX}}
        return error(code, message)
    except BotoCoreError as failure:
        metrics.add_metric(name="FailedQueries", unit=MetricUnit.Count, value=1)
        return error(type(failure).__name__, str(failure))
    metrics.add_metric(name=f"{request.mode.value.capitalize()}Queries", unit=MetricUnit.Count, value=1)
    return response
