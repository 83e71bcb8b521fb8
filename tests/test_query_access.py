"""Who asks as which group: decided by what AWS verifies (the alias invoked, the token API Gateway checked),
never by the request. Handlers run with Stubber; IAM is evaluated by iam-simulate with AWS's data."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from botocore.stub import Stubber

from devtools.jwt_authorizer import TEST_AUDIENCE, JwtAuthorizer, TokenIssuer, Unauthorized
from devtools.lambda_events import FakeLambdaContext
from query import handler as query_handler
from query.audience import claimed_groups, entry_point, typed_claim_groups
from query.contract import HTTP_API_ENTRY_POINT, STREAM_ENTRY_POINT
from query.request import GROUPS_REFUSED
from stacks.constructs.query_function import FORGED_GROUPS_EVENT, REFUSED_TEST_EVENTS
from tests.conftest import GROUP_FILTERS, QUERY_FEATURES, LambdaEnvironment, Synthesized
from tests.support.contracts import use_config
from tests.support.iam import evaluate
from tests.support.sample_values import AppSamples
from tests.support.templates import resources_of_type
from tests.test_query import BASE_CONFIG, generation_response

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:kbstream-query"
PUBLIC_ONLY = GROUP_FILTERS["public"]
WIDENING = {"orAll": [{"equals": {"key": "is_internal", "value": True}},
                      {"equals": {"key": "is_internal", "value": False}}]}  # fmt: skip
# Entry point -> the filter its callers get (None: unrestricted).
ENFORCED: dict[str, Any] = {
    FUNCTION_ARN: PUBLIC_ONLY,  # the plain name: the default group
    f"{FUNCTION_ARN}:public": PUBLIC_ONLY,
    f"{FUNCTION_ARN}:partners": GROUP_FILTERS["partners"],
    f"{FUNCTION_ARN}:staff": None,
    f"{FUNCTION_ARN}:$LATEST": PUBLIC_ONLY,
    f"{FUNCTION_ARN}:7": PUBLIC_ONLY,  # a version number is no group
}


@pytest.fixture
def grouped(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, replace(BASE_CONFIG, group_filters=GROUP_FILTERS, default_group="public",
                                    group_claim="cognito:groups"))  # fmt: skip
    lambda_env.client("bedrock-agent-runtime")
    return lambda_env


def ask_through(invoked_arn: str, event: Any) -> Any:
    return query_handler.handler(event, FakeLambdaContext(invoked_function_arn=invoked_arn))


def sent_filter(env: LambdaEnvironment, invoked_arn: str, event: Any) -> Any:
    runtime = env.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", generation_response(), None)
        result = ask_through(invoked_arn, event)
        stub.assert_no_pending_responses()
    assert "error" not in (json.loads(result["body"]) if "statusCode" in result else result), result
    (_, _, parameters) = env.recorder.calls[-1]
    search = parameters["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]["retrievalConfiguration"]
    return search["vectorSearchConfiguration"].get("filter")


@pytest.mark.parametrize("invoked_arn", ENFORCED)
def test_each_entry_point_enforces_its_groups_filter(grouped: LambdaEnvironment, invoked_arn: str) -> None:
    assert sent_filter(grouped, invoked_arn, {"question": "q"}) == ENFORCED[invoked_arn]
    assert grouped.recorder.problems == []


@pytest.mark.parametrize("invoked_arn", ENFORCED)
def test_a_request_filter_narrows_and_never_widens(grouped: LambdaEnvironment, invoked_arn: str) -> None:
    enforced = ENFORCED[invoked_arn]
    expected = WIDENING if enforced is None else {"andAll": [enforced, WIDENING]}
    assert sent_filter(grouped, invoked_arn, {"question": "q", "filter": WIDENING}) == expected


@pytest.mark.parametrize("invoked_arn", [*ENFORCED, f"{FUNCTION_ARN}:{HTTP_API_ENTRY_POINT}"])
@pytest.mark.parametrize("forged", [["staff"], ["public", "staff"], "staff", []])
def test_groups_in_the_body_are_refused_on_every_entry_point(
    grouped: LambdaEnvironment, invoked_arn: str, forged: Any
) -> None:
    event: Any = {"question": "What are the FY25 revenue targets by region?", "groups": forged}
    if invoked_arn.endswith(HTTP_API_ENTRY_POINT):
        issuer = TokenIssuer()
        token = issuer.token({"cognito:groups": ["public"]})
        event = JwtAuthorizer(issuer.issuer, (TEST_AUDIENCE,), issuer.key_set).event(f"Bearer {token}", event)
    result = ask_through(invoked_arn, event)
    if "statusCode" in result:
        assert result["statusCode"] == 400
        result = json.loads(result["body"])
    assert result == {"error": {"type": "ValidationError", "message": GROUPS_REFUSED}}
    assert grouped.recorder.calls == []


def test_the_console_event_with_groups_shows_the_refusal(grouped: LambdaEnvironment) -> None:
    result = ask_through(FUNCTION_ARN, REFUSED_TEST_EVENTS[FORGED_GROUPS_EVENT])
    assert result["error"]["type"] == "ValidationError"


def test_without_groups_configured_every_entry_point_is_unrestricted(query_env: LambdaEnvironment) -> None:
    for invoked_arn in (FUNCTION_ARN, f"{FUNCTION_ARN}:staff"):
        assert sent_filter(query_env, invoked_arn, {"question": "q"}) is None


@pytest.fixture
def query_env(lambda_env: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, BASE_CONFIG)
    lambda_env.client("bedrock-agent-runtime")
    return lambda_env


# --- The HTTP API: tokens signed with a test key, verified as API Gateway's JWT authorizer does ---------

API_ARN = f"{FUNCTION_ARN}:{HTTP_API_ENTRY_POINT}"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer()


@pytest.fixture(scope="module")
def authorizer(issuer: TokenIssuer) -> JwtAuthorizer:
    return JwtAuthorizer(issuer.issuer, (TEST_AUDIENCE,), issuer.key_set)


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (["staff"], None),
        (["partners"], GROUP_FILTERS["partners"]),
        (["public", "partners"], {"orAll": [PUBLIC_ONLY, GROUP_FILTERS["partners"]]}),
        (["public", "staff"], None),
        (["admins"], PUBLIC_ONLY),  # no known group: the default group
        (None, PUBLIC_ONLY),  # no group claim at all
    ],
)
def test_the_verified_tokens_groups_decide_the_filter(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer, groups: Any, expected: Any
) -> None:
    claims = {} if groups is None else {"cognito:groups": groups}
    event = authorizer.event(f"Bearer {issuer.token(claims)}", {"question": "q"})
    assert sent_filter(grouped, API_ARN, event) == expected


def test_the_http_entry_point_answers_with_http_responses(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer
) -> None:
    token = f"Bearer {issuer.token({'cognito:groups': ['staff']})}"
    runtime = grouped.client("bedrock-agent-runtime")
    with Stubber(runtime) as stub:
        stub.add_response("retrieve_and_generate", generation_response("s-9"), None)
        ok = ask_through(API_ARN, authorizer.event(token, {"question": "Who is Aurora?"}))
        stub.add_client_error("retrieve_and_generate", "ThrottlingException", "Rate exceeded", 429)
        throttled = ask_through(API_ARN, authorizer.event(token, {"question": "Who is Aurora?"}))
    assert ok["statusCode"] == 200 and ok["headers"] == {"content-type": "application/json"}
    assert json.loads(ok["body"])["sessionId"] == "s-9"
    assert throttled["statusCode"] == 429
    bad_body = ask_through(API_ARN, authorizer.event(token, "not json"))
    assert bad_body["statusCode"] == 400 and "JSON object" in json.loads(bad_body["body"])["error"]["message"]
    not_http = ask_through(API_ARN, {"question": "q"})  # the alias invoked directly, without API Gateway's event
    assert not_http["statusCode"] == 400
    surrogate = ask_through(API_ARN, authorizer.event(token, '{"question": "\\ud800?"}'))
    assert surrogate["statusCode"] == 400 and "lone surrogate" in json.loads(surrogate["body"])["error"]["message"]


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda issuer: issuer.token({"cognito:groups": ["staff"]}, lifetime_seconds=-10), "expired"),
        (lambda issuer: issuer.token({"aud": "another-client", "cognito:groups": ["staff"]}), "audience"),
        (lambda issuer: issuer.token({"iss": "https://evil.example.com", "cognito:groups": ["staff"]}), "issuer"),
        (lambda issuer: TokenIssuer().token({"cognito:groups": ["staff"]}), "rejected"),  # another key
        (lambda issuer: issuer.token({"cognito:groups": ["public"]})[:-8] + "AAAAAAAA", "rejected"),  # altered
    ],
)
def test_tokens_the_authorizer_rejects_never_reach_the_function(
    issuer: TokenIssuer, authorizer: JwtAuthorizer, make_token: Callable[[TokenIssuer], str], reason: str
) -> None:
    with pytest.raises(Unauthorized, match=reason):
        authorizer.event(f"Bearer {make_token(issuer)}", {"question": "q"})


@pytest.mark.parametrize(
    ("claim", "groups"),
    [("[staff partners]", ("staff", "partners")), ("[staff]", ("staff",)), (["staff"], ("staff",)),
     ('["staff"]', ("staff",)), ("staff", ("staff",)), ("", ()), (None, ()), (7, ()),
     # An identity provider's group whose name merely contains a configured group's name gets nothing:
     ("[staff contractors]", ()), ("staff,readonly", ()), ("[staff,readonly]", ()), ("[staff  partners]", ()),
     ("[Staff]", ()), (["staff contractors"], ()), (["staff", "contractors"], ("staff",))],
)  # fmt: skip
def test_group_claims_are_read_as_api_gateway_passes_them(claim: Any, groups: tuple[str, ...]) -> None:
    assert claimed_groups({"cognito:groups": claim}, "cognito:groups", GROUP_FILTERS).groups == groups


@pytest.mark.parametrize(
    ("claim", "groups"),
    [("[staff]", ()), ("[staff partners]", ()), (["staff", "partners"], ("staff", "partners")), ("staff", ("staff",)),
     (["staff contractors"], ()), ([7, "staff"], ("staff",)), ({"staff": True}, ()), (None, ())],
)  # fmt: skip
def test_a_claim_of_known_json_type_is_read_exactly(claim: Any, groups: tuple[str, ...]) -> None:
    """The WebSocket entry point's claim: no text rule, so a string is one name whatever brackets or spaces it holds."""
    assert typed_claim_groups(claim, GROUP_FILTERS).groups == groups


