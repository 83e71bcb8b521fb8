"""Streaming stack: the MSK event source mapping, the ingest function's role, its dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devtools.sdk_model import iam_action
from stacks.aws_limits import MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS
from stacks.settings import SettingsError, load_settings
from stream_ingest.mapping import TICKER_PRICES
from tests.conftest import CDK_CONTEXT, Synthesized
from tests.support.contracts import deployed_config, deployed_runtime
from tests.support.iam import allowed_resources, function_role, role_statements
from tests.support.templates import (
    function_with_handler,
    kafka_mappings,
    published_attribute,
    render,
    resources_of_type,
)

CLUSTER = "arn:aws:kafka:us-east-1:123456789012:cluster/kbstream-kafka/1a2b3c4d-0000-1111-2222-333344445555-2"
TOPIC = "arn:aws:kafka:us-east-1:123456789012:topic/kbstream-kafka/1a2b3c4d-0000-1111-2222-333344445555-2/ticker-prices"
# Only the UUID MSK appends to the cluster name is a wildcard (CloudFormation cannot split another stack's output).
CONSUMER_GROUP = load_settings({}).knowledge_base_identity.stream_consumer_group_id
GROUP = f"arn:aws:kafka:us-east-1:123456789012:group/kbstream-kafka/*/{CONSUMER_GROUP}"
KNOWLEDGE_BASE = "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"


def sample_attributes(app: Synthesized) -> dict[str, str]:
    network, knowledge_base = app.stacks.network.stack_name, app.stacks.knowledge_base.stack_name
    return {
        published_attribute(network, app.template("Network"), "Arn"): CLUSTER,  # the cluster's only
        published_attribute(network, app.template("Network"), "TopicArn"): TOPIC,
        published_attribute(knowledge_base, app.template("KnowledgeBase"), "KnowledgeBaseArn"): KNOWLEDGE_BASE,
    }


def dead_letter_queue(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (item,) = [(key, queue) for key, queue in resources_of_type(template, "AWS::SQS::Queue").items()
               if key.startswith("StreamIngestDeadLetters")]  # fmt: skip
    return item


def ingest_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return function_with_handler(template, "stream_ingest.handler.handler")


def test_on_demand_mapping_reads_the_topic_from_the_beginning(app: Synthesized) -> None:
    template = app.template("Streaming")
    ((_, mapping),) = kafka_mappings(template).items()
    properties = render(mapping["Properties"], attributes=sample_attributes(app))
    assert properties["EventSourceArn"] == CLUSTER
    assert properties["Topics"] == ["ticker-prices"]
    assert properties["StartingPosition"] == "TRIM_HORIZON"
    assert properties["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": CONSUMER_GROUP}
    assert CONSUMER_GROUP.startswith("kbstream-stream-ingest-")
    assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) == (500, 5)
    # Settings on-demand mode would ignore are not pretended.
    for absent in ("ProvisionedPollerConfig", "FunctionResponseTypes", "BisectBatchOnFunctionError",
                   "MaximumRetryAttempts", "DestinationConfig"):  # fmt: skip
        assert absent not in properties
    _, function = ingest_function(template)
    assert deployed_config(function).partial_batch_response is False


def test_provisioned_mode_uses_retries_bisection_partial_responses_and_the_dead_letter_queue(
    synth: Callable[..., Synthesized],
) -> None:
    app = synth(streamPollerMode="provisioned", streamRetryAttempts=4, streamBatchSize=500, streamBatchWindowSeconds=30)
    template = app.template("Streaming")
    ((_, mapping),) = kafka_mappings(template).items()
    properties = mapping["Properties"]
    queue_id, _ = dead_letter_queue(template)
    assert properties["ProvisionedPollerConfig"] == {"MinimumPollers": 1, "MaximumPollers": 2}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BisectBatchOnFunctionError"] is True
    assert properties["MaximumRetryAttempts"] == 4
    assert properties["DestinationConfig"] == {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}}
    assert (properties["BatchSize"], properties["MaximumBatchingWindowInSeconds"]) == (500, 30)
    _, function = ingest_function(template)
    assert deployed_config(function).partial_batch_response is True


def test_function_runs_outside_the_vpc_paced_to_its_share_of_the_quota(app: Synthesized) -> None:
    _, function = ingest_function(app.template("Streaming"))
    properties = function["Properties"]
    assert "VpcConfig" not in properties
    config = deployed_config(function)
    # 5 requests/s with 5% headroom, shared by the invocations in proportion to their partitions (of 2).
    assert (config.quota_requests_per_second, config.topic_partitions) == (4.75, 2)
    assert config.document_mapping == TICKER_PRICES
    assert deployed_runtime(function).retry_mode == "adaptive"
    # A full batch of 500 from one partition, at its half of 47.5 documents/s, takes ~21 s: twice that plus a minute.
    assert properties["Timeout"] == 103
    assert properties["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize(("batch_size", "timeout"), [(9000, 818), (1, 61)])
def test_timeout_follows_the_batch_size(synth: Callable[..., Synthesized], batch_size: int, timeout: int) -> None:
    _, function = ingest_function(synth(streamBatchSize=batch_size).template("Streaming"))
    assert function["Properties"]["Timeout"] == timeout <= MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    "overrides",
    [
        {"streamBatchSize": 10_000},
        {"streamBatchSize": 2000, "topicPartitions": 12},
        {"streamBatchSize": 5000, "ingestRequestsPerSecond": 2},
    ],
)
def test_settings_that_need_more_than_fourteen_minutes_fail_synthesis(overrides: dict[str, Any]) -> None:
    context = {**CDK_CONTEXT, **{f"app:{key}": value for key, value in overrides.items()}}
    with pytest.raises(SettingsError, match="840 s") as raised:
        load_settings(context)
    message = str(raised.value)
    for key in ("app:streamBatchSize", "app:ingestRequestsPerSecond", "app:topicPartitions"):
        assert key in message


def test_role_has_exactly_the_msk_and_bedrock_access_it_needs(app: Synthesized) -> None:
    template = app.template("Streaming")
    function_id, _ = ingest_function(template)
    role_id = function_role(template, function_id)
    assert "ManagedPolicyArns" not in template["Resources"][role_id]["Properties"]
    statements = role_statements(template, role_id, sample_attributes(app))
    queue_id, _ = dead_letter_queue(template)
    (check_queue,) = [key for key in resources_of_type(template, "AWS::SQS::Queue") if "IndexingChecks" in key]
    assert iam_action("bedrock-agent", "IngestKnowledgeBaseDocuments") == "bedrock:IngestKnowledgeBaseDocuments"
    expected = {
        "kafka-cluster:Connect": [CLUSTER],
        "kafka-cluster:DescribeClusterDynamicConfiguration": [CLUSTER],
        "kafka:DescribeClusterV2": [CLUSTER],
        "kafka:DescribeCluster": [],
        "kafka:GetBootstrapBrokers": ["*"],
        "kafka-cluster:DescribeTopic": [TOPIC],
        "kafka-cluster:ReadData": [TOPIC],
        "kafka-cluster:DescribeGroup": [GROUP],
        "kafka-cluster:AlterGroup": [GROUP],
        "bedrock:IngestKnowledgeBaseDocuments": [KNOWLEDGE_BASE],
        # Every call the handler makes (tests/test_stream_ingest.py records them), by its IAM action.
        iam_action("sqs", "SendMessageBatch"): [
            f"\u27e6GetAtt:{queue_id}.Arn\u27e7",
            f"\u27e6GetAtt:{check_queue}.Arn\u27e7",
        ],
        # Offset IDs (the default): nothing deletes documents. Key-based IDs add the delete (tested below).
        "bedrock:DeleteKnowledgeBaseDocuments": [],
        "kafka-cluster:WriteData": [],
        "bedrock:Retrieve": [],
    }
    assert {action: allowed_resources(statements, action) for action in expected} == expected
    actions = {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert not any(action.endswith("*") for action in actions)


def test_dead_letter_queue_is_encrypted_and_kept_two_weeks(app: Synthesized) -> None:
    _, queue = dead_letter_queue(app.template("Streaming"))
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    policies = resources_of_type(app.template("Streaming"), "AWS::SQS::QueuePolicy")
    assert "aws:SecureTransport" in json.dumps(policies)


def test_streaming_deploys_after_the_cluster_and_the_knowledge_base(app: Synthesized) -> None:
    dependencies = {stack.node.id for stack in app.stacks.streaming.dependencies}
    assert {"Network", "KnowledgeBase"} <= dependencies


def test_outputs(app: Synthesized) -> None:
    assert {"IngestFunctionName", "DeadLetterQueueUrl", "EventSourceMappingId"} <= set(
        app.template("Streaming")["Outputs"]
    )


def test_the_mapping_publishes_its_metrics_and_warnings_and_the_dashboard_graphs_them(app: Synthesized) -> None:
    (mapping,) = kafka_mappings(app.template("Streaming")).values()
    properties = mapping["Properties"]
    assert sorted(properties["MetricsConfig"]["Metrics"]) == ["ErrorCount", "EventCount", "KafkaMetrics"]
    assert properties["LoggingConfig"] == {"SystemLogLevel": "WARN"}
    (dashboard,) = resources_of_type(app.template("Monitoring"), "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert "Kafka mapping: events, errors, lag" in body and "EventSourceMappingUUID" in body
