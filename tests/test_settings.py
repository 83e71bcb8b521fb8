from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.settings_docs import CDK_JSON, SETTINGS_PAGE, cdk_json_with_every_setting, page_with_table
from stacks.settings import (
    DEFAULTS,
    DistanceMetric,
    LifecycleMode,
    Settings,
    SettingsError,
    documented_settings,
    load_settings,
)
from tests.conftest import CDK_CONTEXT, CDK_JSON_CONTEXT, EXISTING_CLUSTER, REPO_ROOT


def load(**values: Any) -> Settings:
    return load_settings({**CDK_CONTEXT, **{f"app:{key}": value for key, value in values.items()}})


def test_cdk_json_lists_every_setting_and_its_values_load() -> None:
    in_cdk_json = {key.removeprefix("app:") for key in CDK_JSON_CONTEXT if key.startswith("app:")}
    assert in_cdk_json >= set(DEFAULTS)
    assert CDK_JSON.read_text() == cdk_json_with_every_setting(CDK_JSON.read_text()), "run `make settings-docs`"
    load_settings(CDK_JSON_CONTEXT)  # a team's own values are valid settings


def test_a_forks_own_values_survive_the_generator_and_the_tests_keep_the_codes_defaults() -> None:
    fork = json.loads(CDK_JSON.read_text())
    fork["context"]["app:alarmEmail"] = "ops@example.com"
    fork["context"]["app:embeddingDimension"] = 512
    fork["context"].pop("app:logRetentionDays")
    regenerated = json.loads(cdk_json_with_every_setting(json.dumps(fork)))["context"]
    assert (regenerated["app:alarmEmail"], regenerated["app:embeddingDimension"]) == ("ops@example.com", 512)
    assert regenerated["app:logRetentionDays"] == DEFAULTS["logRetentionDays"]  # added back, with its default
    assert not any(key.startswith("app:") for key in CDK_CONTEXT)  # what the tests synthesize with


def test_the_settings_page_documents_every_setting_as_the_models_do() -> None:
    page = SETTINGS_PAGE.read_text()
    assert page == page_with_table(page), "run `make settings-docs`"
    assert all(f"| `app:{key}` |" in page for key in DEFAULTS)


def test_every_setting_is_documented_once() -> None:
    keys = [key for key, _, meaning in documented_settings() if meaning]
    assert len(keys) == len(set(keys)) == len(DEFAULTS)


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
        ("embeddingDimension", 1536, "is not one of 256, 512, 1024"),
        ("embeddingDimension", "big", "Input should be a valid integer"),
        ("embeddingDimension", True, "expected a number or text, got True"),
        ("embeddingModelId", "openai.text-embedding-3", "Input should be 'amazon.titan-embed-text-v2:0'"),
        ("distanceMetric", "dot", "Input should be 'cosine' or 'euclidean'"),
        ("lifecycleMode", "staging", "Input should be 'dev' or 'prod'"),
        ("logRetentionDays", 10, "Input should be 1, 3, 5, 7, 14"),
        ("namePrefix", "My_App", "is not valid"),
        ("namePrefix", "ab", "is not valid"),
        ("namePrefix", "kb--stream", "is not valid: 3-20 lowercase letters, digits and single hyphens"),
        ("documentPrefix", "/documents/", "is not valid"),
        ("documentPrefix", "documents", "is not valid"),
        ("vectorIndexName", "Documents", "is not valid"),
        ("vectorIndexName", "x" * 55, "is not valid"),
        ("kafkaVersion", "3.5.1", "older than 3.6"),
        ("kafkaVersion", "latest", "is not valid"),
        ("brokerCount", 3, "Input should be a multiple of 2"),
        ("brokerCount", 0, "Input should be greater than or equal to 2"),
        ("brokerInstanceType", "t3.small", "is not valid"),
        ("brokerStorageGiB", 0, "Input should be greater than or equal to 1"),
        ("endpointAzCount", 3, "Input should be less than or equal to 2"),
        ("topicName", "ticker prices", "is not valid"),
        ("topicPartitions", 0, "Input should be greater than or equal to 1"),
        ("topicReplicationFactor", 4, "Input should be less than or equal to 3"),
        ("streamBatchSize", 10_001, "Input should be less than or equal to 10000"),
        ("streamBatchWindowSeconds", 301, "Input should be less than or equal to 300"),
        ("streamChunkingStrategy", "PARAGRAPH", "Input should be 'FIXED_SIZE'"),
        ("streamPollerMode", "auto", "Input should be 'on-demand' or 'provisioned'"),
        ("streamRetryAttempts", -1, "Input should be greater than or equal to 0"),
        ("ingestRequestsPerSecond", 0, "Input should be greater than 0"),
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


