"""``make doctor``: every check, healthy and unhealthy.

CloudFormation, SQS and CloudWatch are moto's; Bedrock, Lambda and S3 Vectors are botocore's Stubber
(every stubbed call is validated against the botocore model). Each deployed stack is a moto stack with
the outputs the real one has.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from scripts.doctor import STACK_PARTS, Check, Doctor, Status, table
from scripts.operator_cli import Operator
from tests.conftest import default_settings

REGION, ACCOUNT = "us-east-1", "123456789012"
KB_ID, DOCS_ID, STREAM_ID = "KB12345678", "DS00000001", "DS00000002"
INDEX = "documents-0123abcd"
MAPPING = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
NOW = 1_795_000_000.0


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "c"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k"),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@dataclass
class Deployment:
    """The app as moto holds it, plus the answers the stubbed services give."""

    operator: Operator
    queues: dict[str, str] = field(default_factory=dict)
    stubs: dict[str, Stubber] = field(default_factory=dict)

    def stub(self, service: str) -> Stubber:
        if service not in self.stubs:
            self.stubs[service] = Stubber(self.operator.client(service))
            self.stubs[service].activate()
        return self.stubs[service]


def deploy(skip: tuple[str, ...] = ()) -> Deployment:
    operator = Operator(settings=default_settings(), session=boto3.Session(region_name=REGION))
    deployment = Deployment(operator)
    sqs = operator.client("sqs")
    for queue in ("stream-dead-letters", "sync-dead-letters"):
        deployment.queues[queue] = sqs.create_queue(QueueName=queue)["QueueUrl"]
    outputs = {
        "knowledge-base": {
            "KnowledgeBaseId": KB_ID,
            "DocumentsDataSourceId": DOCS_ID,
            "StreamDataSourceId": STREAM_ID,
            "VectorIndexArn": f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/kbstream-vectors/index/{INDEX}",
            "SyncDeadLetterQueueUrl": deployment.queues["sync-dead-letters"],
        },
        "streaming": {
            "EventSourceMappingId": MAPPING,
            "IngestFunctionName": "kbstream-streaming-Ingest",
            "DeadLetterQueueUrl": deployment.queues["stream-dead-letters"],
        },
        "network": {"ProducerFunctionName": "kbstream-network-Producer", "TopicName": "ticker-prices"},
        "query": {"QueryFunctionName": "kbstream-query-Query"},
    }
    cloudformation = operator.client("cloudformation")
    for part in STACK_PARTS:
        if part in skip:
            continue
        template = {
            "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.get(part, {}).items()},
        }
        cloudformation.create_stack(StackName=operator.settings.stack_name(part), TemplateBody=json.dumps(template))
    return deployment


def healthy_answers(deployment: Deployment, **changes: Any) -> None:
    """Stub Bedrock, S3 Vectors and Lambda as a healthy deployment answers; ``changes`` break one part."""
    agent = deployment.stub("bedrock-agent")
    agent.add_response(
        "get_knowledge_base",
        {
            "knowledgeBase": {
                "knowledgeBaseId": KB_ID,
                "name": "kbstream-knowledge-base-0123abcd",
                "knowledgeBaseArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/kb",
                "knowledgeBaseConfiguration": {"type": "VECTOR"},
                "status": changes.get("knowledge_base_status", "ACTIVE"),
                "createdAt": "2026-11-22T10:00:00Z",
                "updatedAt": "2026-11-22T10:00:00Z",
                **changes.get("knowledge_base_extra", {}),
            }
        },
        {"knowledgeBaseId": KB_ID},
    )
    for source_id, name in ((DOCS_ID, "kbstream-documents-0123abcd"), (STREAM_ID, "kbstream-stream")):
        agent.add_response(
            "get_data_source",
            {
                "dataSource": {
                    "knowledgeBaseId": KB_ID,
                    "dataSourceId": source_id,
                    "name": name,
                    "status": changes.get("documents_source_status", "AVAILABLE")
                    if source_id == DOCS_ID
                    else "AVAILABLE",
                    "dataSourceConfiguration": {"type": "S3" if source_id == DOCS_ID else "CUSTOM"},
                    "createdAt": "2026-11-22T10:00:00Z",
                    "updatedAt": "2026-11-22T10:00:00Z",
                }
            },
            {"knowledgeBaseId": KB_ID, "dataSourceId": source_id},
        )
    index_stub = deployment.stub("s3vectors")
    if changes.get("index_missing"):
        index_stub.add_client_error("get_index", "NotFoundException", "The index does not exist", 404)
    else:
        index_stub.add_response(
            "get_index",
            {
                "index": {
                    "vectorBucketName": "kbstream-vectors",
                    "indexName": INDEX,
                    "indexArn": f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/kbstream-vectors/index/{INDEX}",
                    "creationTime": "2026-11-22T10:00:00Z",
                    "dataType": "float32",
                    "dimension": 1024,
                    "distanceMetric": "cosine",
                }
            },
            {"vectorBucketName": "kbstream-vectors", "indexName": INDEX},
        )
    job = {
        "knowledgeBaseId": KB_ID,
        "dataSourceId": DOCS_ID,
        "ingestionJobId": "JOB0000001",
        "status": changes.get("job_status", "COMPLETE"),
        "startedAt": "2026-11-22T10:00:00Z",
        "updatedAt": "2026-11-22T10:05:00Z",
        "statistics": {
            "numberOfDocumentsScanned": 5,
            "numberOfNewDocumentsIndexed": 5,
            "numberOfDocumentsFailed": changes.get("failed_documents", 0),
        },
        **({"failureReasons": changes["job_reasons"]} if "job_reasons" in changes else {}),
    }
    agent.add_response(
        "list_ingestion_jobs",
        {
            "ingestionJobSummaries": [
                {
                    key: job[key]
                    for key in ("knowledgeBaseId", "dataSourceId", "ingestionJobId", "status", "startedAt", "updatedAt")
                }
            ]
        },
        None,
    )
    agent.add_response(
        "get_ingestion_job",
        {"ingestionJob": job},
        {"knowledgeBaseId": KB_ID, "dataSourceId": DOCS_ID, "ingestionJobId": "JOB0000001"},
    )
    deployment.stub("lambda").add_response(
        "get_event_source_mapping",
        {
            "UUID": MAPPING,
            "State": changes.get("mapping_state", "Enabled"),
            "StateTransitionReason": changes.get("mapping_reason", "USER_INITIATED"),
            "LastProcessingResult": changes.get("mapping_result", "OK"),
        },
        {"UUID": MAPPING},
    )
    for model in ("amazon.titan-embed-text-v2:0", "anthropic.claude-sonnet-4-6"):
        deployment.stub("bedrock").add_response(
            "get_foundation_model_availability",
            {
                "modelId": model,
                "agreementAvailability": {"status": "AVAILABLE"},
                "authorizationStatus": changes.get("authorization", "AUTHORIZED"),
                "entitlementAvailability": "AVAILABLE",
                "regionAvailability": "AVAILABLE",
            },
            {"modelId": model},
        )


def examine(deployment: Deployment) -> dict[str, Check]:
    checks = Doctor(deployment.operator, clock=lambda: NOW, sleep=lambda _: None).run()
    for stub in deployment.stubs.values():
        stub.assert_no_pending_responses()
    return {check.name: check for check in checks}


def test_a_healthy_deployment_passes_every_check(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment)
    checks = examine(deployment)
    assert {check.status for check in checks.values()} == {Status.OK}, table(list(checks.values()))
    # 6 stacks; knowledge base, 2 data sources, index; sync; mapping, lag; 2 dead-letter queues; alarms; 2 models
    assert len(checks) == 6 + 4 + 1 + 2 + 2 + 1 + 2
    assert checks["vector index"].evidence == f"kbstream-vectors/{INDEX}"


def test_a_missing_stack_fails_with_the_fix(aws: None) -> None:
    deployment = deploy(skip=("streaming",))
    healthy_answers(deployment)
    deployment.stubs.pop("lambda").deactivate()  # without the stack, the mapping is not looked up
    checks = examine(deployment)
    assert checks["stack kbstream-streaming"] == Check(
        "stack kbstream-streaming", Status.FAIL, "not deployed", "make deploy"
    )
    missing = checks["stream (not checked)"]
    assert missing.status is Status.FAIL and "no output EventSourceMappingId" in missing.evidence


@pytest.mark.parametrize(
    ("changes", "name", "status", "evidence"),
    [
        (
            {"knowledge_base_status": "FAILED", "knowledge_base_extra": {"failureReasons": ["role denied"]}},
            "knowledge base",
            Status.FAIL,
            "FAILED",
        ),
        (
            {"job_status": "FAILED", "job_reasons": ["Access denied to s3://..."]},
            "documents sync",
            Status.FAIL,
            "FAILED JOB0000001",
        ),
        ({"failed_documents": 2, "job_reasons": ["metadata too large"]}, "documents sync", Status.WARN, "2 failed"),
        (
            {"mapping_state": "Disabled", "mapping_reason": "PROBLEM: Cluster failed to authorize Lambda."},
            "event source mapping",
            Status.FAIL,
            "Cluster failed to authorize",
        ),
        ({"authorization": "NOT_AUTHORIZED"}, "generation model access", Status.FAIL, "NOT_AUTHORIZED"),
    ],
)
def test_an_unhealthy_part_is_reported_with_its_evidence(
    aws: None, changes: dict[str, Any], name: str, status: Status, evidence: str
) -> None:
    deployment = deploy()
    healthy_answers(deployment, **changes)
    check = examine(deployment)[name]
    assert (check.status, evidence in check.evidence, bool(check.fix)) == (status, True, True), check


def test_waiting_dead_letters_are_reported_with_a_reason(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment)
    deployment.operator.client("sqs").send_message(
        QueueUrl=deployment.queues["stream-dead-letters"],
        MessageBody="{}",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": "tombstone"}},
    )
    check = examine(deployment)["stream dead letters"]
    assert check.status is Status.WARN and check.evidence == "1 waiting; e.g. tombstone"


def test_alarms_in_alarm_and_offset_lag_are_reported(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment)
    cloudwatch = deployment.operator.client("cloudwatch")
    name = "kbstream-monitoring-MonitoringStreamErrors0A1B2C3D-ABCDEF"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    from datetime import UTC, datetime

    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {
                "MetricName": "OffsetLag",
                "Value": 5000,
                "Timestamp": datetime.fromtimestamp(NOW - 120, UTC),
                "Dimensions": [{"Name": "FunctionName", "Value": "kbstream-streaming-Ingest"}],
            }
        ],
    )
    checks = examine(deployment)
    assert checks["alarms"].status is Status.FAIL and "MonitoringStreamErrors" in checks["alarms"].evidence
    assert checks["stream offset lag"].status is Status.WARN and "5000" in checks["stream offset lag"].evidence


def invoke_response(value: Any) -> dict[str, Any]:
    raw = json.dumps(value).encode()
    return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}


def published(partition: int, offset: int) -> dict[str, Any]:
    """The producer's answer for the probe's one record."""
    return invoke_response({"topic": "ticker-prices", "sent": 1, "partitions": {str(partition): 1},
                            "records": [{"ticker": "X", "partition": partition, "offset": offset}]})  # fmt: skip


def test_the_probe_times_a_record_end_to_end_and_deletes_it(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment)
    doctor_clock = iter(float(NOW + step * 5) for step in range(100))
    lambda_stub = deployment.stub("lambda")
    lambda_stub.add_response("invoke", published(partition=1, offset=42), None)
    lambda_stub.add_response("invoke", invoke_response({"results": []}), None)
    lambda_stub.add_response("invoke", invoke_response({"results": [{"uri": "x", "score": 0.9, "excerpt": "p"}]}), None)
    deployment.stub("bedrock-agent").add_response(
        "delete_knowledge_base_documents",
        {"documentDetails": []},
        {
            "knowledgeBaseId": KB_ID,
            "dataSourceId": STREAM_ID,
            "documentIdentifiers": [{"dataSourceType": "CUSTOM", "custom": {"id": "ticker-prices/1/42"}}],
        },
    )
    doctor = Doctor(deployment.operator, clock=lambda: next(doctor_clock), sleep=lambda _: None)
    checks = {check.name: check for check in doctor.run(probe_timeout_seconds=300)}
    assert checks["probe"].status is Status.OK, checks["probe"]
    assert "retrievable after" in checks["probe"].evidence
    for stub in deployment.stubs.values():
        stub.assert_no_pending_responses()


def test_the_table_shows_fixes_only_for_problems() -> None:
    printed = table(
        [Check("alarms", Status.OK, "none in ALARM"), Check("vector index", Status.FAIL, "not found", "make deploy")]
    )
    lines = printed.splitlines()
    assert lines[0].split() == ["check", "status", "evidence", "fix"]
    assert lines[1].rstrip().endswith("none in ALARM") and lines[2].endswith("make deploy")


# What each call of the operator commands reaches, as a sample ARN of the resource it acts on.
OPERATOR_CALLS: dict[tuple[str, str], str] = {
    ("cloudformation", "DescribeStacks"): f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/kbstream-query/{MAPPING}",
    ("bedrock-agent", "GetKnowledgeBase"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock-agent", "GetDataSource"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock-agent", "ListIngestionJobs"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock-agent", "GetIngestionJob"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock-agent", "StartIngestionJob"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock-agent", "DeleteKnowledgeBaseDocuments"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{KB_ID}",
    ("bedrock", "GetFoundationModelAvailability"): "*",
    ("s3vectors", "GetIndex"): f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/kbstream-vectors/index/{INDEX}",
    ("lambda", "Invoke"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:kbstream-query-QueryFunction1A2B3C",
    ("lambda", "GetEventSourceMapping"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{MAPPING}",
    ("sqs", "GetQueueAttributes"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:kbstream-streaming-DeadLetters1A2B3C",
    ("sqs", "ReceiveMessage"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:kbstream-streaming-DeadLetters1A2B3C",
    (
        "cloudwatch",
        "DescribeAlarms",
    ): f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:kbstream-monitoring-MonitoringStreamErrors0A1B-ABC",
    ("cloudwatch", "GetMetricStatistics"): "*",
    # make upload, and make evaluate with --judge.
    ("s3", "PutObject"): f"arn:aws:s3:::kbstream-documents-{ACCOUNT}-{REGION}/documents/faq/refunds.pdf",
    ("s3", "GetObject"): f"arn:aws:s3:::kbstream-evaluation-{ACCOUNT}-{REGION}/results/run/job/out_output.jsonl",
    ("s3", "ListObjectsV2"): f"arn:aws:s3:::kbstream-evaluation-{ACCOUNT}-{REGION}",
    ("bedrock", "CreateEvaluationJob"): f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-pro-v1:0",
    ("bedrock", "GetEvaluationJob"): f"arn:aws:bedrock:{REGION}:{ACCOUNT}:evaluation-job/abcd1234efgh",
}
# What CreateEvaluationJob also needs: passing the app's evaluation role, to Bedrock only.
EVALUATION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/kbstream-evaluation-{REGION}"


def test_the_operator_policy_is_sound_by_aws_rules_and_allows_every_call() -> None:
    from devtools.sdk_model import iam_action
    from stacks.foundation.operator_policy import operator_policy
    from tests.support.iam import is_allowed
    from tests.support.iam_rules import statement_problems

    policy = operator_policy("kbstream")
    statements = policy["Statement"]
    problems = [
        f"{statement['Sid']}: {problem}"
        for statement in statements
        for problem in statement_problems(statement, wildcard_acknowledged=lambda _: False)
    ]
    assert not problems, problems
    denied = [
        f"{iam_action(service, operation)} on {resource}"
        for (service, operation), resource in OPERATOR_CALLS.items()
        if not is_allowed(statements, iam_action(service, operation), resource)
    ]
    assert not denied, denied
    passed_to = {"iam:PassedToService": "bedrock.amazonaws.com"}
    assert is_allowed(statements, "iam:PassRole", EVALUATION_ROLE, context=passed_to)
    assert not is_allowed(
        statements, "iam:PassRole", EVALUATION_ROLE, context={"iam:PassedToService": "lambda.amazonaws.com"}
    )
    assert not is_allowed(
        statements, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/kbstream-query-QueryRole", context=passed_to
    )
    dataset = f"arn:aws:s3:::kbstream-evaluation-{ACCOUNT}-{REGION}/datasets/run/cases.jsonl"
    assert is_allowed(statements, "s3:PutObject", dataset)


def test_the_operations_page_shows_the_operator_policy() -> None:
    from devtools.settings_docs import DOCS
    from stacks.foundation.operator_policy import operator_policy

    shown = (
        (DOCS / "operations.md")
        .read_text()
        .split("<!-- operator policy -->", 2)[1]
        .strip()
        .removeprefix("```json")
        .removesuffix("```")
    )
    assert json.loads(shown) == operator_policy("kbstream")


def test_every_call_the_operator_commands_make_is_listed() -> None:
    import ast

    called: set[str] = set()
    modules = ("doctor", "sync_knowledge_base", "invoke_function", "deployed", "upload_documents", "evaluate",
               "evaluation/judge", "evaluation/runner")  # fmt: skip
    for module in modules:
        tree = ast.parse((Path(__file__).resolve().parent.parent / "scripts" / f"{module}.py").read_text())
        called |= {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr[0].islower()
            and "_" in node.func.attr
            and node.func.attr.split("_")[0]
            in {"describe", "get", "list", "start", "delete", "receive", "put", "create", "upload"}
        }
    from botocore import xform_name

    listed = {xform_name(operation) for _, operation in OPERATOR_CALLS}
    # upload_file is PutObject (in parts for large files); get_paginator pages ListObjectsV2.
    assert called <= listed | {"get_default", "get_event_source_mapping", "upload_file", "get_paginator"}, (
        called - listed
    )


def test_a_missing_index_fails_after_the_checks_that_passed(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment, index_missing=True)
    checks = Doctor(deployment.operator, clock=lambda: NOW, sleep=lambda _: None)
    found = {check.name: check for check in checks.run()}
    assert found["knowledge base"].status is Status.OK  # checked before the index
    assert found["data source kbstream-documents-0123abcd"].status is Status.OK
    assert found["vector index"].status is Status.FAIL and "not found" in found["vector index"].evidence


def test_a_data_source_that_is_not_available_fails(aws: None) -> None:
    deployment = deploy()
    healthy_answers(deployment, documents_source_status="DELETE_UNSUCCESSFUL")
    check = examine(deployment)["data source kbstream-documents-0123abcd"]
    assert (check.status, check.evidence) == (Status.FAIL, "DELETE_UNSUCCESSFUL")


def test_rolled_back_and_unfinished_stacks_are_reported(aws: None) -> None:
    deployment = deploy()
    stub = deployment.stub("cloudformation")
    statuses = dict(
        zip(
            STACK_PARTS,
            [
                "UPDATE_ROLLBACK_COMPLETE",
                "UPDATE_IN_PROGRESS",
                "CREATE_COMPLETE",
                "UPDATE_COMPLETE",
                "DELETE_FAILED",
                "CREATE_COMPLETE",
            ],
            strict=True,
        )
    )
    for part, status in statuses.items():
        name = deployment.operator.settings.stack_name(part)
        stub.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": name, "StackStatus": status, "CreationTime": "2026-11-22T10:00:00Z"}]},
            {"StackName": name},
        )
    found = {check.name: check.status for check in Doctor(deployment.operator).stacks()}
    assert found == {
        "stack kbstream-storage": Status.FAIL,
        "stack kbstream-knowledge-base": Status.WARN,
        "stack kbstream-network": Status.OK,
        "stack kbstream-streaming": Status.OK,
        "stack kbstream-query": Status.FAIL,
        "stack kbstream-monitoring": Status.OK,
    }


def test_a_probe_that_never_arrives_fails_and_still_deletes_its_document(aws: None) -> None:
    deployment = deploy()
    doctor = Doctor(
        deployment.operator, clock=iter(float(NOW + step * 60) for step in range(100)).__next__, sleep=lambda _: None
    )
    list(doctor.stacks())  # the outputs the probe reads
    lambda_stub = deployment.stub("lambda")
    lambda_stub.add_response("invoke", published(partition=0, offset=7), None)
    for _ in range(5):
        lambda_stub.add_response("invoke", invoke_response({"results": []}), None)
    deployment.stub("bedrock-agent").add_response("delete_knowledge_base_documents", {"documentDetails": []}, None)
    (check,) = doctor.probe(timeout_seconds=300)
    assert check.status is Status.FAIL and "not retrievable within 300 s" in check.evidence
    deployment.stub("bedrock-agent").assert_no_pending_responses()


def test_the_operator_policy_prints_without_a_region_or_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from scripts.doctor import main
    from stacks.foundation.operator_policy import operator_policy

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert main(["--print-policy", "-c", "app:namePrefix=teamkb"]) == 0
    assert json.loads(capsys.readouterr().out) == operator_policy("teamkb")
