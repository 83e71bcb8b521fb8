"""Answers streamed over the chat page's WebSocket API, run with the functions' own code behind local stand-ins of
API Gateway (devtools.local_stream_api), the issuer and the knowledge base (RetrieveAndGenerateStream as an event
stream that botocore decodes). The audience is the verified token's, every bad message gets its own error, and a
long answer is split to fit PostToConnection."""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from chat_authorizer.contract import ChatAuthorizerConfig
from devtools import event_stream
from devtools.fake_knowledge_base import KnowledgeBaseState, fake_knowledge_base
from devtools.jwt_authorizer import JwtAuthorizer, TokenIssuer, serve_issuer
from devtools.lambda_events import FakeLambdaContext
from devtools.local_query import LocalQuery, function_environment, local_query_function
from function_runtime import aws_clients
from query import handler as query_handler
from query.answer_stream import MAX_MESSAGE_BYTES, Connection, TextSender
from query.contract import AUTHORIZED_GROUPS, AUTHORIZED_UNTIL, STREAM_ENTRY_POINT, STREAM_SUBPROTOCOL
from scripts.evaluation.sample import query_config, sample_state

CLIENT = "chat-client"
ANNOUNCED = "What new practice did Aurora Dynamics announce?"
METRICS = "What are the FY25 revenue targets and projected growth by region?"


