"""Named environments: one app, several copies (dev and prod, or two accounts), chosen with one word."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stage

from stacks.application import build_environments
from stacks.settings import SettingsError, load_environments, load_settings
from tests.conftest import CDK_CONTEXT, assembly_stacks

ENVIRONMENTS: dict[str, Any] = {
    "dev": {"account": "111111111111", "region": "eu-west-1"},
    "prod": {"account": "222222222222", "region": "us-east-1", "namePrefix": "kbprod", "lifecycleMode": "prod",
             "alarmEmail": "ops@example.com", "topicPartitions": 4},
}  # fmt: skip


def context(**values: Any) -> dict[str, Any]:
    return {**CDK_CONTEXT, "app:environments": ENVIRONMENTS, **{f"app:{key}": value for key, value in values.items()}}


def test_one_word_selects_an_environment_and_its_settings() -> None:
    prod = load_settings(context(environment="prod"))
    assert (prod.name_prefix, prod.lifecycle.mode.value, prod.alarm_email) == ("kbprod", "prod", "ops@example.com")
    assert prod.kafka.topic_partitions == 4
    assert prod.target is not None
    assert (prod.target.account, prod.target.region) == ("222222222222", "us-east-1")
    dev = load_settings(context(environment="dev"))
    assert dev.name_prefix == "kbstream-dev" and dev.lifecycle.mode.value == "dev"  # <namePrefix>-<name>
    plain = load_settings(context())
    assert plain.name_prefix == "kbstream" and plain.target is None


def test_every_environment_synthesizes_side_by_side_with_disjoint_names(tmp_path: Path) -> None:
    app = App(context={**context(environment="all"), "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    built = build_environments(app, load_environments(app.node.get_all_context()))
    app.synth()
    names: dict[str, set[str]] = {}
    for environment, stacks in built.items():
        stage = Stage.of(stacks.storage)
        assert stage is not None and stage.stage_name == environment
        assembly = stage.synth()
        names[environment] = set()
        for stack in assembly_stacks(stacks):
            artifact = assembly.get_stack_artifact(stack.artifact_id)
            assert (artifact.environment.account, artifact.environment.region) == (
                ENVIRONMENTS[environment]["account"], ENVIRONMENTS[environment]["region"])  # fmt: skip
            names[environment].add(stack.stack_name)
            names[environment] |= physical_names(artifact.template)
    assert names["dev"] and names["prod"]
    assert names["dev"].isdisjoint(names["prod"]), names["dev"] & names["prod"]
    assert all("kbstream-dev" in name for name in names["dev"] if "kbstream" in name)


# Properties that name a resource within an account and Region (two environments in one account must differ).
# (A Kafka topic's name is its cluster's business: each environment has its own cluster.)
NAMING_PROPERTIES = frozenset({"Name", "BucketName", "VectorBucketName", "FunctionName", "QueueName",
                               "LogGroupName", "DashboardName", "AlarmName", "RoleName", "ClusterName", "AliasName",
                               "UserPoolName", "GuardrailName"})  # fmt: skip


def physical_names(template: dict[str, Any]) -> set[str]:
    """Every literal name the template gives a resource."""
    return {value for resource in template["Resources"].values()
            for key, value in resource.get("Properties", {}).items()
            if key in NAMING_PROPERTIES and isinstance(value, str)}  # fmt: skip


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"environment": "staging"}, "environment", "'staging' is not a named environment (dev, prod)"),
        ({"environments": {"dev": {"account": "42"}}, "environment": "dev"}, "environments.dev.account",
         "12-digit account ID"),
        ({"environments": {"dev": {"region": "Europe"}}}, "environments.dev.region", "a Region such as"),
        ({"environments": {"dev": {"embedingDimension": 256}}}, "environments.dev.embedingDimension",
         "is not a setting an environment can set"),
        ({"environments": {"dev": {}, "prod": {"namePrefix": "kbstream-dev"}}, "environment": "all"},
         "environments.dev.namePrefix", "is another environment's too"),
        ({"environments": {}, "environment": "all"}, "environment", "needs app:environments"),
    ],
)  # fmt: skip
def test_environment_mistakes_are_settings_errors(values: dict[str, Any], key: str, message: str) -> None:
    full = {**context(), **{f"app:{name}": value for name, value in values.items()}}
    load = load_environments if values.get("environment") == "all" else load_settings
    with pytest.raises(SettingsError) as raised:
        load(full)
    assert raised.value.key == key and message in str(raised.value)


def test_a_mistyped_environment_setting_suggests_the_right_one() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(context(environments={"dev": {"embedingDimension": 256}}))
    assert raised.value.fix.startswith("Did you mean app:embeddingDimension?")


def test_environments_can_be_given_as_json_on_the_command_line() -> None:
    settings = load_settings({**CDK_CONTEXT, "app:environments": json.dumps(ENVIRONMENTS), "app:environment": "prod"})
    assert settings.name_prefix == "kbprod"
