"""Every alarm and dashboard widget on the app's own metrics watches a metric that is really published.

The app is synthesized with a hyphenated name prefix. Each monitored function is then cold-started
with the environment from its template and run through the paths that publish its metrics; what it
prints in CloudWatch's embedded metric format (EMF) is what CloudWatch would store. The metric
filters in the templates publish the rest. An alarm on a namespace, name or dimension that nothing
publishes never fires (missing data is not breaching), so each must match something published.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from devtools.fake_bedrock import fake_bedrock_agent
from devtools.lambda_events import (
    EmittedMetric,
    FakeLambdaContext,
    emf_emitted,
    kafka_event,
    sqs_event,
    ticker_value,
)
from index_check.contract import PendingCheck, PendingDocument, PendingSource
from tests.conftest import LambdaEnvironment, Synthesized
from tests.support.cold_start import cold_started, fresh_client
from tests.support.sample_values import AppSamples
from tests.support.templates import resources_of_type

HYPHENATED_PREFIX = "kb-stream"
STUCK = "ticker-prices/0/2"
# The stream function runs first: the indexing check then finds its document in the fake.
HANDLERS = ("stream_ingest.handler.handler", "index_check.handler.handler", "query.handler.handler",
            "kb_sync.handler.handler")  # fmt: skip


@pytest.fixture(scope="module")
def hyphenated(synth: Callable[..., Synthesized]) -> Synthesized:
    # With a guardrail, so the query function publishes its interventions too.
    return synth(namePrefix=HYPHENATED_PREFIX, guardrail="existing", guardrailId="abcd1234efgh", guardrailVersion="1")


def deployed_function(app: Synthesized, handler: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The function with this handler and its environment, deploy-time values as sample values."""
    samples = AppSamples(app.templates_by_stack_name)
    for template in app.templates.values():
        for function in resources_of_type(template, "AWS::Lambda::Function").values():
            if function["Properties"].get("Handler") == handler:
                return function, samples.render(function["Properties"]["Environment"]["Variables"], template)
    raise AssertionError(f"no function runs {handler}")


def create_queues(environment: dict[str, str]) -> None:
    for variable in ("DEAD_LETTER_QUEUE_URL", "CHECK_QUEUE_URL"):
        boto3.client("sqs").create_queue(QueueName=urlparse(environment[variable]).path.rsplit("/", 1)[1])


def run_stream_ingest(handler: Any, environment: dict[str, str]) -> None:
    create_queues(environment)
    topic = "ticker-prices"
    event = kafka_event([(topic, 0, 1, ticker_value("ZVZZT", "$3.25")), (topic, 1, 7, "bm90IGpzb24=")])
    handler.handler(event, FakeLambdaContext())


def run_index_check(handler: Any, environment: dict[str, str]) -> None:
    create_queues(environment)
    source = PendingSource("ticker-prices", 0, 1, int(time.time() * 1000) - 5000, None)
    check = PendingCheck(time.time() - 10, (
        PendingDocument("ticker-prices/0/1", (source,)),  # ingested by the stream function: INDEXED
        PendingDocument("ticker-prices/9/9", (source,)),  # never ingested: NOT_FOUND, dead-lettered
        PendingDocument(STUCK, (source,)),  # still indexing: checked again later
    ))  # fmt: skip
    handler.handler(sqs_event([check.body()]), FakeLambdaContext())


def run_query(handler: Any, environment: dict[str, str]) -> None:
    runtime = fresh_client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", {"output": {"text": "Blocked."}, "sessionId": "s-1",
                                                     "guardrailAction": "INTERVENED"}, None)  # fmt: skip
        stub.add_response("retrieve", {"retrievalResults": []}, None)
        stub.add_client_error("retrieve_and_generate", "ValidationException", "Bad request", 400)
        for event in (
            {"question": "What does the company do?"},
            {"question": "zero trust", "mode": "retrieve"},
            {"question": "Refused?"},
            {"question": ""},  # invalid: no Bedrock call
        ):
            handler.handler(event, FakeLambdaContext())
        stub.assert_no_pending_responses()