def test_kafka_defaults() -> None:
    kafka = load_settings({}).kafka
    assert (kafka.cluster_name, kafka.kafka_version, kafka.broker_instance_type) == (
        "kbstream-kafka",
        "3.8.x",
        "kafka.t3.small",
    )
    assert (kafka.broker_count, kafka.endpoint_az_count, kafka.existing) == (2, 1, None)
    assert (kafka.topic_name, kafka.partitions, kafka.topic_replication_factor) == ("ticker-prices", 2, 2)
    assert kafka.topic_partitions is None  # the path's default


def test_replication_cannot_exceed_the_brokers_of_our_cluster() -> None:
    with pytest.raises(SettingsError, match="3 exceeds the 2 brokers"):
        load(topicReplicationFactor=3)
    assert load(topicReplicationFactor=3, brokerCount=4).kafka.topic_replication_factor == 3


def test_existing_cluster_settings_come_together() -> None:
    kafka = load(**EXISTING_CLUSTER, topicReplicationFactor=3).kafka
    assert kafka.existing is not None
    assert kafka.existing.cluster_arn == EXISTING_CLUSTER["existingClusterArn"]
    assert kafka.existing.subnet_ids == tuple(EXISTING_CLUSTER["existingSubnetIds"])
    assert kafka.cluster_name == "team-kafka"
    # On the command line the subnets are one comma-separated string.
    from_cli = load(**{**EXISTING_CLUSTER, "existingSubnetIds": "subnet-0a1b2c3d4e5f60718, subnet-1a1b2c3d4e5f60718"})
    assert from_cli.kafka.existing == kafka.existing


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("existingSubnetIds", ["subnet-0a1b2c3d4e5f60718"], "at least 2 subnets"),
        ("existingSubnetIds", ["subnet-xyz", "subnet-0a1b2c3d4e5f60718"], "'subnet-xyz' is not valid"),
        ("existingSubnetIds", "", "'app:existingSubnetIds': is required"),
        ("existingVpcId", "vpc-1", "is not valid"),
        ("existingSecurityGroupId", "default", "is not valid"),
        ("existingClusterArn", "arn:aws:kafka:us-east-1:123456789012:topic/x/y/z", "is not valid"),
    ],
)
def test_invalid_existing_cluster_settings(key: str, value: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(**{**EXISTING_CLUSTER, key: value})


def test_a_partial_existing_cluster_names_the_missing_setting() -> None:
    with pytest.raises(SettingsError, match="give all four existing\\* settings or none") as raised:
        load(existingClusterArn=EXISTING_CLUSTER["existingClusterArn"])
    assert raised.value.key == "existingVpcId"


def test_stream_defaults() -> None:
    stream = load_settings({}).stream
    assert stream.ingest_path.value == "direct"
    assert (stream.batch_size, stream.batch_window_seconds) == (None, None)  # the path's own batching
    assert (stream.records_per_batch, stream.batching_window_seconds) == (500, 5)
    assert (stream.mapping.id.template.source, stream.poller_mode.value) == (
        "{topic}/{partition}/{offset}",
        "on-demand",
    )
    assert stream.chunking_strategy.value == "NONE"
    assert stream.ingest_requests_per_second == 5


def test_query_defaults_and_group_policies() -> None:
    query = load_settings({}).query
    assert query.inference_profile_id == "global.anthropic.claude-sonnet-4-6"
    assert query.foundation_model_id == "anthropic.claude-sonnet-4-6"
    assert (query.number_of_results, query.temperature, query.max_tokens) == (5, None, None)
    assert query.group_filters == {}
    policy = {"public": {"equals": {"key": "is_internal", "value": False}}, "staff": {}}
    configured = load(groupFilters=policy, generationTemperature="0.3", generationMaxTokens="512").query
    assert (configured.temperature, configured.max_tokens) == (0.3, 512)
    assert configured.group_filters == policy
    from_cli = load(groupFilters='{"public": {"equals": {"key": "is_internal", "value": false}}, "staff": {}}')
    assert from_cli.query.group_filters == policy


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"generationModelId": "anthropic.claude-sonnet-4-6"}, "generationModelId", "is not valid"),
        ({"generationTemperature": 1.5}, "generationTemperature", "Input should be less than or equal to 1"),
        ({"generationMaxTokens": 2.5}, "generationMaxTokens", "Input should be a valid integer"),
        ({"promptTemplate": "Answer briefly."}, "promptTemplate", "must contain $search_results$"),
        ({"queryNumberOfResults": 101}, "queryNumberOfResults", "Input should be less than or equal to 100"),
        ({"groupFilters": {"staff": {}}}, "defaultGroup", "must be one of the groups"),
        ({"groupFilters": {"public": "is_internal=false"}}, "groupFilters", "Input should be a valid dictionary"),
        ({"groupFilters": "{not json"}, "groupFilters", "is not JSON"),
        ({"defaultGroup": "all users"}, "defaultGroup", "is not valid"),
    ],
)
def test_invalid_query_settings(values: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)) as raised:
        load(**values)
    assert raised.value.key == key


