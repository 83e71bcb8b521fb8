"""A deployed function's configuration, read from its template the way the function reads it."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, cast

from function_runtime.contract import RuntimeConfig
from function_runtime.environment import as_environment, from_environment, is_configuration, variable_names
from tests.support.templates import render


def contract_module(handler: str) -> ModuleType:
    """``stream_ingest.handler.handler`` -> the ``stream_ingest.contract`` module."""
    return importlib.import_module(f"{handler.split('.', 1)[0]}.contract")


def contract_config_type(handler: str) -> type[Any]:
    """The one configuration dataclass a function's contract defines."""
    module = contract_module(handler)
    (config_type,) = [
        value for value in vars(module).values() if is_configuration(value) and value.__module__ == module.__name__
    ]
    return cast(type[Any], config_type)  # a class: is_configuration says so


def template_environment(function: dict[str, Any], **render_options: Any) -> dict[str, str]:
    """The function's variables, deploy-time values rendered as readable strings."""
    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    rendered = render(variables, **render_options)
    assert all(isinstance(value, str) for value in rendered.values()), rendered
    return dict(rendered)


def deployed_config(function: dict[str, Any], **render_options: Any) -> Any:
    """The function's own configuration class, loaded from the template's environment."""
    config_type = contract_config_type(function["Properties"]["Handler"])
    return from_environment(config_type, template_environment(function, **render_options))


def deployed_runtime(function: dict[str, Any]) -> RuntimeConfig:
    return from_environment(RuntimeConfig, template_environment(function))


def contract_variables(handler: str) -> set[str]:
    """Every variable the function's contract and the shared runtime contract define."""
    return {*variable_names(contract_config_type(handler)).values(), *variable_names(RuntimeConfig).values()}


def use_config(monkeypatch: Any, config: Any) -> None:
    """Give the function this configuration, encoded as its construct encodes it."""
    for name, value in as_environment(config).items():
        monkeypatch.setenv(name, value)


def variable_of(config_type: type[Any], field: str) -> str:
    """The environment variable a configuration field is read from."""
    return variable_names(config_type)[field]
