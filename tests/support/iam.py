"""What the IAM policies in a synthesized template allow."""

from __future__ import annotations

import fnmatch
from typing import Any

from tests.support.templates import render


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(
    template: dict[str, Any], role_logical_id: str, attributes: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Allow statements of every inline policy and AWS::IAM::Policy attached to one role."""
    resources = template["Resources"]
    statements: list[dict[str, Any]] = []
    role = resources[role_logical_id]["Properties"]
    for policy in role.get("Policies", []):
        statements += _as_list(policy["PolicyDocument"]["Statement"])
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy":
            attached = [r.get("Ref") for r in resource["Properties"].get("Roles", [])]
            if role_logical_id in attached:
                statements += _as_list(resource["Properties"]["PolicyDocument"]["Statement"])
    return [render(statement, attributes=attributes) for statement in statements if statement["Effect"] == "Allow"]


def allowed_resources(statements: list[dict[str, Any]], action: str) -> list[str]:
    """Resources on which ``action`` is allowed (statements with wildcard actions count too)."""
    found: list[str] = []
    for statement in statements:
        if any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement["Action"])):
            found += [str(resource) for resource in _as_list(statement["Resource"])]
    return found


def is_allowed(statements: list[dict[str, Any]], action: str, resource_arn: str) -> bool:
    return any(fnmatch.fnmatchcase(resource_arn, pattern) for pattern in allowed_resources(statements, action))


def function_role(template: dict[str, Any], function_logical_id: str) -> str:
    role = template["Resources"][function_logical_id]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])
