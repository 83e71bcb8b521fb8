"""The bulk path's handlers with real botocore clients: moto's S3 and SQS, and the local Bedrock endpoint serving
ingestion jobs (devtools.fake_bedrock with devtools.fake_ingestion's jobs). The stream function writes; the document
sync leaves its marker; the starter starts the job; the indexing check confirms the records through it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.fake_bedrock import fake_bedrock_agent
from devtools.fake_ingestion import IngestionJobs, JobLimits, StoredObject
from devtools.lambda_events import FakeLambdaContext, emf_metrics, kafka_event, sqs_event, ticker_value
from function_runtime.aws_clients import client
from index_check import handler as check_handler
from index_check.contract import IndexCheckConfig
from ingestion_jobs import handler as starter_handler
from ingestion_jobs.contract import DataSourceRole, StarterConfig
from ingestion_jobs.starter import Starter, Step
from kb_sync import handler as sync_handler
from kb_sync.contract import SyncConfig
from stream_ingest import handler as ingest_handler
from stream_ingest.contract import StreamConfig
from tests.conftest import BULK_TICKERS, LambdaEnvironment
from tests.support.contracts import use_config

KB_ID, STREAM_DS, DOCUMENTS_DS = "KB12345678", "DS12345678", "DS87654321"
BUCKET = "kbstream-documents-123456789012-us-east-1"
TOPIC = "ticker-prices"


def listing(bucket: str, prefix: str) -> dict[str, StoredObject]:
    """What moto's bucket holds under the prefix, as the fake jobs read a data source."""
    s3 = boto3.client("s3")
    found: dict[str, StoredObject] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            found[item["Key"]] = StoredObject(body, item["ETag"], item["LastModified"].timestamp())
    return found


@pytest.fixture
def service(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        sqs = boto3.client("sqs")
        queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("dead-letters", "checks")}
        jobs = IngestionJobs(KB_ID, {STREAM_DS: (BUCKET, "stream/"), DOCUMENTS_DS: (BUCKET, "documents/")}, listing,
                             time.time, JobLimits(base_seconds=0, documents_per_second=1e9))  # fmt: skip
        with fake_bedrock_agent() as (url, state):
            state.jobs = jobs
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENT", url)
            for service_name in ("s3", "sqs", "bedrock-agent"):
                lambda_env.client(service_name)
            yield {"env": lambda_env, "jobs": jobs, "state": state, **queues}


def messages(queue_url: str) -> list[str]:
    sqs = boto3.client("sqs")
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [message["Body"] for message in batch]
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def test_records_written_as_objects_are_confirmed_through_the_job_the_starter_starts(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env, jobs, state = service["env"], service["jobs"], service["state"]
    use_config(monkeypatch, StreamConfig(
        knowledge_base_id=KB_ID, knowledge_base_name="kb", data_source_id=STREAM_DS, data_source_name="stream",
        dead_letter_queue_url=service["dead-letters"], check_queue_url=service["checks"],
        document_mapping=dict(BULK_TICKERS), quota_requests_per_second=5, topic_partitions=2,
        partial_batch_response=False, object_bucket=BUCKET))  # fmt: skip
    records = [(TOPIC, index % 2, index // 2, ticker_value(f"T{index}", f"${index}.00")) for index in range(40)]
    ingest_handler.handler(kafka_event(records), FakeLambdaContext())
    checks = messages(service["checks"])
    assert len(checks) == 1
    capsys.readouterr()

    time.sleep(1.1)  # the job must start after the objects were written (S3 and the check count seconds)
    # One look of the starter (the handler looks every 10 s for 50 s), with the clients the handler uses.
    starter = Starter(
        client("bedrock-agent"),
        client("s3"),
        knowledge_base_id=KB_ID,
        bucket=BUCKET,
        data_sources={DataSourceRole.DOCUMENTS: DOCUMENTS_DS, DataSourceRole.STREAM: STREAM_DS},
    )
    assert starter.step().step is Step.STARTED
    assert [job.data_source_id for job in jobs.jobs] == [STREAM_DS]
    time.sleep(1.1)  # a job is STARTING for its first second

    use_config(monkeypatch, IndexCheckConfig(
        knowledge_base_id=KB_ID, knowledge_base_name="kb", data_source_id=STREAM_DS, data_source_name="stream",
        check_queue_url=service["checks"], dead_letter_queue_url=service["dead-letters"],
        status_requests_per_second=5, indexed_within_seconds=900, object_bucket=BUCKET))  # fmt: skip
    result = check_handler.handler(sqs_event(checks), FakeLambdaContext())  # type: ignore[arg-type]
    assert result == {"batchItemFailures": []}
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["DocumentsIndexed"] == 2  # two CSV objects, one per partition, 20 records each
    assert messages(service["dead-letters"]) == [] and messages(service["checks"]) == []
    assert {operation for operation, _ in state.requests} == {"StartIngestionJob", "ListIngestionJobs"}
    assert env.recorder.problems == []


def test_the_starter_returns_at_once_when_no_job_runs_and_nothing_waits(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_config(
        monkeypatch,
        StarterConfig(
            knowledge_base_id=KB_ID,
            bucket=BUCKET,
            documents_data_source_id=DOCUMENTS_DS,
            stream_data_source_id=STREAM_DS,
        ),
    )
    assert starter_handler.handler({"source": "aws.events"}, FakeLambdaContext()) == {"steps": ["idle"]}
    assert emf_metrics(capsys.readouterr().out) == {"JobsStarted": 0, "JobStartsRefused": 0}
    assert service["env"].recorder.problems == []


def test_on_the_bulk_path_the_document_sync_leaves_its_marker_and_starts_nothing(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, SyncConfig(knowledge_base_id=KB_ID, data_source_id=DOCUMENTS_DS, bucket=BUCKET,
                                       prefix="documents/", dead_letter_queue_url=service["dead-letters"],
                                       jobs_by_starter=True))  # fmt: skip
    deployment = json.dumps({"trigger": "deployment", "documentsVersion": "0123456789abcdef0123"})
    result = sync_handler.handler(sqs_event([deployment]), FakeLambdaContext())  # type: ignore[arg-type]
    assert result == {"batchItemFailures": []}
    head = boto3.client("s3").head_object(Bucket=BUCKET, Key=DataSourceRole.DOCUMENTS.marker_key)
    assert head["ContentLength"] == 0
    assert service["state"].requests == []
    # A second change while the first still waits keeps the older marker (and its time).
    sync_handler.handler(sqs_event([deployment]), FakeLambdaContext())  # type: ignore[arg-type]
    assert (
        boto3.client("s3").head_object(Bucket=BUCKET, Key=DataSourceRole.DOCUMENTS.marker_key)["ETag"] == head["ETag"]
    )
    assert service["env"].recorder.problems == []
