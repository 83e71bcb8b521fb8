"""Reading synthesized CloudFormation templates in tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devtools.templates import PSEUDO_PARAMETERS as PSEUDO_PARAMETERS
from devtools.templates import render as render


@dataclass(frozen=True)
class SdkCall:
    """One call of an ``AwsCustomResource`` (or the same JSON format) found in a template."""

    stack: str
    logical_id: str
    phase: str  # Create, Update or Delete
    service: str
    action: str
    parameters: dict[str, Any]
    ignore_error_codes_matching: str | None

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id} {self.phase} {self.service}.{self.action}"


def custom_resource_sdk_calls(
    stack: str, template: dict[str, Any], render_with: Callable[[Any], Any] = render
) -> Iterator[SdkCall]:
    """The calls of every ``AwsCustomResource``; deploy-time values marked, or as ``render_with`` renders them."""
    for logical_id, resource in template.get("Resources", {}).items():
        if not resource["Type"].startswith("Custom::"):
            continue
        for phase in ("Create", "Update", "Delete"):
            raw = resource.get("Properties", {}).get(phase)
            if raw is None:
                continue
            call = json.loads(render_with(raw))
            if not {"service", "action"} <= set(call):
                continue
            yield SdkCall(
                stack=stack,
                logical_id=logical_id,
                phase=phase,
                service=call["service"],
                action=call["action"],
                parameters=call.get("parameters", {}),
                ignore_error_codes_matching=call.get("ignoreErrorCodesMatching"),
            )


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    """(logical ID, resource) of the only resource of this type; fails if there are none or several."""
    (item,) = resources_of_type(template, resource_type).items()
    return item


def function_with_handler(template: dict[str, Any], handler: str) -> tuple[str, dict[str, Any]]:
    (item,) = [(key, resource) for key, resource in resources_of_type(template, "AWS::Lambda::Function").items()
               if resource["Properties"].get("Handler") == handler]  # fmt: skip
    return item


def published_attribute(stack_name: str, template: dict[str, Any], attribute: str) -> str:
    """``<stack name>.<output>`` under which another stack reads ``Fn::GetAtt`` ``attribute`` of this one
    (weak cross-stack references go through ``Fn::GetStackOutput``); a key for ``render(attributes=...)``."""
    (name,) = [
        key
        for key, output in template["Outputs"].items()
        if key.startswith("PublishOutput") and output["Value"].get("Fn::GetAtt", ["", ""])[1] == attribute
    ]
    return f"{stack_name}.{name}"


def kafka_mappings(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The MSK event source mappings (the SQS ones feed other functions)."""
    return {key: value for key, value in resources_of_type(template, "AWS::Lambda::EventSourceMapping").items()
            if "AmazonManagedKafkaEventSourceConfig" in value["Properties"]}  # fmt: skip
