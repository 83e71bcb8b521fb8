"""Whose question it is, decided by what AWS verified and never by the request body.

- The function alias Lambda was invoked through: IAM decided who may invoke it. An alias named after a
  group asks as that group; the plain function name (or $LATEST, or a version number) as the default group.
- On the HTTP API's entry point, the groups claim of the token API Gateway's JWT authorizer verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from query.access import AccessPolicy

_QUALIFIED_ARN_PARTS = 8  # arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>
_CLAIM_LIST_SEPARATORS = re.compile(r"[\s,]+")


def entry_point(invoked_function_arn: str) -> str | None:
    """The alias or version the function was invoked through; None for the plain function name."""
    parts = invoked_function_arn.split(":")
    return parts[-1] if len(parts) == _QUALIFIED_ARN_PARTS else None


def entry_point_groups(qualifier: str | None, access: AccessPolicy) -> tuple[str, ...]:
    """The group an alias stands for; none (the default group) for anything else."""
    return (qualifier,) if qualifier is not None and qualifier in access.filters else ()


def claimed_groups(claims: Mapping[str, Any], claim: str) -> tuple[str, ...]:
    """The groups in a verified token's claim. API Gateway hands a list claim to the function as text,
    ``"[staff partners]"``; a JSON list or comma-separated text is read the same way."""
    value = claims.get(claim)
    if isinstance(value, list):
        return tuple(str(item) for item in value if str(item).strip())
    if not isinstance(value, str):
        return ()
    text = value.strip().removeprefix("[").removesuffix("]")
    return tuple(group.strip('"') for group in _CLAIM_LIST_SEPARATORS.split(text) if group.strip('"'))
