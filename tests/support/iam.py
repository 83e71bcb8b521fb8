"""What the IAM policies in a synthesized template allow."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from tests.support import iam_rules
from tests.support.iam_simulator import SAMPLE_ACCOUNT, Decision, simulator
from tests.support.sample_values import AppSamples
from tests.support.templates import render


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(
    template: dict[str, Any],
    role_logical_id: str,
    attributes: dict[str, str] | None = None,
    render_with: Callable[[Any], Any] | None = None,
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
    show = render_with or (lambda value: render(value, attributes=attributes))
    return [show(statement) for statement in statements if statement["Effect"] == "Allow"]


def allowed_resources(statements: list[dict[str, Any]], action: str) -> list[str]:
    """Resources on which ``action`` is allowed (statements with wildcard actions count too)."""
    found: list[str] = []
    for statement in statements:
        if any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement["Action"])):
            found += [str(resource) for resource in _as_list(statement["Resource"])]
    return found


def is_allowed(
    statements: list[dict[str, Any]], action: str, resource_arn: str, context: dict[str, str] | None = None
) -> bool:
    """Would AWS allow ``action`` on ``resource_arn``? Evaluated by iam-simulate with AWS's authorization
    data: the resource must be of a type the action supports (``*`` for actions that support none).
    ``context`` adds request context keys (``iam:PassedToService``)."""
    return evaluate(statements, action, resource_arn, context=context).allowed


def evaluate(
    statements: list[dict[str, Any]], action: str, resource_arn: str, resource_policy: dict[str, Any] | None = None,
    context: dict[str, str] | None = None,
) -> Decision:  # fmt: skip
    """A request of the role's own account, on a resource of that account (as every call of this app is)."""
    context = {**({"aws:ResourceAccount": SAMPLE_ACCOUNT} if resource_arn != "*" else {}), **(context or {})}
    return simulator().evaluate(
        [{"Version": "2012-10-17", "Statement": statements}], action, resource_arn, context=context,
        resource_policy=resource_policy,
    )  # fmt: skip


def request_resource(action: str, resource_arn: str) -> str:
    """The resource a request for ``action`` names: ``*`` for actions that support no resource types."""
    return "*" if iam_rules.action(action).wildcard_only else resource_arn


def role_policy_statements(
    templates_by_stack_name: dict[str, dict[str, Any]], stack_name: str, role_logical_id: str
) -> list[dict[str, Any]]:
    """Allow statements of one role (inline policies and attached AWS::IAM::Policy), with sample ARNs."""
    template = templates_by_stack_name[stack_name]
    samples = AppSamples(templates_by_stack_name)
    return role_statements(template, role_logical_id, render_with=lambda value: samples.render(value, template))


def function_role(template: dict[str, Any], function_logical_id: str) -> str:
    role = template["Resources"][function_logical_id]["Properties"]["Role"]
    return str(role["Fn::GetAtt"][0])
