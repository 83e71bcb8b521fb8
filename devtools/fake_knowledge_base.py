"""A local fake of a knowledge base's runtime (bedrock-agent-runtime Retrieve and RetrieveAndGenerate).

Point a client at it with ``AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME``. It searches the passages it is given
(``scripts.evaluation.sample`` gives it the sample documents and the sample ticker stream as this app ingests
them, with the metadata their sidecars and the stream mapping give). What matters for the tests is real:

- every ``RetrievalFilter`` operator S3 Vectors evaluates is applied to each passage's metadata, so an audience's
  enforced filter really hides documents;
- passages are ranked by the words they share with the question (a deterministic stand-in for vector search), and
  a follow-up in a session is searched with the conversation's earlier questions, as Bedrock does;
- RetrieveAndGenerate answers with a canned answer for a known question (or the best passage's text) and cites the
  passages it found, in the response shape of the botocore model;
- RetrieveAndGenerateStream sends the same answer as an event stream (``devtools.event_stream``): after
  ``latency_seconds``, a few words per ``output`` event every ``chunk_seconds``, then the ``citation`` event; with
  ``stream_failure`` set, an exception event of that member (``throttlingException``) ends the stream midway.

Routes come from the botocore model; anything else is answered 404.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote

from devtools import event_stream
from devtools.fake_bedrock import JsonHandler, serve
from devtools.sdk_model import service_model

_WORD = re.compile(r"[a-z0-9][a-z0-9$.,%-]*[a-z0-9%]|[a-z0-9]")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "does",
        "did",
        "do",
        "for",
        "from",
        "give",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "me",
        "of",
        "on",
        "or",
        "our",
        "say",
        "says",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "under",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
    ]
)


@dataclass(frozen=True)
class Passage:
    text: str
    metadata: Mapping[str, Any]
    uri: str = ""  # s3://... for a document of the S3 data source
    document_id: str = ""  # the ID of a stream document (custom data source)

    def location(self) -> dict[str, Any]:
        if self.uri:
            return {"type": "S3", "s3Location": {"uri": self.uri}}
        return {"type": "CUSTOM", "customDocumentLocation": {"id": self.document_id}}


def words(text: str) -> set[str]:
    return {word.strip(".,") for word in _WORD.findall(text.lower())} - _STOPWORDS


def matches(search_filter: Mapping[str, Any] | None, metadata: Mapping[str, Any]) -> bool:
    """Does a passage's metadata satisfy a Bedrock RetrievalFilter (the operators S3 Vectors evaluates)?"""
    if not search_filter:
        return True
    (operator, operand), *_ = search_filter.items()
    if operator == "andAll":
        return all(matches(member, metadata) for member in operand)
    if operator == "orAll":
        return any(matches(member, metadata) for member in operand)
    key, expected = operand["key"], operand["value"]
    if key not in metadata:
        return operator in {"notEquals", "notIn"}
    actual = metadata[key]
    if operator == "equals":
        return bool(actual == expected)
    if operator == "notEquals":
        return bool(actual != expected)
    if operator == "in":
        return actual in expected
    if operator == "notIn":
        return actual not in expected
    comparisons = {
        "greaterThan": float.__gt__,
        "greaterThanOrEquals": float.__ge__,
        "lessThan": float.__lt__,
        "lessThanOrEquals": float.__le__,
    }
    if operator in comparisons and isinstance(actual, int | float) and not isinstance(actual, bool):
        return bool(comparisons[operator](float(actual), float(expected)))
    raise ValueError(f"the fake does not evaluate {operator!r}")


def ticker_stream(topic: str = "ticker-prices", start: float = 1771151400.0) -> list[Passage]:
    """The 17 sample prices as the default mapping makes them: offset IDs, the rendered text, typed metadata."""
    from devtools.settings_docs import REPO_ROOT
    from stream_ingest.mapping import TICKER_PRICES, RecordView, attribute_value, parse_mapping

    mapping = parse_mapping(TICKER_PRICES)
    with (REPO_ROOT / "sample_data" / "TestData.csv").open() as rows:
        prices = list(csv.DictReader(rows))
    passages = []
    for offset, row in enumerate(prices):
        partition = offset % 2
        view = RecordView(
            value={**row, "timestamp": start + offset},
            key=row["ticker"],
            topic=topic,
            partition=partition,
            offset=offset,
            timestamp=start + offset,
        )
        metadata: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset}
        for attribute in mapping.metadata:
            metadata[attribute.name] = attribute_value(view.lookup(attribute.field), attribute.type, attribute.name)
        passages.append(Passage(mapping.text.render(view), metadata, document_id=f"{topic}/{partition}/{offset}"))
    return passages


