"""Import a handler the way a new execution environment does: its own environment, fresh modules."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

SHARED_PACKAGE = "function_runtime"


@contextmanager
def cold_started(handler: str, environment: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The handler's module imported anew under ``environment``, as Lambda starts it.

    Powertools reads its service, namespace and tracing settings when the handler module creates
    its objects, so a test of what a deployed function emits must import it under that function's
    environment. The modules imported before are put back afterwards.
    """
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    package = handler.split(".", 1)[0]

    def owned(module: str) -> bool:
        return module.split(".", 1)[0] in (package, SHARED_PACKAGE)

    previous = {name: module for name, module in sys.modules.items() if owned(name)}
    for name in previous:
        del sys.modules[name]
    try:
        yield importlib.import_module(handler.rsplit(".", 1)[0])
    finally:
        for name in [name for name in sys.modules if owned(name)]:
            del sys.modules[name]
        sys.modules.update(previous)


def fresh_client(service: str) -> Any:
    """The client the cold-started handler will use (its own cache, created on first use)."""
    return sys.modules[f"{SHARED_PACKAGE}.aws_clients"].client(service)
