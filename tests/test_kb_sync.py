"""The document-sync function: batches of change notices become one ingestion job, or a retry later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from devtools.fake_bedrock import FakeState, fake_bedrock_agent
from devtools.lambda_events import FakeLambdaContext, emf_metrics, sqs_event
from kb_sync import handler as sync_handler
from kb_sync.contract import SyncConfig
from kb_sync.sync import ChangeNotice, InvalidMessage, client_token, describe, parse_notice
from tests.conftest import LambdaEnvironment
from tests.support.contracts import use_config, variable_of

BUCKET = "kbstream-documents-123456789012-us-east-1"
DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/dead-letters"
KB_ID, DS_ID = "KB12345678", "DS12345678"


def s3_event(key: str, change: str = "Object Created", bucket: str = BUCKET) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "e1",
            "detail-type": change,
            "source": "aws.s3",
            "account": "123456789012",
            "region": "us-east-1",
            "time": "2026-11-22T10:00:00Z",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {"bucket": {"name": bucket}, "object": {"key": key, "size": 10}, "reason": "PutObject"},
        }
    )


DEPLOYMENT = json.dumps({"trigger": "deployment", "documentsVersion": "0123456789abcdef0123"})


@pytest.fixture
def env(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, SyncConfig(knowledge_base_id=KB_ID, data_source_id=DS_ID, bucket=BUCKET,
                                       prefix="documents/", dead_letter_queue_url=DLQ_URL))  # fmt: skip
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    return lambda_env


def invoke(bodies: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = sync_handler.handler(sqs_event(bodies), FakeLambdaContext())  # type: ignore[arg-type]
    return result


def job_response(job_id: str = "JOB1234567") -> dict[str, Any]:
    return {
        "ingestionJob": {
            "knowledgeBaseId": KB_ID,
            "dataSourceId": DS_ID,
            "ingestionJobId": job_id,
            "status": "STARTING",
            "startedAt": "2026-11-22T10:00:00Z",
            "updatedAt": "2026-11-22T10:00:00Z",
        }
    }


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "summary"),
    [
        (s3_event("documents/a.pdf"), "Object Created documents/a.pdf"),
        (s3_event("documents/old.txt", "Object Deleted"), "Object Deleted documents/old.txt"),
        (DEPLOYMENT, "deployment 0123456789ab"),
    ],
)
def test_valid_notices(body: str, summary: str) -> None:
    assert parse_notice("m1", body, bucket=BUCKET, prefix="documents/") == ChangeNotice("m1", summary)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "body is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"source": "aws.ec2", "detail-type": "Object Created"}), "not an S3 object change"),
        (json.dumps({"source": "aws.s3", "detail-type": "Object Restore Completed"}), "not an S3 object change"),
        (json.dumps({"source": "aws.s3", "detail-type": "Object Created"}), "without detail"),
        (s3_event("documents/a.pdf", bucket="someone-else"), "expected"),
        (s3_event("elsewhere/a.pdf"), "outside the prefix"),
        (json.dumps({"trigger": "deployment"}), "without documentsVersion"),
        # Hostile shapes: each is one quarantined message, never an exception for the whole batch.
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": "b", "object": {}}}),
            "detail.bucket or detail.object is not an object",
        ),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}, "object": [1]}}),
            "detail.bucket or detail.object is not an object",
        ),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_invalid_notices_say_why(body: str, reason: str) -> None:
    with pytest.raises(InvalidMessage, match=reason):
        parse_notice("m1", body, bucket=BUCKET, prefix="documents/")


def test_token_depends_on_the_messages_only() -> None:
    first = [ChangeNotice("a", "x"), ChangeNotice("b", "y")]
    assert client_token(first) == client_token(list(reversed(first)))
    assert client_token(first) != client_token([ChangeNotice("a", "x")])
    assert 33 <= len(client_token(first)) <= 256


def test_description_fits_the_api_limit() -> None:
    notices = [ChangeNotice(str(i), f"Object Created documents/{i:04}.pdf") for i in range(50)]
    assert len(describe(notices)) <= 200
    assert describe([ChangeNotice("a", "x"), ChangeNotice("b", "x")]) == "2 change(s): x"


# --- the handler ---------------------------------------------------------------------------------


def test_a_burst_of_changes_starts_one_job(env: LambdaEnvironment, capsys: pytest.CaptureFixture[str]) -> None:
    bodies = [s3_event(f"documents/{i}.pdf") for i in range(5)] + [DEPLOYMENT]
    agent = env.client("bedrock-agent")
    with Stubber(agent) as stub:
        stub.add_response(
            "start_ingestion_job",
            job_response(),
            {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "clientToken": ANY, "description": ANY},
        )
        assert invoke(bodies) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()
    assert emf_metrics(capsys.readouterr().out) == {"IngestionJobsStarted": 1}
    assert env.recorder.problems == []


def test_repeated_events_collapse_and_redelivery_reuses_the_token(env: LambdaEnvironment) -> None:
    bodies = [s3_event("documents/a.pdf")] * 3
    agent = env.client("bedrock-agent")
    with Stubber(agent) as stub:
        for _ in range(2):
            stub.add_response("start_ingestion_job", job_response(), None)
        invoke(bodies)
        invoke(bodies)  # the same batch delivered again
    (first, second) = [params for _, operation, params in env.recorder.calls if operation == "StartIngestionJob"]
    assert first["clientToken"] == second["clientToken"]
    assert first["description"] == "3 change(s): Object Created documents/a.pdf"


@pytest.mark.parametrize("code", ["ConflictException", "ServiceQuotaExceededException"])
def test_busy_returns_every_notice_to_the_queue(
    env: LambdaEnvironment, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    agent = env.client("bedrock-agent")
    with Stubber(agent) as stub:
        stub.add_client_error("start_ingestion_job", service_error_code=code, http_status_code=409)
        result = invoke([s3_event("documents/a.pdf"), s3_event("documents/b.pdf")])
        stub.assert_no_pending_responses()
    assert result == {"batchItemFailures": [{"itemIdentifier": "message-0"}, {"itemIdentifier": "message-1"}]}
    assert emf_metrics(capsys.readouterr().out) == {"SyncsDeferred": 1}


@pytest.fixture
def fake_agent(env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeState]:
    """A local Bedrock endpoint: requests pass through botocore's retry handling, unlike with Stubber."""
    with fake_bedrock_agent() as (url, state):
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", url)
        yield state


