"""Reading synthesized CloudFormation templates in tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scripts.sdk_model import DEPLOY_TIME_MARKER

# Stand-ins for pseudo parameters, so that ARNs built from them read like real ones.
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}


def render(value: Any, *, pseudo: dict[str, str] | None = None) -> Any:
    """Replace intrinsics by strings: pseudo parameters by sample values, anything else by a marker."""
    pseudo = PSEUDO_PARAMETERS if pseudo is None else pseudo
    if isinstance(value, list):
        return [render(item, pseudo=pseudo) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return pseudo.get(argument, f"{DEPLOY_TIME_MARKER}Ref:{argument}\u27e7")
        if key == "Fn::GetAtt":
            target = ".".join(argument) if isinstance(argument, list) else argument
            return f"{DEPLOY_TIME_MARKER}GetAtt:{target}\u27e7"
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(render(part, pseudo=pseudo)) for part in parts)
        if key == "Fn::ImportValue":
            return f"{DEPLOY_TIME_MARKER}Import\u27e7"
        if key.startswith("Fn::"):
            return f"{DEPLOY_TIME_MARKER}{key}\u27e7"
    return {key: render(item, pseudo=pseudo) for key, item in value.items()}


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


def custom_resource_sdk_calls(stack: str, template: dict[str, Any]) -> Iterator[SdkCall]:
    for logical_id, resource in template.get("Resources", {}).items():
        if not resource["Type"].startswith("Custom::"):
            continue
        for phase in ("Create", "Update", "Delete"):
            raw = resource.get("Properties", {}).get(phase)
            if raw is None:
                continue
            call = json.loads(render(raw))
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
