"""Every SDK call a custom resource makes is valid for the botocore model and allowed by its role."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from devtools.sdk_model import iam_action, operation_model, resolve_service, validate_request
from tests.conftest import EXISTING_CLUSTER, Synthesized
from tests.support.iam import evaluate, function_role, is_allowed, request_resource, role_policy_statements
from tests.support.sample_values import AppSamples
from tests.support.templates import PSEUDO_PARAMETERS, SdkCall, custom_resource_sdk_calls


def arn(service: str, resource: str) -> str:
    return (f"arn:{PSEUDO_PARAMETERS['AWS::Partition']}:{service}:{PSEUDO_PARAMETERS['AWS::Region']}:"
            f"{PSEUDO_PARAMETERS['AWS::AccountId']}:{resource}")  # fmt: skip


def vector_bucket_arn(parameters: dict[str, Any]) -> str:
    return arn("s3vectors", f"bucket/{parameters['vectorBucketName']}")


def vector_index_arn(parameters: dict[str, Any]) -> str:
    return f"{vector_bucket_arn(parameters)}/index/{parameters['indexName']}"


def queue_arn(parameters: dict[str, Any]) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> -> the queue's ARN."""
    url = re.fullmatch(r"https://sqs\.([a-z0-9-]+)\.amazonaws\.com/(\d{12})/(.+)", parameters["QueueUrl"])
    assert url, parameters["QueueUrl"]
    return f"arn:aws:sqs:{url[1]}:{url[2]}:{url[3]}"


# The resource each operation acts on, from its parameters: used to check the caller's IAM grants.
TARGET_ARNS: dict[tuple[str, str], Callable[[dict[str, Any]], str]] = {
    ("s3vectors", "CreateVectorBucket"): vector_bucket_arn,
    ("s3vectors", "DeleteVectorBucket"): vector_bucket_arn,
    ("s3vectors", "CreateIndex"): vector_index_arn,
    ("s3vectors", "DeleteIndex"): vector_index_arn,
    ("sqs", "SendMessage"): queue_arn,
    ("kafka", "GetBootstrapBrokers"): lambda parameters: parameters["ClusterArn"],
    ("schemas", "CreateRegistry"): lambda parameters: arn("schemas", f"registry/{parameters['RegistryName']}"),
}

VARIANTS: list[dict[str, Any]] = [{}, {"lifecycleMode": "prod", "embeddingDimension": 256}, EXISTING_CLUSTER]


def all_calls(app: Synthesized) -> list[tuple[SdkCall, dict[str, Any]]]:
    return [
        (call, template)
        for stack, template in app.templates.items()
        for call in custom_resource_sdk_calls(stack, template)
    ]


@pytest.fixture(scope="module", params=range(len(VARIANTS)), ids=["defaults", "prod-256", "existing-cluster"])
def variant(request: pytest.FixtureRequest, synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**VARIANTS[request.param])


def test_the_expected_calls_are_found(app: Synthesized) -> None:
    found = {(call.service, call.action, call.phase) for call, _ in all_calls(app)}
    assert {
        ("S3Vectors", "CreateVectorBucket", "Create"),
        ("S3Vectors", "DeleteVectorBucket", "Delete"),
        ("S3Vectors", "CreateIndex", "Create"),
        ("S3Vectors", "CreateIndex", "Update"),
        ("S3Vectors", "DeleteIndex", "Delete"),
        ("SQS", "SendMessage", "Create"),
        ("SQS", "SendMessage", "Update"),
        ("Kafka", "GetBootstrapBrokers", "Create"),
        ("Kafka", "GetBootstrapBrokers", "Update"),
        ("Schemas", "CreateRegistry", "Create"),
    } <= found


def test_parameters_match_the_service_model(variant: Synthesized) -> None:
    problems = [
        f"{call}: {error}"
        for call, _ in all_calls(variant)
        for error in validate_request(resolve_service(call.service), call.action, call.parameters)
    ]
    assert problems == []


def test_ignored_error_codes_are_errors_the_operation_can_raise(variant: Synthesized) -> None:
    for call, _ in all_calls(variant):
        if call.ignore_error_codes_matching is None:
            continue
        operation = operation_model(resolve_service(call.service), call.action)
        errors = [shape.name for shape in operation.error_shapes]
        assert any(re.fullmatch(call.ignore_error_codes_matching, name) for name in errors), (str(call), errors)


def test_each_call_is_allowed_by_the_provider_role(variant: Synthesized) -> None:
    """Evaluated as AWS would (iam-simulate): the request names the resource the call acts on, or ``*``
    for an action that supports no resource types; the role's policies carry AWS-shaped sample ARNs."""
    by_name = variant.templates_by_stack_name
    samples = AppSamples(by_name)
    for stack_name, template in by_name.items():
        render_here = partial(samples.render, template=template)
        for call in custom_resource_sdk_calls(stack_name, template, render_here):
            service = resolve_service(call.service)
            operation = operation_model(service, call.action).name
            action = iam_action(service, operation)
            provider = template["Resources"][call.logical_id]["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
            statements = role_policy_statements(by_name, stack_name, function_role(template, provider))
            target = request_resource(action, TARGET_ARNS[(service, operation)](call.parameters))
            decision = evaluate(statements, action, target)
            assert decision.allowed, (str(call), target, decision, statements)


def test_a_grant_on_the_wrong_resource_type_is_denied() -> None:
    """The defect this evaluation exists for: kafka:GetBootstrapBrokers granted on the cluster ARN."""
    cluster = arn("kafka", "cluster/kbstream-kafka/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-2")
    on_cluster = [{"Effect": "Allow", "Action": "kafka:GetBootstrapBrokers", "Resource": cluster}]
    request = request_resource("kafka:GetBootstrapBrokers", cluster)
    assert request == "*"
    assert not is_allowed(on_cluster, "kafka:GetBootstrapBrokers", request)
    on_all = [{"Effect": "Allow", "Action": "kafka:GetBootstrapBrokers", "Resource": "*"}]
    assert is_allowed(on_all, "kafka:GetBootstrapBrokers", request)
