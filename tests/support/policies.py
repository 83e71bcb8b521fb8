"""The IAM policy documents of synthesized templates, rendered with sample values and checked against AWS's data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from devtools.sdk_model import DEPLOY_TIME_MARKER
from tests.support.documented_permissions import documented_on_all_resources
from tests.support.iam_rules import allow_statements, statement_problems
from tests.support.sample_values import AppSamples

# Where each kind of resource keeps its policy documents (trust policies are not permission grants).
POLICY_PROPERTIES: Mapping[str, str] = {
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::S3::BucketPolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::KMS::Key": "KeyPolicy",
}


@dataclass(frozen=True)
class PolicyDocument:
    stack: str
    logical_id: str
    name: str
    document: dict[str, Any]  # rendered with sample values

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}/{self.name}"


def policy_documents(templates_by_stack_name: Mapping[str, dict[str, Any]]) -> Iterator[PolicyDocument]:
    samples = AppSamples(templates_by_stack_name)
    for stack, template in templates_by_stack_name.items():
        for logical_id, resource in template["Resources"].items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::IAM::Role":
                for policy in properties.get("Policies", []):
                    rendered = samples.render(policy["PolicyDocument"], template)
                    yield PolicyDocument(stack, logical_id, policy["PolicyName"], rendered)
            elif resource["Type"] in POLICY_PROPERTIES:
                document = samples.render(properties[POLICY_PROPERTIES[resource["Type"]]], template)
                if resource["Type"] == "AWS::KMS::Key":
                    document = _this_key(document, samples.render({"Fn::GetAtt": [logical_id, "Arn"]}, template))
                yield PolicyDocument(stack, logical_id, resource["Type"], document)


def _this_key(document: dict[str, Any], key_arn: str) -> dict[str, Any]:
    """In a key policy, ``"Resource": "*"`` means this key (AWS KMS developer guide, key policies)."""
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    return {**document, "Statement": [{**statement, "Resource": key_arn} if statement.get("Resource") == "*"
                                      else statement for statement in statements]}  # fmt: skip


def policy_problems(templates_by_stack_name: Mapping[str, dict[str, Any]]) -> list[str]:
    """Every Allow statement of every policy, checked against the Service Authorization Reference."""
    problems: list[str] = []
    for policy in policy_documents(templates_by_stack_name):
        for statement in allow_statements(policy.document):
            if DEPLOY_TIME_MARKER in repr(statement.get("Resource")):
                problems.append(f"{policy}: no sample value for {statement['Resource']} (extend sample_values)")
                continue
            problems += [
                f"{policy}: {problem}"
                for problem in statement_problems(statement, wildcard_acknowledged=documented_on_all_resources)
            ]
    return problems
