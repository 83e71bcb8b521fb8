"""The bulk path as synthesized (docs/bulk-path.md): the stream data source on S3, the job starter, the stream
function's writes confined to its prefix, and the settings that carry 1,000 records/s by default."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.settings import SettingsError, load_settings
from stream_ingest.mapping import TICKER_PRICES
from tests.conftest import BULK_KEYS, BULK_OFFSETS, Synthesized
from tests.support.contracts import deployed_config
from tests.support.iam import allowed_resources, function_role, role_statements
from tests.support.templates import function_with_handler, kafka_mappings, render, resources_of_type

BUCKET_OBJECTS = "arn:aws:s3:::kbstream-documents-123456789012-us-east-1/"


@pytest.fixture(scope="module")
def bulk(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**BULK_KEYS)


def statements_of(app: Synthesized, stack: str, handler: str) -> list[dict[str, Any]]:
    template = app.template(stack)
    function_id, _ = function_with_handler(template, handler)
    return [render(statement) for statement in role_statements(template, function_role(template, function_id))]


def test_the_stream_data_source_reads_the_stream_prefix_of_the_document_bucket(bulk: Synthesized) -> None:
    sources = {resource["Properties"]["Name"]: render(resource["Properties"]) for resource in
               resources_of_type(bulk.template("KnowledgeBase"), "AWS::Bedrock::DataSource").values()}  # fmt: skip
    stream = sources["kbstream-stream-bulk"]
    assert stream["DataSourceConfiguration"]["S3Configuration"]["InclusionPrefixes"] == ["stream/"]
    assert stream["DataDeletionPolicy"] == "DELETE"  # a switch back takes its vectors along
    assert stream["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {"ChunkingStrategy": "NONE"}
    assert {source["DataSourceConfiguration"]["Type"] for source in sources.values()} == {"S3"}


def test_switching_paths_gives_the_stream_a_new_data_source_and_consumer_group(bulk: Synthesized) -> None:
    direct = load_settings({}).knowledge_base_identity
    assert bulk.settings.knowledge_base_identity.stream_data_source_name != direct.stream_data_source_name
    assert bulk.settings.knowledge_base_identity.stream_consumer_group_id != direct.stream_consumer_group_id


def test_the_stream_function_writes_under_its_prefix_only_and_never_calls_bedrock(bulk: Synthesized) -> None:
    statements = statements_of(bulk, "Streaming", "stream_ingest.handler.handler")
    assert allowed_resources(statements, "s3:PutObject") == [
        f"{BUCKET_OBJECTS}stream/*",
        f"{BUCKET_OBJECTS}ingestion-jobs/stream.waiting",
    ]
    assert allowed_resources(statements, "s3:DeleteObject") == [f"{BUCKET_OBJECTS}stream/*"]  # tombstones
    assert not [action for statement in statements for action in statement["Action"]
                if str(action).startswith("bedrock:")]  # fmt: skip
    _, function = function_with_handler(bulk.template("Streaming"), "stream_ingest.handler.handler")
    assert deployed_config(function).object_bucket == "kbstream-documents-123456789012-us-east-1"
    assert function["Properties"]["MemorySize"] == 1769 and function["Properties"]["Timeout"] == 300


def test_append_only_topics_need_no_deletes(synth: Callable[..., Synthesized]) -> None:
    statements = statements_of(synth(**BULK_OFFSETS), "Streaming", "stream_ingest.handler.handler")
    assert allowed_resources(statements, "s3:DeleteObject") == []


def test_the_mapping_batches_thousands_of_records_on_six_partitions_by_default(bulk: Synthesized) -> None:
    ((_, mapping),) = kafka_mappings(bulk.template("Streaming")).items()
    assert (mapping["Properties"]["BatchSize"], mapping["Properties"]["MaximumBatchingWindowInSeconds"]) == (10000, 10)
    (topic,) = resources_of_type(bulk.template("Network"), "AWS::MSK::Topic").values()
    assert topic["Properties"]["PartitionCount"] == 6


def test_one_starter_starts_every_job_every_minute_and_the_document_sync_leaves_a_marker(bulk: Synthesized) -> None:
    template = bulk.template("KnowledgeBase")
    _, starter = function_with_handler(template, "ingestion_jobs.handler.handler")
    assert starter["Properties"]["ReservedConcurrentExecutions"] == 1
    (rule,) = [rule for rule in resources_of_type(template, "AWS::Events::Rule").values()
               if "ScheduleExpression" in rule["Properties"]]  # fmt: skip
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    starts = statements_of(bulk, "KnowledgeBase", "ingestion_jobs.handler.handler")
    assert len(allowed_resources(starts, "bedrock:StartIngestionJob")) == 1
    assert sorted(allowed_resources(starts, "s3:DeleteObject")) == [
        f"{BUCKET_OBJECTS}ingestion-jobs/documents.waiting",
        f"{BUCKET_OBJECTS}ingestion-jobs/stream.waiting",
    ]
    sync = statements_of(bulk, "KnowledgeBase", "kb_sync.handler.handler")
    assert allowed_resources(sync, "bedrock:StartIngestionJob") == []
    assert allowed_resources(sync, "s3:PutObject") == [f"{BUCKET_OBJECTS}ingestion-jobs/documents.waiting"]
    _, sync_function = function_with_handler(template, "kb_sync.handler.handler")
    assert deployed_config(sync_function).jobs_by_starter is True


def test_the_knowledge_base_reads_the_stream_objects_and_the_check_follows_jobs(bulk: Synthesized) -> None:
    checks = statements_of(bulk, "Streaming", "index_check.handler.handler")
    assert allowed_resources(checks, "bedrock:ListIngestionJobs") and allowed_resources(
        checks, "bedrock:GetIngestionJob"
    )
    assert allowed_resources(checks, "s3:PutObject") == [f"{BUCKET_OBJECTS}ingestion-jobs/stream.waiting"]


def test_the_direct_path_has_no_starter_and_its_sync_starts_its_own_jobs(app: Synthesized) -> None:
    template = app.template("KnowledgeBase")
    handlers = {function["Properties"].get("Handler") for function in
                resources_of_type(template, "AWS::Lambda::Function").values()}  # fmt: skip
    assert "ingestion_jobs.handler.handler" not in handlers
    assert allowed_resources(
        statements_of(app, "KnowledgeBase", "kb_sync.handler.handler"), "bedrock:StartIngestionJob"
    )


def test_the_sample_switches_to_the_bulk_path_with_one_setting() -> None:
    settings = load_settings({"app:streamIngestPath": "bulk"})
    assert settings.stream.bulk and settings.stream.mapping.source == TICKER_PRICES


def test_the_document_prefix_may_not_overlap_the_bulk_paths_prefixes() -> None:
    with pytest.raises(SettingsError, match="overlaps 'stream/'"):
        load_settings(
            {**{f"app:{key}": value for key, value in BULK_KEYS.items()}, "app:documentPrefix": "stream/docs/"}
        )


def test_explicit_batching_and_partitions_win_over_the_paths_defaults() -> None:
    settings = load_settings({**{f"app:{key}": value for key, value in BULK_KEYS.items()}, "app:streamBatchSize": 2000,
                              "app:streamBatchWindowSeconds": 0, "app:topicPartitions": 12})  # fmt: skip
    assert (settings.stream.records_per_batch, settings.stream.batching_window_seconds) == (2000, 0)
    assert settings.kafka.partitions == 12


def test_the_dashboard_shows_the_bulk_paths_writes_and_jobs(bulk: Synthesized) -> None:
    (dashboard,) = resources_of_type(bulk.template("Monitoring"), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(render(dashboard["Properties"]["DashboardBody"]))
    for title in ("Stream: S3 writes", "Ingestion jobs: started, refused", "Ingestion jobs: changes waited (s)"):
        assert title in body
    assert all(name in body for name in ("ObjectsWritten", "S3Requests", "JobsStarted", "ChangesWaited"))
    assert "IngestRequests" not in body
