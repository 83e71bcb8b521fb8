from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from botocore.stub import Stubber

from devtools.lambda_events import FakeLambdaContext, sqs_event
from devtools.sdk_model import iam_action
from kb_sync import handler as sync_handler
from kb_sync.contract import SyncConfig
from kb_sync.sync import parse_notice
from stacks.constructs.document_upload import DocumentUpload
from stacks.settings import Lifecycle, load_settings
from tests.conftest import Synthesized
from tests.support import iam_rules
from tests.support.contracts import use_config
from tests.support.iam import allowed_resources, role_statements
from tests.support.templates import one, render, resources_of_type

INDEX_ARN_PREFIX = "arn:aws:s3vectors:us-east-1:123456789012:bucket/kbstream-vectors/index/"
GENERATION = load_settings({}).knowledge_base_identity.generation
DOCUMENTS_BUCKET = "kbstream-documents-123456789012-us-east-1"


def kb_template(app: Synthesized) -> dict[str, Any]:
    return app.template("KnowledgeBase")


def role_of(template: dict[str, Any], description_start: str) -> str:
    (logical_id,) = [
        key
        for key, resource in resources_of_type(template, "AWS::IAM::Role").items()
        if resource["Properties"].get("Description", "").startswith(description_start)
    ]
    return logical_id


def test_knowledge_base_on_s3_vectors_with_titan_v2(app: Synthesized) -> None:
    _, kb = one(kb_template(app), "AWS::Bedrock::KnowledgeBase")
    properties = render(kb["Properties"])
    vector = properties["KnowledgeBaseConfiguration"]["VectorKnowledgeBaseConfiguration"]
    assert properties["KnowledgeBaseConfiguration"]["Type"] == "VECTOR"
    assert vector["EmbeddingModelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
    assert vector["EmbeddingModelConfiguration"] == {
        "BedrockEmbeddingModelConfiguration": {"Dimensions": 1024, "EmbeddingDataType": "FLOAT32"}
    }
    storage = properties["StorageConfiguration"]
    assert storage["Type"] == "S3_VECTORS"
    # The index ARN alone: with the bucket ARN and index name as well, CloudFormation rejects it.
    assert storage["S3VectorsConfiguration"] == {
        "IndexArn": INDEX_ARN_PREFIX + app.settings.storage.vector_index.index_name
    }


def test_knowledge_base_is_created_after_its_role_and_policies(app: Synthesized) -> None:
    template = kb_template(app)
    _, kb = one(template, "AWS::Bedrock::KnowledgeBase")
    role = role_of(template, "Bedrock knowledge base")
    assert role in kb["DependsOn"]
    # The role's policies are inline, so they exist the moment the role does: no separate policy to race.
    attached = [
        key
        for key, policy in resources_of_type(template, "AWS::IAM::Policy").items()
        if {"Ref": role} in policy["Properties"]["Roles"]
    ]
    assert attached == []
    assert {policy["PolicyName"] for policy in template["Resources"][role]["Properties"]["Policies"]} == {
        "EmbeddingModel",
        "Documents",
        "VectorIndex",
    }


def test_service_role_trusts_bedrock_for_this_account_only(app: Synthesized) -> None:
    template = kb_template(app)
    role = template["Resources"][role_of(template, "Bedrock knowledge base")]["Properties"]
    (statement,) = render(role["AssumeRolePolicyDocument"]["Statement"])
    assert statement["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/*"},
    }


