"""The query function: RetrieveAndGenerate or Retrieve on the knowledge base, with console test events."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from custom_resources.console_test_events import ConsoleTestEvents
from query import contract as query_contract
from stacks.constructs.buckets import DocumentBucketRef
from stacks.constructs.data_key import MINIMUM_PENDING_WINDOW_DAYS
from stacks.constructs.functions import AppFunction, FunctionCode
from stacks.constructs.knowledge_base import foundation_model_arn
from stacks.constructs.query_guardrail import QueryGuardrail
from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge
from stacks.settings import KnowledgeBaseIdentity, Lifecycle, QueryApiSettings, QuerySettings
from stream_ingest.formats import JSON, example_fields
from stream_ingest.mapping import TICKER_PRICES, DocumentMapping


def _equals(key: str, value: Any) -> dict[str, Any]:
    return {"equals": {"key": key, "value": value}}


# Six questions over the sample documents, each with its filter, then one event per other feature. Shown in the
# Lambda console.
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
}
STREAM_TEST_EVENT = "stream-example"  # a question about the stream, in its mapping's terms
# The sample's ticker stream: a question only the stream can answer.
TICKER_STREAM_EVENT = {
    "question": "What is the latest price of ZVZZT?",
    "mode": "retrieve",
    "where": {"ticker": "ZVZZT"},
}


def stream_test_event(mapping: DocumentMapping) -> dict[str, Any] | None:
    """A retrieve-mode question about the stream in the topic's own terms: filtered on the metadata of the
    mapping's example (none without an example)."""
    if mapping.format is JSON and mapping.schema == TICKER_PRICES["schema"]:
        return TICKER_STREAM_EVENT
    fields = dict(example_fields(mapping))
    if mapping.source.get("example") is None:
        return None
    where = {name: value for name, value in fields.items() if isinstance(value, str | bool)}
    text = ", ".join(f"{name} {value}" for name, value in where.items())
    event: dict[str, Any] = {"question": f"What do the stream's records say{f' about {text}' if text else ''}?",
                             "mode": "retrieve"}  # fmt: skip
    if where:
        event["where"] = where
    return event


# What a caller sees who names groups in the request: a ValidationError, whatever the entry point.
FORGED_GROUPS_EVENT = "refused-groups-in-body"
REFUSED_TEST_EVENTS: dict[str, dict[str, Any]] = {
    FORGED_GROUPS_EVENT: {"question": "What are the FY25 revenue targets by region?", "groups": ["staff"]},
}
# One event per optional retrieval feature, offered when the feature is on.
FEATURE_TEST_EVENTS: dict[str, dict[str, Any]] = {
    "reranked-passages": {"question": "How does Aurora Dynamics detect threats?", "mode": "retrieve",
                          "numberOfResults": 3},
    "decomposed-question": {
        "question": "Which services does the catalog offer, and how do they relate to the FY25 growth targets?"
    },
    "implicit-filter": {"question": "What does the internal security guidance say about zero trust?"},
    "guardrail-passages": {"question": "Who are the contacts for the FY25 plan?", "mode": "retrieve"},
}  # fmt: skip


def query_test_events(query: QuerySettings, stream_mapping: DocumentMapping) -> dict[str, dict[str, Any]]:
    """The console test events for these settings: the scenarios, the stream's, the refusal, and each feature
    that is on."""
    features = {
        "reranked-passages": bool(query.reranking_model_id),
        "decomposed-question": query.query_decomposition,
        "implicit-filter": bool(query.implicit_filter_attributes),
        "guardrail-passages": query.guardrail != "off",
    }
    stream = stream_test_event(stream_mapping)
    stream_events = {STREAM_TEST_EVENT: stream} if stream else {}
    return {**QUERY_TEST_EVENTS, **stream_events, **REFUSED_TEST_EVENTS,
            **{name: event for name, event in FEATURE_TEST_EVENTS.items() if features[name]}}  # fmt: skip


def _model_arns(model_id: str) -> str:
    """A foundation model in whichever Region a cross-Region profile routes to (any, for a global profile)."""
    return f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{model_id}"


