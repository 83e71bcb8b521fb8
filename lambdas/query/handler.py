"""Invoked from the Lambda console, ``make ask`` or the HTTP API: a question in, a grounded answer with sources out.

The audience (which group's filter applies) comes from the entry point AWS verified: the alias invoked, or
the token of the HTTP API or of the chat page's WebSocket connection. See ``query.audience``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError, EventStreamError

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from query.access import AccessPolicy, combine
from query.answer import Generation, Retrieval, ask
from query.answer_stream import (
    Connection,
    ConnectionGone,
    ExpiredSignIn,
    SocketEvent,
    TextSender,
    connect_response,
    message_id_of,
    question,
    socket_event,
)
from query.audience import ClaimReading, entry_point, entry_point_groups, typed_claim_groups
from query.contract import HTTP_API_ENTRY_POINT, STREAM_ENTRY_POINT, QueryConfig, QueryMetric
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
        warn_if_ambiguous(reading, config, access)
        return http_response(for_token_holder(answer(body, reading.groups, config, access), config, context))
    if qualifier == STREAM_ENTRY_POINT:
        return answer_over_socket(event, context, config, access)
    return answer(event, entry_point_groups(qualifier, access), config, access)


def warn_if_ambiguous(reading: ClaimReading, config: QueryConfig, access: AccessPolicy) -> None:
    if reading.ambiguous and access.configured:
        logger.warning("The token's group claim names groups the app does not know; it asks as the default group",
                       claim=config.group_claim, groups=list(reading.groups))  # fmt: skip


def for_token_holder(result: dict[str, Any], config: QueryConfig, context: LambdaContext) -> dict[str, Any]:
    """What a caller of the HTTPS entry points sees: links to the cited documents, and failures without details."""
    if config.document_bucket and "error" not in result:
        add_document_links(client("s3"), result, config.document_bucket)
    if "error" in result and result["error"].get("type") != "ValidationError":
        # Bedrock's text names the account, the role and the knowledge base: it stays in the log.
        logger.warning("Query failed; the caller gets a generic message", error=result["error"],
                       request_id=context.aws_request_id)  # fmt: skip
        result = {"error": public_error(str(result["error"].get("type")), context.aws_request_id)}
    return result


def answer_over_socket(event: Any, context: LambdaContext, config: QueryConfig, access: AccessPolicy) -> dict[str, Any]:
    """The chat page's WebSocket API: $connect, then one question per message, answered over the connection."""
    try:
        socket = socket_event(event)
    except RequestError as problem:
        logger.warning("Not a WebSocket event", reason=str(problem))
        return {"statusCode": 400}
    if socket.route == "$connect":
        return connect_response(socket)
    if not config.stream_connections_url:
        raise RuntimeError("STREAM_CONNECTIONS_URL is not set: the chat stream entry point is not configured")
    connection = Connection(client("apigatewaymanagementapi", config.stream_connections_url), socket.connection_id)
    try:
        _answer_message(socket, connection, context, config, access)
    except ConnectionGone:
        logger.info("The page closed the connection before the answer was complete")
    return {"statusCode": 200}


def _answer_message(socket: SocketEvent, connection: Connection, context: LambdaContext, config: QueryConfig,
                    access: AccessPolicy) -> None:  # fmt: skip
    try:
        asked = question(socket, time.time())
    except ExpiredSignIn as expired:
        connection.send({"type": "error", "id": expired.message_id,
                         "error": {"type": "Unauthorized", "message": str(expired)}})  # fmt: skip
        return
    except RequestError as problem:
        connection.send({"type": "error", "id": message_id_of(socket.body), **invalid(problem)})
        return
    reading = typed_claim_groups(socket.groups_claim, access.filters.keys())
    warn_if_ambiguous(reading, config, access)
    text = TextSender(connection, asked.message_id)
    result = answer(asked.request, reading.groups, config, access, on_text=text)
    text.flush()
    result = for_token_holder(result, config, context)
    if "error" in result:
        connection.send({"type": "error", "id": asked.message_id, "error": result["error"]})
    else:
        connection.send({"type": "answer", "id": asked.message_id, "result": result})


def answer(event: Any, groups: tuple[str, ...], config: QueryConfig, access: AccessPolicy,
           on_text: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """The answer, or an error result; with ``on_text``, generated text is also given to it as it arrives."""
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
                       generation, retrieval, on_text)  # fmt: skip
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
        if isinstance(failure, EventStreamError):  # an exception event names its shape's member: throttlingException
            code = code[:1].upper() + code[1:]
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