def run_kb_sync(handler: Any, environment: dict[str, str]) -> None:
    agent, sqs = fresh_client("bedrock-agent"), fresh_client("sqs")
    started = {"ingestionJob": {"knowledgeBaseId": environment["KNOWLEDGE_BASE_ID"], "ingestionJobId": "JOB1234567",
                                "dataSourceId": environment["DATA_SOURCE_ID"], "status": "STARTING",
                                "startedAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z"}}  # fmt: skip
    deployment = json.dumps({"trigger": "deployment", "documentsVersion": "0123456789abcdef0123"})
    with Stubber(agent) as agent_stub, Stubber(sqs) as sqs_stub:
        agent_stub.add_response("start_ingestion_job", started, None)
        agent_stub.add_client_error("start_ingestion_job", "ConflictException", "A job is running", 409)
        sqs_stub.add_response("send_message", {"MessageId": "m-1"}, {"QueueUrl": ANY, "MessageBody": ANY,
                                                                     "MessageAttributes": ANY})  # fmt: skip
        for bodies in ([deployment], [deployment], ["not json"]):
            handler.handler(sqs_event(bodies), FakeLambdaContext())
        agent_stub.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()


RUNS: dict[str, Callable[[Any, dict[str, str]], None]] = {
    "stream_ingest.handler.handler": run_stream_ingest,
    "index_check.handler.handler": run_index_check,
    "query.handler.handler": run_query,
    "kb_sync.handler.handler": run_kb_sync,
}


@pytest.fixture(scope="module")
def fakes() -> Iterator[str]:
    """Bedrock's agent endpoint (local fake) and SQS (moto), for every cold-started function."""
    with (
        fake_bedrock_agent() as (url, state),
        mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}),
    ):
        state.accepted_at[STUCK] = time.monotonic()
        state.never_indexed.add(STUCK)
        yield url


def published_by_functions(
    app: Synthesized, fakes: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> set[EmittedMetric]:
    published: set[EmittedMetric] = set()
    for handler_path in HANDLERS:
        _, environment = deployed_function(app, handler_path)
        with monkeypatch.context() as scoped:
            scoped.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", fakes)
            scoped.setenv("AWS_MAX_ATTEMPTS", "1")
            with cold_started(handler_path, environment, scoped) as handler:
                capsys.readouterr()
                RUNS[handler_path](handler, environment)
                published |= emf_emitted(capsys.readouterr().out)
    return published


def published_by_metric_filters(app: Synthesized) -> set[EmittedMetric]:
    return {
        EmittedMetric(transformation["MetricNamespace"], transformation["MetricName"], ())
        for template in app.templates.values()
        for metric_filter in resources_of_type(template, "AWS::Logs::MetricFilter").values()
        for transformation in metric_filter["Properties"]["MetricTransformations"]
    }


def watched_metrics(app: Synthesized) -> list[tuple[str, EmittedMetric]]:
    """(where, metric) for every alarm and dashboard graph on a metric outside the AWS/ namespaces."""
    template = app.template("Monitoring")
    samples = AppSamples(app.templates_by_stack_name)
    watched: list[tuple[str, EmittedMetric]] = []
    for logical_id, alarm in resources_of_type(template, "AWS::CloudWatch::Alarm").items():
        properties = samples.render(alarm["Properties"], template)
        dimensions = tuple(sorted((item["Name"], item["Value"]) for item in properties.get("Dimensions", [])))
        watched.append((f"alarm {logical_id}", EmittedMetric(properties["Namespace"], properties["MetricName"],
                                                              dimensions)))  # fmt: skip
    for dashboard in resources_of_type(template, "AWS::CloudWatch::Dashboard").values():
        body = json.loads(samples.render(dashboard["Properties"]["DashboardBody"], template))
        for widget in body["widgets"]:
            for row in widget["properties"].get("metrics", []):
                names = [item for item in row if not isinstance(item, dict)]
                if not names:  # a metric math expression: the mapping's own AWS/Lambda metrics, found by SEARCH
                    continue
                namespace, metric_name, pairs = names[0], names[1], names[2:]
                dimensions = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
                title = widget["properties"].get("title", "")
                watched.append((f"widget {title!r}", EmittedMetric(namespace, metric_name, dimensions)))
    return [(where, metric) for where, metric in watched if not metric.namespace.startswith("AWS/")]


def test_alarms_and_dashboard_watch_what_the_functions_publish_under_a_hyphenated_prefix(
    hyphenated: Synthesized,
    fakes: str,
    lambda_env: LambdaEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    published = published_by_functions(hyphenated, fakes, monkeypatch, capsys) | published_by_metric_filters(hyphenated)
    watched = watched_metrics(hyphenated)
    assert {metric.namespace for metric in published} == {HYPHENATED_PREFIX}
    assert len(watched) >= 15  # 2 alarms and the stream, sync and query graphs
    unpublished = [f"{where}: {metric}" for where, metric in watched if metric not in published]
    assert not unpublished, "watched but never published:\n" + "\n".join(unpublished)
