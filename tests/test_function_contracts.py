"""Each function's environment, as synthesized, is exactly what its contract reads, and it reads cleanly.

The contract (``lambdas/<function>/contract.py``) is the one definition the construct writes with and
the handler reads with; these tests feed every settings variant's templates into the loaders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from function_runtime.environment import ConfigurationError, as_environment, from_environment
from kb_sync.contract import SyncConfig
from query.contract import QueryConfig
from stream_ingest.contract import StreamConfig
from stream_ingest.mapping import TICKER_PRICES
from tests.conftest import BULK_KEYS, BULK_OFFSETS, CUSTOMER_MANAGED, EXISTING_CLUSTER, PER_KEY_TICKERS, Synthesized
from tests.support.contracts import (
    contract_module,
    contract_variables,
    deployed_config,
    deployed_runtime,
    template_environment,
)
from tests.support.templates import resources_of_type

KB_NAME = "kbstream-knowledge-base-0123abcd"

APP_PACKAGES = ("stream_ingest", "index_check", "query", "kb_sync", "producer", "ingestion_jobs")
BULK_ONLY = frozenset({"ingestion_jobs"})  # the bulk path's job starter
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "hyphenated prefix, AWS-call tracing": {"namePrefix": "kb-stream", "traceAwsCalls": True},
    "query settings": {
        "groupFilters": {"public": {"equals": {"key": "is_internal", "value": False}}, "staff": {}},
        "generationTemperature": 0.3,
        "generationMaxTokens": 900,
        "promptTemplate": "Use $search_results$ only.",
    },
    "provisioned pollers, key IDs": {"streamPollerMode": "provisioned", "streamDocument": PER_KEY_TICKERS},
    "existing cluster": EXISTING_CLUSTER,
    "query features, customer-managed key": CUSTOMER_MANAGED,
    "bulk path, offset IDs": BULK_OFFSETS,
    "bulk path, key IDs, customer-managed key": {**CUSTOMER_MANAGED, **BULK_KEYS},
}


def app_functions(app: Synthesized) -> list[dict[str, Any]]:
    return [
        function
        for template in app.templates.values()
        for function in resources_of_type(template, "AWS::Lambda::Function").values()
        if str(function["Properties"].get("Handler", "")).split(".", 1)[0] in APP_PACKAGES
    ]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_function_reads_its_synthesized_environment(synth: Callable[..., Synthesized], variant: str) -> None:
    app = synth(**VARIANTS[variant])
    functions = app_functions(app)
    expected = APP_PACKAGES if app.settings.stream.bulk else tuple(set(APP_PACKAGES) - BULK_ONLY)
    assert sorted(function["Properties"]["Handler"].split(".", 1)[0] for function in functions) == sorted(expected)
    for function in functions:
        handler = function["Properties"]["Handler"]
        environment = template_environment(function)
        # Nothing the contract does not define, nothing it requires missing (the loader checks that).
        assert set(environment) <= contract_variables(handler), handler
        deployed_config(function)
        runtime = deployed_runtime(function)
        assert runtime.service == contract_module(handler).SERVICE
        assert runtime.metrics_namespace == app.settings.functions.metrics_namespace == app.settings.name_prefix
        assert runtime.tracer_disabled is not app.settings.functions.trace_aws_calls


def test_the_stream_function_gets_its_settings(synth: Callable[..., Synthesized]) -> None:
    app = synth(**VARIANTS["provisioned pollers, key IDs"])
    (config,) = [deployed_config(f) for f in app_functions(app) if f["Properties"]["Handler"].startswith("stream_")]
    assert config.document_mapping == PER_KEY_TICKERS
    (check,) = [deployed_config(f) for f in app_functions(app) if f["Properties"]["Handler"].startswith("index_")]
    assert check.deleted_by_tombstones is True
    assert config.partial_batch_response is True


def test_the_query_function_gets_its_settings(synth: Callable[..., Synthesized]) -> None:
    settings = VARIANTS["query settings"]
    app = synth(**settings)
    (config,) = [deployed_config(f) for f in app_functions(app) if f["Properties"]["Handler"].startswith("query.")]
    assert config.group_filters == settings["groupFilters"]
    assert (config.temperature, config.max_tokens, config.prompt_template) == (0.3, 900, "Use $search_results$ only.")


def stream_config(**changes: Any) -> StreamConfig:
    values: dict[str, Any] = {
        "knowledge_base_id": "KB1",
        "knowledge_base_name": KB_NAME,
        "data_source_id": "DS1",
        "data_source_name": "kbstream-stream",
        "dead_letter_queue_url": "https://q",
        "check_queue_url": "https://checks",
        "document_mapping": dict(TICKER_PRICES),
        "quota_requests_per_second": 1.0,
        "topic_partitions": 2,
        "partial_batch_response": False,
    }
    return StreamConfig(**{**values, **changes})


def test_configuration_round_trips_through_the_environment() -> None:
    stream = stream_config(
        document_mapping=PER_KEY_TICKERS, quota_requests_per_second=4.75, partial_batch_response=True
    )
    assert from_environment(StreamConfig, as_environment(stream)) == stream
    query = QueryConfig(
        knowledge_base_id="KB1",
        knowledge_base_name=KB_NAME,
        model_arn="arn",
        default_number_of_results=5,
        group_filters={"public": {}},
        default_group="public",
    )
    assert "GENERATION_TEMPERATURE" not in as_environment(query)  # unset: the model's default applies
    assert from_environment(QueryConfig, as_environment(query)) == query


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DOCUMENT_BUCKET": None}, "DOCUMENT_BUCKET is not set"),
        ({"DOCUMENT_BUCKET": ""}, "DOCUMENT_BUCKET='' is not valid: empty"),
    ],
)
def test_a_broken_environment_names_the_variable(change: dict[str, str | None], message: str) -> None:
    environment = as_environment(SyncConfig(knowledge_base_id="KB1", data_source_id="DS1", bucket="b",
                                            prefix="documents/", dead_letter_queue_url="https://q"))  # fmt: skip
    for name, value in change.items():
        if value is None:
            environment.pop(name)
        else:
            environment[name] = value
    with pytest.raises(ConfigurationError, match=message):
        from_environment(SyncConfig, environment)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("STREAM_DOCUMENT", "[1]", "expected a JSON dict"),
        ("INGEST_QUOTA_REQUESTS_PER_SECOND", "fast", "could not convert string to float"),
        ("PARTIAL_BATCH_RESPONSE", "yes", "expected 'true' or 'false'"),
    ],
)
def test_a_mistyped_value_names_the_variable(name: str, value: str, message: str) -> None:
    environment = {**as_environment(stream_config()), name: value}
    with pytest.raises(ConfigurationError, match=f"{name}=.*{message}"):
        from_environment(StreamConfig, environment)
