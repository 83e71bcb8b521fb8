"""The streaming ingest function end to end: a local Bedrock endpoint (botocore retries run for real)
and moto's SQS for the dead-letter queue."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from devtools.fake_bedrock import FakeState, Limits, fake_bedrock_agent
from devtools.lambda_events import FakeLambdaContext, b64, emf_metrics, kafka_event, ticker_value
from function_runtime.environment import from_environment
from stream_ingest import handler as ingest_handler
from stream_ingest.contract import StreamConfig
from stream_ingest.dead_letters import DeadLetterError
from stream_ingest.mapping import TICKER_PRICES
from stream_ingest.records import InvalidEvent
from tests.conftest import PER_KEY_TICKERS, LambdaEnvironment
from tests.support.contracts import use_config, variable_of

KB_ID, DS_ID = "KB12345678", "DS12345678"
TOPIC = "ticker-prices"


KB_NAME = "kbstream-knowledge-base-0123abcd"


@pytest.fixture
def stream(
    lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LambdaEnvironment, FakeState, str]]:
    """(environment, fake Bedrock state, dead-letter queue URL), configured as the stack configures it."""
    with fake_bedrock_agent(Limits(requests_per_second={"IngestKnowledgeBaseDocuments": 5}, max_concurrent=10)) as (
        url,
        state,
    ):
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
        with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
            queue_url = boto3.client("sqs").create_queue(QueueName="stream-dead-letters")["QueueUrl"]
            check_queue_url = boto3.client("sqs").create_queue(QueueName="indexing-checks")["QueueUrl"]
            # 20 requests/s: fast tests; the fake's own quota still applies.
            use_config(
                monkeypatch,
                StreamConfig(
                    knowledge_base_id=KB_ID,
                    knowledge_base_name=KB_NAME,
                    data_source_id=DS_ID,
                    data_source_name="kbstream-stream",
                    dead_letter_queue_url=queue_url,
                    check_queue_url=check_queue_url,
                    document_mapping=dict(TICKER_PRICES),
                    quota_requests_per_second=20,
                    topic_partitions=3,
                    partial_batch_response=False,
                ),
            )
            lambda_env.client("bedrock-agent")
            lambda_env.client("sqs")
            yield lambda_env, state, queue_url


def invoke(event: Any) -> Any:
    return ingest_handler.handler(event, FakeLambdaContext())


def dead_letters(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    letters: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not batch.get("Messages"):
            return letters
        letters += [{**json.loads(m["Body"]), "attributes": m["MessageAttributes"]} for m in batch["Messages"]]
        for message in batch["Messages"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def prices(count: int, partitions: int = 3) -> list[tuple[str, int, int, str | None]]:
    def value(index: int) -> str:
        return ticker_value(f"T{index % 17}", f"${index}.25", 1771151400 + index)

    return [(TOPIC, index % partitions, index // partitions, value(index)) for index in range(count)]


def test_a_multi_partition_batch_is_ingested_in_requests_of_ten(
    stream: tuple[LambdaEnvironment, FakeState, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env, state, queue_url = stream
    result = invoke(kafka_event(prices(45)))
    assert result == {"records": 45, "poison": 0, "documents": 45, "requests": 5, "retries": 0, "ingested": 45,
                      "rejected": 0, "deleted": 0, "not_deleted": 0}  # fmt: skip
    assert sorted(state.documents) == sorted(f"{TOPIC}/{i % 3}/{i // 3}" for i in range(45))
    assert [len(body["documents"]) for _, body in state.requests] == [10, 10, 10, 10, 5]
    assert {(call["knowledgeBaseId"], call["dataSourceId"]) for service, _, call in env.recorder.calls
            if service == "bedrock-agent"} == {(KB_ID, DS_ID)}  # fmt: skip
    assert dead_letters(queue_url) == []
    assert emf_metrics(capsys.readouterr().out) == {"RecordsReceived": 45, "PoisonRecords": 0, "IngestRequests": 5,
                                                    "IngestRetries": 0, "DocumentsIngested": 45,
                                                    "DocumentsRejected": 0, "DocumentsFailed": 0,
                                                    "DocumentsDeleted": 0}  # fmt: skip
    assert env.recorder.problems == []
    # Accepted documents go on to the indexing check.
    assert env.recorder.operations() == {("bedrock-agent", "IngestKnowledgeBaseDocuments"), ("sqs", "SendMessageBatch")}


def test_redelivery_replaces_instead_of_duplicating(stream: tuple[LambdaEnvironment, FakeState, str]) -> None:
    _, state, _ = stream
    event = kafka_event(prices(12))
    invoke(event)
    first = dict(state.documents)
    invoke(event)  # the mapping redelivers the same batch after a failure
    assert state.documents == first
    tokens = [body["clientToken"] for _, body in state.requests]
    # The same requests, recognizably (two are in flight at once, so either may arrive first).
    assert sorted(tokens[:2]) == sorted(tokens[2:])


def test_per_ticker_documents_hold_the_latest_price(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, state, _ = stream
    use_config(monkeypatch, replace(from_environment(StreamConfig), document_mapping=PER_KEY_TICKERS))
    invoke(kafka_event([(TOPIC, 0, 1, ticker_value("ZVZZT", "$1.00", 100), "ZVZZT"),
                        (TOPIC, 1, 7, ticker_value("OOOO", "$44.50", 150), "OOOO"),
                        (TOPIC, 0, 2, ticker_value("ZVZZT", "$3,413.23", 200), "ZVZZT")]))  # fmt: skip
    invoke(kafka_event([(TOPIC, 1, 8, ticker_value("OOOO", "$45.00", 300), "OOOO")]))
    assert set(state.documents) == {"ticker/ZVZZT", "ticker/OOOO"}
    texts = {
        key: doc["content"]["custom"]["inlineContent"]["textContent"]["data"] for key, doc in state.documents.items()
    }
    assert texts["ticker/ZVZZT"].endswith("the price of ZVZZT is $3,413.23.")
    assert texts["ticker/OOOO"].endswith("the price of OOOO is $45.00.")


def test_poison_records_go_to_the_dead_letter_queue_and_valid_ones_still_land(
    stream: tuple[LambdaEnvironment, FakeState, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env, state, queue_url = stream
    event = kafka_event(
        [
            (TOPIC, 0, 10, ticker_value("ZVZZT", "$3,413.23")),
            (TOPIC, 0, 11, b64("not json")),
            (TOPIC, 1, 20, None),
            (TOPIC, 1, 21, ticker_value("NTEST", "$0.45")),
            (TOPIC, 1, 22, ticker_value("ZBZX", "thirty-six")),
            (TOPIC, 2, 30, b64("x" * 1_100_000)),
        ]
    )
    result = invoke(event)
    assert (result["poison"], result["ingested"]) == (4, 2)
    assert sorted(state.documents) == [f"{TOPIC}/0/10", f"{TOPIC}/1/21"]
    letters = sorted(dead_letters(queue_url), key=lambda letter: (letter["partition"], letter["offset"]))
    assert [(letter["partition"], letter["offset"]) for letter in letters] == [(0, 11), (1, 20), (1, 22), (2, 30)]
    assert letters[0]["value"] == b64("not json") and "not JSON" in letters[0]["reason"]
    assert letters[1]["value"] is None and "no value" in letters[1]["reason"]
    assert letters[2]["reason"].startswith("price: 'thirty-six' does not match")
    # Kafka's largest record is 1.4 MiB in base64: the letter keeps what fits SQS's 1 MiB, and says so.
    assert "larger than 1,048,576 bytes" in letters[3]["reason"] and letters[3]["valueTruncated"] is True
    assert b64("x" * 1_100_000).startswith(letters[3]["value"]) and len(letters[3]["value"]) > 1_000_000
    assert letters[2]["attributes"]["offset"] == {"StringValue": "22", "DataType": "Number"}
    assert letters[2]["attributes"]["topic"]["StringValue"] == TOPIC
    assert emf_metrics(capsys.readouterr().out)["PoisonRecords"] == 4
    assert env.recorder.problems == []


def test_throttling_is_absorbed_by_botocore_retries(stream: tuple[LambdaEnvironment, FakeState, str]) -> None:
    _, state, _ = stream
    state.fail_next("IngestKnowledgeBaseDocuments", "ThrottlingException", times=2)  # AWS_MAX_ATTEMPTS=3
    result = invoke(kafka_event(prices(5)))
    assert (result["ingested"], result["retries"]) == (5, 2)
    assert len(state.documents) == 5


def test_persistent_failure_fails_the_invocation_in_on_demand_mode(
    stream: tuple[LambdaEnvironment, FakeState, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, state, queue_url = stream
    state.fail_documents({f"{TOPIC}/0/0"}, "ThrottlingException")
    with pytest.raises(ingest_handler.IngestFailed, match="1 of 1 documents were not ingested: ThrottlingException"):
        invoke(kafka_event(prices(1)))
    assert state.documents == {}
    assert dead_letters(queue_url) == []  # retried by the mapping, not given up
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["DocumentsFailed"], metrics["IngestRetries"]) == (1, 2)  # AWS_MAX_ATTEMPTS=3


def test_persistent_failure_reports_the_failed_records_in_provisioned_mode(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, state, _ = stream
    use_config(monkeypatch, replace(from_environment(StreamConfig), partial_batch_response=True,
                                    quota_requests_per_second=1000))  # fmt: skip
    # 12 records on partition 0: two requests; the first (offsets 0-9) keeps failing.
    state.fail_documents({f"{TOPIC}/0/3"}, "InternalServerException")
    result = invoke(kafka_event([(TOPIC, 0, offset, ticker_value("Z", "$1.00")) for offset in range(12)]))
    failures = result["batchItemFailures"]
    assert failures[0] == {"itemIdentifier": {"partition": f"{TOPIC}-0", "offset": 0}}
    assert {item["itemIdentifier"]["offset"] for item in failures} == set(range(10))
    assert sorted(state.documents) == [f"{TOPIC}/0/10", f"{TOPIC}/0/11"]


def test_success_in_provisioned_mode_reports_no_failures(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, replace(from_environment(StreamConfig), partial_batch_response=True))
    assert invoke(kafka_event(prices(3))) == {"batchItemFailures": []}


def test_an_empty_batch_calls_nothing(stream: tuple[LambdaEnvironment, FakeState, str]) -> None:
    env, state, _ = stream
    assert invoke(kafka_event([]))["records"] == 0
    assert state.requests == [] and env.recorder.calls == []


def test_an_event_that_is_not_an_msk_batch_fails_clearly(stream: tuple[LambdaEnvironment, FakeState, str]) -> None:
    env, _, _ = stream
    with pytest.raises(InvalidEvent, match="not an MSK event"):
        invoke({"question": "what is ZVZZT worth?"})
    assert env.recorder.calls == []


def test_a_dead_letter_that_cannot_be_stored_fails_the_batch_before_ingesting(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, state, _ = stream
    sqs = env.client("sqs")
    with Stubber(sqs) as stub:
        stub.add_response(
            "send_message_batch",
            {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]},
            {"QueueUrl": ANY, "Entries": ANY},
        )
        with pytest.raises(DeadLetterError, match="1 dead letters were not stored"):
            invoke(kafka_event([(TOPIC, 0, 1, b64("garbage")), (TOPIC, 0, 2, ticker_value("A", "$1"))]))
    assert state.requests == []


def test_documents_bedrock_rejects_are_dead_lettered_not_retried(
    stream: tuple[LambdaEnvironment, FakeState, str],
) -> None:
    env, _, queue_url = stream
    agent = env.client("bedrock-agent")
    detail = {"knowledgeBaseId": KB_ID, "dataSourceId": DS_ID, "identifier": {"dataSourceType": "CUSTOM"}}
    with Stubber(agent) as stub:
        stub.add_response(
            "ingest_knowledge_base_documents",
            {"documentDetails": [
                {**detail, "status": "FAILED", "statusReason": "metadata too large",
                 "identifier": {"dataSourceType": "CUSTOM", "custom": {"id": f"{TOPIC}/0/1"}}},
                {**detail, "status": "STARTING",
                 "identifier": {"dataSourceType": "CUSTOM", "custom": {"id": f"{TOPIC}/0/2"}}},
            ]},
            None,
        )  # fmt: skip
        result = invoke(kafka_event([(TOPIC, 0, 1, ticker_value("A", "$1")), (TOPIC, 0, 2, ticker_value("B", "$2"))]))
    assert (result["ingested"], result["rejected"]) == (1, 1)
    (letter,) = dead_letters(queue_url)
    assert (letter["offset"], letter["value"]) == (1, ticker_value("A", "$1"))
    assert letter["reason"] == f"Bedrock rejected {TOPIC}/0/1: FAILED: metadata too large"


def test_missing_configuration_is_a_clear_error(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = variable_of(StreamConfig, "dead_letter_queue_url")
    monkeypatch.delenv(name)
    with pytest.raises(RuntimeError, match=f"{name} is not set"):
        invoke(kafka_event(prices(1)))


def test_a_document_bedrock_refuses_as_invalid_is_dead_lettered_and_the_rest_of_its_request_ingested(
    stream: tuple[LambdaEnvironment, FakeState, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, state, queue_url = stream
    # The halving sends several requests in a row: pace them under the fake's 5 requests/s, as deployed.
    use_config(monkeypatch, replace(from_environment(StreamConfig), quota_requests_per_second=4.75, topic_partitions=1))
    # Bedrock answers ValidationException for the whole request that carries this document.
    state.fail_documents({f"{TOPIC}/1/2"}, "ValidationException")
    result = invoke(kafka_event(prices(10)))  # one request of ten
    assert (result["ingested"], result["rejected"]) == (9, 1)  # no IngestFailed: the batch completes
    assert sorted(state.documents) == sorted(f"{TOPIC}/{i % 3}/{i // 3}" for i in range(10) if i != 7)
    (letter,) = dead_letters(queue_url)
    assert (letter["partition"], letter["offset"], letter["documentId"]) == (1, 2, f"{TOPIC}/1/2")
    assert letter["reason"] == f"Bedrock rejected {TOPIC}/1/2: ValidationException: fake: ValidationException"
    # The request was halved until the document stood alone: 1 + 2 + 2 + 2 requests (halves of 10, 5, 3, 2).
    assert result["requests"] == len(state.requests) + 4  # the fake keeps only the accepted ones
    assert emf_metrics(capsys.readouterr().out)["DocumentsRejected"] == 1


TICKETS = {
    "format": "json",
    "schema": {"type": "object", "required": ["id", "subject", "body"],
               "properties": {"id": {"type": "integer"}, "subject": {"type": "string"}, "body": {"type": "string"},
                              "priority": {"type": "integer"}}},
    "id": "ticket/{id}",
    "text": "{subject}\n\n{body}",
    "metadata": {"priority": "priority"},
}  # fmt: skip


def test_a_ticket_topic_streams_through_the_same_function(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, state, queue_url = stream
    use_config(monkeypatch, replace(from_environment(StreamConfig), document_mapping=TICKETS))
    ticket = {"id": 7, "subject": "Export stalls", "body": "It stops at 90 percent. " * 1300, "priority": 2}
    bad = {"id": 8, "subject": "Hi", "body": "?", "priority": "high"}
    result = invoke(kafka_event([("support-tickets", 0, 0, b64(json.dumps(ticket))),
                                 ("support-tickets", 1, 0, b64(json.dumps(bad)))]))  # fmt: skip
    assert (result["ingested"], result["poison"]) == (1, 1)
    document = state.documents["ticket/7"]
    assert document["content"]["custom"]["inlineContent"]["textContent"]["data"].startswith("Export stalls\n\nIt stops")
    assert len(document["content"]["custom"]["inlineContent"]["textContent"]["data"]) > 30_000
    (letter,) = dead_letters(queue_url)
    assert letter["reason"] == "priority: 'high' is not of type 'integer'"
    assert env.recorder.problems == []


ORDERS_BY_KEY: dict[str, Any] = {"format": "json", "id": "order/{key}", "keyFormat": "long",
                                 "text": "Order {order_id:,}: {note}", "metadata": {"note": "note"}}  # fmt: skip


def test_hostile_records_across_partitions_become_dead_letters_and_never_stall_the_batch(
    stream: tuple[LambdaEnvironment, FakeState, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several partitions, a hot key, binary keys, and every content that used to fail the invocation, mixed with
    good records: the invocation succeeds, the good records are documents, each bad one a dead letter with its
    reason, and a tombstone for a document Bedrock never held is not counted as a deletion."""
    env, state, queue_url = stream
    use_config(monkeypatch, replace(from_environment(StreamConfig), document_mapping=ORDERS_BY_KEY))

    def order(number: int, note: str = "ok") -> str:
        return b64(json.dumps({"order_id": number, "note": note}))

    huge = b64('{"order_id": 1, "note": ' + "9" * 5_000 + "}")
    surrogate = b64('{"order_id": 2, "note": "\\ud800"}')
    specs: list[tuple[str, int, int, str | None]] = [(TOPIC, 0, offset, order(1_000 + offset)) for offset in range(25)]
    specs += [(TOPIC, 1, 0, huge), (TOPIC, 1, 1, surrogate), (TOPIC, 1, 2, order(12, "x" * 2_000)),
              (TOPIC, 2, 0, order(7)), (TOPIC, 2, 1, None)]  # fmt: skip
    event = kafka_event(specs)
    keys = {(0, offset): 42 for offset in range(25)}  # a hot key: one document for 25 records
    keys |= {(1, 0): 43, (1, 1): 44, (1, 2): 45, (2, 0): 46, (2, 1): 47}
    for records in event["records"].values():
        for record in records:
            record["key"] = base64.b64encode(struct.pack(">q", keys[record["partition"], record["offset"]])).decode()
    result = invoke(event)
    assert (result["records"], result["poison"], result["ingested"]) == (30, 3, 2)
    assert (result["deleted"], result["not_deleted"]) == (0, 1)  # order/47 was never written
    assert sorted(state.documents) == ["order/42", "order/46"]
    assert state.documents["order/42"]["content"]["custom"]["inlineContent"]["textContent"]["data"] == "Order 1,024: ok"
    reasons = {(letter["partition"], letter["offset"]): letter["reason"] for letter in dead_letters(queue_url)}
    assert set(reasons) == {(1, 0), (1, 1), (1, 2)}
    assert "5,000 digits" in reasons[1, 0] and "lone surrogate" in reasons[1, 1] and "metadata" in reasons[1, 2]
    assert env.recorder.problems == []
