"""The query function's request: validated completely before anything is sent to Bedrock."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from query.filters import FilterError, translate_where, validate_filter

MAX_QUESTION_LENGTH = 1000  # RetrieveAndGenerate's limit on input text
MIN_RESULTS, MAX_RESULTS = 1, 100
# Bedrock's sessionId (botocore: 2-100 of [0-9a-zA-Z._:-]), optionally sealed to its audience (query.sessions).
_SESSION_ID = re.compile(r"^[0-9a-zA-Z._:-]{2,100}(~[A-Za-z0-9_-]{20,100})?$")
FIELDS = ("question", "filter", "where", "numberOfResults", "mode", "sessionId", "searchType")
# The audience is decided by what AWS verified, never by the request: say so to callers of the old field.
GROUPS_REFUSED = (
    "groups is not accepted: the audience comes from the entry point, the function alias named after your group "
    "(the plain function name for the default group), or the token of the HTTP API"
)


class RequestError(ValueError):
    """Shown to the caller as a ValidationError."""


class Mode(Enum):
    GENERATE = "generate"
    RETRIEVE = "retrieve"


@dataclass(frozen=True)
class QueryRequest:
    question: str
    filter: dict[str, Any] | None
    number_of_results: int
    mode: Mode
    session_id: str | None


def parse_request(event: Any, default_number_of_results: int) -> QueryRequest:
    if not isinstance(event, dict):
        raise RequestError(f"the request must be a JSON object, got {type(event).__name__}")
    if "groups" in event:
        raise RequestError(GROUPS_REFUSED)
    _refuse_invalid_text(event)
    unknown = sorted(set(event) - set(FIELDS))
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(map(repr, unknown))}; known fields are {', '.join(FIELDS)}")
    mode = _mode(event.get("mode", "generate"))
    session_id = event.get("sessionId")
    if session_id is not None:
        if mode is not Mode.GENERATE:
            raise RequestError("sessionId continues a conversation: it applies to mode 'generate' only")
        if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
            raise RequestError("sessionId must be the sessionId a previous answer returned")
    return QueryRequest(
        question=_question(event.get("question")),
        filter=_filter(event),
        number_of_results=_number_of_results(event.get("numberOfResults", default_number_of_results)),
        mode=mode,
        session_id=session_id,
    )


def _refuse_invalid_text(event: dict[str, Any]) -> None:
    """JSON can carry a lone surrogate (\\ud800), which is no character: Bedrock could not read it, and an answer
    quoting it could not be encoded."""
    try:
        json.dumps(event, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise RequestError("the request holds text that is not valid Unicode (a lone surrogate escape)") from None
    except (TypeError, ValueError, RecursionError):
        return  # not JSON data: the field checks below say what is wrong


def _question(value: Any) -> str:
    if value is None:
        raise RequestError("question is required")
    if not isinstance(value, str):
        raise RequestError(f"question must be a string, got {type(value).__name__}")
    if not value.strip():
        raise RequestError("question is empty")
    if len(value) > MAX_QUESTION_LENGTH:
        raise RequestError(f"question is {len(value)} characters; at most {MAX_QUESTION_LENGTH}")
    return value


def _mode(value: Any) -> Mode:
    if value not in [mode.value for mode in Mode]:
        raise RequestError(f"mode {value!r} is not 'generate' or 'retrieve'")
    return Mode(value)


def _number_of_results(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"numberOfResults must be an integer, got {value!r}")
    if not MIN_RESULTS <= value <= MAX_RESULTS:
        raise RequestError(f"numberOfResults must be between {MIN_RESULTS} and {MAX_RESULTS}, got {value}")
    return value


def _filter(event: dict[str, Any]) -> dict[str, Any] | None:
    search_type = event.get("searchType", "SEMANTIC")
    if search_type == "HYBRID":
        raise RequestError("searchType HYBRID is not available: S3 Vectors supports SEMANTIC search only")
    if search_type != "SEMANTIC":
        raise RequestError(f"searchType {search_type!r} is not 'SEMANTIC'")
    if "filter" in event and "where" in event:
        raise RequestError("give either filter or where, not both")
    try:
        if "where" in event:
            return translate_where(event["where"])
        if "filter" in event:
            return validate_filter(event["filter"])
    except FilterError as error:
        raise RequestError(str(error)) from None
    return None
