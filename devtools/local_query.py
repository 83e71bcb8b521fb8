"""The query function served locally, with its own code: Lambda's Invoke API, and the HTTP API behind a JWT authorizer.

``local_query_function`` answers Lambda's ``Invoke`` (point a client at it with ``AWS_ENDPOINT_URL_LAMBDA`` or
``endpoint_url``): each invocation runs ``query.handler.handler`` in this process, with the configuration as its
environment and the qualifier the caller named in its invoked ARN, so aliases decide the audience exactly as in
Lambda. With an issuer, ``POST /query`` is also served as API Gateway would: the token is checked by
``devtools.jwt_authorizer`` and the function is invoked through its ``http-api`` alias with payload format 2.0.
With a chat authorizer's configuration, the chat page's WebSocket API is served too (``devtools.local_stream_api``):
its authorizer's code admits the connection, and the function answers through its ``chat-stream`` alias. Point the
function at ``devtools.fake_knowledge_base`` to run without AWS.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.fake_bedrock import JsonHandler, serve
from devtools.jwt_authorizer import JwtAuthorizer, Unauthorized
from devtools.lambda_events import FakeLambdaContext
from devtools.local_stream_api import LocalStreamApi, local_stream_api
from function_runtime.environment import DataclassInstance, as_environment

REGION, ACCOUNT = "us-east-1", "123456789012"
# Lambda's Invoke route, from the botocore model: POST /2015-03-31/functions/{FunctionName}/invocations
_INVOKE_PREFIX, _INVOKE_SUFFIX = "/2015-03-31/functions/", "/invocations"


@dataclass
class LocalQuery:
    function_name: str
    invocations: list[tuple[str, Any]]  # (qualifier, event) of every invocation
    lambda_url: str = ""
    http_url: str = ""  # POST <http_url>/query, when an authorizer is given
    stream: LocalStreamApi | None = None  # the chat page's WebSocket API, when a chat authorizer is configured


@contextmanager
def function_environment(config: DataclassInstance, endpoints: Mapping[str, str]) -> Iterator[None]:
    """The function's environment variables (its configuration and AWS endpoints) for the duration of the block."""
    from function_runtime import aws_clients

    wanted = {
        **as_environment(config),
        **endpoints,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "kbstream",
        "POWERTOOLS_SERVICE_NAME": "query",
        # Metrics would be printed to this process's output; nothing reads them here.
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        wanted.setdefault(name, os.environ.get(name, "local"))
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    aws_clients.client.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws_clients.client.cache_clear()


def _authorize(event: dict[str, Any]) -> dict[str, Any]:
    from chat_authorizer import handler as authorizer

    name = "kbstream-query-ChatAuthorizer"
    context = FakeLambdaContext(invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                                function_name=name, aws_request_id=str(uuid.uuid4()))  # fmt: skip
    decision: dict[str, Any] = cast(Any, authorizer.handler)(event, context)  # a stand-in for LambdaContext
    return decision


def _invoke(function_name: str, qualifier: str | None, event: Any, record: list[tuple[str, Any]]) -> Any:
    from query import handler as query_handler

    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}" + (f":{qualifier}" if qualifier else "")
    record.append((qualifier or "", event))
    context = FakeLambdaContext(invoked_function_arn=arn, function_name=function_name, aws_request_id=str(uuid.uuid4()))
    return query_handler.handler(event, context)


