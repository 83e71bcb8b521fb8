"""Monitoring: an alarm for each way the system can go wrong, all notifying one SNS topic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tests.conftest import QUERY_FEATURES, Synthesized
from tests.support.templates import resources_of_type


def alarms(app: Synthesized) -> dict[str, dict[str, Any]]:
    template = app.template("Monitoring")
    return {
        logical_id.removeprefix("Monitoring").rstrip("0123456789ABCDEF"): resource["Properties"]
        for logical_id, resource in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
    }


def test_every_required_alarm_exists_and_notifies_the_topic(app: Synthesized) -> None:
    template = app.template("Monitoring")
    (topic_id,) = resources_of_type(template, "AWS::SNS::Topic")
    found = alarms(app)
    assert set(found) == {
        "StreamOffsetLag", "StreamErrors", "StreamThrottles", "StreamDeadLetters", "SyncDeadLetters",
        "IngestThrottling", "QueryErrors", "QueryFailures", "QueryLatency", "IngestionJobsFailed",
        "StreamFreshness", "DocumentsNotIndexed",
    }  # fmt: skip
    for properties in found.values():
        assert properties["AlarmActions"] == [{"Ref": topic_id}]
        assert properties["OKActions"] == [{"Ref": topic_id}]
        assert properties["TreatMissingData"] == "notBreaching"


def test_alarms_watch_the_right_metrics(app: Synthesized) -> None:
    found = alarms(app)

    def metric(name: str) -> tuple[str, str, str | None]:
        properties = found[name]
        return (properties["Namespace"], properties["MetricName"], properties.get("ExtendedStatistic")
                or properties.get("Statistic"))  # fmt: skip

    assert metric("StreamOffsetLag") == ("AWS/Lambda", "OffsetLag", "Maximum")
    assert metric("StreamErrors") == ("AWS/Lambda", "Errors", "Sum")
    assert metric("StreamThrottles") == ("AWS/Lambda", "Throttles", "Sum")
    assert metric("StreamDeadLetters") == ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
    assert metric("SyncDeadLetters") == ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum")
    assert metric("IngestThrottling") == ("kbstream", "IngestRetries", "Sum")
    assert found["IngestThrottling"]["Dimensions"] == [{"Name": "service", "Value": "stream_ingest"}]
    assert metric("QueryErrors") == ("AWS/Lambda", "Errors", "Sum")
    assert metric("QueryFailures") == ("kbstream", "FailedQueries", "Sum")
    assert metric("QueryLatency") == ("AWS/Lambda", "Duration", "p90")
    assert metric("IngestionJobsFailed") == ("kbstream", "IngestionJobsFailed", "Sum")
    # The two dead-letter alarms watch two different queues.
    assert found["StreamDeadLetters"]["Dimensions"] != found["SyncDeadLetters"]["Dimensions"]


def test_failed_ingestion_jobs_are_counted_from_the_knowledge_base_log(app: Synthesized) -> None:
    (metric_filter,) = resources_of_type(app.template("Monitoring"), "AWS::Logs::MetricFilter").values()
    properties = metric_filter["Properties"]
    # The knowledge base's application log group, by name: a replaced knowledge base renames it, and this
    # template changes with it. The stack order makes the filter wait for the group.
    assert properties["LogGroupName"] == app.settings.knowledge_base_identity.application_log_group_name
    assert app.stacks.knowledge_base in app.stacks.monitoring.dependencies
    assert '$.event.ingestion_job_status = "FAILED"' in properties["FilterPattern"]
    assert properties["MetricTransformations"][0]["MetricName"] == "IngestionJobsFailed"


def test_email_subscription_is_optional(app: Synthesized, synth: Callable[..., Synthesized]) -> None:
    assert resources_of_type(app.template("Monitoring"), "AWS::SNS::Subscription") == {}
    with_email = synth(alarmEmail="ops@example.com")
    (subscription,) = resources_of_type(with_email.template("Monitoring"), "AWS::SNS::Subscription").values()
    assert (subscription["Properties"]["Protocol"], subscription["Properties"]["Endpoint"]) == (
        "email",
        "ops@example.com",
    )


def test_topic_requires_tls_and_the_dashboard_shows_the_alarms(app: Synthesized) -> None:
    template = app.template("Monitoring")
    assert "aws:SecureTransport" in json.dumps(resources_of_type(template, "AWS::SNS::TopicPolicy"))
    (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "kbstream-operations"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for title in ("Alarms", "Stream: offset lag", "Dead letters", "Document sync", "Query latency"):
        assert title in body


def test_stream_freshness_alarms_on_the_p95_over_the_configured_threshold(synth: Callable[..., Synthesized]) -> None:
    found = alarms(synth(streamFreshnessAlarmSeconds=120))
    freshness = found["StreamFreshness"]
    assert (freshness["MetricName"], freshness["ExtendedStatistic"], freshness["Threshold"]) == (
        "Freshness",
        "p95",
        120,
    )
    assert {"Name": "service", "Value": "index_check"} in freshness["Dimensions"]


def test_the_operations_page_lists_every_alarm(app: Synthesized, synth: Callable[..., Synthesized]) -> None:
    from tests.conftest import REPO_ROOT

    section = (REPO_ROOT / "docs" / "operations.md").read_text().split("## Monitoring", 1)[1].split("\n## ", 1)[0]
    listed = {name for row in section.splitlines() if row.startswith("| `")
              for name in re.findall(r"`(\w+)`", row.split("|")[1])}  # fmt: skip
    named = {alarm.node.id for alarm in app.stacks.monitoring.monitoring.alarms}
    assert len(named) == len(resources_of_type(app.template("Monitoring"), "AWS::CloudWatch::Alarm"))
    with_chat = {alarm.node.id for alarm in synth(**QUERY_FEATURES).stacks.monitoring.monitoring.alarms}
    assert with_chat - named == {"ChatAuthorizerErrors"}, "the chat page adds its token check's alarm"
    assert with_chat == listed, "the operations page's alarm table and the alarms differ"
