"""The query function's contract with the app: its configuration and telemetry names. The construct
that deploys the function imports this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from function_runtime.environment import variable

SERVICE = "query"
HANDLER = f"{__package__}.handler.handler"  # what Lambda calls: handler.py, function handler
# The alias API Gateway invokes. Its callers' audience comes from their verified token, so no IAM principal is
# ever granted it; every other alias is a group, and the plain function name is the default group.
HTTP_API_ENTRY_POINT = "http-api"
# The alias the chat page's WebSocket API invokes: the connection's audience comes from the token its
# authorizer (chat_authorizer) verified when it connected. No IAM principal is granted it either.
STREAM_ENTRY_POINT = "chat-stream"
# The WebSocket subprotocol the page asks for; it sends its token as the second one it offers (a browser can set
# no other header), and the $connect integration answers with this one.
STREAM_SUBPROTOCOL = "kb-answer-stream"
# What the authorizer hands the integration under requestContext.authorizer (strings, numbers or booleans only).
STREAM_ASK_ACTION = "ask"  # the route of a question: the WebSocket API selects routes by $request.body.action
AUTHORIZED_GROUPS = "groups"  # the verified token's group claim, as JSON text
AUTHORIZED_UNTIL = "expiresAt"  # the token's exp: later questions on the connection are refused


class QueryMetric(StrEnum):
    GENERATE_QUERIES = "GenerateQueries"
    RETRIEVE_QUERIES = "RetrieveQueries"
    INVALID_QUERIES = "InvalidQueries"
    FAILED_QUERIES = "FailedQueries"  # Bedrock refused, after botocore's retries
    GUARDRAIL_INTERVENTIONS = "GuardrailInterventions"  # an answer or passage blocked or masked


@dataclass(frozen=True)
class QueryConfig:
    knowledge_base_id: str = variable("KNOWLEDGE_BASE_ID")
    # Changes whenever the knowledge base is replaced: the function is then updated with the new ID.
    knowledge_base_name: str = variable("KNOWLEDGE_BASE_NAME")
    model_arn: str = variable("MODEL_ARN")  # the inference profile RetrieveAndGenerate generates with
    default_number_of_results: int = variable("DEFAULT_NUMBER_OF_RESULTS")
    # Group -> enforced RetrievalFilter ({} for unrestricted); empty: no access control.
    group_filters: dict[str, Any] = variable("GROUP_FILTERS")
    default_group: str = variable("DEFAULT_GROUP")
    temperature: float | None = variable("GENERATION_TEMPERATURE", default=None)
    max_tokens: int | None = variable("GENERATION_MAX_TOKENS", default=None)
    prompt_template: str | None = variable("PROMPT_TEMPLATE", default=None)
    # Retrieval features, each off when unset.
    reranking_model_arn: str | None = variable("RERANKING_MODEL_ARN", default=None)
    reranking_candidates: int | None = variable("RERANKING_CANDIDATES", default=None)
    query_decomposition: bool = variable("QUERY_DECOMPOSITION", default=False)
    # Bedrock MetadataAttributeSchema objects: [{"key", "type", "description"}].
    implicit_filter_attributes: list[dict[str, str]] | None = variable("IMPLICIT_FILTER_ATTRIBUTES", default=None)
    implicit_filter_model_arn: str | None = variable("IMPLICIT_FILTER_MODEL_ARN", default=None)
    guardrail_id: str | None = variable("GUARDRAIL_ID", default=None)
    guardrail_version: str | None = variable("GUARDRAIL_VERSION", default=None)
    # The customer-managed key RetrieveAndGenerate encrypts conversation sessions with (unset: Bedrock's own).
    session_key_arn: str | None = variable("SESSION_KEY_ARN", default=None)
    # With groups: the KMS HMAC key that binds each conversation to the audience that started it (query.sessions).
    session_seal_key_arn: str | None = variable("SESSION_SEAL_KEY_ARN", default=None)
    # The HTTP API entry point: the verified token claim that names the caller's groups.
    group_claim: str | None = variable("GROUP_CLAIM", default=None)
    # With the chat page: the document bucket whose cited objects get short-lived links (query.links).
    document_bucket: str | None = variable("DOCUMENT_BUCKET", default=None)
    # With the chat page: the WebSocket API's connection endpoint (https://<api>.execute-api.../<stage>), which the
    # function posts the answer's text to as Bedrock generates it (query.answer_stream).
    stream_connections_url: str | None = variable("STREAM_CONNECTIONS_URL", default=None)