def _lambda_handler(local: LocalQuery, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            if not (parts.path.startswith(_INVOKE_PREFIX) and parts.path.endswith(_INVOKE_SUFFIX)):
                self._send(404, {"message": f"no route for POST {parts.path}"}, "UnknownOperationException")
                return
            name = unquote(parts.path[len(_INVOKE_PREFIX) : -len(_INVOKE_SUFFIX)])
            qualifier = parse_qs(parts.query).get("Qualifier", [None])[0]
            if name.split(":")[-1] != local.function_name and not name.endswith(f":function:{local.function_name}"):
                self._send(404, {"Message": f"Function not found: {name}"}, "ResourceNotFoundException")
                return
            event = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with lock:  # one execution environment: invocations run one at a time, as on a single instance
                try:
                    result, failed = _invoke(local.function_name, qualifier, event, local.invocations), False
                except Exception as error:  # Lambda reports an unhandled error in the payload
                    result, failed = {"errorMessage": str(error), "errorType": type(error).__name__}, True
            data = json.dumps(result).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Amz-Executed-Version", qualifier or "$LATEST")
            if failed:
                self.send_header("X-Amz-Function-Error", "Unhandled")
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _http_api_handler(
    local: LocalQuery, lock: threading.Lock, authorizer: JwtAuthorizer, cors_origin: str | None
) -> type[BaseHTTPRequestHandler]:
    from query.contract import HTTP_API_ENTRY_POINT

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as JsonHandler (devtools/fake_bedrock.py) says

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _cors(self) -> dict[str, str]:
            """API Gateway's CORS answer: only the page's origin is admitted (cors_origin)."""
            if cors_origin is None or self.headers.get("Origin") != cors_origin:
                return {}
            return {"Access-Control-Allow-Origin": cors_origin, "Vary": "Origin"}

        def _reply(self, status: int, body: str, headers: Mapping[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **self._cors(), **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:  # a preflight: answered by API Gateway, the function never runs
            allowed = self._cors()
            if allowed:
                allowed |= {"Access-Control-Allow-Methods": "POST", "Access-Control-Max-Age": "600",
                            "Access-Control-Allow-Headers": "authorization,content-type"}  # fmt: skip
            self._reply(204 if allowed else 403, "", allowed)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if urlsplit(self.path).path != "/query":
                self._reply(404, json.dumps({"message": "Not Found"}))
                return
            try:
                event = authorizer.event(self.headers.get("Authorization"), body)
            except Unauthorized:
                self._reply(401, json.dumps({"message": "Unauthorized"}), {"www-authenticate": "Bearer"})
                return
            with lock:
                response = _invoke(local.function_name, HTTP_API_ENTRY_POINT, event, local.invocations)
            self._reply(
                int(response.get("statusCode", 200)),
                str(response.get("body", "")),
                {key: str(value) for key, value in response.get("headers", {}).items()},
            )

    return Handler


@contextmanager
def local_query_function(
    config: DataclassInstance,
    endpoints: Mapping[str, str],
    *,
    function_name: str = "kbstream-query-Function",
    authorizer: JwtAuthorizer | None = None,
    cors_origin: str | None = None,
    chat_authorizer: DataclassInstance | None = None,
) -> Iterator[LocalQuery]:
    """Serve the query function (and, with an authorizer, its HTTP API) until the block ends.

    ``endpoints`` are the AWS endpoint variables the function's own clients use, for example
    ``{"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": <fake knowledge base URL>}``. ``cors_origin`` is the one
    browser origin the HTTP API admits: locally the page and the API listen on different ports, while the deployed
    page reaches the API on its own origin, through CloudFront, and needs no CORS. ``chat_authorizer`` (a
    ``chat_authorizer.contract.ChatAuthorizerConfig``) serves the WebSocket API with that authorizer.
    """
    from query.contract import STREAM_ENTRY_POINT

    local = LocalQuery(function_name=function_name, invocations=[])
    lock = threading.Lock()

    def stream_integration(event: dict[str, Any]) -> Any:
        with lock:
            return _invoke(local.function_name, STREAM_ENTRY_POINT, event, local.invocations)

    with ExitStack() as stack:
        environment: dict[str, str] = {}
        if chat_authorizer is not None:
            local.stream = stack.enter_context(local_stream_api(_authorize, stream_integration))
            config = replace(config, stream_connections_url=local.stream.connections_url)
            environment = as_environment(chat_authorizer)
        stack.enter_context(function_environment(config, {**endpoints, **environment}))
        local.lambda_url = stack.enter_context(serve(_lambda_handler(local, lock)))
        if authorizer is not None:
            local.http_url = stack.enter_context(serve(_http_api_handler(local, lock, authorizer, cors_origin)))
        yield local