def test_service_role_is_least_privilege(app: Synthesized) -> None:
    template = kb_template(app)
    statements = role_statements(template, role_of(template, "Bedrock knowledge base"))
    index_arn = INDEX_ARN_PREFIX + app.settings.storage.vector_index.index_name
    assert allowed_resources(statements, "bedrock:InvokeModel") == [
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
    ]
    assert allowed_resources(statements, "s3:GetObject") == [f"arn:aws:s3:::{DOCUMENTS_BUCKET}/documents/*"]
    (list_bucket,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert list_bucket["Resource"] == f"arn:aws:s3:::{DOCUMENTS_BUCKET}"
    # The S3 data source statements as the Bedrock user guide writes them: this account's bucket only.
    assert list_bucket["Condition"] == {"StringEquals": {"aws:ResourceAccount": ["123456789012"]}}
    (get_object,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert get_object["Condition"] == list_bucket["Condition"]
    for action in ("GetIndex", "QueryVectors", "PutVectors", "GetVectors", "DeleteVectors"):
        assert allowed_resources(statements, f"s3vectors:{action}") == [index_arn]
    assert allowed_resources(statements, "s3:PutObject") == []


def test_no_bedrock_s3_or_s3vectors_action_is_granted_on_every_resource(app: Synthesized) -> None:
    for stack, template in app.templates.items():
        for role in resources_of_type(template, "AWS::IAM::Role"):
            for statement in role_statements(template, role):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                scoped = [a for a in actions if a.split(":")[0] in ("bedrock", "s3", "s3vectors")]
                # Only actions AWS's authorization data scopes to no resource type may be allowed on "*".
                if "*" in resources:
                    assert all(iam_rules.action(a).wildcard_only for a in scoped), (stack, role, statement)


def test_the_documents_keep_their_vectors_and_a_retired_stream_data_source_takes_its_own(app: Synthesized) -> None:
    sources = {
        resource["Properties"]["DataSourceConfiguration"]["Type"]: render(resource["Properties"])
        for resource in resources_of_type(kb_template(app), "AWS::Bedrock::DataSource").values()
    }
    assert set(sources) == {"S3", "CUSTOM"}
    assert {kind: source["DataDeletionPolicy"] for kind, source in sources.items()} == {
        "S3": "RETAIN",
        "CUSTOM": "DELETE",
    }
    s3_source = sources["S3"]
    assert s3_source["DataSourceConfiguration"]["S3Configuration"] == {
        "BucketArn": f"arn:aws:s3:::{DOCUMENTS_BUCKET}",
        "InclusionPrefixes": ["documents/"],
    }
    assert s3_source["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": "FIXED_SIZE",
        "FixedSizeChunkingConfiguration": {"MaxTokens": 300, "OverlapPercentage": 20},
    }
    assert sources["CUSTOM"]["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {"ChunkingStrategy": "NONE"}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("SEMANTIC", {"SemanticChunkingConfiguration": {"MaxTokens": 300, "BufferSize": 0,
                                                        "BreakpointPercentileThreshold": 95}}),
        ("HIERARCHICAL", {"HierarchicalChunkingConfiguration": {
            "LevelConfigurations": [{"MaxTokens": 1500}, {"MaxTokens": 300}], "OverlapTokens": 60}}),
        ("NONE", {}),
    ],
)  # fmt: skip
def test_chunking_strategy_from_settings(
    synth: Callable[..., Synthesized], strategy: str, expected: dict[str, Any]
) -> None:
    template = synth(chunkingStrategy=strategy).template("KnowledgeBase")
    (s3_source,) = [
        resource["Properties"]
        for resource in resources_of_type(template, "AWS::Bedrock::DataSource").values()
        if resource["Properties"]["DataSourceConfiguration"]["Type"] == "S3"
    ]
    assert s3_source["VectorIngestionConfiguration"]["ChunkingConfiguration"] == {
        "ChunkingStrategy": strategy,
        **expected,
    }


def test_application_logs_are_delivered_to_cloudwatch(app: Synthesized) -> None:
    template = kb_template(app)
    kb_id, _ = one(template, "AWS::Bedrock::KnowledgeBase")
    _, source = one(template, "AWS::Logs::DeliverySource")
    assert source["Properties"]["LogType"] == "APPLICATION_LOGS"
    assert source["Properties"]["ResourceArn"] == {"Fn::GetAtt": [kb_id, "KnowledgeBaseArn"]}
    _, destination = one(template, "AWS::Logs::DeliveryDestination")
    log_group_name = app.settings.knowledge_base_identity.application_log_group_name
    assert log_group_name == f"/aws/vendedlogs/bedrock/knowledge-base/kbstream-knowledge-base-{GENERATION}"
    assert render(destination["Properties"]["DestinationResourceArn"]) == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group_name}"
    )
    groups = resources_of_type(template, "AWS::Logs::LogGroup").values()
    (group,) = [g for g in groups if g["Properties"].get("LogGroupName") == log_group_name]
    assert group["Properties"]["RetentionInDays"] == 30
    _, delivery = one(template, "AWS::Logs::Delivery")
    assert delivery["Properties"]["DeliverySourceName"] == source["Properties"]["Name"]


def test_outputs(app: Synthesized) -> None:
    outputs = kb_template(app)["Outputs"]
    assert {"KnowledgeBaseId", "KnowledgeBaseArn", "DocumentsDataSourceId", "StreamDataSourceId"} <= set(outputs)


# --- sync without manual steps ------------------------------------------------------------------


