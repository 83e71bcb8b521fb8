"""The chat page's WebSocket entry point: questions arrive as messages on a connection, and the answer goes back
over the same connection as Bedrock generates it (RetrieveAndGenerateStream), posted with PostToConnection.

Lambda's Python runtime cannot stream a function's response, so the function answers API Gateway at once
(``{"statusCode": 200}``) and sends everything else through the connection endpoint. API Gateway waits at most 29
seconds for a WebSocket integration (quotas: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html);
the function goes on posting after that. Messages to the page, all
JSON with the ``id`` the question carried:

- ``{"type": "text", "id", "text"}``: the next piece of the answer, as generated;
- ``{"type": "answer", "id", "result"}``: the whole result, as the HTTP API returns it (citations, links, session);
- ``{"type": "error", "id", "error"}``: what the HTTP API would have answered with its error status;
- ``{"type": "part", "id", "part", "parts", "data"}``: one slice of a message longer than PostToConnection takes,
  which the page joins before reading.

The audience is the one the connection's token names (``chat_authorizer`` verified it at ``$connect``), read as
the HTTP API's claims are; a question after the token's expiry is refused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayWebSocketEvent
from botocore.exceptions import ClientError

from query.contract import AUTHORIZED_GROUPS, AUTHORIZED_UNTIL, STREAM_ASK_ACTION, STREAM_SUBPROTOCOL
from query.request import RequestError

# PostToConnection takes at most 128 KiB of data (botocore's apigatewaymanagementapi model: Data max 131072;
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html, WebSocket message payload size).
MAX_MESSAGE_BYTES = 131072
# What a part's envelope ({"type":"part","id":...,"part":N,"parts":N,"data":""}) may take of a message; the id is
# at most 64 characters of [A-Za-z0-9_-].
_PART_ENVELOPE_BYTES = 256
# Pieces of text are sent together when they come faster than this (fewer messages, and no visible delay), up to
# a size that never needs splitting.
TEXT_INTERVAL_SECONDS = 0.05
TEXT_MAX_CHARACTERS = 16 * 1024
MAX_MESSAGE_CHARACTERS = 16 * 1024  # a question of 1,000 characters, its filter and a session ID fit easily
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ConnectionGone(Exception):
    """The page closed the connection: the answer is abandoned (Bedrock's stream is closed)."""


@dataclass(frozen=True)
class SocketEvent:
    route: str  # $connect, ask, or $default
    connection_id: str
    offered_protocols: tuple[str, ...] = ()
    groups_claim: Any = None  # the verified token's group claim (a list or a string), or None
    expires_at: float | None = None
    body: str | None = None


def socket_event(event: Any) -> SocketEvent:
    """API Gateway's WebSocket proxy event (read with Powertools' data class); RequestError when it is not one."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict) or not all(
        isinstance(context.get(key), str) for key in ("connectionId", "routeKey")
    ):
        raise RequestError("the chat stream entry point takes API Gateway WebSocket events")
    request = APIGatewayWebSocketEvent(event)
    authorizer = context.get("authorizer") or {}  # the data class has no accessor for the authorizer's context
    try:
        claim = json.loads(authorizer[AUTHORIZED_GROUPS]) if AUTHORIZED_GROUPS in authorizer else None
    except (TypeError, ValueError, RecursionError):
        claim = None
    until = authorizer.get(AUTHORIZED_UNTIL)
    offered = request.headers.get("sec-websocket-protocol") or ""
    try:
        body = request.decoded_body if event.get("isBase64Encoded") is not None else request.body
    except (ValueError, UnicodeDecodeError):  # a binary frame that is not UTF-8 text: no question in it
        body = None
    return SocketEvent(
        route=request.request_context.route_key,
        connection_id=request.request_context.connection_id,
        offered_protocols=tuple(item.strip() for item in offered.split(",") if item.strip()),
        groups_claim=claim,
        expires_at=float(until) if isinstance(until, int | float | str) and str(until).isdigit() else None,
        body=body if isinstance(body, str) else None,
    )


def connect_response(socket: SocketEvent) -> dict[str, Any]:
    """$connect: the subprotocol the page asked for, without which a browser drops the connection
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html)."""
    if STREAM_SUBPROTOCOL not in socket.offered_protocols:
        return {"statusCode": 400}
    return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": STREAM_SUBPROTOCOL}}


class ExpiredSignIn(RequestError):
    """A question on a connection whose token has expired since it was opened."""

    def __init__(self, message_id: str) -> None:
        super().__init__("the sign-in this connection was opened with has expired")
        self.message_id = message_id


@dataclass(frozen=True)
class Question:
    message_id: str
    request: dict[str, Any]  # the fields of the query function's request (query.request)


def question(socket: SocketEvent, now: float) -> Question:
    """The question a message asks; RequestError (with the message's id, when readable) for anything else."""
    text = socket.body or ""
    if len(text) > MAX_MESSAGE_CHARACTERS:
        raise RequestError(f"the message is {len(text)} characters; at most {MAX_MESSAGE_CHARACTERS}")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise RequestError('a message must be JSON such as {"action": "ask", "id": "1", "question": "..."}') from None
    if not isinstance(message, dict):
        raise RequestError("a message must be a JSON object")
    message_id = message.pop("id", None)
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
        raise RequestError("id must be 1 to 64 letters, digits, '-' or '_': it marks the answer's messages")
    if message.pop("action", None) != STREAM_ASK_ACTION:
        raise RequestError(f"the only action is {STREAM_ASK_ACTION!r}")
    if socket.expires_at is not None and now >= socket.expires_at:
        raise ExpiredSignIn(message_id)
    return Question(message_id, message)


def message_id_of(body: str | None) -> str | None:
    """The id of a message refused before it was read in full, so that the page can tell which question failed."""
    try:
        value = json.loads(body or "").get("id")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and _MESSAGE_ID.fullmatch(value) else None


def _escaped_bytes(character: str) -> int:
    """What one character takes inside an ASCII JSON string: a character outside the Basic Multilingual Plane is
    a surrogate pair of two \\uXXXX escapes (12 bytes), so counting characters would undercount sixfold."""
    code = ord(character)
    if code < 0x20:
        return 2 if character in "\b\f\n\r\t" else 6
    if code < 0x80:
        return 2 if character in '"\\' else 1
    return 6 if code < 0x10000 else 12


def _slices(text: str, budget: int) -> Iterator[str]:
    """Consecutive slices of ``text`` each of which, written as an ASCII JSON string, takes at most ``budget``
    bytes: the parts are cut by their encoded size, whatever characters the answer holds."""
    start = size = 0
    for index, character in enumerate(text):
        width = _escaped_bytes(character)
        if size + width > budget:
            yield text[start:index]
            start, size = index, 0
        size += width
    yield text[start:]


@dataclass
class Connection:
    """Posts messages to one connection with the WebSocket API's management client."""

    management: Any
    connection_id: str
    posted: int = 0

    def send(self, message: dict[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        try:
            data = text.encode()
        except UnicodeEncodeError:  # a lone surrogate, from a hostile question: escape it instead
            text = json.dumps(message, separators=(",", ":"))
            data = text.encode()
        if len(data) <= MAX_MESSAGE_BYTES:
            self._post(data)
            return
        slices = list(_slices(text, MAX_MESSAGE_BYTES - _PART_ENVELOPE_BYTES))
        for number, piece in enumerate(slices):
            part = {"type": "part", "id": message.get("id"), "part": number, "parts": len(slices), "data": piece}
            self._post(json.dumps(part, separators=(",", ":")).encode())  # escaped: a slice may split a pair

    def _post(self, data: bytes) -> None:
        try:
            self.management.post_to_connection(ConnectionId=self.connection_id, Data=data)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "GoneException":
                raise ConnectionGone(self.connection_id) from None
            raise
        self.posted += 1


@dataclass
class TextSender:
    """Sends the answer's text as it arrives: the first piece at once, later ones gathered for at most
    ``interval`` seconds."""

    connection: Connection
    message_id: str | None
    clock: Callable[[], float] = time.monotonic
    interval: float = TEXT_INTERVAL_SECONDS
    _pending: list[str] = field(default_factory=list)
    _last_sent: float | None = None
    _size: int = 0

    def __call__(self, piece: str) -> None:
        self._pending.append(piece)
        self._size += len(piece)
        if (
            self._last_sent is None
            or self._size >= TEXT_MAX_CHARACTERS
            or self.clock() - self._last_sent >= self.interval
        ):
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self.connection.send({"type": "text", "id": self.message_id, "text": "".join(self._pending)})
            self._pending.clear()
            self._size = 0
            self._last_sent = self.clock()