def test_over_the_http_api_a_single_group_named_with_a_space_is_read_as_two(
    issuer: TokenIssuer, authorizer: JwtAuthorizer
) -> None:
    """API Gateway passes ["staff partners"] and ["staff", "partners"] as the same text, "[staff partners]": one
    IdP group named with app group names joined by a space asks as those groups (docs/query.md says so)."""
    for claim in (["staff partners"], ["staff", "partners"]):
        event = authorizer.event(f"Bearer {issuer.token({'cognito:groups': claim})}", {"question": "q"})
        passed = event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"]
        assert passed == "[staff partners]"
        assert claimed_groups({"cognito:groups": passed}, "cognito:groups", GROUP_FILTERS).groups == (
            "staff",
            "partners",
        )


@pytest.mark.parametrize("claim", ["[staff contractors]", "staff,readonly", "[staff readonly]"])
def test_an_idp_group_named_like_a_configured_one_asks_as_the_default_group(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer, claim: str
) -> None:
    event = authorizer.event(f"Bearer {issuer.token({'cognito:groups': 'placeholder'})}", {"question": "q"})
    event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = claim  # as API Gateway passes it
    assert sent_filter(grouped, API_ARN, event) == PUBLIC_ONLY


class RecordCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_http_callers_get_the_error_type_and_never_bedrocks_text(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer
) -> None:
    detail = ("User: arn:aws:sts::123456789012:assumed-role/kbstream-query-role/kbstream-query is not authorized "
              "to perform: bedrock:RetrieveAndGenerate on resource: arn:aws:bedrock:us-east-1:123456789012:"
              "knowledge-base/KB12345678")  # fmt: skip
    token = f"Bearer {issuer.token({'cognito:groups': ['staff']})}"
    runtime = grouped.client("bedrock-agent-runtime")
    collector = RecordCollector()
    query_handler.logger.addHandler(collector)  # the function's own logger, whatever else a test did to logging
    with Stubber(runtime) as stub:
        stub.add_client_error("retrieve_and_generate", "AccessDeniedException", detail, 403)
        over_http = ask_through(API_ARN, authorizer.event(token, {"question": "Who is Aurora?"}))
    query_handler.logger.removeHandler(collector)  # type: ignore[attr-defined]
    with Stubber(runtime) as stub:
        stub.add_client_error("retrieve_and_generate", "AccessDeniedException", detail, 403)
        from_console = ask_through(f"{FUNCTION_ARN}:staff", {"question": "Who is Aurora?"})
    body = json.loads(over_http["body"])
    assert over_http["statusCode"] == 502
    assert body == {"error": {"type": "AccessDeniedException", "requestId": "00000000-0000-0000-0000-000000000000",
                              "message": "The knowledge base could not answer this question."}}  # fmt: skip
    assert "123456789012" not in over_http["body"]
    # The operator finds the detail in the log, by the request ID the caller was given.
    (record,) = [record for record in collector.records if record.getMessage().startswith("Query failed")]
    assert record.error["message"] == detail and record.request_id == body["error"]["requestId"]  # type: ignore[attr-defined]
    assert from_console["error"]["message"] == detail  # operators invoking the alias keep the detail


