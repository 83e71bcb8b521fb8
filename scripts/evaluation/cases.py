"""Evaluation cases: one JSON object per line of a ``cases.jsonl`` file, checked against a JSON Schema.

A case is a question someone asks, how they ask it (audience, filter, mode, the conversation it follows up), and
what a good answer looks like: the sources it cites, the sources this audience must never see, the facts it
mentions, and a short reference answer for Bedrock's judge. ``docs/evaluation.md`` documents the format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from devtools.settings_docs import REPO_ROOT

SAMPLE_CASES = REPO_ROOT / "sample_data" / "evaluation" / "cases.jsonl"

_SOURCE = {
    "oneOf": [
        {"type": "string", "minLength": 1, "description": "a file name, an S3 URI, or a stream document ID or key"},
        {
            "type": "object",
            "required": ["metadata"],
            "additionalProperties": False,
            "properties": {"metadata": {"type": "object", "minProperties": 1}},
            "description": "any source whose metadata holds these values",
        },
    ]
}
CASE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "question"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        "question": {"type": "string", "minLength": 1, "maxLength": 1000},
        "audience": {"type": "string", "minLength": 1},
        "mode": {"enum": ["generate", "retrieve"]},
        "filter": {"type": "object"},
        "where": {"type": "object"},
        "numberOfResults": {"type": "integer", "minimum": 1, "maximum": 100},
        "followUp": {"type": "string", "description": "the id of an earlier case whose conversation this continues"},
        "expectedSources": {"type": "array", "items": _SOURCE},
        "forbiddenSources": {"type": "array", "items": _SOURCE},
        "referenceAnswer": {"type": "string", "minLength": 1},
        "mustMention": {"type": "array", "items": {"type": "string", "minLength": 1}},
    },
    "not": {"required": ["filter", "where"]},
}


class CasesError(ValueError):
    """The cases file cannot be used; the message names the line and the problem."""


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    audience: str | None = None
    mode: str = "generate"
    filter: Mapping[str, Any] | None = None
    where: Mapping[str, Any] | None = None
    number_of_results: int | None = None
    follow_up: str | None = None
    expected_sources: tuple[str | Mapping[str, Any], ...] = ()
    forbidden_sources: tuple[str | Mapping[str, Any], ...] = ()
    reference_answer: str | None = None
    must_mention: tuple[str, ...] = field(default_factory=tuple)

    def request(self, session_id: str | None = None) -> dict[str, Any]:
        """The query function's request for this case."""
        request: dict[str, Any] = {"question": self.question, "mode": self.mode}
        for name, value in (
            ("filter", self.filter),
            ("where", self.where),
            ("numberOfResults", self.number_of_results),
            ("sessionId", session_id),
        ):
            if value is not None:
                request[name] = value
        return request


def parse_cases(lines: Sequence[str], where: str = "cases.jsonl") -> list[Case]:
    validator = jsonschema.Draft202012Validator(CASE_SCHEMA)
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            source = json.loads(line)
        except json.JSONDecodeError as error:
            raise CasesError(f"{where}:{number}: not JSON ({error.msg})") from None
        problem = next(iter(sorted(validator.iter_errors(source), key=lambda error: list(error.path))), None)
        if problem is not None:
            at = "/".join(str(part) for part in problem.absolute_path) or "the case"
            raise CasesError(f"{where}:{number}: {at}: {problem.message}")
        case = Case(
            id=source["id"],
            question=source["question"],
            audience=source.get("audience"),
            mode=source.get("mode", "generate"),
            filter=source.get("filter"),
            where=source.get("where"),
            number_of_results=source.get("numberOfResults"),
            follow_up=source.get("followUp"),
            expected_sources=tuple(source.get("expectedSources", ())),
            forbidden_sources=tuple(source.get("forbiddenSources", ())),
            reference_answer=source.get("referenceAnswer"),
            must_mention=tuple(source.get("mustMention", ())),
        )
        if case.id in seen:
            raise CasesError(f"{where}:{number}: the id {case.id!r} is used twice")
        if case.follow_up is not None:
            earlier = seen.get(case.follow_up)
            if earlier is None:
                raise CasesError(f"{where}:{number}: followUp {case.follow_up!r} names no earlier case")
            if earlier.audience != case.audience or earlier.mode != "generate" or case.mode != "generate":
                raise CasesError(
                    f"{where}:{number}: a follow-up continues a generate-mode conversation of the same audience"
                )
        seen[case.id] = case
        cases.append(case)
    if not cases:
        raise CasesError(f"{where}: no cases")
    return cases


def load_cases(path: Path = SAMPLE_CASES) -> list[Case]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise CasesError(f"{path}: {error.strerror or error}") from None
    return parse_cases(lines, str(path))