@dataclass
class KnowledgeBaseState:
    passages: list[Passage] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # question (lower case) -> canned answer
    latency_seconds: float = 0.0  # before any response; for the stream, before its first event
    chunk_seconds: float = 0.02  # between a stream's events
    words_per_chunk: int = 3
    stream_failure: str | None = None  # an exception member of the stream, sent after its first event
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sessions: dict[str, list[str]] = field(default_factory=dict)  # session -> its questions so far
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _session_numbers: Iterator[int] = field(default_factory=itertools.count)

    def search(self, query: str, search: Mapping[str, Any]) -> list[tuple[float, Passage]]:
        asked = words(query)
        allowed = [passage for passage in self.passages if matches(search.get("filter"), passage.metadata)]
        scored = []
        for index, passage in enumerate(allowed):
            shared = asked & words(passage.text)
            if shared:
                scored.append((len(shared) / (len(asked) or 1), -index, passage))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [(round(score, 4), passage) for score, _, passage in scored[: int(search.get("numberOfResults", 5))]]

    def retrieve(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self.search(
            body["retrievalQuery"]["text"], body.get("retrievalConfiguration", {}).get("vectorSearchConfiguration", {})
        )
        return {
            "retrievalResults": [
                {
                    "content": {"text": passage.text, "type": "TEXT"},
                    "location": passage.location(),
                    "metadata": dict(passage.metadata),
                    "score": score,
                }
                for score, passage in found
            ]
        }

    def retrieve_and_generate(self, body: dict[str, Any]) -> dict[str, Any]:
        question = body["input"]["text"]
        with self._lock:
            session = body.get("sessionId") or f"session-{next(self._session_numbers):04d}"
            history = self.sessions.setdefault(session, [])
            history.append(question)
            asked = " ".join(history)
        configuration = body["retrieveAndGenerateConfiguration"]["knowledgeBaseConfiguration"]
        search = configuration.get("retrievalConfiguration", {}).get("vectorSearchConfiguration", {})
        found = self.search(asked, search)
        answer = self.answers.get(question.strip().lower())
        if answer is None:
            answer = found[0][1].text if found else "Sorry, I am unable to assist you with this request."
        references = [
            {
                "content": {"text": passage.text, "type": "TEXT"},
                "location": passage.location(),
                "metadata": dict(passage.metadata),
            }
            for _, passage in found[:3]
        ]
        citations = (
            [
                {
                    "generatedResponsePart": {
                        "textResponsePart": {"text": answer, "span": {"start": 0, "end": max(len(answer) - 1, 0)}}
                    },
                    "retrievedReferences": references,
                }
            ]
            if references
            else []
        )
        return {"output": {"text": answer}, "citations": citations, "sessionId": session}

    def stream_events(self, body: dict[str, Any]) -> tuple[str, list[bytes]]:
        """RetrieveAndGenerateStream: the session and the encoded events of the same answer."""
        response = self.retrieve_and_generate(body)
        text = response["output"]["text"]
        pieces = re.findall(r"\S+\s*", text) or [text]
        size = self.words_per_chunk
        events = [
            event_stream.event("output", {"text": "".join(pieces[start : start + size])})
            for start in range(0, len(pieces), size)
        ]
        if self.stream_failure:
            events[1:] = [event_stream.exception(self.stream_failure, "Rate exceeded (fake)")]
            return response["sessionId"], events
        events += [event_stream.event("citation", citation) for citation in response["citations"]]
        return response["sessionId"], events


_RESPONDERS = {"Retrieve": KnowledgeBaseState.retrieve, "RetrieveAndGenerate": KnowledgeBaseState.retrieve_and_generate}
_STREAMING = "RetrieveAndGenerateStream"


def _handler_class(state: KnowledgeBaseState) -> type[BaseHTTPRequestHandler]:
    model = service_model("bedrock-agent-runtime")
    routes = []
    for name in [*_RESPONDERS, _STREAMING]:
        http = model.operation_model(name).http
        pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(http["requestUri"].split("?")[0]))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            path = unquote(self.path.split("?")[0])
            operation = next(
                (name for method, pattern, name in routes if method == "POST" and pattern.match(path)), None
            )
            if operation is None:
                self._send(404, {"message": f"no route for POST {path}"}, "UnknownOperationException")
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            time.sleep(state.latency_seconds)
            with state._lock:
                state.requests.append((operation, body))
            if operation == _STREAMING:
                self._stream(body)
                return
            try:
                self._send(200, _RESPONDERS[operation](state, body))
            except (KeyError, ValueError) as problem:
                self._send(400, {"message": f"fake: {problem}"}, "ValidationException")

        def _stream(self, body: dict[str, Any]) -> None:
            try:
                session, events = state.stream_events(body)
            except (KeyError, ValueError) as problem:
                self._send(400, {"message": f"fake: {problem}"}, "ValidationException")
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.amazon.eventstream")
            self.send_header("x-amzn-bedrock-knowledge-base-session-id", session)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for number, encoded in enumerate(events):
                    if number:
                        time.sleep(state.chunk_seconds)
                    self.wfile.write(f"{len(encoded):X}\r\n".encode() + encoded + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):  # the caller stopped reading: it closed the stream
                self.close_connection = True

    return Handler


@contextmanager
def fake_knowledge_base(state: KnowledgeBaseState | None = None) -> Iterator[tuple[str, KnowledgeBaseState]]:
    """Serve on 127.0.0.1 (a free port) until the block ends; yields (endpoint URL, state)."""
    state = state or KnowledgeBaseState()
    with serve(_handler_class(state)) as url:
        yield url, state