def test_github_deploy_role_settings() -> None:
    assert load_settings({}).github is None
    github = load(githubRepository="example-org/kb-stream").github
    assert github is not None
    assert (github.repository, github.branch, github.environment, github.oidc_provider_arn) == (
        "example-org/kb-stream",
        "main",
        "production",
        "",
    )


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"githubRepository": "kb-stream"}, "githubRepository", "is not valid"),
        ({"githubRepository": "a/b", "githubBranch": "main branch"}, "githubBranch", "is not valid"),
        ({"githubRepository": "a/b", "githubOidcProviderArn": "arn:aws:iam::1:role/x"}, "githubOidcProviderArn",
         "is not valid"),
        ({"alarmEmail": "ops"}, "alarmEmail", "is not valid"),
    ],
)  # fmt: skip
def test_invalid_operations_settings(values: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as raised:
        load(**values)
    assert raised.value.key == key


def test_a_mistyped_key_suggests_the_closest_setting() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({"app:embedingDimension": 512})
    assert raised.value.fix.startswith("Did you mean app:embeddingDimension?")
    with pytest.raises(SettingsError) as raised:
        load_settings({"app:zzzz": 1})
    assert "docs/settings.md" in raised.value.fix


def test_a_settings_error_is_two_lines_and_no_traceback(tmp_path: Path) -> None:
    command = [sys.executable, str(REPO_ROOT / "app.py")]
    context = json.dumps({"app:embedingDimension": 512})
    environment = {**os.environ, "CDK_CONTEXT_JSON": context, "CDK_OUTDIR": str(tmp_path)}
    environment.pop("CDK_DEBUG", None)
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=REPO_ROOT, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Invalid setting 'app:embedingDimension': unknown setting",
        "Did you mean app:embeddingDimension? Rename it in cdk.json or on the command line.",
    ]
    debug = subprocess.run(command, capture_output=True, text=True, env={**environment, "CDK_DEBUG": "true"},
                           cwd=REPO_ROOT, check=False)  # fmt: skip
    assert debug.returncode == 1 and "Traceback" in debug.stderr