def deep_filter(depth: int) -> dict[str, Any]:
    clause: dict[str, Any] = {"equals": {"key": "a", "value": 1}}
    for _ in range(depth):
        clause = {"andAll": [clause, {"equals": {"key": "b", "value": 2}}]}
    return clause


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"question": "q", "filter": deep_filter(300)}, "deeper than 8 levels"),
        ({"question": "q", "where": {f"k{index}": index for index in range(20_000)}}, "at most 100 are accepted"),
        ({"question": "q", "filter": {"orAll": [{"equals": {"key": f"k{i}", "value": i}} for i in range(101)]}},
         "at most 100 are accepted"),
        ({"question": "q", "filter": {"in": {"key": "k", "value": list(range(101))}}}, "at most 100 are accepted"),
    ],
)  # fmt: skip
def test_unbounded_filters_are_refused_before_bedrock_is_called(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer, request_body: Any, message: str
) -> None:
    token = f"Bearer {issuer.token({'cognito:groups': ['staff']})}"
    with Stubber(grouped.client("bedrock-agent-runtime")):  # any call to Bedrock would fail the test
        response = ask_through(API_ARN, authorizer.event(token, request_body))
        console = ask_through(f"{FUNCTION_ARN}:staff", request_body)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["type"] == "ValidationError"
    assert message in json.loads(response["body"])["error"]["message"] and message in console["error"]["message"]


