"""The sync command, against stubbed CloudFormation and Bedrock clients."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scripts.deployed import DeploymentError, stack_outputs
from scripts.sync_knowledge_base import Sync
from tests.support.sdk_recorder import SdkCallRecorder

IDS = {"knowledgeBaseId": "KB12345678", "dataSourceId": "DS12345678"}


def job(job_id: str, status: str, **statistics: int) -> dict[str, Any]:
    return {
        "ingestionJob": {**IDS, "ingestionJobId": job_id, "status": status, "statistics": statistics,
                         "startedAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z"}
    }  # fmt: skip


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, SdkCallRecorder]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    recorder = SdkCallRecorder()
    return recorder.attach(boto3.client("bedrock-agent", region_name="us-east-1")), recorder


def run(client: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = Sync(client, IDS["knowledgeBaseId"], IDS["dataSourceId"], sleep=lambda _: None, out=lines.append).run()
    return code, lines


def test_success_reports_progress_and_statistics(agent: tuple[Any, SdkCallRecorder]) -> None:
    client, recorder = agent
    with Stubber(client) as stub:
        stub.add_response("start_ingestion_job", job("JOB0000001", "STARTING"), None)
        stub.add_response("get_ingestion_job", job("JOB0000001", "IN_PROGRESS", numberOfDocumentsScanned=5), None)
        stub.add_response("get_ingestion_job", job("JOB0000001", "IN_PROGRESS", numberOfDocumentsScanned=5), None)
        stub.add_response("get_ingestion_job", job("JOB0000001", "COMPLETE", numberOfDocumentsScanned=5,
                                                   numberOfNewDocumentsIndexed=5), None)  # fmt: skip
        code, lines = run(client)
    assert code == 0
    assert sum("IN_PROGRESS" in line for line in lines) == 1  # unchanged progress is printed once
    assert lines[-1] == "Finished: COMPLETE (scanned=5 new=5 modified=0 deleted=0 failed=0 metadata scanned=0)"
    assert recorder.problems == []


def test_a_running_job_is_followed_then_ours_starts(agent: tuple[Any, SdkCallRecorder]) -> None:
    client, recorder = agent
    with Stubber(client) as stub:
        stub.add_client_error("start_ingestion_job", service_error_code="ConflictException", http_status_code=409)
        stub.add_response("list_ingestion_jobs", {"ingestionJobSummaries": [
            {**IDS, "ingestionJobId": "JOB0000000", "status": "IN_PROGRESS", "startedAt": "2026-11-22T09:00:00Z",
             "updatedAt": "2026-11-22T09:00:00Z"}]}, None)  # fmt: skip
        stub.add_response("get_ingestion_job", job("JOB0000000", "COMPLETE"), None)
        stub.add_response("start_ingestion_job", job("JOB0000001", "STARTING"), None)
        stub.add_response("get_ingestion_job", job("JOB0000001", "COMPLETE", numberOfDocumentsScanned=6), None)
        code, lines = run(client)
        stub.assert_no_pending_responses()
    assert code == 0
    assert "Job JOB0000000 is already running; following it first." in lines
    assert "Started ingestion job JOB0000001." in lines
    assert recorder.problems == []


def test_failed_documents_make_the_command_fail(agent: tuple[Any, SdkCallRecorder]) -> None:
    client, _ = agent
    with Stubber(client) as stub:
        stub.add_response("start_ingestion_job", job("JOB0000001", "STARTING"), None)
        failed = job("JOB0000001", "COMPLETE", numberOfDocumentsScanned=5, numberOfDocumentsFailed=1)
        failed["ingestionJob"]["failureReasons"] = ["Filterable metadata must have at most 2048 bytes"]
        stub.add_response("get_ingestion_job", failed, None)
        code, lines = run(client)
    assert code == 1
    assert "  failure: Filterable metadata must have at most 2048 bytes" in lines


def test_a_failed_job_fails_the_command(agent: tuple[Any, SdkCallRecorder]) -> None:
    client, _ = agent
    with Stubber(client) as stub:
        stub.add_response("start_ingestion_job", job("JOB0000001", "STARTING"), None)
        stub.add_response("get_ingestion_job", job("JOB0000001", "FAILED"), None)
        assert run(client)[0] == 1


def test_ids_come_from_the_stack_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cloudformation) as stub:
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": "kbstream-knowledge-base", "CreationTime": "2026-11-22T10:00:00Z",
                         "StackStatus": "CREATE_COMPLETE",
                         "Outputs": [{"OutputKey": "KnowledgeBaseId", "OutputValue": "KB12345678"}]}]},
            {"StackName": "kbstream-knowledge-base"},
        )  # fmt: skip
        stub.add_client_error("describe_stacks", service_error_code="ValidationError", http_status_code=400)
        assert stack_outputs(cloudformation, "kbstream-knowledge-base") == {"KnowledgeBaseId": "KB12345678"}
        with pytest.raises(DeploymentError, match="is not deployed"):
            stack_outputs(cloudformation, "kbstream-knowledge-base")
