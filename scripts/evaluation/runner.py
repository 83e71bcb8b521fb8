"""Runs evaluation cases through the deployed query function, each through the entry point its audience uses.

- Over Lambda (the default): a case with an audience invokes that group's alias, one without invokes the plain
  function, which asks as ``defaultGroup``. Without ``groupFilters`` the app enforces no audience, so every case
  invokes the plain function, and the access cases (those with ``forbiddenSources``) are skipped: there is no
  access rule to measure.
- Over HTTPS (``--via http``): each case's request carries the token given for its audience (``--token
  GROUP=JWT``; a case without an audience uses ``defaultGroup``'s); API Gateway verifies it, and the function
  reads the audience from it. A case whose audience has no token is skipped.

A follow-up sends the ``sessionId`` its conversation's previous answer returned.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scripts.evaluation.cases import Case, CasesError
from scripts.evaluation.scoring import CaseScore, score_case, skipped


class EntryPoint(Protocol):
    def ask(self, case: Case, request: dict[str, Any]) -> dict[str, Any] | None:
        """The function's answer, or None when this entry point cannot ask as the case's audience."""

    def skip_reason(self, case: Case) -> str | None: ...


@dataclass
class LambdaEntryPoint:
    client: Any  # botocore lambda client
    function_name: str
    groups: frozenset[str]  # groupFilters' groups; empty: no audiences enforced

    def skip_reason(self, case: Case) -> str | None:
        if case.audience is not None and self.groups and case.audience not in self.groups:
            raise CasesError(
                f"case {case.id}: audience {case.audience!r} is none of groupFilters' groups "
                f"({', '.join(sorted(self.groups))})"
            )
        if not self.groups and case.forbidden_sources:
            return "the app enforces no audiences (groupFilters is empty), so there is no access rule to measure"
        return None

    def ask(self, case: Case, request: dict[str, Any]) -> dict[str, Any] | None:
        options = {"Qualifier": case.audience} if case.audience and self.groups else {}
        response = self.client.invoke(FunctionName=self.function_name, Payload=json.dumps(request).encode(), **options)
        payload = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            message = payload.get("errorMessage", "") if isinstance(payload, dict) else ""
            return {"error": {"type": "FunctionError", "message": str(message)}}
        return payload if isinstance(payload, dict) else {"error": {"type": "FunctionError", "message": "no JSON"}}


@dataclass
class HttpEntryPoint:
    url: str  # the QueryApiUrl output: https://.../query
    tokens: Mapping[str, str]  # audience -> bearer token
    default_group: str
    timeout_seconds: float = 60.0

    def _audience(self, case: Case) -> str:
        return case.audience or self.default_group

    def skip_reason(self, case: Case) -> str | None:
        if self._audience(case) not in self.tokens:
            return f"no --token for audience {self._audience(case)!r}"
        return None

    def ask(self, case: Case, request: dict[str, Any]) -> dict[str, Any] | None:
        data = json.dumps(request).encode()
        http_request = urllib.request.Request(
            self.url,
            data=data,
            method="POST",
            headers={
                "Authorization": f"Bearer {self.tokens[self._audience(case)]}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout_seconds) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            if error.code == 401:
                return {"error": {"type": "Unauthorized", "message": "the API refused the token (401)"}}
        answer = json.loads(body or b"null")
        return answer if isinstance(answer, dict) else {"error": {"type": "BadResponse", "message": "no JSON"}}


def run_cases(
    cases: Sequence[Case],
    entry: EntryPoint,
    k: int,
    *,
    clock: Callable[[], float] = time.perf_counter,
    progress: Callable[[str], None] = lambda line: None,
) -> list[CaseScore]:
    scores: list[CaseScore] = []
    sessions: dict[str, str] = {}  # case id -> the sessionId its answer returned
    for number, case in enumerate(cases, 1):
        reason = entry.skip_reason(case)
        if reason is None and case.follow_up is not None and case.follow_up not in sessions:
            reason = f"the conversation it follows ({case.follow_up}) has no session"
        if reason is not None:
            scores.append(skipped(case, reason))
            progress(f"[{number}/{len(cases)}] {case.id}: skipped ({reason})")
            continue
        request = case.request(sessions.get(case.follow_up) if case.follow_up else None)
        started = clock()
        response = entry.ask(case, request) or {"error": {"type": "NoAnswer", "message": ""}}
        seconds = clock() - started
        if isinstance(response.get("sessionId"), str) and response["sessionId"]:
            sessions[case.id] = response["sessionId"]
        score = score_case(case, response, seconds, k)
        scores.append(score)
        verdict = (
            f"error {score.error}"
            if score.error
            else (
                f"hit {score.hit_at_k if score.hit_at_k is not None else '-'}, mentions "
                f"{score.mention_coverage if score.mention_coverage is not None else '-'}"
                + (f", LEAK {', '.join(score.leaks)}" if score.leaks else "")
            )
        )
        progress(f"[{number}/{len(cases)}] {case.id}: {verdict} ({seconds:.2f} s)")
    return scores
