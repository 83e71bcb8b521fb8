"""Query stack: the function's permissions, its model, its settings and its console test events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devtools.sdk_model import iam_action, validate_request
from stacks.constructs.query_function import (
    FEATURE_TEST_EVENTS,
    QUERY_TEST_EVENTS,
    REFUSED_TEST_EVENTS,
    STREAM_TEST_EVENT,
    TICKER_STREAM_EVENT,
)
from tests.conftest import QUERY_FEATURES, Synthesized
from tests.support.contracts import deployed_config
from tests.support.iam import allowed_resources, function_role, role_statements
from tests.support.templates import function_with_handler, published_attribute, render, resources_of_type

KNOWLEDGE_BASE = "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB12345678"
PROFILE = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-6"
MODEL = "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-6"


def query_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return function_with_handler(template, "query.handler.handler")


def knowledge_base_output(app: Synthesized) -> dict[str, str]:
    stack = app.stacks.knowledge_base.stack_name
    return {published_attribute(stack, app.template("KnowledgeBase"), "KnowledgeBaseArn"): KNOWLEDGE_BASE}


def test_role_may_query_this_knowledge_base_with_the_configured_model_only(app: Synthesized) -> None:
    template = app.template("Query")
    function_id, _ = query_function(template)
    statements = role_statements(template, function_role(template, function_id), knowledge_base_output(app))
    found = {
        action: allowed_resources(statements, action)
        for action in ("bedrock:Retrieve", "bedrock:RetrieveAndGenerate", "bedrock:GetInferenceProfile",
                       "bedrock:InvokeModel", "bedrock:IngestKnowledgeBaseDocuments",
                       "bedrock:InvokeModelWithResponseStream", "aws-marketplace:Subscribe")
    }  # fmt: skip
    assert found == {
        "bedrock:Retrieve": [KNOWLEDGE_BASE],
        # No resource types for RetrieveAndGenerate: it reaches only what Retrieve and InvokeModel allow.
        "bedrock:RetrieveAndGenerate": ["*"],
        "bedrock:GetInferenceProfile": [PROFILE],
        "bedrock:InvokeModel": [PROFILE, MODEL],
        "bedrock:IngestKnowledgeBaseDocuments": [],
        "bedrock:InvokeModelWithResponseStream": [],
        # Enabling a model is an administrator's one-time step, never a side effect of a question.
        "aws-marketplace:Subscribe": [],
    }
    assert allowed_resources(statements, iam_action("bedrock-agent-runtime", "Retrieve")) == [KNOWLEDGE_BASE]


def test_environment_carries_the_profile_arn_and_settings(synth: Callable[..., Synthesized]) -> None:
    policy = {"public": {"equals": {"key": "is_internal", "value": False}}, "staff": {}}
    app = synth(groupFilters=policy, generationTemperature=0.1, generationMaxTokens=700, queryNumberOfResults=8)
    _, function = query_function(app.template("Query"))
    config = deployed_config(function)
    assert config.model_arn == PROFILE
    assert config.default_number_of_results == 8
    assert (config.temperature, config.max_tokens, config.prompt_template) == (0.1, 700, None)
    assert config.group_filters == policy
    assert config.default_group == "public"
    parameters = {
        "input": {"text": "q"},
        "retrieveAndGenerateConfiguration": {
            "type": "KNOWLEDGE_BASE",
            "knowledgeBaseConfiguration": {"knowledgeBaseId": "KB12345678", "modelArn": config.model_arn},
        },
    }
    assert validate_request("bedrock-agent-runtime", "RetrieveAndGenerate", parameters) == []


def test_default_generation_settings_are_left_to_the_model(app: Synthesized) -> None:
    _, function = query_function(app.template("Query"))
    config = deployed_config(function)
    assert (config.temperature, config.max_tokens, config.prompt_template) == (None, None, None)
    assert config.group_filters == {}


def test_console_test_events_are_shared_for_the_function(app: Synthesized) -> None:
    template = app.template("Query")
    function_id, _ = query_function(template)
    (schema,) = resources_of_type(template, "AWS::EventSchemas::Schema").values()
    assert render(schema["Properties"]["SchemaName"]) == f"_\u27e6Ref:{function_id}\u27e7-schema"
    examples = json.loads(schema["Properties"]["Content"])["components"]["examples"]
    assert {name: example["value"] for name, example in examples.items()} == {
        **QUERY_TEST_EVENTS, STREAM_TEST_EVENT: TICKER_STREAM_EVENT, **REFUSED_TEST_EVENTS}  # fmt: skip
    assert {"retrieve-mode", "compact-where", "refused-groups-in-body"} <= set(examples)
    # The registry is created only if missing, and the schema waits for it.
    (registry_id,) = [key for key, r in resources_of_type(template, "Custom::AWS").items()
                      if "CreateRegistry" in json.dumps(r["Properties"])]  # fmt: skip
    assert registry_id in schema["DependsOn"]
    assert "Delete" not in json.dumps(template["Resources"][registry_id]["Properties"].get("Delete", ""))


def test_each_feature_on_adds_its_console_test_event(synth: Callable[..., Synthesized]) -> None:
    app = synth(**QUERY_FEATURES)
    (schema,) = resources_of_type(app.template("Query"), "AWS::EventSchemas::Schema").values()
    examples = json.loads(schema["Properties"]["Content"])["components"]["examples"]
    assert set(FEATURE_TEST_EVENTS) <= set(examples)


def test_outputs(app: Synthesized) -> None:
    assert "QueryFunctionName" in app.template("Query")["Outputs"]
