"""A local fake of Bedrock Guardrails' ApplyGuardrail (bedrock-runtime), for tests and benchmarks.

Point a client at it with ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``. It anonymizes e-mail addresses and
phone numbers (``{EMAIL}``, ``{PHONE}``) and blocks a text with a denied word (the blocked-output message
replaces it), as a guardrail with those policies does. It takes ``latency_seconds`` per request,
throttles past ``requests_per_second`` and records the peak number of requests in flight, so a test can
show how a guarded answer is scheduled.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devtools.fake_bedrock import JsonHandler, serve
from devtools.sdk_model import service_model

BLOCKED_MESSAGE = "Blocked by the guardrail."
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")


@dataclass
class GuardrailState:
    latency_seconds: float = 0.0
    requests_per_second: float | None = None
    denied_words: tuple[str, ...] = ("weapon",)
    requests: int = 0
    throttled: int = 0
    peak_in_flight: int = 0
    texts: list[str] = field(default_factory=list)  # every text block received
    _in_flight: int = 0
    _recent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self) -> bool:
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if self.requests_per_second is not None and len(self._recent) >= self.requests_per_second:
                self.throttled += 1
                return False
            self._recent.append(now)
            self.requests += 1
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            return True

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        texts = [block.get("text", {}).get("text", "") for block in body.get("content", [])]
        with self._lock:
            self.texts += texts
        usage = {"topicPolicyUnits": 0, "contentPolicyUnits": len(texts), "wordPolicyUnits": 0,
                 "sensitiveInformationPolicyUnits": len(texts), "sensitiveInformationPolicyFreeUnits": 0,
                 "contextualGroundingPolicyUnits": 0}  # fmt: skip
        if any(word in text.lower() for text in texts for word in self.denied_words):
            assessment = {"wordPolicy": {"customWords": [{"match": "weapon", "action": "BLOCKED"}]}}
            return {"action": "GUARDRAIL_INTERVENED", "outputs": [{"text": BLOCKED_MESSAGE}],
                    "assessments": [assessment], "usage": usage}  # fmt: skip
        masked = [_PHONE.sub("{PHONE}", _EMAIL.sub("{EMAIL}", text)) for text in texts]
        if masked == texts:
            return {"action": "NONE", "outputs": [], "assessments": [], "usage": usage}
        entities = [{"match": "(masked)", "type": "EMAIL", "action": "ANONYMIZED"}]
        return {"action": "GUARDRAIL_INTERVENED", "outputs": [{"text": text} for text in masked],
                "assessments": [{"sensitiveInformationPolicy": {"piiEntities": entities}}], "usage": usage}  # fmt: skip


def _route() -> re.Pattern[str]:
    uri = service_model("bedrock-runtime").operation_model("ApplyGuardrail").http["requestUri"]
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(uri)) + "$")


@contextmanager
def fake_guardrail(state: GuardrailState | None = None) -> Iterator[tuple[str, GuardrailState]]:
    """Serve on 127.0.0.1 (a free port) until the block ends; yields (endpoint URL, state)."""
    guard = state or GuardrailState()
    route = _route()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not route.match(self.path.split("?")[0]):
                self._send(404, {"message": f"no route for {self.path}"}, "UnknownOperationException")
                return
            if not guard.admit():
                self._send(429, {"message": "fake: ThrottlingException"}, "ThrottlingException")
                return
            try:
                time.sleep(guard.latency_seconds)
                self._send(200, guard.apply(json.loads(raw or b"{}")))
            finally:
                guard.release()

    with serve(Handler) as url:
        yield url, guard
