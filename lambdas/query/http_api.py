"""The HTTP API entry point: API Gateway's payload format 2.0 in, an HTTP response out."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from query.audience import ClaimReading, claimed_groups
from query.request import RequestError

# Error types of the function's results, as HTTP statuses; anything else from Bedrock is a bad gateway.
_STATUS = {
    "ValidationError": 400,
    "ValidationException": 400,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelAccessRequired": 503,
}


def http_request(event: Any, group_claim: str | None, known_groups: Collection[str]) -> tuple[Any, ClaimReading]:
    """The JSON body and the caller's groups from the verified claims; RequestError for an unusable body."""
    if not isinstance(event, dict) or event.get("version") != "2.0":
        raise RequestError("the HTTP API entry point takes API Gateway's payload format 2.0")
    request = APIGatewayProxyEventV2(event)
    claims = request.request_context.authorizer.jwt_claim or {}
    groups = claimed_groups(claims, group_claim, known_groups) if group_claim else ClaimReading(())
    try:
        body = json.loads(request.decoded_body or "")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise RequestError('the body must be a JSON object such as {"question": "..."}') from None
    return body, groups


# What an HTTP caller is told of a failure; the details (account, role, ARNs) stay in the function's log.
_PUBLIC_MESSAGES = {
    "ThrottlingException": "Too many questions right now; try again in a moment.",
    "ServiceQuotaExceededException": "Too many questions right now; try again in a moment.",
    "ModelAccessRequired": "The knowledge base cannot answer yet: its model is being enabled. Try again later.",
}


def public_error(kind: str, request_id: str) -> dict[str, str]:
    """The error type and a message that reveals nothing about the deployment; the request ID lets an
    operator find the details in the log."""
    message = _PUBLIC_MESSAGES.get(kind, "The knowledge base could not answer this question.")
    return {"type": kind, "message": message, "requestId": request_id}


def http_response(result: dict[str, Any]) -> dict[str, Any]:
    status = 200 if "error" not in result else _STATUS.get(str(result["error"].get("type")), 502)
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
