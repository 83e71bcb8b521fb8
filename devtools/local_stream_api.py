"""The chat page's WebSocket API, served locally as API Gateway serves it, around the functions' own code.

``local_stream_api`` listens on ``ws://127.0.0.1:<port>/local``. What it models
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api.html):

- ``$connect`` runs the Lambda REQUEST authorizer (``chat_authorizer.handler``, which fetches the issuer's keys
  over HTTP like the deployed one) with the ``Sec-WebSocket-Protocol`` header; a Deny policy answers 403 and
  nothing else runs. Then the ``$connect`` integration (the query function through its ``chat-stream`` alias)
  runs, and the subprotocol it returns is the one the handshake selects;
- each message is routed by ``$request.body.action`` (``ask``, else ``$default``; a binary frame, base64-encoded,
  to ``$default``) to the same integration, with the authorizer's context under ``requestContext.authorizer``;
  a function error reaches the client as API Gateway's ``{"message": "Internal server error"}``;
- the connection endpoint (``POST /local/@connections/{id}``, the management API's route in the botocore model)
  sends the posted data to that connection, or answers 410 GoneException once it has closed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from devtools.fake_bedrock import JsonHandler
from devtools.fake_bedrock import serve as serve_http
from query.contract import STREAM_ASK_ACTION

STAGE = "local"
API_ID = "wsapi12345"
REGION, ACCOUNT = "us-east-1", "123456789012"

Integration = Callable[[dict[str, Any]], Any]  # the query function through its chat-stream alias


@dataclass
class LocalStreamApi:
    url: str = ""  # ws://127.0.0.1:<port>/local
    connections_url: str = ""  # the management endpoint the function posts to
    refused: int = 0  # connections the authorizer denied
    posted: list[tuple[str, str]] = field(default_factory=list)  # (connection ID, data) of every post
    _sockets: dict[str, ServerConnection] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None


def _authorizer_event(headers: dict[str, str], connection_id: str) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/$connect",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {},
        "stageVariables": {},
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": connection_id,
                           "apiId": API_ID, "stage": STAGE, "domainName": "127.0.0.1"},
    }  # fmt: skip


def _integration_event(route: str, connection_id: str, context: dict[str, Any], **extra: Any) -> dict[str, Any]:
    event_type = {"$connect": "CONNECT"}.get(route, "MESSAGE")
    return {
        "requestContext": {"routeKey": route, "eventType": event_type, "connectionId": connection_id,
                           "apiId": API_ID, "stage": STAGE, "domainName": "127.0.0.1", "authorizer": context,
                           "requestId": str(uuid.uuid4())},
        "isBase64Encoded": False,
        **extra,
    }  # fmt: skip


def _route(body: str) -> str:
    try:
        action = json.loads(body).get("action")
    except (ValueError, AttributeError, RecursionError):
        return "$default"
    return STREAM_ASK_ACTION if action == STREAM_ASK_ACTION else "$default"


def _connections_handler(api: LocalStreamApi) -> type[BaseHTTPRequestHandler]:
    prefix = f"/{STAGE}/@connections/"

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            if not path.startswith(prefix):
                self._send(404, {"message": f"no route for POST {path}"}, "NotFoundException")
                return
            connection_id = unquote(path[len(prefix) :])
            socket = api._sockets.get(connection_id)
            if socket is None or api._loop is None:
                self._send(410, {"message": "the connection has gone"}, "GoneException")
                return
            api.posted.append((connection_id, data.decode()))
            sent = asyncio.run_coroutine_threadsafe(socket.send(data.decode()), api._loop)
            try:
                sent.result(timeout=10)
            except Exception:  # closed while sending
                self._send(410, {"message": "the connection has gone"}, "GoneException")
                return
            self._send(200, {})

    return Handler


@contextmanager
def local_stream_api(authorize: Callable[[dict[str, Any]], dict[str, Any]], integration: Integration,
                     port: int = 0) -> Iterator[LocalStreamApi]:  # fmt: skip
    """Serve until the block ends. ``authorize`` runs the authorizer on its event; ``integration`` the function."""
    api = LocalStreamApi()
    ready = threading.Event()
    stop: asyncio.Future[None] | None = None
    admitted: dict[int, tuple[str, dict[str, Any], str | None]] = {}  # socket -> (connection ID, context, protocol)
    answering: set[asyncio.Task[None]] = set()

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        connection_id = f"conn-{uuid.uuid4().hex[:12]}"
        headers = dict(request.headers.raw_items())
        decision = await asyncio.to_thread(authorize, _authorizer_event(headers, connection_id))
        statement = decision.get("policyDocument", {}).get("Statement", [{}])[0]
        if statement.get("Effect") != "Allow":
            api.refused += 1
            return connection.respond(403, "Forbidden\n")
        context = {"principalId": decision.get("principalId"), **decision.get("context", {})}
        connected = await asyncio.to_thread(integration, _integration_event("$connect", connection_id, context,
                                                                              headers=headers))  # fmt: skip
        status = int(connected.get("statusCode", 500))
        if status != HTTPStatus.OK:
            return connection.respond(status, "Forbidden\n")
        protocol = connected.get("headers", {}).get("Sec-WebSocket-Protocol")
        admitted[id(connection)] = (connection_id, context, protocol)
        return None

    def select_subprotocol(connection: ServerConnection, offered: Any) -> Any:
        chosen = admitted[id(connection)][2]
        return chosen if chosen in offered else None

    async def messages(connection: ServerConnection) -> None:
        connection_id, context, _ = admitted.pop(id(connection))
        api._sockets[connection_id] = connection
        try:
            async for body in connection:
                if isinstance(body, str):
                    event = _integration_event(_route(body), connection_id, context, body=body)
                else:  # a binary frame reaches $default, base64-encoded
                    event = _integration_event("$default", connection_id, context, isBase64Encoded=True,
                                               body=base64.b64encode(body).decode())  # fmt: skip
                task = asyncio.create_task(deliver(connection, event))
                answering.add(task)
                task.add_done_callback(answering.discard)
        finally:
            api._sockets.pop(connection_id, None)

    async def deliver(connection: ServerConnection, event: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(integration, event)
        except Exception:  # API Gateway tells the client, and nothing more
            await connection.send(json.dumps({"message": "Internal server error",
                                              "connectionId": event["requestContext"]["connectionId"]}))  # fmt: skip

    async def main() -> None:
        nonlocal stop
        api._loop = asyncio.get_running_loop()
        stop = api._loop.create_future()
        async with serve(messages, "127.0.0.1", port, process_request=process_request,
                         select_subprotocol=select_subprotocol, compression=None) as server:  # fmt: skip
            bound = next(iter(server.sockets)).getsockname()[1]
            api.url = f"ws://127.0.0.1:{bound}/{STAGE}"
            ready.set()
            await stop

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    with serve_http(_connections_handler(api)) as connections:
        api.connections_url = f"{connections}/{STAGE}"
        thread.start()
        ready.wait(10)
        try:
            yield api
        finally:
            if api._loop is not None and stop is not None:
                api._loop.call_soon_threadsafe(stop.set_result, None)
            thread.join(10)
