"""A function's configuration, defined once for the construct that sets it and the handler that reads it.

A configuration is a frozen dataclass whose fields each name their environment variable with
:func:`variable`. The construct builds an instance from the app's settings and gives the function
``as_environment(config)``; the handler reads the same class back with ``from_environment``. So a
variable's name, type and encoding exist in one place, in the function's own folder.

Standard library only: the CDK app imports these modules at synthesis.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
from collections.abc import Mapping
from enum import Enum
from typing import Any, ClassVar, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

_VARIABLE = "environment_variable"


class DataclassInstance(Protocol):
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


ConfigT = TypeVar("ConfigT", bound=DataclassInstance)


class ConfigurationError(RuntimeError):
    """The function's environment does not match its configuration: a deployment defect, not bad input."""


def variable(name: str, **field_options: Any) -> Any:
    """A configuration field read from the environment variable ``name``.

    A field typed ``X | None`` is optional: None leaves the variable unset, and an unset variable reads as None.
    """
    return dataclasses.field(metadata={_VARIABLE: name}, **field_options)


def is_configuration(candidate: object) -> bool:
    """Is this a configuration class: a dataclass whose every field names its environment variable?"""
    return (isinstance(candidate, type) and dataclasses.is_dataclass(candidate)
            and all(_VARIABLE in field.metadata for field in dataclasses.fields(candidate)))  # fmt: skip


def variable_names(config_type: type[DataclassInstance]) -> dict[str, str]:
    """Field name -> environment variable name."""
    return {field.name: field.metadata[_VARIABLE] for field in dataclasses.fields(config_type)}


def as_environment(config: DataclassInstance) -> dict[str, str]:
    """The variables to give the function; values may be CDK tokens, which are strings at synthesis."""
    environment: dict[str, str] = {}
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None:
            continue
        environment[field.metadata[_VARIABLE]] = _encode(value)
    return environment


def from_environment(config_type: type[ConfigT], environ: Mapping[str, str] | None = None) -> ConfigT:
    """Read ``config_type`` from the environment (``os.environ`` unless given); every problem names its variable."""
    source = os.environ if environ is None else environ
    hints = get_type_hints(config_type)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(config_type):
        name = field.metadata[_VARIABLE]
        value_type, optional = _unwrap_optional(hints[field.name])
        raw = source.get(name)
        if raw is None:
            if optional:
                values[field.name] = None
                continue
            if field.default is not dataclasses.MISSING:
                continue
            raise ConfigurationError(f"environment variable {name} is not set")
        try:
            values[field.name] = _decode(raw, value_type)
        except ValueError as error:
            raise ConfigurationError(f"environment variable {name}={raw!r} is not valid: {error}") from None
    return config_type(**values)


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if get_origin(hint) in (Union, types.UnionType):
        members = [member for member in get_args(hint) if member is not type(None)]
        if len(members) == 1 and len(get_args(hint)) == 2:
            return members[0], True
    return hint, False


def _encode(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _decode(raw: str, value_type: Any) -> Any:
    if value_type is str:
        if not raw:
            raise ValueError("empty")
        return raw
    if value_type is bool:
        if raw not in ("true", "false"):
            raise ValueError("expected 'true' or 'false'")
        return raw == "true"
    if value_type is int:
        return int(raw)
    if value_type is float:
        return float(raw)
    if isinstance(value_type, type) and issubclass(value_type, Enum):
        return value_type(raw)
    decoded = json.loads(raw)  # JSON documents: dict[...] and list[...] fields
    expected = get_origin(value_type) or value_type
    if not isinstance(decoded, expected):
        raise ValueError(f"expected a JSON {expected.__name__}")
    return decoded
