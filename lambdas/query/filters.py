"""Bedrock RetrievalFilter validation for S3 Vectors, and the compact ``where`` form people type."""

from __future__ import annotations

import math
from typing import Any

# RetrievalFilter operators S3 Vectors evaluates; startsWith, stringContains and listContains are not among them.
COMPARISONS = frozenset({"equals", "notEquals", "greaterThan", "greaterThanOrEquals", "lessThan", "lessThanOrEquals"})
MEMBERSHIP = frozenset({"in", "notIn"})
COMBINATIONS = frozenset({"andAll", "orAll"})
UNSUPPORTED = frozenset({"startsWith", "stringContains", "listContains"})
NUMERIC_ONLY = frozenset({"greaterThan", "greaterThanOrEquals", "lessThan", "lessThanOrEquals"})
MAX_KEY_LENGTH = 100
# Bounds of a filter the function sends. AWS states none beyond andAll and orAll taking at least two filters
# (botocore's RetrievalFilterList: min 2; the Bedrock API reference's RetrievalFilter); these keep every
# filter a person writes, and refuse, before Bedrock is called, what only a hostile caller sends.
MAX_FILTER_DEPTH = 8  # nested andAll/orAll levels (the group's filter ANDed with the request's adds one)
MAX_FILTER_CLAUSES = 100  # comparisons in the whole filter
MAX_LIST_VALUES = 100  # values of one in/notIn

# The compact form: {"key": value} (equals), {"key": [a, b]} (in), {"key": {">=": n, "<": m}}.
COMPACT_OPERATORS = {
    "=": "equals", "==": "equals", "!=": "notEquals",
    ">": "greaterThan", ">=": "greaterThanOrEquals", "<": "lessThan", "<=": "lessThanOrEquals",
    "in": "in", "not in": "notIn",
}  # fmt: skip


class FilterError(ValueError):
    """The filter cannot be sent; the message names the place (``filter.andAll[1].equals.value``)."""


def validate_filter(candidate: Any, where: str = "filter") -> dict[str, Any]:
    """``candidate`` if it is a RetrievalFilter S3 Vectors can evaluate, within the bounds above, else
    :class:`FilterError`."""
    clauses = _validate(candidate, where, depth=1)
    if clauses > MAX_FILTER_CLAUSES:
        raise FilterError(f"{where} has {clauses} comparisons; at most {MAX_FILTER_CLAUSES} are accepted")
    return dict(candidate)


def _validate(candidate: Any, where: str, depth: int) -> int:
    """The number of comparisons in ``candidate``; raises FilterError as soon as a bound is passed."""
    if depth > MAX_FILTER_DEPTH:
        raise FilterError(f"{where} nests andAll/orAll deeper than {MAX_FILTER_DEPTH} levels")
    if not isinstance(candidate, dict):
        raise FilterError(f"{where} must be an object with one operator, got {type(candidate).__name__}")
    if len(candidate) != 1:
        found = ", ".join(sorted(candidate)) or "none"
        raise FilterError(f"{where} must have exactly one operator, found {found}")
    ((operator, operand),) = candidate.items()
    here = f"{where}.{operator}"
    if operator in UNSUPPORTED:
        raise FilterError(f"{here}: S3 Vectors does not support {operator}")
    if operator in COMBINATIONS:
        if not isinstance(operand, list) or len(operand) < 2:
            raise FilterError(f"{here} needs a list of at least two filters")
        if len(operand) > MAX_FILTER_CLAUSES:
            raise FilterError(f"{here} has {len(operand)} filters; at most {MAX_FILTER_CLAUSES} are accepted")
        count = 0
        for index, member in enumerate(operand):
            count += _validate(member, f"{here}[{index}]", depth + 1)
            if count > MAX_FILTER_CLAUSES:
                raise FilterError(f"{where} has more than {MAX_FILTER_CLAUSES} comparisons")
        return count
    if operator not in COMPARISONS | MEMBERSHIP:
        raise FilterError(f"{here} is not a filter operator")
    _validate_attribute(operator, operand, here)
    return 1


def _validate_attribute(operator: str, operand: Any, here: str) -> None:
    if not isinstance(operand, dict):
        raise FilterError(f"{here} must be an object with 'key' and 'value'")
    unknown = sorted(set(operand) - {"key", "value"})
    if unknown:
        raise FilterError(f"{here} has unknown field(s) {', '.join(unknown)}")
    key = operand.get("key")
    if not isinstance(key, str) or not key.strip():
        raise FilterError(f"{here}.key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise FilterError(f"{here}.key is longer than {MAX_KEY_LENGTH} characters")
    if "value" not in operand or operand["value"] is None:
        raise FilterError(f"{here}.value is missing")
    value = operand["value"]
    if operator in MEMBERSHIP:
        if not isinstance(value, list) or not value:
            raise FilterError(f"{here}.value must be a non-empty list of strings or numbers")
        if len(value) > MAX_LIST_VALUES:
            raise FilterError(f"{here}.value has {len(value)} values; at most {MAX_LIST_VALUES} are accepted")
        kinds = {_kind(item, f"{here}.value[{index}]", allow_bool=False) for index, item in enumerate(value)}
        if len(kinds) > 1:
            raise FilterError(f"{here}.value mixes strings and numbers")
    elif operator in NUMERIC_ONLY:
        if _kind(value, f"{here}.value") != "number":
            raise FilterError(f"{here}.value must be a number")
    else:
        _kind(value, f"{here}.value")


def _kind(value: Any, where: str, *, allow_bool: bool = True) -> str:
    if isinstance(value, bool):
        if not allow_bool:
            raise FilterError(f"{where} must be a string or a number, got a boolean")
        return "boolean"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise FilterError(f"{where} must be a finite number")
        return "number"
    if isinstance(value, str):
        return "string"
    raise FilterError(f"{where} must be a string, number or boolean, got {type(value).__name__}")


def translate_where(where: Any) -> dict[str, Any]:
    """The compact form as a RetrievalFilter: one clause as is, several under ``andAll``."""
    if not isinstance(where, dict) or not where:
        raise FilterError('where must be a non-empty object such as {"is_internal": false}')
    if len(where) > MAX_FILTER_CLAUSES:
        raise FilterError(f"where has {len(where)} keys; at most {MAX_FILTER_CLAUSES} are accepted")
    clauses: list[dict[str, Any]] = []
    for key, condition in where.items():
        if not key.strip():
            raise FilterError("where has an empty key")
        if isinstance(condition, dict):
            if not condition:
                raise FilterError(f"where.{key} has no operator; use one of {', '.join(COMPACT_OPERATORS)}")
            for symbol, value in condition.items():
                operator = COMPACT_OPERATORS.get(symbol.strip().lower())
                if operator is None:
                    raise FilterError(f"where.{key} uses {symbol!r}; use one of {', '.join(COMPACT_OPERATORS)}")
                clauses.append({operator: {"key": key, "value": value}})
        elif isinstance(condition, list):
            clauses.append({"in": {"key": key, "value": condition}})
        else:
            clauses.append({"equals": {"key": key, "value": condition}})
    translated = clauses[0] if len(clauses) == 1 else {"andAll": clauses}
    try:
        return validate_filter(translated)
    except FilterError as error:
        raise FilterError(f"where: {error}") from None
