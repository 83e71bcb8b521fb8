"""The query function: the six hands-on scenarios, retrieve mode, filters, validation, group policies."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

from devtools.lambda_events import FakeLambdaContext
from function_runtime.environment import ConfigurationError
from query import handler as query_handler
from query.access import AccessPolicy
from query.contract import QueryConfig
from query.filters import FilterError, translate_where, validate_filter
from stacks.constructs.query_function import QUERY_TEST_EVENTS, STREAM_TEST_EVENT, TICKER_STREAM_EVENT
from tests.conftest import LambdaEnvironment
from tests.support.contracts import use_config, variable_of

KB_NAME = "kbstream-knowledge-base-0123abcd"

KB_ID = "KB12345678"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-6"
PUBLIC_ONLY = {"equals": {"key": "is_internal", "value": False}}
BASE_CONFIG = QueryConfig(
    knowledge_base_id=KB_ID,
    knowledge_base_name=KB_NAME,
    model_arn=MODEL_ARN,
    default_number_of_results=5,
    group_filters={},
    default_group="public",
)


@pytest.fixture
def query_env(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, BASE_CONFIG)
    lambda_env.client("bedrock-agent-runtime")
    return lambda_env


def invoke(event: Any) -> Any:
    return query_handler.handler(event, FakeLambdaContext())


def generation_response(session: str = "session-1") -> dict[str, Any]:
    def reference(uri: str, text: str, **metadata: Any) -> dict[str, Any]:
        return {
            "content": {"text": text},
            "location": {"type": "S3", "s3Location": {"uri": uri}},
            "metadata": {"x-amz-bedrock-kb-source-uri": uri, "x-amz-bedrock-kb-chunk-id": "c1", **metadata},
        }

    profile = reference("s3://docs/documents/aurora_company_profile.pdf", "Aurora Dynamics architects...", tags="a")
    catalog = reference("s3://docs/documents/aurora_solution_catalog.docx", "LaunchPad Migration...", tags="b")
    return {
        "output": {"text": "Aurora Dynamics builds secure AWS-native platforms."},
        "citations": [
            {"generatedResponsePart": {"textResponsePart": {"text": "a"}}, "retrievedReferences": [profile, catalog]},
            {"generatedResponsePart": {"textResponsePart": {"text": "b"}}, "retrievedReferences": [catalog, profile]},
        ],
        "sessionId": session,
    }


def expected_generate(filter_: dict[str, Any] | None, question: str, number: int = 5) -> dict[str, Any]:
    search: dict[str, Any] = {"numberOfResults": number}
    if filter_ is not None:
        search["filter"] = filter_
    return {
        "input": {"text": question},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {"knowledgeBaseId": KB_ID, "modelArn": MODEL_ARN,
                                           "retrievalConfiguration": {"vectorSearchConfiguration": search}},
        },
    }  # fmt: skip


SCENARIOS = [name for name in QUERY_TEST_EVENTS if name[0].isdigit()]


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_six_scenarios_send_exactly_their_filters(query_env: LambdaEnvironment, name: str) -> None:
    event = QUERY_TEST_EVENTS[name]
    runtime = query_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", generation_response(),
                          expected_generate(event.get("filter"), event["question"]))  # fmt: skip
        result = invoke(event)
        stub.assert_no_pending_responses()
    assert result["answer"] == "Aurora Dynamics builds secure AWS-native platforms."
    assert query_env.recorder.problems == []


def test_the_six_scenarios_are_the_hands_on_filters() -> None:
    filters = [QUERY_TEST_EVENTS[name].get("filter") for name in SCENARIOS]
    assert filters == [
        None,
        {"equals": {"key": "domain", "value": "auroradynamics.com"}},
        {"andAll": [{"equals": {"key": "is_internal", "value": True}},
                    {"equals": {"key": "tags", "value": "security,governance"}}]},
        {"andAll": [{"equals": {"key": "is_internal", "value": False}},
                    {"equals": {"key": "tags", "value": "press,announcement"}},
                    {"greaterThanOrEquals": {"key": "published_at", "value": 1750000000}}]},
        {"andAll": [{"equals": {"key": "is_internal", "value": True}},
                    {"equals": {"key": "tags", "value": "metrics,operations"}}]},
        {"equals": {"key": "tags", "value": "services,catalog"}},
    ]  # fmt: skip


def test_generate_mode_cites_each_source_once_in_order_without_bedrock_keys(query_env: LambdaEnvironment) -> None:
    runtime = query_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", generation_response("abc-123"), None)
        result = invoke({"question": "Who is Aurora?"})
    assert result == {
        "answer": "Aurora Dynamics builds secure AWS-native platforms.",
        "citations": [
            {"uri": "s3://docs/documents/aurora_company_profile.pdf", "excerpt": "Aurora Dynamics architects...",
             "metadata": {"tags": "a"}},
            {"uri": "s3://docs/documents/aurora_solution_catalog.docx", "excerpt": "LaunchPad Migration...",
             "metadata": {"tags": "b"}},
        ],
        "sessionId": "abc-123",
    }  # fmt: skip


def test_follow_up_questions_continue_the_session_and_generation_settings_apply(
    query_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_config(monkeypatch, replace(BASE_CONFIG, temperature=0.2, max_tokens=800,
                                    prompt_template="Answer from $search_results$ only."))  # fmt: skip
    runtime = query_env.client("bedrock-agent-runtime")
    expected = expected_generate(None, "And its offices?")
    expected["sessionId"] = "abc-123"
    expected["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]["generationConfiguration"] = {
        "inferenceConfig": {"textInferenceConfig": {"temperature": 0.2, "maxTokens": 800}},
        "promptTemplate": {"textPromptTemplate": "Answer from $search_results$ only."},
    }
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", generation_response("abc-123"), expected)
        assert invoke({"question": "And its offices?", "sessionId": "abc-123"})["sessionId"] == "abc-123"
    assert query_env.recorder.problems == []


def test_retrieve_mode_returns_scored_results(query_env: LambdaEnvironment) -> None:
    runtime = query_env.client("bedrock-agent-runtime")
    response = {"retrievalResults": [
        {"content": {"text": "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $3,413.23."},
         "location": {"type": "CUSTOM", "customDocumentLocation": {"id": "ticker-prices/0/1"}},
         "score": 0.71, "metadata": {"ticker": "ZVZZT", "price": 3413.23, "x-amz-bedrock-kb-data-source-id": "DS"}},
    ]}  # fmt: skip
    expected = {"knowledgeBaseId": KB_ID, "retrievalQuery": {"text": "ZVZZT price"},
                "retrievalConfiguration": {"vectorSearchConfiguration": {
                    "numberOfResults": 3, "filter": {"equals": {"key": "ticker", "value": "ZVZZT"}}}}}  # fmt: skip
    with Stubber(runtime) as stub:
        stub.add_response("retrieve", response, expected)
        result = invoke(
            {"question": "ZVZZT price", "mode": "retrieve", "numberOfResults": 3, "where": {"ticker": "ZVZZT"}}
        )
    assert result == {"results": [{"uri": "ticker-prices/0/1", "score": 0.71,
                                   "excerpt": "At 2026-02-15 10:30:00 UTC the price of ZVZZT is $3,413.23.",
                                   "metadata": {"ticker": "ZVZZT", "price": 3413.23}}]}  # fmt: skip
    assert query_env.recorder.problems == []


@pytest.mark.parametrize(
    ("where", "translated"),
    [
        ({"is_internal": True}, {"equals": {"key": "is_internal", "value": True}}),
        ({"ticker": ["ZVZZT", "OOOO"]}, {"in": {"key": "ticker", "value": ["ZVZZT", "OOOO"]}}),
        (
            {"is_internal": True, "tags": "security,governance", "published_at": {">=": 1750000000}},
            {"andAll": [{"equals": {"key": "is_internal", "value": True}},
                        {"equals": {"key": "tags", "value": "security,governance"}},
                        {"greaterThanOrEquals": {"key": "published_at", "value": 1750000000}}]},
        ),
        ({"price": {">": 10, "<=": 100}}, {"andAll": [{"greaterThan": {"key": "price", "value": 10}},
                                                       {"lessThanOrEquals": {"key": "price", "value": 100}}]}),
        ({"tags": {"!=": "press,announcement"}}, {"notEquals": {"key": "tags", "value": "press,announcement"}}),
        ({"ticker": {"not in": ["X"]}}, {"notIn": {"key": "ticker", "value": ["X"]}}),
    ],
)  # fmt: skip
def test_compact_where_translates_to_the_native_filter(where: dict[str, Any], translated: dict[str, Any]) -> None:
    assert translate_where(where) == translated


INVALID_REQUESTS: list[tuple[Any, str]] = [
    ("What is Aurora?", "must be a JSON object"),
    ({}, "question is required"),
    ({"question": ""}, "question is empty"),
    ({"question": "   "}, "question is empty"),
    ({"question": 42}, "question must be a string"),
    ({"question": "x" * 1001}, "at most 1000"),
    ({"question": "q", "numberOfResults": 0}, "between 1 and 100"),
    ({"question": "q", "numberOfResults": 101}, "between 1 and 100"),
    ({"question": "q", "numberOfResults": "5"}, "must be an integer"),
    ({"question": "q", "numberOfResults": 2.5}, "must be an integer"),
    ({"question": "q", "numberOfResults": True}, "must be an integer"),
    ({"question": "q", "mode": "chat"}, "mode 'chat' is not"),
    ({"question": "q", "searchType": "HYBRID"}, "S3 Vectors supports SEMANTIC search only"),
    ({"question": "q", "sessionId": "x"}, "sessionId must be"),
    ({"question": "q", "mode": "retrieve", "sessionId": "abc-123"}, "applies to mode 'generate' only"),
    ({"question": "q", "groups": ["staff"]}, "groups is not accepted: the audience comes from the entry point"),
    ({"question": "q", "filters": {}}, "unknown field(s) 'filters'"),
    ({"question": "q", "filter": PUBLIC_ONLY, "where": {"a": 1}}, "either filter or where"),
    ({"question": "q", "filter": "is_internal = false"}, "filter must be an object"),
    ({"question": "q", "filter": {}}, "exactly one operator, found none"),
    ({"question": "q", "filter": {**PUBLIC_ONLY, "notEquals": {"key": "a", "value": 1}}}, "exactly one operator"),
    ({"question": "q", "filter": {"startsWith": {"key": "title", "value": "Aur"}}}, "does not support startsWith"),
    ({"question": "q", "filter": {"stringContains": {"key": "t", "value": "x"}}}, "does not support stringContains"),
    ({"question": "q", "filter": {"listContains": {"key": "t", "value": "x"}}}, "does not support listContains"),
    ({"question": "q", "filter": {"like": {"key": "t", "value": "x"}}}, "filter.like is not a filter operator"),
    ({"question": "q", "filter": {"andAll": [PUBLIC_ONLY]}}, "filter.andAll needs a list of at least two"),
    ({"question": "q", "filter": {"orAll": []}}, "filter.orAll needs a list of at least two"),
    ({"question": "q", "filter": {"andAll": [PUBLIC_ONLY, {"equals": {"key": "", "value": 1}}]}},
     "filter.andAll[1].equals.key must be a non-empty string"),
    ({"question": "q", "filter": {"equals": {"key": "is_internal"}}}, "filter.equals.value is missing"),
    ({"question": "q", "filter": {"equals": {"key": "a", "value": {"x": 1}}}}, "must be a string, number or boolean"),
    ({"question": "q", "filter": {"greaterThan": {"key": "published_at", "value": "2025"}}}, "must be a number"),
    ({"question": "q", "filter": {"in": {"key": "ticker", "value": []}}}, "non-empty list"),
    ({"question": "q", "filter": {"in": {"key": "ticker", "value": ["A", 1]}}}, "mixes strings and numbers"),
    ({"question": "q", "filter": {"equals": {"key": "a", "value": 1, "op": "x"}}}, "unknown field(s) op"),
    ({"question": "q", "where": {}}, "where must be a non-empty object"),
    ({"question": "q", "where": {"published_at": {"~": 5}}}, "uses '~'"),
    ({"question": "q", "where": {"published_at": {}}}, "has no operator"),
    ({"question": "q", "where": {"a": None}}, "value is missing"),
]  # fmt: skip


@pytest.mark.parametrize(("event", "message"), INVALID_REQUESTS)
def test_invalid_requests_name_the_problem_and_call_nothing(
    query_env: LambdaEnvironment, event: Any, message: str
) -> None:
    result = invoke(event)
    assert set(result) == {"error"} and result["error"]["type"] == "ValidationError"
    assert message in result["error"]["message"]
    assert "Traceback" not in result["error"]["message"]
    assert query_env.recorder.calls == []


def test_bedrock_errors_come_back_as_errors(query_env: LambdaEnvironment) -> None:
    runtime = query_env.client("bedrock-agent-runtime")
    message = "User is not authorized to perform: bedrock:Retrieve on resource: knowledge-base/KB12345678"
    with Stubber(runtime) as stub:
        stub.add_client_error("retrieve_and_generate", service_error_code="AccessDeniedException",
                              service_message=message, http_status_code=403)  # fmt: skip
        result = invoke({"question": "q"})
    assert result == {"error": {"type": "AccessDeniedException", "message": message}}


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("AccessDeniedException", "Model access is denied due to IAM user or service role is not authorized to "
         "perform the required AWS Marketplace actions (aws-marketplace:ViewSubscriptions, "
         "aws-marketplace:Subscribe) to enable access to this model."),
        ("ResourceNotFoundException", "Model use case details have not been submitted for this account. Fill out "
         "the Anthropic use case details form before using the model."),
        ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
    ],
)  # fmt: skip
def test_a_model_not_yet_enabled_is_named_with_its_fix(query_env: LambdaEnvironment, code: str, message: str) -> None:
    runtime = query_env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_client_error("retrieve_and_generate", service_error_code=code, service_message=message,
                              http_status_code=403)  # fmt: skip
        result = invoke({"question": "q"})
    assert result["error"]["type"] == "ModelAccessRequired"
    assert result["error"]["message"] == message
    assert "use-case form" in result["error"]["fix"] and "aws-marketplace:Subscribe" in result["error"]["fix"]


@pytest.mark.parametrize(
    ("filters", "default", "message"),
    [
        ({"public": {"startsWith": {"key": "t", "value": "x"}}}, "public", "does not support startsWith"),
        ({"staff": {}}, "public", "default group 'public' has no entry"),
    ],
)
def test_a_bad_policy_is_refused(filters: Any, default: str, message: str) -> None:
    with pytest.raises((ValueError, FilterError), match=message):
        AccessPolicy.of(filters, default)


def test_a_policy_that_is_not_an_object_fails_the_invocation_loudly(
    query_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = variable_of(QueryConfig, "group_filters")
    monkeypatch.setenv(name, "[]")
    with pytest.raises(ConfigurationError, match=rf"{name}='\[\]' is not valid: expected a JSON dict"):
        invoke({"question": "anything"})


def test_every_console_test_event_is_a_valid_request() -> None:
    from query.request import parse_request

    for name, event in {**QUERY_TEST_EVENTS, STREAM_TEST_EVENT: TICKER_STREAM_EVENT}.items():
        parse_request(event, 5)
        if "filter" in event:
            validate_filter(event["filter"])
        assert len(name) <= 100
