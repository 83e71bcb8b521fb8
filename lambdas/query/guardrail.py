"""The guardrail over everything the function returns.

RetrieveAndGenerate applies a guardrail to the question and the generated answer only: the retrieved
passages (retrieve mode's results, and the excerpts cited with an answer) reach the caller as stored.
So each passage goes through ApplyGuardrail, as model output, before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class Guardrail:
    guardrail_id: str
    version: str

    def configuration(self) -> dict[str, str]:
        return {"guardrailId": self.guardrail_id, "guardrailVersion": self.version}


class Verdict(StrEnum):
    """What the guardrail did to one passage."""

    NONE = "NONE"
    ANONYMIZED = "ANONYMIZED"  # returned with the sensitive parts masked
    BLOCKED = "BLOCKED"  # replaced by the guardrail's blocked-output message


def _actions(assessment: Any) -> Iterator[str]:
    """Every ``action`` anywhere in an assessment (content, topic, word, PII and other policies)."""
    if isinstance(assessment, dict):
        for key, value in assessment.items():
            if key == "action" and isinstance(value, str):
                yield value
            else:
                yield from _actions(value)
    elif isinstance(assessment, list):
        for item in assessment:
            yield from _actions(item)


def guard_passage(runtime: Any, guardrail: Guardrail, text: str) -> tuple[str, Verdict]:
    """The passage as the guardrail lets it out, and what it did."""
    if not text.strip():
        return text, Verdict.NONE
    response = runtime.apply_guardrail(
        guardrailIdentifier=guardrail.guardrail_id,
        guardrailVersion=guardrail.version,
        source="OUTPUT",
        content=[{"text": {"text": text}}],
    )
    if response.get("action") != "GUARDRAIL_INTERVENED":
        return text, Verdict.NONE
    allowed = "".join(output.get("text", "") for output in response.get("outputs", []))
    blocked = "BLOCKED" in set(_actions(response.get("assessments", [])))
    return allowed, Verdict.BLOCKED if blocked else Verdict.ANONYMIZED


def guard_passages(runtime: Any, guardrail: Guardrail, shaped: dict[str, Any]) -> int:
    """Guard the excerpts of a shaped answer or retrieval in place; returns how many the guardrail changed.

    One request per passage, in order: each verdict belongs to one passage, and ApplyGuardrail bills by
    text unit, not by request."""
    changed = 0
    for entry in [*shaped.get("results", []), *shaped.get("citations", [])]:
        entry["excerpt"], verdict = guard_passage(runtime, guardrail, entry["excerpt"])
        entry["guardrail"] = verdict.value
        changed += verdict is not Verdict.NONE
    return changed