def test_a_body_nested_too_deeply_to_parse_is_a_validation_error(
    grouped: LambdaEnvironment, issuer: TokenIssuer, authorizer: JwtAuthorizer
) -> None:
    token = f"Bearer {issuer.token({'cognito:groups': ['staff']})}"
    response = ask_through(API_ARN, authorizer.event(token, "[" * 100_000))
    assert response["statusCode"] == 400


def test_the_entry_point_is_the_qualifier_lambda_reports() -> None:
    assert entry_point(FUNCTION_ARN) is None
    assert entry_point(f"{FUNCTION_ARN}:staff") == "staff"


# --- IAM: who may invoke which entry point, as AWS evaluates it ---------------------------------------


@pytest.fixture(scope="module")
def featured(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**QUERY_FEATURES)


def test_each_groups_managed_policy_invokes_its_entry_point_only(featured: Synthesized) -> None:
    template = featured.template("Query")
    samples = AppSamples(featured.templates_by_stack_name)
    aliases = {resource["Properties"]["Name"]: samples.render({"Ref": logical_id}, template)
               for logical_id, resource in resources_of_type(template, "AWS::Lambda::Alias").items()}  # fmt: skip
    assert set(aliases) == {*GROUP_FILTERS, HTTP_API_ENTRY_POINT, STREAM_ENTRY_POINT}
    plain = aliases["staff"].rsplit(":", 1)[0]
    policies = {
        resource["Properties"]["Description"].split("'")[1]: samples.render(resource["Properties"]["PolicyDocument"],
                                                                            template)["Statement"]
        for resource in resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    }  # fmt: skip
    assert set(policies) == set(GROUP_FILTERS)
    for group, statements in policies.items():
        allowed = {target for target in [plain, *aliases.values()]
                   if evaluate(statements, "lambda:InvokeFunction", target).allowed}  # fmt: skip
        expected = {aliases[group], plain} if group == featured.settings.query.default_group else {aliases[group]}
        assert allowed == expected, group
    # The outputs name each policy for administrators to attach.
    outputs = template["Outputs"]
    assert {f"AskAs{group}Policy" for group in GROUP_FILTERS} <= set(outputs)