@dataclasses.dataclass
class Stack:
    issuer: TokenIssuer
    state: KnowledgeBaseState
    local: LocalQuery

    @property
    def url(self) -> str:
        assert self.local.stream is not None
        return self.local.stream.url

    def open(self, group: str) -> ClientConnection:
        token = self.issuer.token({"aud": CLIENT, "cognito:groups": [group]})
        return connect(self.url, subprotocols=[STREAM_SUBPROTOCOL, token], open_timeout=10)  # type: ignore[list-item]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with serve_issuer(TokenIssuer()) as issuer, fake_knowledge_base(sample_state()) as (kb_url, state):
        config = dataclasses.replace(query_config(), group_claim="cognito:groups")
        with local_query_function(
            config,
            {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": kb_url},
            authorizer=JwtAuthorizer(issuer=issuer.issuer, audiences=(CLIENT,), key_set=issuer.key_set),
            chat_authorizer=ChatAuthorizerConfig(
                issuer=issuer.issuer, audiences=[CLIENT], group_claim="cognito:groups"
            ),
        ) as local:
            yield Stack(issuer, state, local)


def answered(socket: ClientConnection, message_id: str | None = None) -> tuple[list[str], dict[str, Any]]:
    """The pieces of text, then the final message (answer or error) of one question."""
    texts: list[str] = []
    while True:
        message = json.loads(socket.recv(timeout=15))
        if message_id is not None:
            assert message.get("id") == message_id, message
        if message["type"] == "text":
            texts.append(message["text"])
        else:
            return texts, message


def ask(socket: ClientConnection, message_id: str = "q1", **request: Any) -> tuple[list[str], dict[str, Any]]:
    socket.send(json.dumps({"action": "ask", "id": message_id, **request}))
    return answered(socket, message_id)


def http_answer(stack: Stack, group: str, **request: Any) -> dict[str, Any]:
    token = stack.issuer.token({"aud": CLIENT, "cognito:groups": [group]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent = urllib.request.Request(f"{stack.local.http_url}/query", json.dumps(request).encode(), headers, method="POST")
    with urllib.request.urlopen(sent, timeout=15) as response:
        result: dict[str, Any] = json.load(response)
    return result


def test_the_answer_arrives_in_pieces_then_whole_as_the_http_api_returns_it(stack: Stack) -> None:
    with stack.open("staff") as socket:
        assert socket.subprotocol == STREAM_SUBPROTOCOL
        texts, final = ask(socket, question=ANNOUNCED)
    assert final["type"] == "answer", final
    result = final["result"]
    assert len(texts) >= 2 and "".join(texts) == result["answer"]
    assert result["answer"].startswith("A dedicated climate-tech practice")
    over_http = http_answer(stack, "staff", question=ANNOUNCED)
    assert result["answer"] == over_http["answer"]
    assert [source["uri"] for source in result["citations"]] == [source["uri"] for source in over_http["citations"]]
    assert {qualifier for qualifier, _ in stack.local.invocations} >= {STREAM_ENTRY_POINT}


def test_a_follow_up_continues_the_conversation(stack: Stack) -> None:
    with stack.open("staff") as socket:
        _, first = ask(socket, "a", question=ANNOUNCED)
        _, second = ask(socket, "b", question="Where is that practice staffed from?",
                        sessionId=first["result"]["sessionId"])  # fmt: skip
    assert second["result"]["answer"].startswith("From Seattle and the Dublin, Singapore and Toronto")


def test_the_connections_token_decides_the_audience(stack: Stack) -> None:
    with stack.open("public") as public, stack.open("staff") as staff:
        _, seen_by_public = ask(public, question=METRICS)
        _, seen_by_staff = ask(staff, question=METRICS)
        _, forged = ask(public, question=METRICS, groups=["staff"])
    public_sources = {source["uri"] for source in seen_by_public["result"]["citations"]}
    staff_sources = {source["uri"] for source in seen_by_staff["result"]["citations"]}
    assert not any("metrics" in uri for uri in public_sources) and any("metrics" in uri for uri in staff_sources)
    assert forged["type"] == "error" and forged["error"]["type"] == "ValidationError"
    assert "groups is not accepted" in forged["error"]["message"]
    over_http = http_answer(stack, "public", question=METRICS)
    assert public_sources == {source["uri"] for source in over_http["citations"]}


def sources_seen(stack: Stack, claim: Any) -> set[str]:
    token = stack.issuer.token({"aud": CLIENT, "cognito:groups": claim})
    with connect(stack.url, subprotocols=[STREAM_SUBPROTOCOL, token], open_timeout=10) as socket:  # type: ignore[list-item]
        _, final = ask(socket, question=METRICS)
    return {source["uri"] for source in final["result"]["citations"]}


@pytest.mark.parametrize("claim", ["[staff]", "[staff public]", "staff public", ["[staff]"], ["staff public"]])
def test_a_single_group_is_one_name_over_the_websocket_api(stack: Stack, claim: Any) -> None:
    # The authorizer passes the claim as JSON, so its type is known: a string is one group name, never a list.
    assert not any("metrics" in uri for uri in sources_seen(stack, claim))


def test_a_list_claim_over_the_websocket_api_is_read_item_by_item(stack: Stack) -> None:
    assert any("metrics" in uri for uri in sources_seen(stack, ["public", "staff"]))
    assert any("metrics" in uri for uri in sources_seen(stack, "staff"))


def test_questions_on_several_connections_at_once_each_get_their_own_answer(stack: Stack) -> None:
    def one_person(number: int) -> tuple[str, str]:
        with stack.open("staff" if number % 2 else "public") as socket:
            _, final = ask(socket, f"p{number}", question=ANNOUNCED)
            return final["id"], final["result"]["answer"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one_person, range(4)))
    assert [message_id for message_id, _ in results] == ["p0", "p1", "p2", "p3"]
    assert all(answer.startswith("A dedicated climate-tech practice") for _, answer in results)


def nested(depth: int) -> str:
    return '{"andAll": [' * depth + "{}" + "]}" * depth


@pytest.mark.parametrize(
    ("message", "expected_id", "reason"),
    [
        ("not json", None, "must be JSON"),
        (json.dumps({"action": "ask", "question": "no id"}), None, "id must be"),
        (json.dumps({"action": "ask", "id": "x" * 65, "question": "long id"}), None, "id must be"),
        (json.dumps({"action": "shout", "id": "m1", "question": "?"}), "m1", "the only action is 'ask'"),
        (json.dumps({"action": "ask", "id": "m2", "question": ""}), "m2", "question is empty"),
        (json.dumps({"action": "ask", "id": "m3", "question": "x" * 1001}), "m3", "at most 1000"),
        (json.dumps({"action": "ask", "id": "m4", "question": "q", "mode": "shout"}), "m4", "mode"),
        ('{"action": "ask", "id": "m5", "question": "q", "filter": ' + nested(5000) + "}", None, "characters"),
        ('{"action": "ask", "id": "m6", "question": "q", "filter": ' + nested(1000) + "}", None, "must be JSON"),
        (
            json.dumps({"action": "ask", "id": "m7", "question": "q", "where": {"published_at": {">": "soon"}}}),
            "m7",
            "must be a number",
        ),
        (json.dumps([1, 2, 3]), None, "JSON object"),
        ('{"action": "ask", "id": "m8", "question": "q", "where": {"\\ud800": 1}}', "m8", "lone surrogate"),
        ('{"action": "ask", "id": "m10", "question": "\\ud83d?"}', "m10", "lone surrogate"),
        ('{"action": "ask", "id": "m9", "question": "q", "groups": ["staff"], "x": "\\udfff"}', "m9", "groups"),
    ],
)
def test_every_bad_message_gets_its_own_clear_error_and_the_next_question_is_answered(
    stack: Stack, message: str, expected_id: str | None, reason: str
) -> None:
    with stack.open("staff") as socket:
        socket.send(message)
        _, refused = answered(socket)
        _, good = ask(socket, "after", question=ANNOUNCED)
    assert refused["type"] == "error" and refused["id"] == expected_id, refused
    assert refused["error"]["type"] == "ValidationError" and reason in refused["error"]["message"], refused
    assert good["type"] == "answer"


def test_a_binary_frame_is_read_as_text_when_it_is_and_refused_when_it_is_not(stack: Stack) -> None:
    with stack.open("staff") as socket:
        socket.send(json.dumps({"action": "ask", "id": "b1", "question": ANNOUNCED}).encode())
        _, answered_binary = answered(socket, "b1")
        socket.send(b"\xff\xfe\x00 not text")
        _, refused = answered(socket)
    assert answered_binary["type"] == "answer"
    assert refused["type"] == "error" and refused["error"]["type"] == "ValidationError" and refused["id"] is None


def test_throttling_in_the_middle_of_the_stream_is_reported_without_details(stack: Stack) -> None:
    stack.state.stream_failure = "throttlingException"
    try:
        with stack.open("staff") as socket:
            texts, final = ask(socket, question=ANNOUNCED)
    finally:
        stack.state.stream_failure = None
    assert texts == ["A dedicated climate-tech "], "the text before the failure was shown"
    assert final["type"] == "error" and final["error"]["type"] == "ThrottlingException"
    assert final["error"]["message"] == "Too many questions right now; try again in a moment."
    assert "requestId" in final["error"] and "fake" not in json.dumps(final)


def test_a_connection_without_a_valid_token_is_refused_before_the_function_runs(stack: Stack) -> None:
    assert stack.local.stream is not None
    before, refused = len(stack.local.invocations), stack.local.stream.refused
    for offered in ([STREAM_SUBPROTOCOL, stack.issuer.token({"aud": "someone-else"})], [STREAM_SUBPROTOCOL],
                    ["other", stack.issuer.token({"aud": CLIENT})]):  # fmt: skip
        with pytest.raises(InvalidStatus) as raised:
            connect(stack.url, subprotocols=offered, open_timeout=10).close()  # type: ignore[arg-type]
        assert raised.value.response.status_code == 403
    assert len(stack.local.invocations) == before and stack.local.stream.refused == refused + 3


def test_a_long_answer_is_split_into_parts_that_fit_post_to_connection(stack: Stack) -> None:
    long_answer = "climate " * 30_000  # 240 KB of text
    canned = stack.state.answers[ANNOUNCED.lower()]
    stack.state.answers[ANNOUNCED.lower()] = long_answer
    stack.state.chunk_seconds, stack.state.words_per_chunk = 0.0, 5_000
    assert stack.local.stream is not None
    posted_before = len(stack.local.stream.posted)
    try:
        with stack.open("staff") as socket:
            socket.send(json.dumps({"action": "ask", "id": "long", "question": ANNOUNCED}))
            texts, parts = [], []
            while True:
                message = json.loads(socket.recv(timeout=15))
                if message["type"] == "text":
                    texts.append(message["text"])
                    continue
                assert message["type"] == "part", message
                parts.append(message)
                if len(parts) == message["parts"]:
                    break
    finally:
        stack.state.answers[ANNOUNCED.lower()] = canned
        stack.state.chunk_seconds, stack.state.words_per_chunk = 0.02, 3
    whole = json.loads("".join(part["data"] for part in sorted(parts, key=lambda part: part["part"])))
    assert whole["type"] == "answer" and whole["result"]["answer"] == long_answer == "".join(texts)
    assert len(parts) >= 2
    sizes = [len(data.encode()) for _, data in stack.local.stream.posted[posted_before:]]
    assert max(sizes) <= MAX_MESSAGE_BYTES


def socket_event(route: str, body: str | None = None, **authorizer: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"routeKey": route, "connectionId": "conn-1", "eventType": "MESSAGE",
                                                "authorizer": authorizer}, "isBase64Encoded": False}  # fmt: skip
    if body is not None:
        event["body"] = body
    return event


STREAM_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:kbstream-query-Function:{STREAM_ENTRY_POINT}"
CONNECTIONS = "https://wsapi12345.execute-api.us-east-1.amazonaws.com/live"


@pytest.fixture
def direct(credentials: None) -> Iterator[str]:
    """The query function's environment for calling its handler here, with the fake knowledge base."""
    with fake_knowledge_base(sample_state()) as (kb_url, _):
        config = dataclasses.replace(query_config(), group_claim="cognito:groups", stream_connections_url=CONNECTIONS)
        with function_environment(config, {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": kb_url}):
            yield kb_url


def invoke(event: dict[str, Any]) -> Any:
    return query_handler.handler(event, FakeLambdaContext(invoked_function_arn=STREAM_ARN))


def test_connect_selects_the_subprotocol_and_refuses_other_events(direct: str) -> None:
    connected = invoke({**socket_event("$connect"), "headers": {"Sec-WebSocket-Protocol": f"{STREAM_SUBPROTOCOL}, t"}})
    assert connected == {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": STREAM_SUBPROTOCOL}}
    assert invoke({**socket_event("$connect"), "headers": {"Sec-WebSocket-Protocol": "other"}}) == {"statusCode": 400}
    assert invoke({"question": "not a WebSocket event"}) == {"statusCode": 400}


def test_a_question_after_the_tokens_expiry_is_refused(direct: str) -> None:
    management = aws_clients.client("apigatewaymanagementapi", CONNECTIONS)
    with Stubber(management) as stub:
        expected = {"type": "error", "id": "late", "error": {"type": "Unauthorized",
                    "message": "the sign-in this connection was opened with has expired"}}  # fmt: skip
        stub.add_response("post_to_connection", {}, {"ConnectionId": "conn-1",
                          "Data": json.dumps(expected, separators=(",", ":")).encode()})  # fmt: skip
        body = json.dumps({"action": "ask", "id": "late", "question": ANNOUNCED})
        assert invoke(socket_event("ask", body, **{AUTHORIZED_GROUPS: '["staff"]', AUTHORIZED_UNTIL: 1})) == {
            "statusCode": 200
        }
        stub.assert_no_pending_responses()


def test_when_the_page_leaves_mid_answer_the_function_stops(direct: str) -> None:
    management = aws_clients.client("apigatewaymanagementapi", CONNECTIONS)
    with Stubber(management) as stub:
        stub.add_client_error("post_to_connection", "GoneException", http_status_code=410)
        body = json.dumps({"action": "ask", "id": "q", "question": ANNOUNCED})
        assert invoke(socket_event("ask", body, **{AUTHORIZED_GROUPS: '["staff"]'})) == {"statusCode": 200}
        stub.assert_no_pending_responses()  # one post failed, and nothing more was sent


def test_pieces_that_come_quickly_are_sent_together() -> None:
    sent: list[bytes] = []

    class Management:
        def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
            sent.append(Data)

    now = [0.0]
    sender = TextSender(Connection(Management(), "c"), "q", clock=lambda: now[0])
    for piece, at in (("A ", 0.0), ("dedicated ", 0.01), ("climate-tech ", 0.02), ("practice ", 0.06), ("that", 0.07)):
        now[0] = at
        sender(piece)
    sender.flush()
    assert [json.loads(data)["text"] for data in sent] == ["A ", "dedicated climate-tech practice ", "that"]


def test_the_fakes_event_stream_is_what_botocore_decodes() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(
        event_stream.event("output", {"text": "héllo"}) + event_stream.exception("throttlingException", "x")
    )
    first, second = list(buffer)
    assert first.headers[":event-type"] == "output" and json.loads(first.payload) == {"text": "héllo"}
    assert second.headers[":message-type"] == "exception" and second.headers[":exception-type"] == "throttlingException"


def test_retrieve_mode_answers_with_passages_and_no_text(stack: Stack) -> None:
    with stack.open("staff") as socket:
        texts, final = ask(socket, question="zero-trust reference architecture", mode="retrieve", numberOfResults=3)
    assert texts == [] and final["type"] == "answer"
    results = final["result"]["results"]
    assert 1 <= len(results) <= 3 and all({"uri", "excerpt", "score", "metadata"} <= set(result) for result in results)


def test_the_query_pages_client_example_streams_an_answer(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    from devtools.settings_docs import REPO_ROOT

    page = (REPO_ROOT / "docs" / "query.md").read_text()
    block = page.split("<!-- stream client -->")[1].split("```python\n", 1)[1].split("```", 1)[0]
    token = stack.issuer.token({"aud": CLIENT, "cognito:groups": ["staff"]})
    exec(compile(block, "docs/query.md", "exec"), {"URL": stack.url, "ID_TOKEN": token})  # the block of our own page
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("A dedicated climate-tech practice")
    assert printed[1].startswith("answer [") and "aurora_press_announcement" in printed[1]


class RecordingEndpoint:
    """The connection endpoint as the management client reaches it: keeps what PostToConnection sends."""

    def __init__(self) -> None:
        self.posted: list[bytes] = []

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        assert len(Data) <= MAX_MESSAGE_BYTES, len(Data)
        self.posted.append(Data)
        return {}


def rejoined(posted: list[bytes]) -> Any:
    messages = [json.loads(data) for data in posted]
    if len(messages) == 1 and messages[0].get("type") != "part":
        return messages[0]
    assert [message["part"] for message in messages] == list(range(messages[0]["parts"]))
    return json.loads("".join(message["data"] for message in messages))


@pytest.mark.parametrize(
    ("character", "count"),
    [("😀", 40_000), ("\U0001d538", 70_000), ("中", 50_000), ('"', 100_000), ("\x01", 30_000), ("\ud83d", 30_000)],
)
def test_every_part_fits_post_to_connection_whatever_the_characters(character: str, count: int) -> None:
    endpoint = RecordingEndpoint()
    message = {"type": "answer", "id": "m1", "result": {"answer": character * count}}
    Connection(endpoint, "conn-1").send(message)
    assert len(endpoint.posted) >= 2
    assert rejoined(endpoint.posted) == message


@given(st.text(max_size=2_000), st.integers(min_value=1, max_value=120))
def test_any_text_is_sent_whole_in_parts_within_the_limit(text: str, repeat: int) -> None:
    endpoint = RecordingEndpoint()
    message = {"type": "text", "id": "m2", "text": text * repeat}
    Connection(endpoint, "conn-1").send(message)
    assert rejoined(endpoint.posted) == message
