"""Invoked from the Lambda console, ``make ask`` or the HTTP API: a question in, a grounded answer with sources out.

The audience (which group's filter applies) comes from the entry point AWS verified: the alias invoked, or
the HTTP API's token. See ``query.audience``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from query.access import AccessPolicy, combine
from query.answer import Generation, Retrieval, ask
from query.audience import entry_point, entry_point_groups
from query.contract import HTTP_API_ENTRY_POINT, QueryConfig, QueryMetric
from query.guardrail import Guardrail, guard_passages
from query.http_api import http_request, http_response, public_error
from query.links import add_document_links
from query.model_access import FIX as MODEL_ACCESS_FIX
from query.model_access import needs_model_access
from query.request import Mode, RequestError, parse_request
from query.sessions import SessionSeal

logger = Logger()
tracer = make_tracer()
metrics = Metrics()

ANSWERED = {Mode.GENERATE: QueryMetric.GENERATE_QUERIES, Mode.RETRIEVE: QueryMetric.RETRIEVE_QUERIES}


def error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def invalid(problem: RequestError) -> dict[str, Any]:
    logger.info("Invalid request", reason=str(problem))
    metrics.add_metric(name=QueryMetric.INVALID_QUERIES, unit=MetricUnit.Count, value=1)
    return error("ValidationError", str(problem))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(QueryConfig)
    logger.append_keys(knowledge_base=config.knowledge_base_name)
    access = AccessPolicy.of(config.group_filters, config.default_group)  # a bad policy fails loudly
    qualifier = entry_point(context.invoked_function_arn)
    if qualifier == HTTP_API_ENTRY_POINT:
        try:
            body, reading = http_request(event, config.group_claim, access.filters.keys())
        except RequestError as problem:
            return http_response(invalid(problem))
        if reading.ambiguous and access.configured:
            logger.warning("The token's group claim names groups the app does not know; it asks as the default "
                           "group", claim=config.group_claim, groups=list(reading.groups))  # fmt: skip
        result = answer(body, reading.groups, config, access)
        if config.document_bucket and "error" not in result:
            add_document_links(client("s3"), result, config.document_bucket)
        if "error" in result and result["error"].get("type") != "ValidationError":
            # Bedrock's text names the account, the role and the knowledge base: it stays in the log.
            logger.warning("Query failed; the HTTP caller gets a generic message", error=result["error"],
                           request_id=context.aws_request_id)  # fmt: skip
            result = {"error": public_error(str(result["error"].get("type")), context.aws_request_id)}
        return http_response(result)
    return answer(event, entry_point_groups(qualifier, access), config, access)


def answer(event: Any, groups: tuple[str, ...], config: QueryConfig, access: AccessPolicy) -> dict[str, Any]:
    logger.append_keys(groups=list(groups) or [config.default_group])
    try:
        request = parse_request(event, config.default_number_of_results)
    except RequestError as problem:
        return invalid(problem)
    search_filter = combine(access.enforced_filter(groups), request.filter)
    seal = SessionSeal(client("kms"), config.session_seal_key_arn) if config.session_seal_key_arn else None
    audience = access.audience(groups)
    guardrail = Guardrail(config.guardrail_id, config.guardrail_version) if config.guardrail_id and \
        config.guardrail_version else None  # fmt: skip
    generation = Generation(model_arn=config.model_arn, temperature=config.temperature, max_tokens=config.max_tokens,
                            prompt_template=config.prompt_template, guardrail=guardrail,
                            query_decomposition=config.query_decomposition,
                            session_key_arn=config.session_key_arn)  # fmt: skip
    retrieval = Retrieval(reranking_model_arn=config.reranking_model_arn,
                          reranking_candidates=config.reranking_candidates,
                          implicit_filter_attributes=tuple(config.implicit_filter_attributes or ()),
                          implicit_filter_model_arn=config.implicit_filter_model_arn)  # fmt: skip
    try:
        if seal is not None and request.session_id:
            try:
                request = replace(request, session_id=seal.open(request.session_id, audience))
            except RequestError as problem:
                return invalid(problem)
        response = ask(client("bedrock-agent-runtime"), request, search_filter, config.knowledge_base_id,
                       generation, retrieval)  # fmt: skip
        if seal is not None and response.get("sessionId"):
            response["sessionId"] = seal.seal(response["sessionId"], audience)
        if guardrail is not None:
            interventions = guard_passages(client("bedrock-runtime"), guardrail, response)
            if response.get("guardrail", {}).get("action") == "INTERVENED":
                interventions += 1
            metrics.add_metric(name=QueryMetric.GUARDRAIL_INTERVENTIONS, unit=MetricUnit.Count, value=interventions)
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
