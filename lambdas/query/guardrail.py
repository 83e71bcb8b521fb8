"""The guardrail over everything the function returns.

RetrieveAndGenerate applies a guardrail to the question and the generated answer only: the retrieved
passages (retrieve mode's results, and the excerpts cited with an answer) and their documents' metadata
reach the caller as stored. So each passage goes through ApplyGuardrail, as model output, with every
text its metadata holds, before it is returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# One request per passage, several in flight: 100 passages are 13 rounds of the guardrail's latency, not
# 100. Throttling beyond the account's ApplyGuardrail quota is retried by botocore (adaptive mode).
MAX_IN_FLIGHT = 8
# Between a passage's texts in one request: no PII or denied-topic policy reads it as content.
_SEPARATOR = "\n\u241e\n"


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


def _apply(runtime: Any, guardrail: Guardrail, text: str) -> tuple[str, Verdict]:
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


def _metadata_texts(metadata: dict[str, Any]) -> list[tuple[str, int | None]]:
    """(key, list index or None) of every text in the metadata, in order."""
    places: list[tuple[str, int | None]] = []
    for key, value in metadata.items():
        if isinstance(value, str) and value:
            places.append((key, None))
        elif isinstance(value, list):
            places += [(key, index) for index, item in enumerate(value) if isinstance(item, str) and item]
    return places


def guard_entry(runtime: Any, guardrail: Guardrail, entry: dict[str, Any]) -> Verdict:
    """Guard one passage in place: its excerpt and every text of its metadata, in one request."""
    metadata: dict[str, Any] = entry.get("metadata") or {}
    places = _metadata_texts(metadata)
    texts = [entry["excerpt"], *(metadata[key] if index is None else metadata[key][index] for key, index in places)]
    if not any(text.strip() for text in texts):
        return Verdict.NONE
    if any(_SEPARATOR in text for text in texts):  # cannot be split back: each text on its own
        outcomes = [_apply(runtime, guardrail, text) if text.strip() else (text, Verdict.NONE) for text in texts]
        guarded, verdicts = [text for text, _ in outcomes], {verdict for _, verdict in outcomes}
        verdict = max(verdicts, key=[Verdict.NONE, Verdict.ANONYMIZED, Verdict.BLOCKED].index)
    else:
        allowed, verdict = _apply(runtime, guardrail, _SEPARATOR.join(texts))
        guarded = allowed.split(_SEPARATOR) if verdict is not Verdict.NONE else texts
    if verdict is Verdict.BLOCKED or len(guarded) != len(texts):
        # The guardrail replaced the passage, or changed its structure: return what it let out (its message, or
        # the masked texts together) and keep no metadata text.
        entry["excerpt"] = guarded[0] if verdict is Verdict.BLOCKED else "\n".join(guarded)
        entry["metadata"] = {key: value for key, value in metadata.items() if not isinstance(value, str | list)}
        return verdict
    entry["excerpt"] = guarded[0]
    for (key, index), text in zip(places, guarded[1:], strict=True):
        if index is None:
            metadata[key] = text
        else:
            metadata[key][index] = text
    return verdict


def guard_passages(runtime: Any, guardrail: Guardrail, shaped: dict[str, Any]) -> int:
    """Guard the passages of a shaped answer or retrieval in place, several at a time; returns how many
    the guardrail changed. Each verdict belongs to one passage; ApplyGuardrail bills by text unit, not
    by request, so one request per passage costs no more than one for all."""
    entries = [*shaped.get("results", []), *shaped.get("citations", [])]
    if not entries:
        return 0
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(entries))) as pool:
        verdicts = list(pool.map(lambda entry: guard_entry(runtime, guardrail, entry), entries))
    for entry, verdict in zip(entries, verdicts, strict=True):
        entry["guardrail"] = verdict.value
    return sum(verdict is not Verdict.NONE for verdict in verdicts)
