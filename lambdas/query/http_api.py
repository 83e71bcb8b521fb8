"""The HTTP API entry point: API Gateway's payload format 2.0 in, an HTTP response out."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from query.audience import claimed_groups
from query.request import RequestError

# Error types of the function's results, as HTTP statuses; anything else from Bedrock is a bad gateway.
_STATUS = {
    "ValidationError": 400,
    "ValidationException": 400,
    "ThrottlingException": 429,
    "ServiceQuotaExceededException": 429,
    "ModelAccessRequired": 503,
}


def http_request(event: Any, group_claim: str | None) -> tuple[Any, tuple[str, ...]]:
    """The JSON body and the caller's groups from the verified claims; RequestError for an unusable body."""
    if not isinstance(event, dict) or event.get("version") != "2.0":
        raise RequestError("the HTTP API entry point takes API Gateway's payload format 2.0")
    request = APIGatewayProxyEventV2(event)
    claims = request.request_context.authorizer.jwt_claim or {}
    groups = claimed_groups(claims, group_claim) if group_claim else ()
    try:
        body = json.loads(request.decoded_body or "")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RequestError('the body must be a JSON object such as {"question": "..."}') from None
    return body, groups


def http_response(result: dict[str, Any]) -> dict[str, Any]:
    status = 200 if "error" not in result else _STATUS.get(str(result["error"].get("type")), 502)
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(result)}
