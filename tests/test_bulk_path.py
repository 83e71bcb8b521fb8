"""The bulk path (docs/bulk-path.md): the stream function writing objects (moto's S3 and SQS), the ingestion-job
starter taking turns between the data sources, and the indexing check following objects through jobs (the fakes
of devtools.fake_ingestion, on a simulated clock)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from devtools.fake_ingestion import IngestionJobs, JobLimits, ObjectStore
from devtools.lambda_events import FakeLambdaContext, b64, emf_metrics, kafka_event, ticker_value
from devtools.sdk_model import service_model, validate_value
from function_runtime.environment import from_environment
from index_check.contract import PendingCheck, PendingDocument, PendingSource
from index_check.jobs import JobHistory, follow_objects
from ingestion_jobs.contract import LOOK_INTERVAL_SECONDS, DataSourceRole
from ingestion_jobs.markers import mark_waiting
from ingestion_jobs.starter import Starter, Step
from stream_ingest import handler as ingest_handler
from stream_ingest.contract import StreamConfig
from stream_ingest.documents import StreamDocument
from stream_ingest.ingest import Pacer
from stream_ingest.mapping import MAX_DOCUMENT_ID_CHARACTERS, TICKER_PRICES, parse_mapping
from stream_ingest.objects import (
    MAX_OBJECT_CHARACTERS,
    ROWS_PER_OBJECT,
    SIDECAR_SUFFIX,
    document_key,
    record_groups,
)
from stream_ingest.records import Coordinates
from tests.conftest import BULK_TICKERS, PER_KEY_TICKERS, LambdaEnvironment
from tests.support.contracts import use_config

KB_ID, STREAM_DS, DOCUMENTS_DS = "KB12345678", "DS12345678", "DS87654321"
BUCKET = "kbstream-documents-123456789012-us-east-1"
TOPIC = "ticker-prices"


@pytest.fixture
def bulk(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LambdaEnvironment, str]]:
    """(environment, dead-letter queue URL): the stream function configured for the bulk path, on moto."""
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs")
        dead_letters = sqs.create_queue(QueueName="stream-dead-letters")["QueueUrl"]
        checks = sqs.create_queue(QueueName="indexing-checks")["QueueUrl"]
        use_config(monkeypatch, StreamConfig(
            knowledge_base_id=KB_ID, knowledge_base_name="kbstream-knowledge-base-0123abcd", data_source_id=STREAM_DS,
            data_source_name="kbstream-stream-bulk", dead_letter_queue_url=dead_letters, check_queue_url=checks,
            document_mapping=dict(BULK_TICKERS), quota_requests_per_second=5, topic_partitions=3,
            partial_batch_response=False, object_bucket=BUCKET))  # fmt: skip
        for service in ("s3", "sqs", "bedrock-agent"):
            lambda_env.client(service)
        yield lambda_env, dead_letters


def invoke(event: Any) -> Any:
    return ingest_handler.handler(event, FakeLambdaContext())


def objects() -> dict[str, bytes]:
    s3 = boto3.client("s3")
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
            for item in page.get("Contents", [])]  # fmt: skip
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def messages(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(message["Body"]) for message in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def prices(count: int, partitions: int = 3) -> list[tuple[str, int, int, str | None]]:
    return [(TOPIC, index % partitions, index // partitions,
             ticker_value(f"T{index % 17}", f"${index}.25", 1771151400 + index)) for index in range(count)]  # fmt: skip


def rows(body: bytes) -> list[dict[str, str]]:
    limit = csv.field_size_limit(10_000_000)  # a row's text may exceed the reader's default of 128 KiB
    try:
        return list(csv.DictReader(io.StringIO(body.decode(), newline="")))
    finally:
        csv.field_size_limit(limit)


def test_an_append_only_batch_becomes_csv_objects_of_a_thousand_rows_per_partition(
    bulk: tuple[LambdaEnvironment, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env, dead_letter_url = bulk
    poison: list[tuple[str, int, int, str | None]] = [
        (TOPIC, 0, 5000, b64("not json")),
        (TOPIC, 2, 5001, b64('{"ticker": "X"}')),
    ]
    result = invoke(kafka_event(prices(3_300) + poison))
    stored = objects()
    groups = sorted(key for key in stored if key.endswith(".csv"))
    # 1,100 records per partition: two objects each, 1,000 rows and 100, named by their offsets.
    assert groups == [f"stream/records/{TOPIC}/{partition}/{first:020d}-{last:020d}.csv"
                      for partition in range(3) for first, last in ((0, 999), (1000, 1099))]  # fmt: skip
    assert result["objects"] == 6 and result["ingested"] == 3_300 and result["poison"] == 2
    first = rows(stored[groups[0]])
    assert len(first) == ROWS_PER_OBJECT
    assert first[1] == {"text": "At 2026-02-15 10:30:03 UTC the price of T3 is $3.25.", "topic": TOPIC,
                        "partition": "0", "offset": "1", "ticker": "T3", "price": "$3.25",
                        "timestamp": "1771151403"}  # fmt: skip
    sidecar = json.loads(stored[groups[0] + SIDECAR_SUFFIX])
    structure = sidecar["documentStructureConfiguration"]
    assert structure["type"] == "RECORD_BASED_STRUCTURE_METADATA"
    assert structure["recordBasedStructureMetadata"]["contentFields"] == [{"fieldName": "text"}]
    # The marker tells the ingestion-job starter that the stream has changes waiting.
    assert DataSourceRole.STREAM.marker_key in stored
    letters = messages(dead_letter_url)
    assert sorted(letter["offset"] for letter in letters) == [5000, 5001]
    # Every good record is followed to its job, by object; no value travels (the records stay in Kafka).
    checks = [PendingCheck.parse(json.dumps(body)) for body in messages(env_check_queue())]
    followed = {(source.partition, source.offset) for check in checks for document in check.documents
                for source in document.sources}  # fmt: skip
    assert followed == {(index % 3, index // 3) for index in range(3_300)}
    assert {document.document_id for check in checks for document in check.documents} == set(groups)
    assert all(source.value is None for check in checks for document in check.documents for source in document.sources)
    metrics = emf_metrics(capsys.readouterr().out)
    # 6 objects and 6 sidecars, and the marker.
    assert metrics["ObjectsWritten"] == 6 and metrics["S3Requests"] == 13 and "IngestRequests" not in metrics
    assert env.recorder.problems == []


def env_check_queue() -> str:
    return from_environment(StreamConfig).check_queue_url


def test_per_record_ids_with_typed_metadata_get_an_object_each_and_keep_their_types(
    bulk: tuple[LambdaEnvironment, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sample's price is a number: a CSV row would make it a string, so each record gets its own object."""
    use_config(monkeypatch, replace(from_environment(StreamConfig), document_mapping=dict(TICKER_PRICES)))
    result = invoke(kafka_event(prices(12)))
    stored = objects()
    documents = sorted(key for key in stored if key.endswith(".txt"))
    assert len(documents) == 12 and result["objects"] == 12 and not any(key.endswith(".csv") for key in stored)
    sidecar = json.loads(stored[document_key(f"{TOPIC}/0/1") + SIDECAR_SUFFIX])["metadataAttributes"]
    assert sidecar["price"]["value"] == {"type": "NUMBER", "numberValue": 3.25}


