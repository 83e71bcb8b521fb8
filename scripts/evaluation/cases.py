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
    """The cases file cannot be used; the message names the line and the problem, ``problems`` every bad line."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


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


def _line_source(line: str | bytes) -> Any:
    """One line as JSON; CasesError saying why it is not (bytes are decoded here, so one bad line stays one)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CasesError(f"not UTF-8 text (byte {error.start + 1})") from None
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise CasesError(f"not JSON ({error.msg} at column {error.pos + 1})") from None
    except RecursionError:
        raise CasesError("not a case: JSON nested too deeply") from None
    except ValueError as error:  # an integer past Python's digit limit, for one
        raise CasesError(f"not JSON ({error})") from None


def parse_cases(lines: Sequence[str | bytes], where: str = "cases.jsonl") -> list[Case]:
    """Every case of the file; CasesError naming every bad line with its number and reason (the first in the
    message, all of them in ``problems``)."""
    validator = jsonschema.Draft202012Validator(CASE_SCHEMA)
    cases: list[Case] = []
    seen: dict[str, Case] = {}
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            cases.append(_case(_line_source(line), seen, validator))
        except CasesError as problem:
            problems.append(f"{where}:{number}: {problem}")
    if problems:
        more = f" (and {len(problems) - 1} more: {'; '.join(problems[1:4])}{'; ...' if len(problems) > 4 else ''})"
        raise CasesError(problems[0] + (more if len(problems) > 1 else ""), problems)
    if not cases:
        raise CasesError(f"{where}: no cases")
    return cases


def _case(source: Any, seen: dict[str, Case], validator: Any) -> Case:
    problem = next(iter(sorted(validator.iter_errors(source), key=lambda error: list(error.path))), None)
    if problem is not None:
        at = "/".join(str(part) for part in problem.absolute_path) or "the case"
        raise CasesError(f"{at}: {problem.message}")
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
        raise CasesError(f"the id {case.id!r} is used twice")
    if case.follow_up is not None:
        earlier = seen.get(case.follow_up)
        if earlier is None:
            raise CasesError(f"followUp {case.follow_up!r} names no earlier case")
        if earlier.audience != case.audience or earlier.mode != "generate" or case.mode != "generate":
            raise CasesError("a follow-up continues a generate-mode conversation of the same audience")
    seen[case.id] = case
    return case


def load_cases(path: Path = SAMPLE_CASES) -> list[Case]:
    try:
        # JSON Lines ends a line at \n only: U+2028 or U+0085 inside a string is text, not a line break.
        lines = path.read_bytes().removesuffix(b"\n").split(b"\n")
    except OSError as error:
        raise CasesError(f"{path}: {error.strerror or error}") from None
    return parse_cases(lines, str(path))
