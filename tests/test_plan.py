"""make plan: the replacements and deletions a settings change would cause, stateful ones first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.plan import failing_updates, main, plan, table
from tests.conftest import BULK_KEYS, Synthesized


def write(templates: dict[str, dict[str, Any]], directory: Path) -> Path:
    directory.mkdir()
    for stack, template in templates.items():
        (directory / f"{stack}.template.json").write_text(json.dumps(template))
    return directory


def test_a_replacing_change_is_planned_with_what_it_means_for_data(synth: Callable[..., Synthesized]) -> None:
    changes = plan(synth().templates, synth(embeddingDimension=512).templates)
    types = [change.resource_type for change in changes]
    assert {"Custom::S3VectorIndex", "AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::DataSource",
            "AWS::Lambda::EventSourceMapping"} <= set(types)  # fmt: skip
    stateful = [change.stateful for change in changes]
    assert stateful == sorted(stateful, reverse=True)  # stateful ones first
    assert types.index("Custom::S3VectorIndex") < types.index("AWS::Bedrock::KnowledgeBase")
    rendered = table(changes)
    assert "**a new vector index" in rendered and "read again from the oldest record Kafka retains" in rendered
    index = next(change for change in changes if change.resource_type == "Custom::S3VectorIndex")
    assert index.why == "its calls return a new physical ID"


def test_a_change_that_replaces_nothing_says_so(synth: Callable[..., Synthesized]) -> None:
    changes = plan(synth().templates, synth(logRetentionDays=7).templates)
    assert changes == [] and table(changes) == "Nothing would be replaced or deleted."


def test_a_changed_function_gets_a_new_version_which_is_no_data(synth: Callable[..., Synthesized]) -> None:
    (change,) = plan(synth().templates, synth(queryNumberOfResults=8).templates)
    assert change.resource_type == "AWS::Lambda::Version" and not change.stateful
    assert change.meaning == "a new version of a changed function; its aliases move to it"


def test_the_command_compares_two_assemblies_and_marks_a_removed_stack(
    synth: Callable[..., Synthesized], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = synth(githubRepository="org/repo").templates
    after = synth(chunkingStrategy="SEMANTIC").templates
    status = main(["--baseline", str(write(before, tmp_path / "before")), "--current",
                   str(write(after, tmp_path / "after")), "--markdown"])  # fmt: skip
    output = capsys.readouterr().out
    assert status == 0 and output.startswith("## Deployment plan (against ")
    assert "| KnowledgeBase | " in output and "its documents are ingested again" in output  # the chunking change
    assert "| DeployRole | " in output and "its stack is removed" in output


def test_without_a_baseline_the_command_says_how_to_get_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["--baseline", str(tmp_path / "empty"), "--current", str(tmp_path / "empty")]) == 2
    assert "run `make synth` first" in capsys.readouterr().err


def test_a_git_revision_is_the_baseline(capsys: pytest.CaptureFixture[str], synth: Callable[..., Synthesized]) -> None:
    # HEAD as committed (synthesized in a worktree), against the app with a replacing override: the index and what
    # depends on it. `make plan ARGS="-c ..."` synthesizes the app now itself (tests/test_commands.py).
    assert main(["--revision", "HEAD", "--current", str(synth(vectorIndexName="docs").outdir)]) == 0
    output = capsys.readouterr().out
    assert "| KnowledgeBase | " in output and "Custom::S3VectorIndex" in output


def test_the_clis_version_reporting_resource_is_no_change(synth: Callable[..., Synthesized]) -> None:
    """The CDK CLI's synthesis (cdk.out) holds an AWS::CDK::Metadata resource per stack; plan's own does not."""
    current = synth().templates
    with_metadata = {stack: {**template, "Resources": {**template["Resources"], "CDKMetadata": {
        "Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:x"}}}}
        for stack, template in current.items()}  # fmt: skip
    assert plan(with_metadata, current) == [] and plan(current, with_metadata) == []


def test_switching_to_the_bulk_path_says_the_stream_data_source_leaves_with_its_vectors(
    synth: Callable[..., Synthesized],
) -> None:
    changes = plan(synth().templates, synth(**BULK_KEYS).templates)
    by_type = {change.resource_type: change for change in changes}
    stream_source = by_type["AWS::Bedrock::DataSource"]
    assert stream_source.where.logical_id.startswith("KnowledgeBaseStreamDataSource")
    assert "deleted with its vectors" in stream_source.meaning and stream_source.stateful
    # A new consumer group reads the topic again from the oldest record Kafka retains, into the new data source.
    assert "AWS::Lambda::EventSourceMapping" in by_type


def test_a_topic_can_gain_partitions_but_plan_stops_a_deployment_that_would_remove_some(
    synth: Callable[..., Synthesized], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    direct, bulk = synth().templates, synth(**BULK_KEYS).templates
    assert failing_updates(direct, bulk) == []  # 2 -> 6 partitions: Kafka adds them
    (problem,) = failing_updates(bulk, direct)  # back from the bulk path's default of 6
    assert "from 6 to 2 partitions" in problem and "app:topicPartitions=6" in problem
    status = main(
        ["--baseline", str(write(bulk, tmp_path / "before")), "--current", str(write(direct, tmp_path / "after"))]
    )
    assert status == 1 and "Would fail:" in capsys.readouterr().out
