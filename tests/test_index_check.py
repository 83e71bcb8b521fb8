"""Accepted is not searchable: the stream function hands accepted documents to the indexing check, which
follows them to INDEXED or dead-letters them with Bedrock's reason.

End to end on a local Bedrock endpoint that indexes asynchronously (botocore's retries run for real)
and moto's SQS; every call is recorded and validated against the botocore model.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.fake_bedrock import FakeState, Limits, fake_bedrock_agent
from devtools.lambda_events import FakeLambdaContext, b64, emf_metrics, kafka_event, sqs_event, ticker_value
from index_check import handler as check_handler
from index_check.checks import check_documents
from index_check.contract import IndexCheckConfig, PendingCheck
from stream_ingest import handler as ingest_handler
from stream_ingest.contract import StreamConfig
from stream_ingest.ingest import Pacer
from stream_ingest.mapping import TICKER_PRICES
from stream_ingest.pipeline import process_batch
from tests.conftest import PER_KEY_TICKERS, LambdaEnvironment
from tests.support.contracts import use_config

KB_ID, DS_ID, KB_NAME = "KB12345678", "DS12345678", "kbstream-knowledge-base-0123abcd"
DS_NAME = "kbstream-stream"
TOPIC = "ticker-prices"
INDEXING_SECONDS = 0.3


@dataclass
class Pipeline:
    env: LambdaEnvironment
    state: FakeState
    dead_letters: str
    checks: str
    stream: StreamConfig
    check: IndexCheckConfig


@pytest.fixture
def pipeline(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    limits = Limits(requests_per_second={"IngestKnowledgeBaseDocuments": 10}, max_concurrent=10,
                    indexing_seconds=INDEXING_SECONDS)  # fmt: skip
    with fake_bedrock_agent(limits) as (url, state):
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", url)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
        with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
            sqs = boto3.client("sqs")
            dead_letters = sqs.create_queue(QueueName="stream-dead-letters")["QueueUrl"]
            checks = sqs.create_queue(QueueName="indexing-checks")["QueueUrl"]
            stream = StreamConfig(knowledge_base_id=KB_ID, knowledge_base_name=KB_NAME, data_source_id=DS_ID,
                                  data_source_name=DS_NAME,
                                  dead_letter_queue_url=dead_letters, check_queue_url=checks,
                                  document_mapping=dict(TICKER_PRICES), quota_requests_per_second=9.5,
                                  topic_partitions=2, partial_batch_response=False)  # fmt: skip
            check = IndexCheckConfig(knowledge_base_id=KB_ID, knowledge_base_name=KB_NAME, data_source_id=DS_ID,
                                     data_source_name=DS_NAME,
                                     check_queue_url=checks, dead_letter_queue_url=dead_letters,
                                     status_requests_per_second=20, indexed_within_seconds=60)  # fmt: skip
            lambda_env.client("bedrock-agent")
            lambda_env.client("sqs")
            yield Pipeline(lambda_env, state, dead_letters, checks, stream, check)


def prices(count: int, partitions: int = 2) -> list[tuple[str, int, int, str | None]]:
    return [(TOPIC, index % partitions, index // partitions,
             ticker_value(f"T{index % 17}", f"${index}.25", 1771151400 + index)) for index in range(count)]  # fmt: skip


def ingest(pipeline: Pipeline, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    use_config(monkeypatch, pipeline.stream)
    return ingest_handler.handler(event, FakeLambdaContext())


def drain(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"]).get("Messages"):  # fmt: skip
        messages += batch
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def run_checks(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> dict[str, float]:
    """Deliver every waiting check message to the indexing check (as the queue would), until none is left."""
    use_config(monkeypatch, pipeline.check)
    capsys.readouterr()
    while messages := drain(pipeline.checks):
        time.sleep(INDEXING_SECONDS)  # the queue's delivery delay
        check_handler.handler(sqs_event([message["Body"] for message in messages]), FakeLambdaContext())  # type: ignore[arg-type]
    return emf_metrics(capsys.readouterr().out)


def test_documents_that_fail_after_acceptance_end_in_the_dead_letter_queue_with_their_reason(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.state.failing_indexing[f"{TOPIC}/1/3"] = "The embedding model rejected the text"
    records = prices(20)
    summary = ingest(pipeline, kafka_event(records), monkeypatch)
    assert summary["ingested"] == 20  # accepted: not yet searchable
    metrics = run_checks(pipeline, monkeypatch, capsys)
    assert (metrics["DocumentsIndexed"], metrics["DocumentsNotIndexed"]) == (19, 1)
    (letter,) = [json.loads(message["Body"]) for message in drain(pipeline.dead_letters)]
    value = next(value for topic, partition, offset, value in records if (partition, offset) == (1, 3))
    assert letter == {"topic": TOPIC, "partition": 1, "offset": 3, "documentId": f"{TOPIC}/1/3", "status": "FAILED",
                      "statusReason": "The embedding model rejected the text",
                      "reason": "FAILED: The embedding model rejected the text", "value": value,
                      "valueTruncated": False}  # fmt: skip
    assert pipeline.env.recorder.problems == []
    assert ("bedrock-agent", "GetKnowledgeBaseDocuments") in pipeline.env.recorder.operations()


def test_freshness_is_measured_from_the_kafka_timestamp(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = kafka_event(prices(4))
    published = time.time() - 2.0
    for records in event["records"].values():
        for record in records:
            record["timestamp"] = int(published * 1000)
    ingest(pipeline, event, monkeypatch)
    metrics = run_checks(pipeline, monkeypatch, capsys)
    # Each record of an indexed document yields one freshness value: at least the 2 s it waited in Kafka.
    assert metrics["DocumentsIndexed"] == 4
    assert 4 * 2.0 <= metrics["Freshness"] < 4 * 30.0


def test_documents_that_never_finish_are_checked_again_then_dead_lettered_after_the_bound(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stuck = f"{TOPIC}/0/0"
    ingest(pipeline, kafka_event(prices(2)), monkeypatch)
    pipeline.state.never_indexed.add(stuck)
    use_config(monkeypatch, pipeline.check)
    messages = drain(pipeline.checks)
    time.sleep(INDEXING_SECONDS)
    check_handler.handler(sqs_event([m["Body"] for m in messages]), FakeLambdaContext())  # type: ignore[arg-type]
    (again,) = drain(pipeline.checks)  # still indexing: sent back to be checked later
    assert [document.document_id for document in PendingCheck.parse(again["Body"]).documents] == [stuck]
    overdue = PendingCheck.parse(again["Body"])
    overdue = PendingCheck(overdue.accepted_at - 120, overdue.documents)  # past the 60 s bound
    check_handler.handler(sqs_event([overdue.body()]), FakeLambdaContext())  # type: ignore[arg-type]
    (letter,) = [json.loads(message["Body"]) for message in drain(pipeline.dead_letters)]
    assert letter["reason"] == "not indexed within 60 s (still IN_PROGRESS)"
    assert (letter["documentId"], letter["offset"]) == (stuck, 0)
    assert drain(pipeline.checks) == []


def test_redelivering_a_batch_after_partial_confirmation_duplicates_nothing(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = kafka_event(prices(12))
    ingest(pipeline, event, monkeypatch)
    first = dict(pipeline.state.documents)
    partly = drain(pipeline.checks)[:1]  # the function confirmed part of the batch, then the batch came again
    use_config(monkeypatch, pipeline.check)
    time.sleep(INDEXING_SECONDS)
    check_handler.handler(sqs_event([m["Body"] for m in partly]), FakeLambdaContext())  # type: ignore[arg-type]
    ingest(pipeline, event, monkeypatch)
    assert pipeline.state.documents == first  # the same 12 documents, under the same IDs
    metrics = run_checks(pipeline, monkeypatch, capsys)
    assert metrics["DocumentsNotIndexed"] == 0
    assert drain(pipeline.dead_letters) == []


def test_a_two_partition_batch_and_concurrent_one_partition_invocations_stay_within_the_quota(
    pipeline: Pipeline,
) -> None:
    agent, sqs = pipeline.env.client("bedrock-agent"), pipeline.env.client("sqs")
    process_batch(kafka_event(prices(60)), pipeline.stream, agent=agent, sqs=sqs)  # both partitions in one batch
    both = [kafka_event([r for r in prices(120, 2) if r[1] == p]) for p in (0, 1)]
    threads = [threading.Thread(target=process_batch, args=(event, pipeline.stream),
                                kwargs={"agent": agent, "sqs": sqs}) for event in both]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    requests = sum(1 for operation, _ in pipeline.state.requests if operation == "IngestKnowledgeBaseDocuments")
    assert requests == 6 + 12  # every document accepted, in requests of ten, whatever the batch shape
    assert len(pipeline.state.documents) == 120  # offsets 0-59 of both partitions, the first 30 sent twice
    # How evenly the requests are spaced is wall-clock behaviour: the slots the pacers choose are unit-tested
    # (test_stream_records: concurrent pacers share one schedule without collisions), and `make benchmark`
    # measures the throttled share in every shape (0 in docs/benchmarks.md).


def with_tombstone(event: dict[str, Any], partition: int, offset: int, ticker: str) -> dict[str, Any]:
    """The event with a record that has a key and no value appended to its partition."""
    record = {"topic": TOPIC, "partition": partition, "offset": offset, "timestamp": 1771151400000,
              "timestampType": "CREATE_TIME", "headers": [], "key": b64(ticker)}  # fmt: skip
    event["records"].setdefault(f"{TOPIC}-{partition}", []).append(record)
    return event


def test_a_tombstone_deletes_its_keys_document(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.stream = replace(pipeline.stream, document_mapping=PER_KEY_TICKERS)
    ingest(pipeline, kafka_event([(TOPIC, 0, 1, ticker_value("ZVZZT", "$3.25"), "ZVZZT")]), monkeypatch)
    assert "ticker/ZVZZT" in pipeline.state.documents
    capsys.readouterr()
    summary = ingest(pipeline, with_tombstone(kafka_event([(TOPIC, 1, 5, ticker_value("OOOO", "$1.00"), "OOOO")]), 0,
                                              2, "ZVZZT"), monkeypatch)  # fmt: skip
    assert summary["deleted"] == 1 and pipeline.state.deleted == ["ticker/ZVZZT"]
    assert "ticker/ZVZZT" not in pipeline.state.documents and "ticker/OOOO" in pipeline.state.documents
    assert emf_metrics(capsys.readouterr().out)["DocumentsDeleted"] == 1
    assert drain(pipeline.dead_letters) == []
    assert pipeline.env.recorder.problems == []


def test_a_later_price_in_the_same_batch_outlives_the_tombstone(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.stream = replace(pipeline.stream, document_mapping=PER_KEY_TICKERS)
    event = with_tombstone(kafka_event([(TOPIC, 0, 9, ticker_value("ZVZZT", "$4.00"), "ZVZZT")]), 0, 3, "ZVZZT")
    summary = ingest(pipeline, event, monkeypatch)
    assert summary["deleted"] == 0 and pipeline.state.deleted == []
    assert "ticker/ZVZZT" in pipeline.state.documents


def test_a_tombstone_is_dead_lettered_where_documents_are_not_keyed(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(pipeline, with_tombstone(kafka_event([]), 0, 4, "ZVZZT"), monkeypatch)
    (letter,) = [json.loads(message["Body"]) for message in drain(pipeline.dead_letters)]
    assert letter["reason"].startswith("tombstone") and (letter["partition"], letter["offset"]) == (0, 4)
    assert pipeline.state.deleted == []


def test_an_unusable_check_message_is_quarantined_with_its_reason(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, pipeline.check)
    result = check_handler.handler(sqs_event(["not json", '{"documents": []}']), FakeLambdaContext())  # type: ignore[arg-type]
    assert result == {"batchItemFailures": []}  # nothing to retry: both are kept with their reason
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"][:30] for m in drain(pipeline.dead_letters))
    assert len(reasons) == 2 and all(reason for reason in reasons)


def test_a_hot_key_updated_9000_times_in_one_batch_loses_nothing_to_sqs_limits(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One key, 9,000 updates, beside other partitions' records: one document standing for 9,000 records.
    pipeline.stream = replace(pipeline.stream, document_mapping=PER_KEY_TICKERS)
    hot = [(TOPIC, 0, offset, ticker_value("ZVZZT", f"${offset}.25", 1771151400 + offset), "ZVZZT")
           for offset in range(9000)]  # fmt: skip
    others = [(TOPIC, 1, offset, ticker_value(f"T{offset}", "$1.00"), f"T{offset}") for offset in range(30)]
    summary = ingest(pipeline, kafka_event(hot + others), monkeypatch)
    assert (summary["documents"], summary["ingested"]) == (31, 31)
    attributes = pipeline.state.documents["ticker/ZVZZT"]["metadata"]["inlineAttributes"]
    assert {item["key"]: item["value"] for item in attributes}["price"] == {"type": "NUMBER", "numberValue": 8999.25}
    # moto refuses any message or batch over SQS's 1 MiB; the checks split the hot document's records instead.
    checks = [PendingCheck.parse(message["Body"]) for message in drain(pipeline.checks)]
    assert len(checks) >= 2
    hot_sources = [source for check in checks for document in check.documents if document.document_id == "ticker/ZVZZT"
                   for source in document.sources]  # fmt: skip
    assert sorted(source.offset for source in hot_sources) == list(range(9000))
    assert all(source.value == hot[source.offset][3] and not source.value_truncated for source in hot_sources)
    # If that document then fails to index, every one of its 9,000 records is dead-lettered with its value.
    # (The check's logic, called directly: moto's SQS slows down quadratically with a queue's length.)
    pipeline.state.failing_indexing["ticker/ZVZZT"] = "fake: the embedding model rejected the content"
    time.sleep(INDEXING_SECONDS)
    letters = [letter for check in checks for letter in check_documents(
        pipeline.env.client("bedrock-agent"), check, knowledge_base_id=KB_ID, data_source_id=DS_ID,
        pacer=Pacer(1000), now=time.time(), indexed_within_seconds=60).letters]  # fmt: skip
    assert sorted(letter.coordinates.offset for letter in letters) == list(range(9000))
    assert all(letter.value == hot[letter.coordinates.offset][3] for letter in letters)
    assert all(not json.loads(letter.body())["valueTruncated"] for letter in letters)


def test_a_document_its_key_deleted_before_the_check_ran_is_not_an_indexing_failure(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.stream = replace(pipeline.stream, document_mapping=PER_KEY_TICKERS)
    pipeline.check = replace(pipeline.check, deleted_by_tombstones=True)
    ingest(pipeline, kafka_event([(TOPIC, 0, 1, ticker_value("ZVZZT", "$3.25"), "ZVZZT")]), monkeypatch)
    ingest(pipeline, with_tombstone(kafka_event([]), 0, 2, "ZVZZT"), monkeypatch)
    assert pipeline.state.deleted == ["ticker/ZVZZT"]
    metrics = run_checks(pipeline, monkeypatch, capsys)
    assert drain(pipeline.dead_letters) == []
    assert (metrics["DocumentsDeletedBeforeIndexed"], metrics["DocumentsNotIndexed"]) == (1, 0)


def test_where_nothing_deletes_documents_a_vanished_one_is_still_a_failure(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(pipeline, kafka_event(prices(1)), monkeypatch)
    pipeline.state.accepted_at.clear()  # gone from Bedrock without a tombstone: NOT_FOUND
    run_checks(pipeline, monkeypatch, capsys)
    (letter,) = [json.loads(message["Body"]) for message in drain(pipeline.dead_letters)]
    assert letter["status"] == "NOT_FOUND"


def test_a_check_message_whose_dead_letters_cannot_be_stored_alone_goes_round_again(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(pipeline, kafka_event(prices(1)), monkeypatch)
    ingest(pipeline, kafka_event([(TOPIC, 1, 0, ticker_value("OOOO", "$44.50"))]), monkeypatch)
    first, second = (PendingCheck.parse(message["Body"]) for message in drain(pipeline.checks))
    time.sleep(INDEXING_SECONDS)
    pipeline.state.failing_indexing[first.documents[0].document_id] = "fake: rejected"
    use_config(monkeypatch, pipeline.check)
    from botocore.stub import ANY, Stubber

    with Stubber(pipeline.env.client("sqs")) as stub:  # the failed document's dead letters are refused
        refused = {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]}
        stub.add_response("send_message_batch", refused, {"QueueUrl": ANY, "Entries": ANY})
        result = check_handler.handler(sqs_event([first.body(), second.body()]), FakeLambdaContext())  # type: ignore[arg-type]
    assert result == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
