"""Strict validation of AWS API requests against the botocore service models.

botocore's own client-side validation checks required members and types. This module also checks
enums, length and range limits, patterns, unions and unknown members, and derives the IAM action an
operation needs. The tests use it on every SDK call the app makes; ``scripts.check_sidecars`` uses
it on the document metadata.

Strings that stand for values only known at deploy time (CloudFormation intrinsics) are marked with
:data:`DEPLOY_TIME_MARKER`; their type is checked, their length and pattern cannot be.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

from function_runtime.sqs_limits import REFUSED_CHARACTERS

DEPLOY_TIME_MARKER = "\u27e6"  # opens a placeholder such as "⟦Ref:MyBucket⟧"


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


def resolve_service(name: str) -> str:
    """Map a name as the AWS SDK for JavaScript v3 or v2 spells it to botocore's service name.

    Accepts ``S3Vectors``, ``s3vectors``, ``@aws-sdk/client-s3vectors`` or ``BedrockAgent``.
    """
    candidate = name.removeprefix("@aws-sdk/client-").lower().replace("-", "").replace(" ", "")
    for service in _session().get_available_services():
        service_id = service_model(service).metadata.get("serviceId", "")
        if candidate in (service.replace("-", ""), service_id.lower().replace(" ", "").replace("-", "")):
            return str(service)
    raise KeyError(f"no botocore service matches {name!r}")


@cache
def operation_model(service: str, action: str) -> OperationModel:
    """``action`` may be ``CreateIndex``, ``createIndex`` or ``CreateIndexCommand``."""
    model = service_model(service)
    wanted = action.removesuffix("Command")
    for name in model.operation_names:
        if name.lower() == wanted.lower():
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action!r}")


# Operations authorized by another operation's IAM action (SQS batch calls, for example).
_IAM_ACTION_OF = {
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    # The Service Authorization Reference authorizes Lambda's Invoke API as lambda:InvokeFunction.
    ("lambda", "Invoke"): "InvokeFunction",
    # Listing a bucket's objects is authorized as s3:ListBucket (Amazon S3 API reference, ListObjectsV2).
    ("s3", "ListObjectsV2"): "ListBucket",
    # HeadObject is authorized as s3:GetObject, and DeleteObjects as s3:DeleteObject on each key (Amazon S3 API
    # reference, HeadObject and DeleteObjects).
    ("s3", "HeadObject"): "GetObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    # "This operation requires permission for the bedrock:RetrieveAndGenerate action" (Bedrock API reference,
    # RetrieveAndGenerateStream).
    ("bedrock-agent-runtime", "RetrieveAndGenerateStream"): "RetrieveAndGenerate",
    # Posting to, reading and closing a WebSocket connection are execute-api:ManageConnections (API Gateway developer
    # guide, apigateway-websocket-control-access-iam).
    ("apigatewaymanagementapi", "PostToConnection"): "ManageConnections",
}
# Services whose IAM prefix differs from their signing name.
_IAM_PREFIX_OF = {"monitoring": "cloudwatch"}


def iam_action(service: str, operation: str) -> str:
    model = service_model(service)
    # The signing name is the IAM prefix for every service this app calls (bedrock-agent signs as "bedrock").
    prefix = model.metadata.get("signingName", model.endpoint_prefix)
    prefix = _IAM_PREFIX_OF.get(prefix, prefix)
    name = operation_model(service, operation).name
    return f"{prefix}:{_IAM_ACTION_OF.get((service, name), name)}"


def validate_request(service: str, operation: str, parameters: dict[str, Any]) -> list[str]:
    """Every problem with ``parameters`` as input of ``service.operation``; empty when valid."""
    shape = operation_model(service, operation).input_shape
    errors: list[str] = []
    if shape is None:
        if parameters:
            errors.append(f"{operation} takes no parameters")
        return errors
    validate_value(shape, parameters, operation, errors)
    errors += _service_rules(service, operation, parameters)
    return errors


def _service_rules(service: str, operation: str, parameters: dict[str, Any]) -> list[str]:
    """Rules a service documents beyond its API model: the characters SQS accepts in a message."""
    if service != "sqs" or operation not in ("SendMessage", "SendMessageBatch"):
        return []
    entries = parameters.get("Entries", []) if operation == "SendMessageBatch" else [parameters]
    problems = []
    for entry in entries:
        texts = {"MessageBody": entry.get("MessageBody")}
        for name, attribute in (entry.get("MessageAttributes") or {}).items():
            texts[f"MessageAttributes.{name}"] = attribute.get("StringValue")
        for where, text in texts.items():
            found = REFUSED_CHARACTERS.search(text) if isinstance(text, str) else None
            if found:
                problems.append(f"{operation}.{where}: SQS refuses the character {found.group()!r}")
    return problems


def _validate_document(value: Any, path: str, errors: list[str]) -> None:
    """A document shape holds any JSON value (botocore serializes it as is)."""
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, list):
        for position, item in enumerate(value):
            _validate_document(item, f"{path}[{position}]", errors)
    elif isinstance(value, dict) and all(isinstance(key, str) for key in value):
        for key, item in value.items():
            _validate_document(item, f"{path}.{key}", errors)
    else:
        errors.append(f"{path}: {type(value).__name__} is not a JSON value")


def validate_value(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if isinstance(value, str) and value.startswith(DEPLOY_TIME_MARKER) and kind != "string":
        errors.append(f"{path}: a deploy-time value cannot stand for a {kind}")
        return
    if kind == "structure" and shape.metadata.get("document"):
        _validate_document(value, path, errors)
    elif kind == "structure":
        assert isinstance(shape, StructureShape)
        _validate_structure(shape, value, path, errors)
    elif kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        _check_range(shape, len(value), path, errors, what="items")
        for position, item in enumerate(value):
            validate_value(shape.member, item, f"{path}[{position}]", errors)
    elif kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for key, item in value.items():
            validate_value(shape.key, key, f"{path} key", errors)
            validate_value(shape.value, item, f"{path}.{key}", errors)
    elif kind == "string":
        _validate_string(shape, value, path, errors)
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected an integer, got {value!r}")
            return
        _check_range(shape, value, path, errors, what="value")
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.append(f"{path}: expected a number, got {value!r}")
            return
        _check_range(shape, value, path, errors, what="value")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected a boolean, got {value!r}")
    elif kind == "blob":
        # As botocore's own validator: bytes, text, or a readable object (S3's handlers wrap a Body in one).
        if not isinstance(value, str | bytes | bytearray) and not hasattr(value, "read"):
            errors.append(f"{path}: expected bytes, got {type(value).__name__}")
    elif kind == "timestamp" and (not isinstance(value, str | int | float) or isinstance(value, bool)):
        errors.append(f"{path}: expected a timestamp, got {value!r}")
    # "document" shapes take any JSON value.


def _validate_structure(shape: StructureShape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object, got {type(value).__name__}")
        return
    for key in value:
        if key not in shape.members:
            errors.append(f"{path}: unknown member {key!r} (known: {', '.join(shape.members)})")
    for required in shape.required_members:
        if required not in value:
            errors.append(f"{path}: missing required member {required!r}")
    if shape.is_tagged_union and len(value) != 1:
        errors.append(f"{path}: a union takes exactly one member, got {len(value)}")
    for key, item in value.items():
        if key in shape.members:
            validate_value(shape.members[key], item, f"{path}.{key}", errors)


def _validate_string(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(f"{path}: expected a string, got {type(value).__name__}")
        return
    if DEPLOY_TIME_MARKER in value:
        return  # known at deploy time only: length and pattern cannot be checked here
    if shape.enum and value not in shape.enum:
        errors.append(f"{path}: {value!r} is not one of {', '.join(shape.enum)}")
    _check_range(shape, len(value), path, errors, what="length")
    pattern = shape.metadata.get("pattern")
    # AWS validates a pattern against the whole value.
    if pattern and re.fullmatch(pattern, value) is None:
        errors.append(f"{path}: {value!r} does not match the pattern {pattern}")


def _check_range(shape: Shape, amount: float, path: str, errors: list[str], *, what: str) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and amount < low:
        errors.append(f"{path}: {what} {amount} is below the minimum {low}")
    if high is not None and amount > high:
        errors.append(f"{path}: {what} {amount} is above the maximum {high}")