def test_only_this_api_may_invoke_the_http_entry_point(featured: Synthesized) -> None:
    template = featured.template("Query")
    samples = AppSamples(featured.templates_by_stack_name)
    permissions = [samples.render(resource["Properties"], template)
                   for resource in resources_of_type(template, "AWS::Lambda::Permission").values()]  # fmt: skip
    (permission,) = [p for p in permissions if p["Principal"] == "apigateway.amazonaws.com"
                     and str(p["FunctionName"]).endswith(f":{HTTP_API_ENTRY_POINT}")]  # fmt: skip
    (api_id,) = [key for key, api in resources_of_type(template, "AWS::ApiGatewayV2::Api").items()
                 if api["Properties"]["ProtocolType"] == "HTTP"]  # fmt: skip
    assert permission["SourceArn"].startswith("arn:aws:execute-api:us-east-1:123456789012:")
    assert permission["SourceArn"].endswith("/*/*/query")
    raw = next(r for r in resources_of_type(template, "AWS::Lambda::Permission").values()
               if r["Properties"]["Principal"] == "apigateway.amazonaws.com"
               and {"Ref": api_id} in r["Properties"]["SourceArn"]["Fn::Join"][1])  # fmt: skip
    assert str(samples.render(raw["Properties"]["FunctionName"], template)).endswith(f":{HTTP_API_ENTRY_POINT}")
    # Every route of the HTTP API needs a verified token (the WebSocket API's: tests/test_answer_stream_api.py).
    routes = [route for route in resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
              if route["Properties"]["ApiId"] == {"Ref": api_id}]  # fmt: skip
    assert routes and all(route["Properties"]["AuthorizationType"] == "JWT" for route in routes)


def test_without_groups_one_policy_asks_through_the_plain_function(app: Synthesized) -> None:
    template = app.template("Query")
    assert resources_of_type(template, "AWS::Lambda::Alias") == {}
    (policy,) = resources_of_type(template, "AWS::IAM::ManagedPolicy").values()
    statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"]["Fn::GetAtt"][1] == "Arn"
    assert resources_of_type(template, "AWS::ApiGatewayV2::Api") == {}


SEAL_KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


@pytest.fixture
def sealed(grouped: LambdaEnvironment, monkeypatch: pytest.MonkeyPatch) -> LambdaEnvironment:
    use_config(monkeypatch, replace(BASE_CONFIG, group_filters=GROUP_FILTERS, default_group="public",
                                    session_seal_key_arn=SEAL_KEY))  # fmt: skip
    grouped.client("kms")
    return grouped


