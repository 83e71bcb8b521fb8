"""Settings whose change makes CloudFormation replace the knowledge base, a data source or the index.

For each such setting the app is synthesized before and after the change. Which resources are
replaced is decided from AWS's registry schemas (``createOnlyProperties``, through cfn-lint), with
cascades, not from a list kept here. Then, for every replacement: nothing keeps a name that the
service refuses twice; every reader in another stack changes its own template, so ``cdk deploy --all``
updates it with the new identity; a new documents data source is synced in the same deployment; a new
stream data source gets the topic again; and the old resources are deleted in an order that works.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from devtools.lambda_events import FakeLambdaContext, sqs_event
from devtools.replacements import (
    ResourceId,
    outputs_referring_to,
    referenced,
    replaced_resources,
    stack_output_readers,
)
from devtools.settings_docs import SETTINGS_PAGE
from kb_sync import handler as sync_handler
from kb_sync.contract import HANDLER as SYNC_HANDLER
from kb_sync.contract import SyncConfig
from tests.conftest import LambdaEnvironment, Synthesized
from tests.support.contracts import use_config
from tests.support.templates import kafka_mappings, one, render, resources_of_type

# One change of each setting the settings page lists as replacing the knowledge base, a data source or the index.
CHANGES: dict[str, dict[str, Any]] = {
    "embeddingModelId": {"embeddingModelId": "cohere.embed-english-v3"},
    "embeddingDimension": {"embeddingDimension": 512},
    "distanceMetric": {"distanceMetric": "euclidean"},
    "vectorIndexName": {"vectorIndexName": "docs"},
    "chunkingStrategy": {"chunkingStrategy": "SEMANTIC"},
    "chunkMaxTokens": {"chunkMaxTokens": 500},
    "chunkOverlapPercentage": {"chunkOverlapPercentage": 10},
    "encryption": {"encryption": "customer-managed"},
    "streamChunkingStrategy": {"streamChunkingStrategy": "FIXED_SIZE"},
    "streamIngestPath": {"streamIngestPath": "bulk"},
}

# Names a service refuses twice, and the property that scopes them (None: the account and Region).
UNIQUE_NAMES: dict[str, tuple[str, str | None]] = {
    "AWS::Bedrock::KnowledgeBase": ("Name", None),
    "AWS::Bedrock::DataSource": ("Name", "KnowledgeBaseId"),  # unique within its knowledge base
    "AWS::Logs::LogGroup": ("LogGroupName", None),
    "AWS::Logs::DeliverySource": ("Name", None),
    "AWS::Logs::DeliveryDestination": ("Name", None),
    "AWS::Logs::MetricFilter": ("FilterName", "LogGroupName"),
}
# Replaced types without a name of their own (or whose physical ID is their name, checked by replacement).
NAMELESS = {"AWS::Lambda::EventSourceMapping", "AWS::Logs::Delivery", "Custom::S3VectorIndex"}


def documented_replacing_settings() -> set[str]:
    section = SETTINGS_PAGE.read_text().split("## Settings that replace resources", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `app:(\w+)` \|", section, flags=re.MULTILINE))


def test_the_changes_cover_every_setting_the_docs_call_replacing() -> None:
    assert set(CHANGES) == documented_replacing_settings()


@pytest.fixture(scope="module")
def before(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth()


def resource(app: Synthesized, where: ResourceId) -> dict[str, Any]:
    return dict(app.template(where.stack)["Resources"][where.logical_id])


@pytest.mark.parametrize("setting", CHANGES)
def test_a_replacing_change_deploys_and_leaves_a_complete_system(
    synth: Callable[..., Synthesized], before: Synthesized, setting: str
) -> None:
    after = synth(**CHANGES[setting])
    replaced = replaced_resources(before.templates, after.templates)
    kinds = {resource(before, where)["Type"] for where in replaced}
    assert kinds & {"AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::DataSource"}, f"{setting} replaces nothing"

    # 1. No name clash: the replacement is created while the original still exists.
    for where in replaced:
        old = resource(before, where)
        if old["Type"] in NAMELESS or where.logical_id not in after.template(where.stack)["Resources"]:
            continue
        assert old["Type"] in UNIQUE_NAMES, f"{where} ({old['Type']}) is replaced: say how its name must differ"
        name_property, scope_property = UNIQUE_NAMES[old["Type"]]
        old_name = render(old["Properties"].get(name_property))
        new_name = render(resource(after, where)["Properties"].get(name_property))
        scope = old["Properties"].get(scope_property) if scope_property else None
        scope_replaced = any(ResourceId(where.stack, target) in replaced for target in referenced(scope))
        assert new_name != old_name or scope_replaced or old_name is None, f"{where} keeps the name {old_name!r}"

    # 2. Every reader in another stack changes its template, so it is updated and reads the new identity.
    for where in replaced:
        stack_name = before.stacks_by_id[where.stack].stack_name
        outputs = outputs_referring_to(before.template(where.stack), where.logical_id)
        for reader_stack, template in before.templates.items():
            for reader in stack_output_readers(template, stack_name, outputs):
                new_reader = after.template(reader_stack)["Resources"].get(reader)
                old_reader = template["Resources"][reader]
                assert new_reader is None or new_reader["Properties"] != old_reader["Properties"], (
                    f"{reader_stack}/{reader} reads replaced {where} but its template does not change"
                )

    # The operator commands read the new IDs from these outputs once the deployment is done.
    knowledge_base_outputs = after.template("KnowledgeBase")["Outputs"]
    (knowledge_base_resource,) = resources_of_type(after.template("KnowledgeBase"), "AWS::Bedrock::KnowledgeBase")
    assert referenced(knowledge_base_outputs["KnowledgeBaseId"]["Value"]) == {knowledge_base_resource}
    assert referenced(knowledge_base_outputs["DocumentsDataSourceId"]["Value"]) == {
        _documents_data_source(after).logical_id
    }

    # 3. A new documents data source is synced in the same deployment.
    documents_source = _documents_data_source(before)
    if documents_source in replaced:
        _, trigger = one(after.template("KnowledgeBase"), "Custom::DocumentSyncTrigger")
        assert documents_source.logical_id in referenced(trigger["Properties"]["Update"])
        functions = resources_of_type(after.template("KnowledgeBase"), "AWS::Lambda::Function")
        (sync_function,) = [key for key, value in functions.items() if value["Properties"]["Handler"] == SYNC_HANDLER]
        assert sync_function in trigger["DependsOn"]

    # 4. A new stream data source gets the topic's retained history: a new mapping and consumer group.
    stream_source = _stream_data_source(before)
    if stream_source in replaced:
        old_mappings = kafka_mappings(before.template("Streaming"))
        new_mappings = kafka_mappings(after.template("Streaming"))
        ((new_id, new_mapping),) = new_mappings.items()
        assert new_id not in old_mappings
        group = new_mapping["Properties"]["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
        old_groups = {
            m["Properties"]["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"] for m in old_mappings.values()
        }
        assert group not in old_groups
        assert new_mapping["Properties"]["StartingPosition"] == "TRIM_HORIZON"

    # 5. The old data sources go before their knowledge base, the knowledge base before its index.
    knowledge_base_id, knowledge_base = one(after.template("KnowledgeBase"), "AWS::Bedrock::KnowledgeBase")
    (index_id,) = resources_of_type(after.template("KnowledgeBase"), "Custom::S3VectorIndex")
    assert index_id in knowledge_base.get("DependsOn", []) or index_id in referenced(knowledge_base["Properties"])
    for source in resources_of_type(after.template("KnowledgeBase"), "AWS::Bedrock::DataSource").values():
        assert knowledge_base_id in referenced(source["Properties"]["KnowledgeBaseId"])


def _data_source(app: Synthesized, construct: str) -> ResourceId:
    (logical_id,) = [key for key in resources_of_type(app.template("KnowledgeBase"), "AWS::Bedrock::DataSource")
                     if key.startswith(f"KnowledgeBase{construct}")]  # fmt: skip
    return ResourceId("KnowledgeBase", logical_id)


def _documents_data_source(app: Synthesized) -> ResourceId:
    return _data_source(app, "DocumentsDataSource")


def _stream_data_source(app: Synthesized) -> ResourceId:
    """The direct path's custom data source, or the bulk path's S3 data source on the stream's objects."""
    bulk = app.settings.stream.bulk
    return _data_source(app, "StreamObjectsDataSource" if bulk else "StreamDataSource")


