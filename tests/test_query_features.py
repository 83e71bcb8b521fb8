"""Reranking, guardrails, query decomposition and implicit filters: settings validated at synthesis,
requests validated against the botocore models, grants evaluated against AWS's authorization data."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, get_args

import pytest
from botocore.stub import Stubber

from devtools.fake_guardrail import BLOCKED_MESSAGE, GuardrailState, fake_guardrail
from devtools.lambda_events import FakeLambdaContext
from devtools.sdk_model import iam_action, service_model, validate_request
from query import handler as query_handler
from query.contract import QueryConfig, QueryMetric
from query.guardrail import MAX_IN_FLIGHT
from stacks.aws_limits import HTTP_API_MAX_INTEGRATION_SECONDS
from stacks.constructs.query_guardrail import CONTENT_FILTERS
from stacks.settings import ImplicitFilterAttribute, PiiEntityType, SettingsError, load_settings
from tests.conftest import GROUP_FILTERS, OIDC_API, QUERY_FEATURES, LambdaEnvironment, Synthesized
from tests.support.contracts import deployed_config, use_config
from tests.support.iam import evaluate, function_role, request_resource, role_policy_statements
from tests.support.sample_values import AppSamples
from tests.support.templates import function_with_handler, one, resources_of_type
from tests.test_query import BASE_CONFIG, generation_response

RERANKER = "arn:aws:bedrock:us-east-1::foundation-model/amazon.rerank-v1:0"
ATTRIBUTES = [dict(attribute) for attribute in QUERY_FEATURES["implicitFilterAttributes"]]
FEATURES = replace(
    BASE_CONFIG,
    group_filters=GROUP_FILTERS,
    reranking_model_arn=RERANKER,
    reranking_candidates=25,
    query_decomposition=True,
    implicit_filter_attributes=ATTRIBUTES,
    implicit_filter_model_arn=BASE_CONFIG.model_arn,
    guardrail_id="abcd1234efgh",
    guardrail_version="2",
)
PUBLIC_ARN = "arn:aws:lambda:us-east-1:123456789012:function:kbstream-query:public"


@pytest.fixture
def featured_env(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, FEATURES)
    lambda_env.client("bedrock-agent-runtime")
    lambda_env.client("bedrock-runtime")
    return lambda_env


def ask(event: Any, invoked_arn: str = PUBLIC_ARN) -> Any:
    return query_handler.handler(event, FakeLambdaContext(invoked_function_arn=invoked_arn))


def passage(text: str, uri: str) -> dict[str, Any]:
    return {"content": {"text": text}, "location": {"type": "S3", "s3Location": {"uri": uri}}, "score": 0.5,
            "metadata": {"is_internal": False}}  # fmt: skip


def guardrail_says(action: str, text: str = "", assessment_action: str = "") -> dict[str, Any]:
    assessments = []
    if assessment_action:
        assessments = [{"sensitiveInformationPolicy": {"regexes": [], "piiEntities": [
            {"match": "x", "type": "EMAIL", "action": assessment_action}]}}]  # fmt: skip
    return {"usage": {"topicPolicyUnits": 1, "contentPolicyUnits": 1, "wordPolicyUnits": 0,
                      "sensitiveInformationPolicyUnits": 1, "sensitiveInformationPolicyFreeUnits": 0,
                      "contextualGroundingPolicyUnits": 0},
            "action": action, "outputs": [{"text": text}] if text else [], "assessments": assessments}  # fmt: skip


def test_generate_sends_every_feature_and_the_enforced_filter_beside_the_inferred_one(
    featured_env: LambdaEnvironment,
) -> None:
    runtime = featured_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", {"output": {"text": "An answer."}, "sessionId": "s-1"}, None)
        ask({"question": "What does the internal security guidance say?", "numberOfResults": 4})
    (_, operation, parameters) = featured_env.recorder.calls[-1]
    assert operation == "RetrieveAndGenerate"
    knowledge_base = parameters["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]
    search = knowledge_base["retrievalConfiguration"]["vectorSearchConfiguration"]
    assert search == {
        "numberOfResults": 25,  # candidates for the reranker
        "filter": GROUP_FILTERS["public"],  # the entry point's audience, whatever the model infers
        "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {
            "modelConfiguration": {"modelArn": RERANKER}, "numberOfRerankedResults": 4}},
        "implicitFilterConfiguration": {"metadataAttributes": ATTRIBUTES, "modelArn": BASE_CONFIG.model_arn},
    }  # fmt: skip
    assert knowledge_base["orchestrationConfiguration"] == {
        "queryTransformationConfiguration": {"type": "QUERY_DECOMPOSITION"}
    }
    assert knowledge_base["generationConfiguration"] == {
        "guardrailConfiguration": {"guardrailId": "abcd1234efgh", "guardrailVersion": "2"}
    }
    assert validate_request("bedrock-agent-runtime", "RetrieveAndGenerate", parameters) == []
    assert featured_env.recorder.problems == []


def test_the_model_keeps_the_enforced_filter_and_the_inferred_one_apart() -> None:
    """In botocore's model the explicit filter and the implicit-filter settings are separate members of one
    search configuration: the model's filter is added by Bedrock, never a replacement of ``filter``."""
    search = service_model("bedrock-agent-runtime").shape_for("KnowledgeBaseVectorSearchConfiguration")
    assert {"filter", "implicitFilterConfiguration"} <= set(search.members)
    assert search.members["filter"].name == "RetrievalFilter"
    implicit = search.members["implicitFilterConfiguration"]
    assert set(implicit.members) == {"metadataAttributes", "modelArn"}  # no way to pass or override a filter