def test_a_conversation_continues_only_for_the_audience_that_started_it(sealed: LambdaEnvironment) -> None:
    runtime, kms = sealed.client("bedrock-agent-runtime"), sealed.client("kms")
    staff, public = f"{FUNCTION_ARN}:staff", f"{FUNCTION_ARN}:public"
    with Stubber(runtime) as bedrock, Stubber(kms) as keys:
        bedrock.add_response("retrieve_and_generate", generation_response("s-9"), None)
        keys.add_response("generate_mac", {"Mac": b"\x01" * 32, "MacAlgorithm": "HMAC_SHA_256", "KeyId": SEAL_KEY},
                          {"KeyId": SEAL_KEY, "MacAlgorithm": "HMAC_SHA_256",
                           "Message": b"kbstream-session\ns-9\nstaff"})  # fmt: skip
        started = ask_through(staff, {"question": "What are the FY25 targets?"})
        handle = started["sessionId"]
        assert handle.startswith("s-9~") and handle != "s-9"
        # The public audience presents the staff conversation: KMS says the MAC is not theirs; Bedrock is not called.
        keys.add_client_error("verify_mac", "KMSInvalidMacException", "invalid mac", 400,
                              expected_params={"KeyId": SEAL_KEY, "MacAlgorithm": "HMAC_SHA_256", "Mac": b"\x01" * 32,
                                               "Message": b"kbstream-session\ns-9\npublic"})  # fmt: skip
        refused = ask_through(public, {"question": "What did you just say?", "sessionId": handle})
        # Staff continue it: Bedrock gets its own sessionId back.
        keys.add_response("verify_mac", {"MacValid": True, "KeyId": SEAL_KEY, "MacAlgorithm": "HMAC_SHA_256"}, None)
        bedrock.add_response("retrieve_and_generate", generation_response("s-9"), None)
        keys.add_response("generate_mac", {"Mac": b"\x01" * 32, "MacAlgorithm": "HMAC_SHA_256", "KeyId": SEAL_KEY},
                          None)  # fmt: skip
        continued = ask_through(staff, {"question": "And by region?", "sessionId": handle})
        bedrock.assert_no_pending_responses()
        keys.assert_no_pending_responses()
    assert refused["error"]["type"] == "ValidationError" and "another audience" in refused["error"]["message"]
    assert continued["sessionId"] == handle
    (_, _, parameters) = sealed.recorder.calls[-2]
    assert parameters["sessionId"] == "s-9"
    assert sealed.recorder.problems == []


@pytest.mark.parametrize("handle", ["s-9", "s-9~", "s-9~!!!"])
def test_an_unsealed_or_broken_session_handle_is_refused(sealed: LambdaEnvironment, handle: str) -> None:
    with Stubber(sealed.client("bedrock-agent-runtime")), Stubber(sealed.client("kms")):  # no call may happen
        result = ask_through(f"{FUNCTION_ARN}:staff", {"question": "q", "sessionId": handle})
    assert result["error"]["type"] == "ValidationError"


def test_conversations_are_sealed_with_an_hmac_key_only_when_groups_are_configured(
    synth: Callable[..., Synthesized],
) -> None:
    grouped_app, plain = synth(groupFilters=GROUP_FILTERS), synth()
    (key,) = resources_of_type(grouped_app.template("Query"), "AWS::KMS::Key").values()
    assert (key["Properties"]["KeySpec"], key["Properties"]["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    assert resources_of_type(plain.template("Query"), "AWS::KMS::Key") == {}


def test_the_chat_pages_links_open_only_the_cited_documents_of_the_bucket_for_five_minutes(
    lambda_env: LambdaEnvironment,
) -> None:
    from function_runtime import aws_clients
    from query.links import LINK_SECONDS, add_document_links

    s3 = aws_clients.client("s3")  # the function's own client: Signature Version 4
    bucket = "kbstream-documents-123456789012-us-east-1"
    response: dict[str, Any] = {"answer": "...", "citations": [
        {"uri": f"s3://{bucket}/documents/aurora_security_brief.pdf", "excerpt": "..."},
        {"uri": "s3://another-bucket/documents/x.pdf", "excerpt": "..."},
        {"uri": "ticker-prices/0/17", "excerpt": "..."},
        {"uri": f"s3://{bucket}/documents/blocked.pdf", "excerpt": "Blocked.", "guardrail": "BLOCKED"},
    ]}  # fmt: skip
    assert add_document_links(s3, response, bucket) == 1
    linked = [citation for citation in response["citations"] if "link" in citation]
    assert len(linked) == 1 and f"X-Amz-Expires={LINK_SECONDS}" in linked[0]["link"]
    assert f"{bucket}" in linked[0]["link"] and "aurora_security_brief.pdf" in linked[0]["link"]