def test_what_each_change_replaces(synth: Callable[..., Synthesized], before: Synthesized) -> None:
    """The resources each setting replaces, as the settings page's table states them."""
    by_type: dict[str, set[str]] = {}
    for setting, change in CHANGES.items():
        replaced = replaced_resources(before.templates, synth(**change).templates)
        by_type[setting] = {resource(before, where)["Type"] for where in replaced}
    knowledge_base_wide = {
        "AWS::Bedrock::KnowledgeBase",
        "AWS::Bedrock::DataSource",
        "AWS::Logs::LogGroup",
        "AWS::Logs::DeliverySource",
        "AWS::Logs::DeliveryDestination",
        "AWS::Logs::Delivery",
        "AWS::Lambda::EventSourceMapping",
    }
    for setting in ("embeddingModelId", "embeddingDimension", "distanceMetric", "vectorIndexName"):
        assert knowledge_base_wide <= by_type[setting], setting
    for setting in ("embeddingDimension", "distanceMetric", "vectorIndexName"):
        assert "Custom::S3VectorIndex" in by_type[setting], setting
    assert "Custom::S3VectorIndex" not in by_type["embeddingModelId"]  # Cohere v3 also has 1024 dimensions
    for setting in ("chunkingStrategy", "chunkMaxTokens", "chunkOverlapPercentage"):
        assert by_type[setting] == {"AWS::Bedrock::DataSource"}, setting
    # The stream data source, and the mapping that feeds it: its new consumer group reads the topic again.
    assert by_type["streamChunkingStrategy"] == {"AWS::Bedrock::DataSource", "AWS::Lambda::EventSourceMapping"}
    # Switching paths: a stream data source of the other kind, and a new consumer group that reads the topic again.
    assert by_type["streamIngestPath"] == {"AWS::Bedrock::DataSource", "AWS::Lambda::EventSourceMapping"}


