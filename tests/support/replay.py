"""Replays AwsCustomResource calls from a template with boto3, the way the provider runs them."""

from __future__ import annotations

import re
from typing import Any

import boto3
from botocore.exceptions import ClientError

from devtools.sdk_model import operation_model, resolve_service
from tests.support.templates import SdkCall


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def replay(call: SdkCall, client: Any = None, region: str = "us-east-1") -> dict[str, Any] | None:
    """Run one call; an error matching ``ignoreErrorCodesMatching`` counts as success (None)."""
    service = resolve_service(call.service)
    client = client or boto3.client(service, region_name=region)
    method = getattr(client, _snake(operation_model(service, call.action).name))
    try:
        response: dict[str, Any] = method(**call.parameters)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if call.ignore_error_codes_matching and re.search(call.ignore_error_codes_matching, code):
            return None
        raise
    return response