def test_the_retrieve_request_reranks_but_cannot_decompose(featured_env: LambdaEnvironment) -> None:
    runtime = featured_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve", {"retrievalResults": []}, None)
        ask({"question": "threat detection", "mode": "retrieve", "numberOfResults": 3})
    (_, operation, parameters) = featured_env.recorder.calls[-1]
    assert operation == "Retrieve"
    search = parameters["retrievalConfiguration"]["vectorSearchConfiguration"]
    assert search["numberOfResults"] == 25
    assert search["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfRerankedResults"] == 3
    assert "orchestrationConfiguration" not in str(parameters)  # RetrieveAndGenerate only (botocore's model)
    assert "orchestrationConfiguration" not in service_model("bedrock-agent-runtime").shape_for(
        "KnowledgeBaseRetrievalConfiguration").members  # fmt: skip
    assert featured_env.recorder.problems == []


def test_asking_for_more_results_than_candidates_reranks_them_all(featured_env: LambdaEnvironment) -> None:
    runtime = featured_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve", {"retrievalResults": []}, None)
        ask({"question": "everything", "mode": "retrieve", "numberOfResults": 40})
    search = featured_env.recorder.calls[-1][2]["retrievalConfiguration"]["vectorSearchConfiguration"]
    assert search["numberOfResults"] == 40
    assert search["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfRerankedResults"] == 40