class QueryFunction(Construct):
    """The function, its entry points (one alias per group, and the HTTP API's), and what it may call."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query: QuerySettings,
        query_api: QueryApiSettings,
        stream_mapping: DocumentMapping,
        identity: KnowledgeBaseIdentity,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        code: FunctionCode,
        lifecycle: Lifecycle,
        key: kms.IKey | None = None,
        document_links: DocumentBucketRef | None = None,
        stream_connections_url: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        def profile_arn(profile_id: str) -> str:
            return stack.format_arn(service="bedrock", resource="inference-profile", resource_name=profile_id)

        reranking_model_arn = foundation_model_arn(self, query.reranking_model_id) if query.reranking_model_id else None
        guardrail = None
        if query.guardrail != "off":
            guardrail = QueryGuardrail(self, "Guardrail", query=query, name_prefix=identity.name_prefix)
        implicit_filters = [attribute.model_dump() for attribute in query.implicit_filter_attributes]
        # With groups, each conversation is bound to the audience that started it (query.sessions).
        self.session_seal_key = self._session_seal_key() if query.group_filters else None
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
                model_arn=profile_arn(query.inference_profile_id),
                default_number_of_results=query.number_of_results,
                group_filters=dict(query.group_filters),
                default_group=query.default_group,
                temperature=query.temperature,
                max_tokens=query.max_tokens,
                prompt_template=query.prompt_template or None,
                reranking_model_arn=reranking_model_arn,
                reranking_candidates=query.reranking_candidates if reranking_model_arn else None,
                query_decomposition=query.query_decomposition,
                implicit_filter_attributes=implicit_filters or None,
                implicit_filter_model_arn=profile_arn(query.implicit_filter_profile_id) if implicit_filters else None,
                guardrail_id=guardrail.guardrail_id if guardrail else None,
                guardrail_version=guardrail.version if guardrail else None,
                group_claim=query_api.group_claim if query_api.enabled else None,
                session_key_arn=key.key_arn if key else None,
                session_seal_key_arn=self.session_seal_key.key_arn if self.session_seal_key else None,
                document_bucket=document_links.bucket_name(self) if document_links else None,
                stream_connections_url=stream_connections_url,
            ),
            timeout_seconds=120,
            # Aliases move to each new version; an old one serves nobody, so CloudFormation deletes it.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        self.function.invoked_without_async_events(
            "the console, the SDK, make ask and the APIs invoke it synchronously; errors return to the caller."
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
            "bedrock:RetrieveAndGenerate and bedrock:Rerank support no resource-level permissions; the knowledge "
            "base is limited by bedrock:Retrieve on this knowledge base and the models by bedrock:InvokeModel on "
            "the configured ones.",
        )
        # Generation, and implicit filters when on: each inference profile and the model behind it.
        for profile_id in sorted({query.inference_profile_id} | ({query.implicit_filter_profile_id}
                                                                 if implicit_filters else set())):  # fmt: skip
            model_id = profile_id.split(".", 1)[1]
            # With the chat page, answers are generated as a stream. AWS's reference names only
            # bedrock:RetrieveAndGenerate for RetrieveAndGenerateStream; Bedrock invokes the model with the caller's
            # permissions, so the streaming invocation is allowed on the same model, in case it is what is checked.
            invoke = ["bedrock:InvokeModel"] + (["bedrock:InvokeModelWithResponseStream"] if stream_connections_url
                                                else [])  # fmt: skip
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[*invoke, "bedrock:GetInferenceProfile"], resources=[profile_arn(profile_id)]
                )
            )
            role.add_to_principal_policy(iam.PolicyStatement(actions=invoke, resources=[_model_arns(model_id)]))
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{model_id}]",
                "One foundation model, the one behind a configured inference profile, in whichever Region the "
                "profile routes a request to.",
            )  # fmt: skip
        if reranking_model_arn:
            # Reranking inside RetrieveAndGenerate and Retrieve: bedrock:Rerank, and InvokeModel on the reranker.
            role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:Rerank"], resources=["*"]))
            role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:InvokeModel"],
                                                             resources=[reranking_model_arn]))  # fmt: skip
        if guardrail:
            # RetrieveAndGenerate applies the guardrail with the caller's permissions; so does ApplyGuardrail.
            role.add_to_principal_policy(iam.PolicyStatement(actions=["bedrock:ApplyGuardrail"],
                                                             resources=[guardrail.arn]))  # fmt: skip
        if key:
            # Conversation sessions under the key: https://docs.aws.amazon.com/bedrock/latest/userguide/encryption-kb.html
            role.add_to_principal_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"],
                                                             resources=[key.key_arn]))  # fmt: skip
        if self.session_seal_key:
            self.session_seal_key.grant(role, "kms:GenerateMac", "kms:VerifyMac")
        if document_links is not None:
            # The chat page's links to cited documents are presigned with this role: it may read the documents.
            documents = f"arn:{Aws.PARTITION}:s3:::{document_links.bucket_name(self)}/{document_links.document_prefix}*"
            role.add_to_principal_policy(
                iam.PolicyStatement(sid="LinkedDocuments", actions=["s3:GetObject"], resources=[documents])
            )
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{document_links.nag_documents_arn(self)}]",
                        "The documents under the knowledge base's prefix, which the chat page links to for "
                        "five minutes when an answer cites them.")  # fmt: skip
        events = query_test_events(query, stream_mapping)
        ConsoleTestEvents(self, "TestEvents", function=self.function.function, events=events, lifecycle=lifecycle)
        self.entry_points = QueryEntryPoints(self, "EntryPoints", function=self.function.function, query=query,
                                             http_api=query_api.enabled,
                                             answer_stream=stream_connections_url is not None)  # fmt: skip

    def _session_seal_key(self) -> kms.Key:
        key = kms.Key(
            self,
            "SessionSealKey",
            description="Binds each conversation of the query function to the audience that started it (HMAC)",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            pending_window=Duration.days(MINIMUM_PENDING_WINDOW_DAYS),
            # Sessions live for hours: a new key (after a destroy) only ends the conversations in progress.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Automatic rotation is for symmetric encryption keys only:
        # https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
        no_rotation = ("HMAC keys do not support automatic rotation (KMS rotates symmetric encryption keys "
                       "only); the key signs short-lived conversation handles, never data.")  # fmt: skip
        acknowledge(key, "AwsSolutions-KMS5", no_rotation)
        skip_check(key, "CKV_AWS_7", no_rotation)
        return key


class QueryEntryPoints(Construct):
    """One alias per group: IAM decides who may invoke which, and so who asks as which group. The plain
    function name asks as the default group. Each group has a managed policy to attach to people and roles."""

    def __init__(self, scope: Construct, construct_id: str, *, function: lambda_.Function, query: QuerySettings,
                 http_api: bool, answer_stream: bool = False) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        # A new version on every change of code or configuration; the aliases move to it, and the old one goes.
        version = function.current_version
        self.aliases: dict[str, lambda_.Alias] = {
            group: lambda_.Alias(self, f"Group-{group}", alias_name=group, version=version,
                                 description=f"Asks the knowledge base as '{group}'")
            for group in query.group_filters
        }  # fmt: skip
        self.http_api: lambda_.Alias | None = None
        if http_api:
            self.http_api = lambda_.Alias(
                self, "HttpApi", alias_name=query_contract.HTTP_API_ENTRY_POINT, version=version,
                description="Invoked by the HTTP API only: its callers' groups come from their verified tokens",
            )  # fmt: skip
        self.answer_stream: lambda_.Alias | None = None
        if answer_stream:
            self.answer_stream = lambda_.Alias(
                self, "AnswerStream", alias_name=query_contract.STREAM_ENTRY_POINT, version=version,
                description="Invoked by the chat page's WebSocket API only: the groups of the connection's token",
            )  # fmt: skip
        self.policies: dict[str, iam.ManagedPolicy] = {}
        for group, resources in self._invocable(function, query).items():
            self.policies[group] = iam.ManagedPolicy(
                self,
                f"AskAs-{group}",
                description=f"May ask the knowledge base as '{group}' (invoke its entry point of the query function)",
                statements=[iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=resources)],
            )

    def _invocable(self, function: lambda_.Function, query: QuerySettings) -> dict[str, list[str]]:
        """Group -> the ARNs its members may invoke. A grant on one ARN allows no other: an alias ARN
        does not allow the plain name, and the plain name allows no alias (Lambda resource names)."""
        if not self.aliases:  # no groups: one audience, the plain function
            return {query.default_group: [function.function_arn]}
        invocable = {group: [alias.function_arn] for group, alias in self.aliases.items()}
        invocable[query.default_group].append(function.function_arn)
        return invocable
