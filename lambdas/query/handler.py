"""Invoked from the Lambda console or ``make ask``: a question in, a grounded answer with sources out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from query.access import AccessPolicy, combine
from query.answer import Generation, ask
from query.contract import QueryConfig, QueryMetric
from query.model_access import FIX as MODEL_ACCESS_FIX
from query.model_access import needs_model_access
from query.request import Mode, RequestError, parse_request

logger = Logger()
tracer = make_tracer()
metrics = Metrics()

ANSWERED = {Mode.GENERATE: QueryMetric.GENERATE_QUERIES, Mode.RETRIEVE: QueryMetric.RETRIEVE_QUERIES}


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(QueryConfig)
    logger.append_keys(knowledge_base=config.knowledge_base_name)
    access = AccessPolicy.of(config.group_filters, config.default_group)  # a bad policy fails loudly
    try:
        request = parse_request(event, config.default_number_of_results)
    except RequestError as problem:
        logger.info("Invalid request", reason=str(problem))
        metrics.add_metric(name=QueryMetric.INVALID_QUERIES, unit=MetricUnit.Count, value=1)
        return error("ValidationError", str(problem))
    search_filter = combine(access.enforced_filter(request.groups), request.filter)
    generation = Generation(model_arn=config.model_arn, temperature=config.temperature,
                            max_tokens=config.max_tokens, prompt_template=config.prompt_template)  # fmt: skip
    try:
        response = ask(client("bedrock-agent-runtime"), request, search_filter, config.knowledge_base_id, generation)
    except ClientError as failure:  # after botocore's retries
        details = failure.response.get("Error", {})
        code, message = str(details.get("Code", "BedrockError")), str(details.get("Message", failure))
        logger.warning("Bedrock refused the query", code=code, reason=message)
        metrics.add_metric(name=QueryMetric.FAILED_QUERIES, unit=MetricUnit.Count, value=1)
        if needs_model_access(code, message):
            return {"error": {"type": "ModelAccessRequired", "message": message, "fix": MODEL_ACCESS_FIX}}
        return error(code, message)
    except BotoCoreError as failure:
        metrics.add_metric(name=QueryMetric.FAILED_QUERIES, unit=MetricUnit.Count, value=1)
        return error(type(failure).__name__, str(failure))
    metrics.add_metric(name=ANSWERED[request.mode], unit=MetricUnit.Count, value=1)
    return response