@pytest.fixture
def guardrail(featured_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> Iterator[GuardrailState]:
    """The fake ApplyGuardrail endpoint: masks e-mail addresses and phone numbers, blocks 'weapon'."""
    with fake_guardrail() as (url, state):
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", url)
        from function_runtime import aws_clients

        aws_clients.client.cache_clear()
        featured_env.client("bedrock-agent-runtime")
        featured_env.client("bedrock-runtime")
        yield state


def test_retrieved_passages_and_their_metadata_go_through_the_guardrail(
    featured_env: LambdaEnvironment, guardrail: GuardrailState
) -> None:
    agent = featured_env.client("bedrock-agent-runtime")
    contact = passage("Mail jo@example.com.", "s3://d/b.pdf")
    contact["metadata"] = {"title": "Contact Ana at ana@example.com or +1 206 555 0100", "tags": ["call 206-555-0199"],
                           "is_internal": False, "published_at": 1750000000}  # fmt: skip
    results = [passage("Zero trust everywhere.", "s3://d/a.pdf"), contact,
               passage("How to build a weapon.", "s3://d/c.pdf")]  # fmt: skip
    with Stubber(agent) as agent_stub:
        agent_stub.add_response("retrieve", {"retrievalResults": results}, None)
        result = ask({"question": "contacts", "mode": "retrieve"})
    assert [(entry["excerpt"], entry["guardrail"]) for entry in result["results"]] == [
        ("Zero trust everywhere.", "NONE"),
        ("Mail {EMAIL}.", "ANONYMIZED"),
        (BLOCKED_MESSAGE, "BLOCKED"),
    ]
    assert result["results"][1]["metadata"] == {"title": "Contact Ana at {EMAIL} or {PHONE}", "tags": ["call {PHONE}"],
                                                "is_internal": False, "published_at": 1750000000}  # fmt: skip
    assert guardrail.requests == 3  # one per passage, its metadata with it
    assert featured_env.recorder.problems == []


def test_a_blocked_answer_is_a_typed_result_and_its_citations_are_guarded(
    featured_env: LambdaEnvironment, guardrail: GuardrailState
) -> None:
    agent = featured_env.client("bedrock-agent-runtime")
    blocked = {**generation_response(), "output": {"text": "The knowledge base cannot answer this."},
               "guardrailAction": "INTERVENED"}  # fmt: skip
    blocked["citations"][0]["retrievedReferences"][0]["content"]["text"] = "Write to ceo@example.com."
    with Stubber(agent) as agent_stub:
        agent_stub.add_response("retrieve_and_generate", blocked, None)
        result = ask({"question": "Tell me something harmful"})
    assert "error" not in result
    assert result["guardrail"] == {"action": "INTERVENED"}
    assert result["answer"] == "The knowledge base cannot answer this."
    assert [(citation["excerpt"], citation["guardrail"]) for citation in result["citations"]] == [
        ("Write to {EMAIL}.", "ANONYMIZED"), ("LaunchPad Migration...", "NONE")]  # fmt: skip
    assert featured_env.recorder.problems == []


def test_guardrail_interventions_are_counted(
    featured_env: LambdaEnvironment, guardrail: GuardrailState, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = featured_env.client("bedrock-agent-runtime")
    with Stubber(agent) as agent_stub:
        agent_stub.add_response("retrieve", {"retrievalResults": [passage("Mail jo@example.com.", "s3://d/b")]}, None)
        ask({"question": "contacts", "mode": "retrieve"})
    assert f'"{QueryMetric.GUARDRAIL_INTERVENTIONS}":[1' in capsys.readouterr().out.replace(" ", "")


def test_a_hundred_passages_are_guarded_several_at_a_time(
    featured_env: LambdaEnvironment, guardrail: GuardrailState
) -> None:
    # The worst case the API admits: numberOfResults=100, every passage with metadata texts.
    guardrail.latency_seconds = 0.05
    agent = featured_env.client("bedrock-agent-runtime")
    results = []
    for index in range(100):
        entry = passage(f"Passage {index}: reach us at team{index}@example.com.", f"s3://d/{index}.pdf")
        entry["metadata"] = {"title": f"Doc {index}", "owner": f"owner{index}@example.com", "tags": ["a", "b"]}
        results.append(entry)
    with Stubber(agent) as agent_stub:
        agent_stub.add_response("retrieve", {"retrievalResults": results}, None)
        result = ask({"question": "contacts", "mode": "retrieve", "numberOfResults": 100})
    assert all(entry["guardrail"] == "ANONYMIZED" and "@" not in json.dumps(entry) for entry in result["results"])
    # One request per passage, MAX_IN_FLIGHT at a time: at the fake's 50 ms that is 13 rounds, and at a real
    # guardrail's latency (well under 2 s a passage) inside the HTTP API's 30 s.
    assert guardrail.requests == 100 and guardrail.peak_in_flight == MAX_IN_FLIGHT
    assert math.ceil(100 / MAX_IN_FLIGHT) * 2 < HTTP_API_MAX_INTEGRATION_SECONDS


# --- Settings, validated at synthesis ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"rerankingModelId": "amazon.rerank-v9"}, "rerankingModelId"),
        ({"rerankingModelId": "amazon.rerank-v1:0", "rerankingCandidates": 5}, "rerankingCandidates"),
        ({"guardrail": "existing"}, "guardrailId"),
        ({"guardrail": "existing", "guardrailId": "abc"}, "guardrailId"),
        ({"guardrailId": "abc", "guardrailVersion": "1"}, "guardrailId"),
        ({"guardrailVersion": "latest"}, "guardrailVersion"),
        ({"guardrailAnonymizedPii": "EMAIL,SHOE_SIZE"}, "guardrailAnonymizedPii"),
        ({"guardrailDeniedTopics": {"Bad/name": "x"}}, "guardrailDeniedTopics"),
        ({"implicitFilterAttributes": [{"key": "a", "type": "DATE", "description": "d"}]}, "implicitFilterAttributes"),
        ({"implicitFilterAttributes": [{"key": "a", "type": "STRING"}]}, "implicitFilterAttributes"),
        ({"implicitFilterAttributes": "not json"}, "implicitFilterAttributes"),
        ({"implicitFilterModelId": "claude"}, "implicitFilterModelId"),
        ({"groupFilters": {"http-api": {}}, "defaultGroup": "http-api"}, "groupFilters"),
        ({"groupFilters": {"ops.team": {}}, "defaultGroup": "ops.team"}, "groupFilters"),
        ({"groupFilters": {"123": {}}, "defaultGroup": "123"}, "groupFilters"),
        ({"queryHttpApi": "oidc"}, "queryHttpApiIssuer"),
        ({"queryHttpApi": "oidc", "queryHttpApiIssuer": "http://insecure.example.com", "queryHttpApiAudience": "a"},
         "queryHttpApiIssuer"),
        ({"queryHttpApiIssuer": "https://login.example.com"}, "queryHttpApiIssuer"),
        ({"queryGroupClaim": "groups claim"}, "queryGroupClaim"),
    ],
)  # fmt: skip
def test_bad_feature_settings_are_refused_naming_the_key(overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({f"app:{name}": value for name, value in overrides.items()})
    assert refused.value.key == key, refused.value


def test_the_doctors_probe_asks_through_a_group_that_sees_everything() -> None:
    settings = load_settings({"app:groupFilters": GROUP_FILTERS})
    assert settings.query.unrestricted_group == "staff"
    assert load_settings({}).query.unrestricted_group is None  # no groups: the plain function sees everything


def test_setting_vocabularies_are_bedrocks() -> None:
    """The values the settings accept are the ones the botocore models define."""
    bedrock, runtime = service_model("bedrock"), service_model("bedrock-agent-runtime")
    assert set(get_args(PiiEntityType)) == set(bedrock.shape_for("GuardrailPiiEntityType").enum)
    assert set(CONTENT_FILTERS) == set(bedrock.shape_for("GuardrailContentFilterType").enum)
    attribute_types = get_args(ImplicitFilterAttribute.model_fields["type"].annotation)
    assert set(attribute_types) == set(runtime.shape_for("AttributeType").enum)


# --- Synthesized: the grants each feature needs, as AWS evaluates them ---------------------------------


@pytest.fixture(scope="module")
def featured(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**QUERY_FEATURES)


def test_the_function_gets_each_features_configuration(featured: Synthesized) -> None:
    _, function = function_with_handler(featured.template("Query"), "query.handler.handler")
    config = deployed_config(function)
    assert str(config.reranking_model_arn).endswith("::foundation-model/amazon.rerank-v1:0")
    assert config.reranking_candidates == 25 and config.query_decomposition is True
    assert config.implicit_filter_attributes == ATTRIBUTES
    assert config.group_claim == "cognito:groups"
    assert config.guardrail_id and config.guardrail_version


# What the query function calls with every feature on, and the resource each call names.
FEATURE_CALLS = [
    ("bedrock-agent-runtime", "RetrieveAndGenerate", "*"),
    ("bedrock-agent-runtime", "Retrieve", "knowledge-base"),
    ("bedrock-agent-runtime", "Rerank", "*"),  # reranking inside Retrieve and RetrieveAndGenerate
    ("bedrock-runtime", "InvokeModel", "reranker"),
    ("bedrock-runtime", "InvokeModel", "profile"),
    ("bedrock-runtime", "InvokeModel", "model"),
    ("bedrock-runtime", "ApplyGuardrail", "guardrail"),
]


def test_every_feature_call_is_allowed_as_aws_evaluates_it(featured: Synthesized) -> None:
    template, stack_name = featured.template("Query"), featured.stacks.query.stack_name
    function_id, function = function_with_handler(template, "query.handler.handler")
    statements = role_policy_statements(featured.templates_by_stack_name, stack_name,
                                        function_role(template, function_id))  # fmt: skip
    samples = AppSamples(featured.templates_by_stack_name)
    environment = samples.render(function["Properties"]["Environment"]["Variables"], template)
    kb_template = featured.template("KnowledgeBase")
    targets = {
        "*": "*",
        "knowledge-base": samples.render({"Fn::GetAtt": [one(kb_template, "AWS::Bedrock::KnowledgeBase")[0],
                                                         "KnowledgeBaseArn"]}, kb_template),
        "reranker": environment["RERANKING_MODEL_ARN"],
        "profile": environment["MODEL_ARN"],
        "model": "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-sonnet-4-6",
        "guardrail": samples.render({"Fn::GetAtt": [one(template, "AWS::Bedrock::Guardrail")[0], "GuardrailArn"]},
                                    template),
    }  # fmt: skip
    for service, operation, target in FEATURE_CALLS:
        action = iam_action(service, operation) if operation != "Rerank" else "bedrock:Rerank"
        resource = request_resource(action, targets[target])
        decision = evaluate(statements, action, resource)
        assert decision.allowed, (action, resource, decision)


def test_the_knowledge_base_role_may_rerank_for_retrieve(featured: Synthesized, app: Synthesized) -> None:
    """Reranking in Retrieve runs as the knowledge base's service role (Bedrock's reranking permissions page)."""

    def statements(synthesized: Synthesized) -> list[dict[str, Any]]:
        template = synthesized.template("KnowledgeBase")
        (role_id,) = [key for key, resource in resources_of_type(template, "AWS::IAM::Role").items()
                      if "Bedrock knowledge base" in str(resource["Properties"].get("Description"))]  # fmt: skip
        return role_policy_statements(synthesized.templates_by_stack_name, synthesized.stacks.knowledge_base.stack_name,
                                      role_id)  # fmt: skip

    for synthesized, allowed in ((featured, True), (app, False)):
        role = statements(synthesized)
        assert evaluate(role, "bedrock:Rerank", "*").allowed is allowed
        assert evaluate(role, "bedrock:InvokeModel", RERANKER).allowed is allowed


def test_the_guardrail_the_app_creates_follows_the_settings(featured: Synthesized) -> None:
    template = featured.template("Query")
    _, guardrail = one(template, "AWS::Bedrock::Guardrail")
    properties = guardrail["Properties"]
    filters = {item["Type"]: (item["InputStrength"], item["OutputStrength"])
               for item in properties["ContentPolicyConfig"]["FiltersConfig"]}  # fmt: skip
    assert filters["PROMPT_ATTACK"] == ("HIGH", "NONE") and filters["HATE"] == ("HIGH", "HIGH")
    assert {item["Action"] for item in properties["SensitiveInformationPolicyConfig"]["PiiEntitiesConfig"]} == {
        "ANONYMIZE"
    }
    assert properties["TopicPolicyConfig"]["TopicsConfig"] == [
        {"Name": "Investment advice", "Definition": "Recommendations to buy, sell or hold securities.", "Type": "DENY"}
    ]
    _, version = one(template, "AWS::Bedrock::GuardrailVersion")
    assert version["Properties"]["Description"].startswith("Policy ")


def test_a_changed_guardrail_policy_publishes_a_new_version(synth: Callable[..., Synthesized]) -> None:
    def version_description(**overrides: Any) -> str:
        template = synth(**{**QUERY_FEATURES, **overrides}).template("Query")
        return str(one(template, "AWS::Bedrock::GuardrailVersion")[1]["Properties"]["Description"])

    assert version_description() != version_description(guardrailContentFilterStrength="MEDIUM")


def test_an_existing_guardrail_and_issuer_are_used_as_given(synth: Callable[..., Synthesized]) -> None:
    app = synth(**OIDC_API)
    template = app.template("Query")
    assert resources_of_type(template, "AWS::Bedrock::Guardrail") == {}
    assert resources_of_type(template, "AWS::Cognito::UserPool") == {}
    (authorizer,) = [resource for resource in resources_of_type(template, "AWS::ApiGatewayV2::Authorizer").values()
                     if resource["Properties"]["AuthorizerType"] == "JWT"]  # fmt: skip
    assert authorizer["Properties"]["JwtConfiguration"] == {"Audience": ["kb-query"],
                                                            "Issuer": "https://login.example.com/tenant"}  # fmt: skip
    _, function = function_with_handler(template, "query.handler.handler")
    config: QueryConfig = deployed_config(function)
    assert (config.guardrail_id, config.guardrail_version, config.group_claim) == ("abcd1234efgh", "3", "groups")
