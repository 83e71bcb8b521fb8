"""The layers: complete without the runtime's AWS SDK, and each function gets only what it imports."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools.lambda_platform import LAYERS_DIR, RUNTIME_PLATFORM, RUNTIME_PROVIDED_DISTRIBUTIONS
from tests.conftest import QUERY_FEATURES, Synthesized
from tests.support.templates import resources_of_type

LAYERS = sorted(path.name for path in LAYERS_DIR.iterdir() if (path / "requirements.txt").is_file())
RUNTIME_PROVIDED = {canonicalize_name(name) for name in RUNTIME_PROVIDED_DISTRIBUTIONS}


def pinned(layer: str) -> dict[str, str]:
    """name -> version of every ``name==version`` line of the layer's requirements."""
    pins: dict[str, str] = {}
    for line in (LAYERS_DIR / layer / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.]+)", line)
            assert match, f"{layer}: {line!r} is not pinned as name==version"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_there_are_the_shared_the_record_formats_the_kafka_and_the_tokens_layer() -> None:
    assert LAYERS == ["formats", "kafka", "powertools", "tokens"]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_lists_every_dependency_the_runtime_lacks_and_none_it_has(layer: str) -> None:
    # pip installs the layers with --no-deps: a dependency missing here would be missing in Lambda.
    pins = pinned(layer)
    available = set(pins) | RUNTIME_PROVIDED | set(pinned("powertools"))  # every function has that one
    assert not set(pins) & RUNTIME_PROVIDED, "the runtime's SDK ships compiled; a copy would only load slower"
    for name, version in pins.items():
        distribution = metadata.distribution(name)  # the development environment installs the same pins
        assert distribution.version == version, name
        for requirement in map(Requirement, distribution.requires or []):
            if requirement.marker is not None and not requirement.marker.evaluate({**RUNTIME_PLATFORM, "extra": ""}):
                continue
            assert canonicalize_name(requirement.name) in available, f"{layer}: {name} needs {requirement}"


def test_only_the_producer_carries_the_kafka_client_and_only_the_streams_functions_the_formats(
    app: Synthesized,
) -> None:
    layers_by_handler: dict[str, int] = {}
    for template in app.templates.values():
        for function in resources_of_type(template, "AWS::Lambda::Function").values():
            handler = str(function["Properties"].get("Handler", ""))
            if handler.split(".", 1)[0] in {"stream_ingest", "index_check", "query", "kb_sync", "producer"}:
                layers_by_handler[handler] = len(function["Properties"]["Layers"])
    assert layers_by_handler == {"stream_ingest.handler.handler": 2, "index_check.handler.handler": 1,
                                 "query.handler.handler": 1,
                                 "kb_sync.handler.handler": 1, "producer.handler.handler": 3}  # fmt: skip


def test_layer_sources_are_not_shipped_as_function_code() -> None:
    from stacks.constructs.functions import CODE_EXCLUDES

    assert Path(LAYERS_DIR).name in CODE_EXCLUDES


def test_only_the_chat_authorizer_carries_the_token_libraries(synth: Callable[..., Synthesized]) -> None:
    template = synth(**QUERY_FEATURES).template("Query")
    functions = resources_of_type(template, "AWS::Lambda::Function").values()
    layers = {str(function["Properties"]["Handler"]): len(function["Properties"].get("Layers", []))
              for function in functions if str(function["Properties"].get("Handler", "")).split(".")[0]
              in {"query", "chat_authorizer"}}  # fmt: skip
    assert layers == {"query.handler.handler": 1, "chat_authorizer.handler.handler": 2}