def test_throttling_is_retried_by_botocore_then_succeeds(fake_agent: FakeState) -> None:
    fake_agent.fail_next("StartIngestionJob", "ThrottlingException")  # AWS_MAX_ATTEMPTS=2 allows one retry
    assert invoke([s3_event("documents/a.pdf")]) == {"batchItemFailures": []}
    assert [operation for operation, _ in fake_agent.requests] == ["StartIngestionJob"]


def test_persistent_throttling_defers_the_batch(fake_agent: FakeState, capsys: pytest.CaptureFixture[str]) -> None:
    fake_agent.fail_next("StartIngestionJob", "ThrottlingException", times=2)
    assert invoke([s3_event("documents/a.pdf")]) == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert emf_metrics(capsys.readouterr().out) == {"SyncsDeferred": 1}
    assert fake_agent.requests == []


def test_invalid_messages_are_quarantined_and_do_not_stop_valid_ones(
    env: LambdaEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    agent, sqs = env.client("bedrock-agent"), env.client("sqs")
    with Stubber(agent) as agent_stub, Stubber(sqs) as sqs_stub:
        sqs_stub.add_response(
            "send_message",
            {"MessageId": "q1"},
            {
                "QueueUrl": DLQ_URL,
                "MessageBody": "garbage",
                "MessageAttributes": {
                    "reason": {"DataType": "String", "StringValue": ANY},
                    "originalMessageId": {"DataType": "String", "StringValue": "message-0"},
                },
            },
        )
        agent_stub.add_response("start_ingestion_job", job_response(), None)
        assert invoke(["garbage", s3_event("documents/a.pdf")]) == {"batchItemFailures": []}
        agent_stub.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()
    assert emf_metrics(capsys.readouterr().out) == {"InvalidSyncMessages": 1, "IngestionJobsStarted": 1}
    assert env.recorder.problems == []


def test_a_batch_of_only_invalid_messages_calls_no_bedrock(env: LambdaEnvironment) -> None:
    sqs = env.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_response("send_message", {"MessageId": "q1"}, None)
        assert invoke([""]) == {"batchItemFailures": []}
    assert env.recorder.operations() == {("sqs", "SendMessage")}


def test_an_unexpected_error_fails_the_invocation(env: LambdaEnvironment) -> None:
    from botocore.exceptions import ClientError

    agent = env.client("bedrock-agent")
    with Stubber(agent) as stub:
        stub.add_client_error("start_ingestion_job", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(ClientError, match="AccessDenied"):
            invoke([s3_event("documents/a.pdf")])


def test_missing_configuration_is_a_clear_error(env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    name = variable_of(SyncConfig, "data_source_id")
    monkeypatch.delenv(name)
    with pytest.raises(RuntimeError, match=f"{name} is not set"):
        invoke([s3_event("documents/a.pdf")])


def test_hostile_messages_are_quarantined_with_their_reasons_and_the_real_changes_still_sync(
    env: LambdaEnvironment, capsys: pytest.CaptureFixture[str]
) -> None:
    string_bucket = json.dumps({"source": "aws.s3", "detail-type": "Object Created",
                                "detail": {"bucket": "kb-docs", "object": {"key": "documents/x"}}})  # fmt: skip
    bodies = [string_bucket, "[" * 100_000, *(s3_event(f"documents/{index}.pdf") for index in range(8))]
    agent, sqs = env.client("bedrock-agent"), env.client("sqs")
    with Stubber(agent) as agent_stub, Stubber(sqs) as sqs_stub:
        for _ in range(2):
            sqs_stub.add_response("send_message", {"MessageId": "q"}, None)
        agent_stub.add_response("start_ingestion_job", job_response(), None)
        assert invoke(bodies) == {"batchItemFailures": []}
        agent_stub.assert_no_pending_responses()
        sqs_stub.assert_no_pending_responses()
    reasons = [call["MessageAttributes"]["reason"]["StringValue"] for service, operation, call in env.recorder.calls
               if operation == "SendMessage"]  # fmt: skip
    assert reasons == ["S3 event whose detail.bucket or detail.object is not an object",
                       "body is JSON nested too deeply to read"]  # fmt: skip
    assert emf_metrics(capsys.readouterr().out) == {"InvalidSyncMessages": 2, "IngestionJobsStarted": 1}
