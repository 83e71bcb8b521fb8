"""Whose question it is, decided by what AWS verified and never by the request body.

- The function alias Lambda was invoked through: IAM decided who may invoke it. An alias named after a
  group asks as that group; the plain function name (or $LATEST, or a version number) as the default group.
- On the HTTP API's entry point, the groups claim of the token API Gateway's JWT authorizer verified.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from query.access import AccessPolicy

_QUALIFIED_ARN_PARTS = 8  # arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>


def entry_point(invoked_function_arn: str) -> str | None:
    """The alias or version the function was invoked through; None for the plain function name."""
    parts = invoked_function_arn.split(":")
    return parts[-1] if len(parts) == _QUALIFIED_ARN_PARTS else None


def entry_point_groups(qualifier: str | None, access: AccessPolicy) -> tuple[str, ...]:
    """The group an alias stands for; none (the default group) for anything else."""
    return (qualifier,) if qualifier is not None and qualifier in access.filters else ()


@dataclass(frozen=True)
class ClaimReading:
    groups: tuple[str, ...]  # the app's groups the claim names; none: the default group
    ambiguous: bool = False  # the claim names something that is not one of the app's groups


def claimed_groups(claims: Mapping[str, Any], claim: str, known: Collection[str]) -> ClaimReading:
    """The app's groups in a verified token's claim, read so that no other group name can pass for one.

    API Gateway's HTTP API hands a list claim to the function as text, ``"[staff partners]"``: the items
    joined by spaces, unquoted. An identity provider's group name may itself contain spaces or commas
    (``"staff contractors"``), and that text cannot say where one name ends. So the text form grants groups
    only when every space-separated item is exactly one of the app's groups; anything else is ambiguous and
    grants none (the caller asks as the default group). A JSON list (a real list, or its JSON text) is read
    item by item, exactly; a plain string is one group name, exactly.
    """
    value = claims.get(claim)
    if isinstance(value, str) and value.strip().startswith('["'):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return ClaimReading((), ambiguous=True)
    if isinstance(value, list):
        items = [item for item in value if isinstance(item, str)]
        return ClaimReading(tuple(item for item in dict.fromkeys(items) if item in known),
                            ambiguous=any(item not in known for item in items))  # fmt: skip
    if not isinstance(value, str) or not value.strip():
        return ClaimReading(())
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        items = text[1:-1].split(" ")
        if items and all(item in known for item in items):
            return ClaimReading(tuple(dict.fromkeys(items)))
        return ClaimReading((), ambiguous=True)
    return ClaimReading((text,)) if text in known else ClaimReading((), ambiguous=True)


def typed_claim_groups(value: Any, known: Collection[str]) -> ClaimReading:
    """The app's groups in a claim whose JSON type is known (the WebSocket authorizer passes the claim as JSON):
    a list is read item by item and a string is one group name, exactly. No text rule applies, so a single group
    named ``"[staff partners]"`` or ``"staff partners"`` is that one name, never two groups."""
    if isinstance(value, str):
        value = [value] if value else []
    if not isinstance(value, list):
        return ClaimReading(())
    items = [item for item in value if isinstance(item, str)]
    return ClaimReading(tuple(item for item in dict.fromkeys(items) if item in known),
                        ambiguous=any(item not in known for item in items) or len(items) != len(value))  # fmt: skip
