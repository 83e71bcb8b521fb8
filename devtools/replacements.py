"""What CloudFormation replaces when a template changes, decided from the registry schemas.

A resource is replaced when one of its ``createOnlyProperties`` (read through cfn-lint's schema
manager, which ships AWS's registry schemas) changes; when such a property refers to a replaced
resource (a cascade); or when its logical ID disappears. An ``AwsCustomResource`` is replaced when
the physical ID its calls return changes: CloudFormation then deletes the old one during cleanup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from devtools.templates import render

REGION = "us-east-1"
_MISSING = object()


@dataclass(frozen=True)
class ResourceId:
    stack: str  # construct ID of the stack
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def create_only_paths(resource_type: str) -> list[list[str]]:
    """The create-only properties of a registry type, as paths under ``Properties``."""
    if resource_type.startswith("Custom::"):
        return []
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, resource_type).schema
    return [pointer.removeprefix("/properties/").split("/") for pointer in schema.get("createOnlyProperties", [])]


def value_at(properties: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = properties
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def referenced(value: Any) -> set[str]:
    """Logical IDs a template fragment refers to with Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".", 1)[0])
            else:
                found |= referenced(item)
    return found


def custom_physical_id(resource: dict[str, Any], phase: str) -> str | None:
    """The physical ID an AwsCustomResource's call returns (rendered), if it names one."""
    raw = resource.get("Properties", {}).get(phase)
    if raw is None:
        return None
    call = json.loads(render(raw))
    physical = call.get("physicalResourceId", {})
    return str(physical.get("id")) if "id" in physical else None


def replaced_resources(
    before: Mapping[str, dict[str, Any]], after: Mapping[str, dict[str, Any]]
) -> dict[ResourceId, str]:
    """Resources of ``before`` that CloudFormation replaces (or removes) when ``after`` is deployed, with why."""
    reasons: dict[ResourceId, str] = {}
    for stack, old_template in before.items():
        new_resources = after[stack]["Resources"]
        for logical_id, old in old_template["Resources"].items():
            where = ResourceId(stack, logical_id)
            new = new_resources.get(logical_id)
            if new is None:
                reasons[where] = "its logical ID is gone: deleted, and another resource takes its place"
                continue
            if old["Type"].startswith("Custom::"):
                # Without an Update call the resource keeps its physical ID; with one, it gets the call's.
                old_id = custom_physical_id(old, "Update") or custom_physical_id(old, "Create")
                new_id = custom_physical_id(new, "Update") or old_id
                if old.get("Properties") != new.get("Properties") and old_id != new_id:
                    reasons[where] = "its calls return a new physical ID"
                continue
            for path in create_only_paths(old["Type"]):
                old_value = value_at(old.get("Properties", {}), path)
                if old_value != value_at(new.get("Properties", {}), path):
                    reasons[where] = f"create-only {'/'.join(path)} changes"
                    break
    changed = True
    while changed:  # a create-only property that refers to a replaced resource changes at deploy time
        changed = False
        for stack, old_template in before.items():
            replaced_here = {where.logical_id for where in reasons if where.stack == stack}
            for logical_id, old in old_template["Resources"].items():
                where = ResourceId(stack, logical_id)
                if where in reasons:
                    continue
                for path in create_only_paths(old["Type"]):
                    targets = referenced(value_at(old.get("Properties", {}), path)) & replaced_here
                    if targets:
                        reasons[where] = f"create-only {'/'.join(path)} refers to replaced {sorted(targets)[0]}"
                        changed = True
                        break
    return reasons


def outputs_referring_to(template: dict[str, Any], logical_id: str) -> set[str]:
    return {name for name, output in template.get("Outputs", {}).items() if logical_id in referenced(output["Value"])}


def stack_output_readers(template: dict[str, Any], stack_name: str, output_names: set[str]) -> Iterator[str]:
    """Logical IDs of resources that read one of these outputs of ``stack_name`` with Fn::GetStackOutput."""
    for logical_id, resource in template["Resources"].items():
        if _reads_output(resource.get("Properties", {}), stack_name, output_names):
            yield logical_id


def _reads_output(value: Any, stack_name: str, output_names: set[str]) -> bool:
    if isinstance(value, list):
        return any(_reads_output(item, stack_name, output_names) for item in value)
    if isinstance(value, dict):
        reference = value.get("Fn::GetStackOutput")
        if isinstance(reference, dict):
            return reference.get("StackName") == stack_name and reference.get("OutputName") in output_names
        return any(_reads_output(item, stack_name, output_names) for item in value.values())
    return False