def test_a_batch_delivered_again_writes_the_same_objects(bulk: tuple[LambdaEnvironment, str]) -> None:
    event = kafka_event(prices(90))
    invoke(event)
    first = objects()
    invoke(event)
    assert objects() == first


def test_key_based_ids_write_one_object_per_key_with_typed_metadata_and_tombstones_delete_it(
    bulk: tuple[LambdaEnvironment, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env, _ = bulk
    use_config(monkeypatch, replace(from_environment(StreamConfig), document_mapping=PER_KEY_TICKERS))
    invoke(kafka_event([(TOPIC, 0, 1, ticker_value("ZVZZT", "$1.00", 100), "ZVZZT"),
                        (TOPIC, 1, 7, ticker_value("OOOO", "$44.50", 150), "OOOO"),
                        (TOPIC, 0, 2, ticker_value("ZVZZT", "$3,413.23", 200), "ZVZZT")]))  # fmt: skip
    stored = objects()
    zvzzt = document_key("ticker/ZVZZT")
    assert zvzzt.startswith("stream/documents/") and zvzzt.endswith("/ticker%2FZVZZT.txt")
    assert stored[zvzzt].decode().endswith("the price of ZVZZT is $3,413.23.")
    attributes = json.loads(stored[zvzzt + SIDECAR_SUFFIX])["metadataAttributes"]
    assert attributes["price"] == {"value": {"type": "NUMBER", "numberValue": 3413.23}, "includeForEmbedding": False}
    assert attributes["offset"]["value"] == {"type": "NUMBER", "numberValue": 2.0}
    shape = service_model("bedrock-agent").shape_for("MetadataAttributeValue")
    for name, attribute in attributes.items():
        problems: list[str] = []
        validate_value(shape, attribute["value"], name, problems)
        assert problems == []
    # A tombstone deletes the key's object and sidecar; the other key stays.
    result = invoke(kafka_event([(TOPIC, 0, 3, None, "ZVZZT")]))
    assert result["deleted"] == 1
    remaining = objects()
    assert zvzzt not in remaining and zvzzt + SIDECAR_SUFFIX not in remaining
    assert document_key("ticker/OOOO") in remaining
    assert env.recorder.problems == []


def test_an_s3_failure_fails_the_invocation_so_the_mapping_delivers_the_batch_again(
    bulk: tuple[LambdaEnvironment, str],
) -> None:
    boto3.client("s3").delete_bucket(Bucket=BUCKET)
    with pytest.raises(ingest_handler.IngestFailed, match="NoSuchBucket"):
        invoke(kafka_event(prices(5)))


TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200).filter(str.strip)


@given(st.lists(st.tuples(TEXT, st.text(max_size=40)), min_size=1, max_size=30))
def test_any_text_and_metadata_survive_the_csv_exactly(items: list[tuple[str, str]]) -> None:
    mapping = parse_mapping(BULK_TICKERS)
    documents = [StreamDocument(f"d{index}", text, {"ticker": ticker} if ticker else {},
                                (Coordinates(TOPIC, 0, index),))
                 for index, (text, ticker) in enumerate(items)]  # fmt: skip
    (group,) = record_groups(documents, mapping)
    parsed = rows(group.body)
    assert [row["text"] for row in parsed] == [text for text, _ in items]
    assert [row["ticker"] for row in parsed] == [ticker for _, ticker in items]
    assert [row["offset"] for row in parsed] == [str(index) for index in range(len(items))]


# --- The ingestion-job starter and the indexing check, on a simulated clock ---------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def service() -> tuple[Clock, ObjectStore, IngestionJobs]:
    clock = Clock()
    store = ObjectStore(clock)
    jobs = IngestionJobs(KB_ID, {STREAM_DS: (BUCKET, "stream/"), DOCUMENTS_DS: (BUCKET, "documents/")},
                         store.listing, clock, JobLimits(base_seconds=30, documents_per_second=100))  # fmt: skip
    return clock, store, jobs


def starter(clock: Clock, store: ObjectStore, jobs: IngestionJobs) -> Starter:
    return Starter(jobs, store, knowledge_base_id=KB_ID, bucket=BUCKET,
                   data_sources={DataSourceRole.DOCUMENTS: DOCUMENTS_DS, DataSourceRole.STREAM: STREAM_DS},
                   clock=clock, sleep=clock.sleep)  # fmt: skip


def write(store: ObjectStore, key: str, role: DataSourceRole) -> None:
    store.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    mark_waiting(store, BUCKET, role)


def test_the_starter_gives_the_one_job_to_the_data_source_that_waited_longest(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    write(store, "documents/report.pdf", DataSourceRole.DOCUMENTS)
    clock.sleep(5)
    write(store, "stream/documents/ab/t.txt", DataSourceRole.STREAM)
    first = starter(clock, store, jobs).step()
    assert (first.step, first.role, first.waited_seconds) == (Step.STARTED, DataSourceRole.DOCUMENTS, 5)
    assert starter(clock, store, jobs).step().step is Step.BUSY  # one job per knowledge base
    clock.sleep(40)
    second = starter(clock, store, jobs).step()
    assert (second.step, second.role) == (Step.STARTED, DataSourceRole.STREAM)
    clock.sleep(40)
    assert starter(clock, store, jobs).step().step is Step.IDLE


def test_a_busy_stream_never_starves_the_documents(service: tuple[Clock, ObjectStore, IngestionJobs]) -> None:
    """The stream writes every second for ten minutes; a document change waits for the stream job then running,
    never for a second one."""
    clock, store, jobs = service
    tick = starter(clock, store, jobs)
    waits: list[float] = []
    changed_at: float | None = None
    for second in range(600):
        write(store, f"stream/records/t/0/{second}.csv", DataSourceRole.STREAM)
        if second % 120 == 7:
            changed_at = clock.now
            write(store, f"documents/{second}.pdf", DataSourceRole.DOCUMENTS)
        if second % LOOK_INTERVAL_SECONDS == 0:
            outcome = tick.step()
            if outcome.step is Step.STARTED and outcome.role is DataSourceRole.DOCUMENTS and changed_at is not None:
                waits.append(clock.now - changed_at)
                changed_at = None
        clock.sleep(1)
    longest_stream_job = max(job.ends - job.started for job in jobs.jobs if job.data_source_id == STREAM_DS)
    assert len(waits) == 5
    assert max(waits) <= longest_stream_job + LOOK_INTERVAL_SECONDS
    assert sum(job.data_source_id == STREAM_DS for job in jobs.jobs) >= 10  # and the stream kept its turns
    assert jobs.refused == {}  # never two at a time, never faster than 0.1 starts/s


def test_a_start_bedrock_refuses_puts_the_marker_back(service: tuple[Clock, ObjectStore, IngestionJobs]) -> None:
    clock, store, jobs = service
    jobs.other_running_jobs = 5  # the account runs its five jobs elsewhere
    write(store, "stream/documents/ab/t.txt", DataSourceRole.STREAM)
    outcome = starter(clock, store, jobs).step()
    assert (outcome.step, outcome.reason) == (Step.REFUSED, "ServiceQuotaExceededException")
    assert DataSourceRole.STREAM.marker_key in store.listing(BUCKET, "ingestion-jobs/")
    jobs.other_running_jobs = 0
    clock.sleep(LOOK_INTERVAL_SECONDS)
    assert starter(clock, store, jobs).step().step is Step.STARTED


def test_the_starter_runs_its_minute_and_stops_early_when_idle(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    assert [outcome.step for outcome in starter(clock, store, jobs).run(50)] == [Step.IDLE]
    write(store, "stream/documents/ab/t.txt", DataSourceRole.STREAM)
    # The job takes 30 s: three looks find it running, the fourth finds nothing left to do.
    steps = [outcome.step for outcome in starter(clock, store, jobs).run(50)]
    assert steps == [Step.STARTED, Step.BUSY, Step.BUSY, Step.BUSY, Step.IDLE]


def pending(key: str, offsets: range, timestamp_ms: int) -> PendingDocument:
    return PendingDocument(key, tuple(PendingSource(TOPIC, 0, offset, timestamp_ms, None) for offset in offsets))


def follow(jobs: IngestionJobs, check: PendingCheck, clock: Clock, within: int = 900) -> Any:
    history = JobHistory(jobs, knowledge_base_id=KB_ID, data_source_id=STREAM_DS)
    return follow_objects(jobs, check, history=history, knowledge_base_id=KB_ID, data_source_id=STREAM_DS,
                          bucket=BUCKET, pacer=Pacer(100), now=clock.now, indexed_within_seconds=within)  # fmt: skip


def test_objects_are_confirmed_by_the_first_job_that_started_after_they_were_written(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    write(store, "stream/records/t/0/a.csv", DataSourceRole.STREAM)
    check = PendingCheck(clock.now, (pending("stream/records/t/0/a.csv", range(3), int(clock.now * 1000) - 2000),))
    assert len(follow(jobs, check, clock).still_pending) == 1  # no job yet
    clock.sleep(5)
    starter(clock, store, jobs).step()
    assert len(follow(jobs, check, clock).still_pending) == 1  # running
    clock.sleep(60)
    outcome = follow(jobs, check, clock)
    assert outcome.indexed == 1 and outcome.letters == []
    # Freshness runs from each record's Kafka timestamp to the job's end (30 s + 1 document at 100/s).
    assert outcome.freshness_seconds == [pytest.approx(2 + 5 + 30.01)] * 3


def test_objects_a_job_fails_are_dead_lettered_with_bedrocks_reason_record_by_record(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    jobs.limits.failing_share = 1.0
    write(store, "stream/records/t/0/a.csv", DataSourceRole.STREAM)
    check = PendingCheck(clock.now, (pending("stream/records/t/0/a.csv", range(3), 0),))
    clock.sleep(1)
    starter(clock, store, jobs).step()
    clock.sleep(60)
    outcome = follow(jobs, check, clock)
    assert outcome.not_indexed == 1 and [letter.coordinates.offset for letter in outcome.letters] == [0, 1, 2]
    letter = outcome.letters[0]
    assert letter.status == "FAILED" and letter.status_reason == "fake: the embedding model rejected the content"
    assert letter.reason.startswith(f"object s3://{BUCKET}/stream/records/t/0/a.csv: FAILED")


def test_a_failed_job_asks_for_another_and_past_the_bound_dead_letters_with_its_reasons(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    write(store, "stream/documents/ab/t.txt", DataSourceRole.STREAM)
    check = PendingCheck(clock.now, (pending("stream/documents/ab/t.txt", range(1), 0),))
    clock.sleep(1)
    starter(clock, store, jobs).step()
    jobs.jobs[-1].failure = "fake: the data source's role cannot read the bucket"
    clock.sleep(60)
    outcome = follow(jobs, check, clock)
    assert outcome.still_pending and outcome.marker_needed  # the objects wait for the next job
    clock.sleep(900)
    outcome = follow(jobs, check, clock)
    assert outcome.letters[0].reason.endswith("FAILED: fake: the data source's role cannot read the bucket")


def test_past_the_bound_without_a_job_records_are_dead_lettered_saying_so(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, _, jobs = service
    check = PendingCheck(clock.now, (pending("stream/documents/ab/t.txt", range(2), 0),))
    clock.sleep(901)
    outcome = follow(jobs, check, clock)
    assert [letter.reason for letter in outcome.letters] == [
        f"object s3://{BUCKET}/stream/documents/ab/t.txt: no ingestion job of the stream data source started "
        "within 900 s"
    ] * 2


@given(st.text(min_size=1, max_size=MAX_DOCUMENT_ID_CHARACTERS))
def test_every_document_id_has_one_safe_object_name_within_s3s_key_limit(document_id: str) -> None:
    key = document_key(document_id)
    assert key == document_key(document_id) and key.startswith("stream/documents/")
    assert len(key.encode()) <= 1024 and key.isascii()  # S3 takes keys of up to 1,024 bytes
    assert not key.endswith(SIDECAR_SUFFIX)  # never mistaken for a sidecar


def test_long_texts_split_a_group_by_size_before_its_row_count() -> None:
    mapping = parse_mapping(BULK_TICKERS)
    text = "x" * 200_000
    documents = [StreamDocument(f"d{index}", text, {}, (Coordinates(TOPIC, 0, index),)) for index in range(60)]
    groups = list(record_groups(documents, mapping))
    assert len(groups) == 3 and [len(group.documents) for group in groups] == [26, 26, 8]
    assert all(len(group.body) <= MAX_OBJECT_CHARACTERS + len(text) + 100 for group in groups)
    assert [row["offset"] for group in groups for row in rows(group.body)] == [str(index) for index in range(60)]


class Unreachable:
    """Bedrock's jobs, except that StartIngestionJob never gets through (after botocore's retries)."""

    def __init__(self, jobs: IngestionJobs) -> None:
        self._jobs = jobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs, name)

    def start_ingestion_job(self, **parameters: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://bedrock-agent.us-east-1.amazonaws.com")


def test_a_start_that_never_gets_through_keeps_the_changes_waiting(
    service: tuple[Clock, ObjectStore, IngestionJobs],
) -> None:
    clock, store, jobs = service
    write(store, "stream/documents/ab/t.txt", DataSourceRole.STREAM)
    cut_off = Starter(Unreachable(jobs), store, knowledge_base_id=KB_ID, bucket=BUCKET,
                      data_sources={DataSourceRole.STREAM: STREAM_DS}, clock=clock, sleep=clock.sleep)  # fmt: skip
    with pytest.raises(EndpointConnectionError):
        cut_off.step()
    assert DataSourceRole.STREAM.marker_key in store.listing(BUCKET, "ingestion-jobs/")
    clock.sleep(LOOK_INTERVAL_SECONDS)
    assert starter(clock, store, jobs).step().step is Step.STARTED


def test_objects_no_job_covers_yet_ask_for_the_marker(service: tuple[Clock, ObjectStore, IngestionJobs]) -> None:
    clock, _, jobs = service
    check = PendingCheck(clock.now, (pending("stream/documents/ab/t.txt", range(1), 0),))
    assert follow(jobs, check, clock).marker_needed  # so a lost marker is put back, and a job follows
