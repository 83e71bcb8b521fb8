"""webChat=on streams answers over a WebSocket API: its connections are admitted by a token authorizer that applies
the HTTP API's rules, its messages reach the query function's chat-stream alias only, and the function may post to
this API's connections and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from chat_authorizer.contract import IDENTITY_HEADER
from query.contract import STREAM_ENTRY_POINT
from stacks.constructs.answer_stream import STAGE
from stacks.settings import SettingsError, load_settings
from tests.conftest import OIDC_API, QUERY_FEATURES, Synthesized
from tests.support.sample_values import AppSamples
from tests.support.templates import function_with_handler, resources_of_type


@pytest.fixture(scope="module")
def chat(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**QUERY_FEATURES)


def rendered(app: Synthesized, value: Any) -> Any:
    return AppSamples(app.templates_by_stack_name).render(value, app.template("Query"))


def stream_alias(template: dict[str, Any]) -> str:
    (alias_id,) = [key for key, alias in resources_of_type(template, "AWS::Lambda::Alias").items()
                   if alias["Properties"]["Name"] == STREAM_ENTRY_POINT]  # fmt: skip
    return alias_id


def test_connections_are_admitted_by_the_token_authorizer_with_the_http_apis_rules(chat: Synthesized) -> None:
    template = chat.template("Query")
    apis = {key: value for key, value in resources_of_type(template, "AWS::ApiGatewayV2::Api").items()
            if value["Properties"]["ProtocolType"] == "WEBSOCKET"}  # fmt: skip
    ((api_id, api),) = apis.items()
    assert api["Properties"]["RouteSelectionExpression"] == "$request.body.action"
    authorizers = resources_of_type(template, "AWS::ApiGatewayV2::Authorizer")
    (stream_authorizer,) = [value["Properties"] for value in authorizers.values()
                            if value["Properties"]["AuthorizerType"] == "REQUEST"]  # fmt: skip
    (jwt,) = [value["Properties"] for value in authorizers.values() if value["Properties"]["AuthorizerType"] == "JWT"]
    assert stream_authorizer["IdentitySource"] == [f"route.request.header.{IDENTITY_HEADER}"]
    _, function = function_with_handler(template, "chat_authorizer.handler.handler")
    environment = function["Properties"]["Environment"]["Variables"]
    assert rendered(chat, environment["TOKEN_ISSUER"]) == rendered(chat, jwt["JwtConfiguration"]["Issuer"])
    assert json.loads(rendered(chat, environment["TOKEN_AUDIENCES"])) == rendered(
        chat, jwt["JwtConfiguration"]["Audience"]
    )
    routes = {value["Properties"]["RouteKey"]: value["Properties"]
              for value in resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
              if value["Properties"]["ApiId"] == {"Ref": api_id}}  # fmt: skip
    assert set(routes) == {"$connect", "ask", "$default"}
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"


def test_every_message_reaches_the_chat_stream_alias_which_only_this_api_may_invoke(chat: Synthesized) -> None:
    template = chat.template("Query")
    alias_id = stream_alias(template)
    integrations = resources_of_type(template, "AWS::ApiGatewayV2::Integration").values()
    assert any(value["Properties"]["IntegrationType"] == "AWS_PROXY" and alias_id in json.dumps(value)
               for value in integrations), "the WebSocket routes integrate with the chat-stream alias"  # fmt: skip
    permissions = [value["Properties"] for value in resources_of_type(template, "AWS::Lambda::Permission").values()
                   if value["Properties"]["FunctionName"] == {"Ref": alias_id}]  # fmt: skip
    assert permissions and all(permission["Principal"] == "apigateway.amazonaws.com" and "SourceArn" in permission
                               for permission in permissions)  # fmt: skip
    for policy in resources_of_type(template, "AWS::IAM::ManagedPolicy").values():
        assert alias_id not in json.dumps(policy), "no person or role may invoke the stream's entry point"


def test_the_function_posts_to_this_stages_connections_only(chat: Synthesized) -> None:
    template = chat.template("Query")
    _, function = function_with_handler(template, "query.handler.handler")
    url = rendered(chat, function["Properties"]["Environment"]["Variables"]["STREAM_CONNECTIONS_URL"])
    assert url == f"https://kbstream-answer-stream.execute-api.us-east-1.amazonaws.com/{STAGE}"
    statements = [statement for policy in resources_of_type(template, "AWS::IAM::Policy").values()
                  for statement in policy["Properties"]["PolicyDocument"]["Statement"]
                  if "execute-api:ManageConnections" in json.dumps(statement)]  # fmt: skip
    (statement,) = statements
    assert statement["Action"] == "execute-api:ManageConnections"
    assert rendered(chat, statement["Resource"]).endswith(f":kbstream-answer-stream/{STAGE}/POST/@connections/*")


def test_the_stage_is_throttled_and_logs_every_connection_and_message(chat: Synthesized) -> None:
    template = chat.template("Query")
    (stage,) = [value["Properties"] for value in resources_of_type(template, "AWS::ApiGatewayV2::Stage").values()
                if value["Properties"]["StageName"] == STAGE]  # fmt: skip
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert "$context.connectionId" in stage["AccessLogSettings"]["Format"]
    assert "header" not in stage["AccessLogSettings"]["Format"], "the format logs no header: the token is one"
    assert any(key.startswith("AnswerStreamUrl") for key in template["Outputs"])


def test_without_the_page_there_is_no_websocket_api(app: Synthesized, synth: Callable[..., Synthesized]) -> None:
    for variant in (app, synth(**{**OIDC_API, "webChat": "off"})):
        template = variant.template("Query")
        assert all(value["Properties"].get("ProtocolType") != "WEBSOCKET"
                   for value in resources_of_type(template, "AWS::ApiGatewayV2::Api").values())  # fmt: skip
        _, function = function_with_handler(template, "query.handler.handler")
        assert "STREAM_CONNECTIONS_URL" not in function["Properties"]["Environment"]["Variables"]
        assert STREAM_ENTRY_POINT not in json.dumps(resources_of_type(template, "AWS::Lambda::Alias"))


def test_no_group_may_take_the_streams_entry_point_name() -> None:
    with pytest.raises(SettingsError, match="groupFilters"):
        load_settings({"app:groupFilters": {STREAM_ENTRY_POINT: {}}, "app:defaultGroup": STREAM_ENTRY_POINT})