def test_object_changes_under_the_prefix_reach_the_sync_queue(app: Synthesized) -> None:
    template = kb_template(app)
    _, rule = one(template, "AWS::Events::Rule")
    pattern = render(rule["Properties"]["EventPattern"])
    assert pattern == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [DOCUMENTS_BUCKET]}, "object": {"key": [{"prefix": "documents/"}]}},
    }
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"]["Fn::GetAtt"][0].startswith("DocumentSyncChanges")
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("DocumentSyncDeadLetters")
    storage = app.template("Storage")
    documents = [b for k, b in resources_of_type(storage, "AWS::S3::Bucket").items() if k.startswith("Documents")]
    assert documents[0]["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_queues_are_encrypted_and_changes_have_a_dead_letter_queue(app: Synthesized) -> None:
    queues = resources_of_type(kb_template(app), "AWS::SQS::Queue")
    assert all(queue["Properties"]["SqsManagedSseEnabled"] for queue in queues.values())
    (changes,) = [q for key, q in queues.items() if key.startswith("DocumentSyncChanges")]
    assert changes["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 100
    assert changes["Properties"]["VisibilityTimeout"] == 180


def test_bursts_are_batched_and_partial_failures_reported(app: Synthesized) -> None:
    _, mapping = one(kb_template(app), "AWS::Lambda::EventSourceMapping")
    properties = mapping["Properties"]
    assert properties["MaximumBatchingWindowInSeconds"] == 60
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": 2}


def trigger_message(app: Synthesized) -> dict[str, Any]:
    _, trigger = one(app.template("KnowledgeBase"), "Custom::DocumentSyncTrigger")
    call = json.loads(render(trigger["Properties"]["Create"]))
    assert call["action"] == "SendMessage"
    assert json.loads(render(trigger["Properties"]["Update"]))["parameters"] == call["parameters"]
    return dict(call["parameters"])


def test_deployment_trigger_sends_a_message_the_sync_function_accepts(app: Synthesized) -> None:
    body = trigger_message(app)["MessageBody"]
    notice = parse_notice("m1", body, bucket=DOCUMENTS_BUCKET, prefix="documents/")
    assert notice.summary.startswith("deployment ")
    assert json.loads(body)["documentsVersion"] == app.stacks.storage.sample_documents_version


def test_deployment_trigger_fires_again_when_the_documents_change(tmp_path: Path) -> None:
    versions: list[str] = []
    for text in ("first", "second", "second"):
        folder = tmp_path / str(len(versions))
        folder.mkdir()
        (folder / "a.txt").write_text(text)
        stack = Stack(App(), "Documents")
        upload = DocumentUpload(stack, "Upload", source=folder, bucket=s3.Bucket(stack, "Bucket"), prefix="p/",
                                lifecycle=Lifecycle.model_validate({"logRetentionDays": 30}))  # fmt: skip
        versions.append(upload.version)
    assert versions[0] != versions[1]
    assert versions[1] == versions[2]


def test_trigger_waits_for_the_data_source(app: Synthesized) -> None:
    template = kb_template(app)
    _, trigger = one(template, "Custom::DocumentSyncTrigger")
    s3_source = [
        key
        for key, r in resources_of_type(template, "AWS::Bedrock::DataSource").items()
        if r["Properties"]["DataSourceConfiguration"]["Type"] == "S3"
    ]
    assert s3_source[0] in trigger["DependsOn"]
    # ...and the storage stack (documents and index) deploys first.
    assert app.stacks.storage in app.stacks.knowledge_base.dependencies


def test_sync_function_role_allows_exactly_the_calls_it_makes(
    app: Synthesized, lambda_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = kb_template(app)
    dead_letters = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"
    use_config(monkeypatch, SyncConfig(knowledge_base_id="ABCDEFGHIJ", data_source_id="ABCDEFGHIJ",
                                       bucket=DOCUMENTS_BUCKET, prefix="documents/",
                                       dead_letter_queue_url=dead_letters))  # fmt: skip
    agent, sqs = lambda_env.client("bedrock-agent"), lambda_env.client("sqs")
    with Stubber(agent) as agent_stub, Stubber(sqs) as sqs_stub:
        sqs_stub.add_response("send_message", {"MessageId": "1"}, None)
        agent_stub.add_response(
            "start_ingestion_job",
            {"ingestionJob": {"knowledgeBaseId": "ABCDEFGHIJ", "dataSourceId": "ABCDEFGHIJ",
                              "ingestionJobId": "JOB0000001", "status": "STARTING",
                              "startedAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}},
            None,
        )  # fmt: skip
        body = trigger_message(app)["MessageBody"]
        sync_handler.handler(sqs_event(["junk", body]), FakeLambdaContext())  # type: ignore[arg-type]
    assert lambda_env.recorder.problems == []
    assert lambda_env.recorder.operations() == {("bedrock-agent", "StartIngestionJob"), ("sqs", "SendMessage")}

    kb_id, _ = one(template, "AWS::Bedrock::KnowledgeBase")
    (dead_letters,) = [k for k in resources_of_type(template, "AWS::SQS::Queue") if k.startswith("DocumentSyncDead")]
    expected = {
        ("bedrock-agent", "StartIngestionJob"): [f"\u27e6GetAtt:{kb_id}.KnowledgeBaseArn\u27e7"],
        ("sqs", "SendMessage"): [f"\u27e6GetAtt:{dead_letters}.Arn\u27e7"],
    }
    statements = role_statements(template, role_of(template, "Starts an ingestion job"))
    for (service, operation), resources in expected.items():
        assert allowed_resources(statements, iam_action(service, operation)) == resources