def test_stream_chunk_sizes_replace_the_stream_data_source_once_a_strategy_uses_them(
    synth: Callable[..., Synthesized],
) -> None:
    chunked = synth(streamChunkingStrategy="FIXED_SIZE")
    for change in ({"streamChunkMaxTokens": 500}, {"streamChunkOverlapPercentage": 10}):
        replaced = replaced_resources(chunked.templates, synth(streamChunkingStrategy="FIXED_SIZE", **change).templates)
        assert _stream_data_source(chunked) in replaced
    unchunked = replaced_resources(synth().templates, synth(streamChunkMaxTokens=500).templates)
    assert not {resource(chunked, where)["Type"] for where in unchunked} & {"AWS::Bedrock::DataSource"}


def test_other_settings_replace_nothing_in_the_knowledge_base(
    synth: Callable[..., Synthesized], before: Synthesized
) -> None:
    for change in ({"queryNumberOfResults": 8}, {"syncBatchWindowSeconds": 30}, {"logRetentionDays": 7}):
        replaced = replaced_resources(before.templates, synth(**change).templates)
        kinds = {resource(before, where)["Type"] for where in replaced}
        assert not kinds & {"AWS::Bedrock::KnowledgeBase", "AWS::Bedrock::DataSource", "Custom::S3VectorIndex"}


def test_a_create_only_change_and_its_cascade_are_found() -> None:
    def template(chunking: str, name: str) -> dict[str, Any]:
        return {
            "Resources": {
                "Kb": {
                    "Type": "AWS::Bedrock::KnowledgeBase",
                    "Properties": {"Name": name, "StorageConfiguration": {"Type": "S3_VECTORS"}},
                },
                "Source": {
                    "Type": "AWS::Bedrock::DataSource",
                    "Properties": {
                        "KnowledgeBaseId": {"Fn::GetAtt": ["Kb", "KnowledgeBaseId"]},
                        "Name": "s",
                        "VectorIngestionConfiguration": {"ChunkingConfiguration": {"ChunkingStrategy": chunking}},
                    },
                },
            }
        }

    assert replaced_resources({"S": template("NONE", "a")}, {"S": template("NONE", "b")}) == {}  # a name updates
    chunked = replaced_resources({"S": template("NONE", "a")}, {"S": template("SEMANTIC", "a")})
    assert set(chunked) == {ResourceId("S", "Source")}
    with_kb = replaced_resources(
        {"S": template("NONE", "a")},
        {
            "S": {
                "Resources": {
                    **template("NONE", "a")["Resources"],
                    "Kb": {
                        "Type": "AWS::Bedrock::KnowledgeBase",
                        "Properties": {"Name": "a", "StorageConfiguration": {"Type": "OPENSEARCH"}},
                    },
                }
            }
        },
    )
    assert set(with_kb) == {ResourceId("S", "Kb"), ResourceId("S", "Source")}
    assert "refers to replaced Kb" in with_kb[ResourceId("S", "Source")]


def test_the_deployment_trigger_requests_a_sync_of_a_new_data_source(
    before: Synthesized, lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CloudFormation resolves the trigger's message anew when the data source is replaced: the new ID
    makes it an update, the custom resource sends the message, and the sync function syncs the new source."""
    template = before.template("KnowledgeBase")
    _, trigger = one(template, "Custom::DocumentSyncTrigger")
    source = _documents_data_source(before).logical_id

    def message(data_source_id: str) -> str:
        call = json.loads(
            render(trigger["Properties"]["Update"], attributes={f"{source}.DataSourceId": data_source_id})
        )
        return str(call["parameters"]["MessageBody"])

    old, new = message("DSOLD00001"), message("DSNEW00001")
    assert old != new and "DSNEW00001" in new

    use_config(
        monkeypatch,
        SyncConfig(
            knowledge_base_id="KBNEW00001",
            data_source_id="DSNEW00001",
            bucket="bucket",
            prefix="documents/",
            dead_letter_queue_url="https://q",
        ),
    )
    agent = lambda_env.client("bedrock-agent")
    started = {
        "ingestionJob": {
            "knowledgeBaseId": "KBNEW00001",
            "dataSourceId": "DSNEW00001",
            "ingestionJobId": "JOB0000001",
            "status": "STARTING",
            "startedAt": "2026-11-22T10:00:00Z",
            "updatedAt": "2026-11-22T10:00:00Z",
        }
    }
    with Stubber(agent) as stub:
        stub.add_response(
            "start_ingestion_job",
            started,
            {"knowledgeBaseId": "KBNEW00001", "dataSourceId": "DSNEW00001", "clientToken": ANY, "description": ANY},
        )
        result = sync_handler.handler(sqs_event([new]), FakeLambdaContext())  # type: ignore[arg-type]
        stub.assert_no_pending_responses()
    assert result == {"batchItemFailures": []}
    assert lambda_env.recorder.problems == []
