"""The query function: RetrieveAndGenerate or Retrieve on the knowledge base, with console test events."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from custom_resources.console_test_events import ConsoleTestEvents
from query import contract as query_contract
from stacks.constructs.functions import AppFunction, FunctionCode
from stacks.foundation.nag import acknowledge
from stacks.settings import KnowledgeBaseIdentity, Lifecycle, QuerySettings


def _equals(key: str, value: Any) -> dict[str, Any]:
    return {"equals": {"key": key, "value": value}}


# The hands-on's six scenarios, then one event per other feature. Shown in the Lambda console.
QUERY_TEST_EVENTS: dict[str, dict[str, Any]] = {
    "1-company-overview": {"question": "Give me a broad overview of Aurora Dynamics: what it does and where."},
    "2-domain-filter": {
        "question": "Where is Aurora Dynamics headquartered and which industries does it serve?",
        "filter": _equals("domain", "auroradynamics.com"),
    },
    "3-internal-security": {
        "question": "What does the security brief say about zero trust and threat detection?",
        "filter": {"andAll": [_equals("is_internal", True), _equals("tags", "security,governance")]},
    },
    "4-recent-public-press": {
        "question": "What new practice did Aurora Dynamics announce?",
        "filter": {
            "andAll": [
                _equals("is_internal", False),
                _equals("tags", "press,announcement"),
                {"greaterThanOrEquals": {"key": "published_at", "value": 1750000000}},
            ]
        },
    },
    "5-internal-metrics": {
        "question": "What are the FY25 revenue targets and projected growth by region?",
        "filter": {"andAll": [_equals("is_internal", True), _equals("tags", "metrics,operations")]},
    },
    "6-service-catalog": {
        "question": "Which services are in the Aurora Dynamics solution catalog?",
        "filter": _equals("tags", "services,catalog"),
    },
    "retrieve-mode": {"question": "zero-trust reference architecture", "mode": "retrieve", "numberOfResults": 3},
    "compact-where": {
        "question": "What did Aurora Dynamics publish recently for the public?",
        "where": {"is_internal": False, "published_at": {">=": 1750000000}},
    },
    "group-restricted": {
        "question": "What are the FY25 revenue targets by region?",
        "groups": ["public"],
    },
    "stream-latest-price": {
        "question": "What is the latest price of ZVZZT?",
        "mode": "retrieve",
        "where": {"ticker": "ZVZZT"},
    },
}


class QueryFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query: QuerySettings,
        identity: KnowledgeBaseIdentity,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        code: FunctionCode,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        profile_arn = stack.format_arn(
            service="bedrock", resource="inference-profile", resource_name=query.inference_profile_id
        )
        # A cross-Region profile may route to any Region it covers (any Region, for a global profile).
        model_arns = f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{query.foundation_model_id}"
        self.function = AppFunction(
            self,
            "Query",
            code=code,
            handler=query_contract.HANDLER,
            service=query_contract.SERVICE,
            description="Answers questions from the knowledge base (RetrieveAndGenerate or Retrieve, metadata filters)",
            lifecycle=lifecycle,
            config=query_contract.QueryConfig(
                knowledge_base_id=knowledge_base_id,
                knowledge_base_name=identity.name,
                model_arn=profile_arn,
                default_number_of_results=query.number_of_results,
                group_filters=dict(query.group_filters),
                default_group=query.default_group,
                temperature=query.temperature,
                max_tokens=query.max_tokens,
                prompt_template=query.prompt_template or None,
            ),
            timeout_seconds=120,
        )
        role = self.function.role
        # Retrieve names this knowledge base; RetrieveAndGenerate supports no resource types (Service
        # Authorization Reference), so it is allowed on "*". It reaches only knowledge bases the role may
        # Retrieve from, and only models the role may invoke: both stay narrow.
        # The Sid names the knowledge base's generation: a replaced knowledge base updates this policy.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"KnowledgeBase{identity.generation}", actions=["bedrock:Retrieve"], resources=[knowledge_base_arn]
            )
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:RetrieveAndGenerate"], resources=["*"]))
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:RetrieveAndGenerate supports no resource-level permissions; the knowledge base it reads is "
            "limited by bedrock:Retrieve on this knowledge base and the model by bedrock:InvokeModel on one profile.",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel", "bedrock:GetInferenceProfile"], resources=[profile_arn])
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[model_arns]))
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{query.foundation_model_id}]",
            "One foundation model, the one behind the configured inference profile, in whichever Region the "
            "profile routes a request to.",
        )
        ConsoleTestEvents(self, "TestEvents", function=self.function.function, events=QUERY_TEST_EVENTS,
                          lifecycle=lifecycle)  # fmt: skip
