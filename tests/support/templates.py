"""Reading synthesized CloudFormation templates in tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devtools.sdk_model import DEPLOY_TIME_MARKER

# Stand-ins for pseudo parameters, so that ARNs built from them read like real ones.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}


def render(value: Any, *, pseudo: dict[str, str] | None = None, attributes: dict[str, str] | None = None) -> Any:
    """Replace intrinsics by strings: pseudo parameters by sample values, anything else by a marker.

    ``attributes`` gives sample values for ``Fn::GetAtt`` targets (``"Cluster.Arn"``) and for other
    stacks' outputs (``"stack-name.OutputName"``), so that ``Fn::Split``/``Fn::Select`` over them can
    be evaluated.
    """
    pseudo = PSEUDO_PARAMETERS if pseudo is None else pseudo
    attributes = attributes or {}

    def again(item: Any) -> Any:
        return render(item, pseudo=pseudo, attributes=attributes)

    if isinstance(value, list):
        return [again(item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return pseudo.get(argument, f"{DEPLOY_TIME_MARKER}Ref:{argument}\u27e7")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return attributes.get(target, f"{DEPLOY_TIME_MARKER}GetAtt:{target}\u27e7")
        if key == "Fn::GetStackOutput":
            target = f"{argument['StackName']}.{argument['OutputName']}"
            return attributes.get(target, f"{DEPLOY_TIME_MARKER}Fn::GetStackOutput\u27e7")
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(again(part)) for part in parts)
        if key == "Fn::Split":
            separator, source = argument[0], again(argument[1])
            if isinstance(source, str) and DEPLOY_TIME_MARKER not in source:
                return source.split(separator)
        if key == "Fn::Select":
            index, items = argument[0], again(argument[1])
            if isinstance(items, list) and isinstance(index, int) and index < len(items):
                return items[index]
        if key == "Fn::ImportValue":
            return f"{DEPLOY_TIME_MARKER}Import\u27e7"
        if key.startswith("Fn::"):
            return f"{DEPLOY_TIME_MARKER}{key}\u27e7"
    return {key: again(item) for key, item in value.items()}


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
