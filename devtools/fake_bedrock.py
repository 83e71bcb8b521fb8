"""A local fake of the Bedrock Agents endpoint (bedrock-agent), for tests and benchmarks.

Point a client at it with ``AWS_ENDPOINT_URL_BEDROCK_AGENT``. Requests go through botocore's whole
stack (serialization, signing, retries), which botocore's Stubber skips. The fake enforces what
shapes the ingestion design: a requests-per-second quota per operation, a cap on concurrent
requests, a configurable latency, errors scripted by a test, and asynchronous indexing: accepted
documents become INDEXED (or FAILED) only after a delay, as GetKnowledgeBaseDocuments reports.
Routes come from the botocore model, so a request the real service would not route is answered 404.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from devtools.fake_ingestion import IngestionJobs
from devtools.sdk_model import service_model

_CONCURRENCY_LIMITED = frozenset({"IngestKnowledgeBaseDocuments", "DeleteKnowledgeBaseDocuments"})
_STATUS = {"ThrottlingException": 429, "ConflictException": 409, "ValidationException": 400,
           "AccessDeniedException": 403, "ResourceNotFoundException": 404, "InternalServerException": 500,
           "ServiceQuotaExceededException": 402}  # fmt: skip


def _routes() -> list[tuple[str, re.Pattern[str], str]]:
    model = service_model("bedrock-agent")
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?")[0]
        pattern = re.sub(r"\{[^}]+\}", r"([^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return routes


@dataclass
class Limits:
    requests_per_second: dict[str, float] = field(default_factory=dict)  # by operation
    max_concurrent: int | None = None  # over all operations, as Bedrock's Ingest+Delete limit
    latency_seconds: float = 0.0
    # Indexing is asynchronous: an accepted document is STARTING, then IN_PROGRESS, then INDEXED this
    # long after it was accepted, or FAILED for this share of documents (chosen by a hash of the ID).
    indexing_seconds: float = 0.0
    failing_share: float = 0.0


@dataclass
class FakeState:
    limits: Limits = field(default_factory=Limits)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # ingested, by custom id
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (operation, body) accepted
    throttled: int = 0
    scripted: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: int = 0
    _recent: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    peak_concurrency: int = 0
    failing_documents: dict[str, str] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)  # by custom id
    never_indexed: set[str] = field(default_factory=set)  # stay IN_PROGRESS forever
    failing_indexing: dict[str, str] = field(default_factory=dict)  # id -> statusReason: FAILED after indexing
    deleted: list[str] = field(default_factory=list)
    # Ingestion jobs over S3 data sources (the bulk path), when a test gives them: they answer the job operations.
    jobs: IngestionJobs | None = None

    def indexing_status(self, document_id: str) -> tuple[str, str | None]:
        """(status, statusReason) of a document, as GetKnowledgeBaseDocuments reports it now."""
        accepted = self.accepted_at.get(document_id)
        if accepted is None:
            return "NOT_FOUND", None
        if document_id in self.never_indexed:
            return "IN_PROGRESS", None
        age = time.monotonic() - accepted
        if age < self.limits.indexing_seconds / 2:
            return "STARTING", None
        if age < self.limits.indexing_seconds:
            return "IN_PROGRESS", None
        if document_id in self.failing_indexing:
            return "FAILED", self.failing_indexing[document_id]
        digest = int(hashlib.sha256(document_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if digest < self.limits.failing_share:
            return "FAILED", "fake: the embedding model rejected the content"
        return "INDEXED", None

    def fail_next(self, operation: str, code: str, times: int = 1) -> None:
        self.scripted[operation].extend([code] * times)

    def fail_documents(self, document_ids: set[str], code: str) -> None:
        """Every request that carries one of these custom document IDs fails with ``code``, every time."""
        self.failing_documents.update(dict.fromkeys(document_ids, code))

    def failure_for(self, body: dict[str, Any]) -> str | None:
        for document in body.get("documents", []):
            custom = document.get("content", {}).get("custom", {})
            code = self.failing_documents.get(custom.get("customDocumentIdentifier", {}).get("id"))
            if code:
                return code
        return None

    def admit(self, operation: str) -> str | None:
        """An error code when the request is over a limit or scripted to fail, else None."""
        with self._lock:
            if self.scripted[operation]:
                return self.scripted[operation].popleft()
            quota = self.limits.requests_per_second.get(operation)
            now = time.monotonic()
            recent = self._recent[operation]
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
            # Bedrock's concurrency limit counts ingest and delete requests (the ones that change documents).
            limit = self.limits.max_concurrent if operation in _CONCURRENCY_LIMITED else None
            if (quota is not None and len(recent) >= quota) or (limit is not None and self._in_flight >= limit):
                self.throttled += 1
                return "ThrottlingException"
            recent.append(now)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
            return None

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _respond_ingest(state: FakeState, ids: list[str], body: dict[str, Any]) -> dict[str, Any]:
    details = []
    for document in body.get("documents", []):
        identifier = document["content"]["custom"]["customDocumentIdentifier"]["id"]
        with state._lock:
            state.documents[identifier] = document
            state.accepted_at[identifier] = time.monotonic()
        details.append(
            {
                "knowledgeBaseId": ids[0],
                "dataSourceId": ids[1],
                "status": "STARTING",
                "identifier": {"dataSourceType": "CUSTOM", "custom": {"id": identifier}},
                "updatedAt": _now(),
            }
        )
    return {"documentDetails": details}


def _job_operation(name: str) -> Any:
    def respond(state: FakeState, ids: list[str], body: dict[str, Any]) -> dict[str, Any]:
        assert state.jobs is not None, "give FakeState jobs (devtools.fake_ingestion.IngestionJobs)"
        where = {"knowledgeBaseId": ids[0], "dataSourceId": ids[1]}
        if name == "get_ingestion_job":
            where["ingestionJobId"] = ids[2]
        return getattr(state.jobs, name)(**where, **body)  # type: ignore[no-any-return]

    return respond


def _respond_start_job(state: FakeState, ids: list[str], body: dict[str, Any]) -> dict[str, Any]:
    if state.jobs is not None:
        return _job_operation("start_ingestion_job")(state, ids, body)  # type: ignore[no-any-return]
    job = {
        "knowledgeBaseId": ids[0],
        "dataSourceId": ids[1],
        "ingestionJobId": f"JOB{len(state.requests):07d}"[:10],
        "status": "STARTING",
        "startedAt": _now(),
        "updatedAt": _now(),
    }
    return {"ingestionJob": job}


def _detail(ids: list[str], document_id: str, status: str, reason: str | None) -> dict[str, Any]:
    detail = {"knowledgeBaseId": ids[0], "dataSourceId": ids[1], "status": status, "updatedAt": _now(),
              "identifier": {"dataSourceType": "CUSTOM", "custom": {"id": document_id}}}  # fmt: skip
    if reason:
        detail["statusReason"] = reason
    return detail


def _custom_ids(body: dict[str, Any]) -> list[str]:
    return [str(item["custom"]["id"]) for item in body.get("documentIdentifiers", [])]


def _respond_get_documents(state: FakeState, ids: list[str], body: dict[str, Any]) -> dict[str, Any]:
    identifiers = body.get("documentIdentifiers", [])
    if state.jobs is not None and identifiers and identifiers[0].get("dataSourceType") == "S3":
        return state.jobs.get_knowledge_base_documents(knowledgeBaseId=ids[0], dataSourceId=ids[1], **body)
    with state._lock:
        return {"documentDetails": [_detail(ids, document_id, *state.indexing_status(document_id))
                                    for document_id in _custom_ids(body)]}  # fmt: skip


def _respond_delete_documents(state: FakeState, ids: list[str], body: dict[str, Any]) -> dict[str, Any]:
    details = []
    with state._lock:
        for document_id in _custom_ids(body):
            # A document the data source does not hold is reported NOT_FOUND (a DocumentStatus value): nothing is
            # deleted, and the caller must not count it.
            held = state.documents.pop(document_id, None) is not None
            state.accepted_at.pop(document_id, None)
            if held:
                state.deleted.append(document_id)
            details.append(_detail(ids, document_id, "DELETING" if held else "NOT_FOUND", None))
    return {"documentDetails": details}


_RESPONDERS = {
    "IngestKnowledgeBaseDocuments": _respond_ingest,
    "GetKnowledgeBaseDocuments": _respond_get_documents,
    "DeleteKnowledgeBaseDocuments": _respond_delete_documents,
    "StartIngestionJob": _respond_start_job,
    "ListIngestionJobs": _job_operation("list_ingestion_jobs"),
    "GetIngestionJob": _job_operation("get_ingestion_job"),
}


class JsonHandler(BaseHTTPRequestHandler):
    """Answers as an AWS JSON REST service does: a JSON body, the error type in ``x-amzn-ErrorType``."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes on a kept-alive connection: without TCP_NODELAY, each response
    # waits for the client's delayed ACK (about 40 ms on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, payload: dict[str, Any], error: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler], port: int = 0) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (``port``, or a free one) until the block ends; yields the endpoint URL."""
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _handler_class(state: FakeState) -> type[BaseHTTPRequestHandler]:
    routes = _routes()

    class Handler(JsonHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            for method, pattern, name in routes:
                match = pattern.match(path)
                if method == self.command and match:
                    operation = name
                    break
            else:
                self._send(404, {"message": f"no route for {self.command} {path}"}, "UnknownOperationException")
                return
            error = state.admit(operation)
            if error:
                self._send(_STATUS.get(error, 400), {"message": f"fake: {error}"}, error)
                return
            try:
                time.sleep(state.limits.latency_seconds)
                body = json.loads(raw or b"{}")
                failure = state.failure_for(body)
                if failure:
                    self._send(_STATUS.get(failure, 400), {"message": f"fake: {failure}"}, failure)
                    return
                responder = _RESPONDERS.get(operation)
                if responder is None:
                    self._send(501, {"message": f"fake does not implement {operation}"}, "InternalServerException")
                    return
                with state._lock:
                    state.requests.append((operation, body))
                try:
                    answer = responder(state, list(match.groups()), body)
                except ClientError as refused:  # the ingestion jobs' fake answers as the service would
                    code = refused.response["Error"]["Code"]
                    self._send(_STATUS.get(code, 400), {"message": refused.response["Error"]["Message"]}, code)
                    return
                self._send(202, json.loads(json.dumps(answer, default=_timestamp)))
            finally:
                state.release()

        do_PUT = do_POST = do_GET = do_DELETE = _handle

    return Handler


@contextmanager
def fake_bedrock_agent(limits: Limits | None = None) -> Iterator[tuple[str, FakeState]]:
    """Serve on 127.0.0.1 (a free port) until the block ends; yields (endpoint URL, state)."""
    state = FakeState(limits=limits or Limits())
    with serve(_handler_class(state)) as url:
        yield url, state
