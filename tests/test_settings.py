from __future__ import annotations

from typing import Any

import pytest

from stacks.settings import (
    DEFAULTS,
    DistanceMetric,
    LifecycleMode,
    Settings,
    SettingsError,
    load_settings,
)
from tests.conftest import CDK_CONTEXT


def load(**values: Any) -> Settings:
    return load_settings({**CDK_CONTEXT, **{f"app:{key}": value for key, value in values.items()}})


def test_cdk_json_lists_every_setting_with_its_default() -> None:
    in_cdk_json = {key.removeprefix("app:"): value for key, value in CDK_CONTEXT.items() if key.startswith("app:")}
    assert in_cdk_json == dict(DEFAULTS)


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.name_prefix == "kbstream"
    assert settings.lifecycle.mode is LifecycleMode.DEV and not settings.lifecycle.retain_data
    assert settings.embedding.model_id == "amazon.titan-embed-text-v2:0"
    assert settings.embedding.dimension == 1024
    index = settings.storage.vector_index
    assert (index.bucket_name, index.dimension, index.distance_metric) == (
        "kbstream-vectors",
        1024,
        DistanceMetric.COSINE,
    )
    assert index.non_filterable_metadata_keys == ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")
    assert settings.storage.document_prefix == "documents/"


def test_command_line_strings_are_coerced() -> None:
    settings = load(embeddingDimension="512", logRetentionDays="7", lifecycleMode="prod")
    assert settings.embedding.dimension == 512
    assert settings.lifecycle.log_retention_days == 7
    assert settings.lifecycle.retain_data


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("embeddingDimension", 1536, "not one of 256, 512, 1024"),
        ("embeddingDimension", "big", "expected an integer"),
        ("embeddingDimension", True, "expected an integer"),
        ("embeddingModelId", "openai.text-embedding-3", "is not one of"),
        ("distanceMetric", "dot", "is not one of 'cosine', 'euclidean'"),
        ("lifecycleMode", "staging", "is not one of 'dev', 'prod'"),
        ("logRetentionDays", 10, "not one of"),
        ("namePrefix", "My_App", "is not valid"),
        ("namePrefix", "ab", "is not valid"),
        ("namePrefix", "kb--stream", "consecutive hyphens"),
        ("documentPrefix", "/documents/", "is not valid"),
        ("documentPrefix", "documents", "is not valid"),
        ("vectorIndexName", "Documents", "is not valid"),
        ("vectorIndexName", "x" * 55, "is not valid"),
    ],
)
def test_invalid_values_name_the_setting(key: str, value: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load(**{key: value})
    assert f"'app:{key}'" in str(raised.value)
    assert raised.value.key == key


def test_unknown_setting_is_rejected() -> None:
    with pytest.raises(SettingsError, match="unknown setting") as raised:
        load_settings({"app:embedingDimension": 512})
    assert "'app:embedingDimension'" in str(raised.value)


def test_dimension_must_fit_the_chosen_model() -> None:
    assert load(embeddingModelId="amazon.titan-embed-text-v1", embeddingDimension=1536).embedding.dimension == 1536
    with pytest.raises(SettingsError, match="app:embeddingDimension"):
        load(embeddingModelId="amazon.titan-embed-text-v1", embeddingDimension=1024)


def test_index_name_changes_exactly_when_an_immutable_property_changes() -> None:
    base = load().storage.vector_index
    assert base.index_name.startswith("documents-") and len(base.index_name) == len("documents-") + 8
    assert load(logRetentionDays=7, lifecycleMode="prod").storage.vector_index.index_name == base.index_name
    changed = {
        load(embeddingDimension=512).storage.vector_index.index_name,
        load(distanceMetric="euclidean").storage.vector_index.index_name,
    }
    assert base.index_name not in changed and len(changed) == 2


def test_settings_fail_before_any_construct_is_built() -> None:
    # load_settings is pure: it raises without touching CDK, so a bad value never half-builds an app.
    with pytest.raises(SettingsError):
        load(embeddingDimension=100)
