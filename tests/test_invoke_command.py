"""The command that invokes a deployed function, against a stubbed Lambda client."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from scripts.invoke_function import invoke, read_event


def payload(value: Any) -> StreamingBody:
    raw = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def lambda_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    return boto3.client("lambda", region_name="us-east-1")


@pytest.mark.parametrize(
    ("response", "succeeded"),
    [
        ({"StatusCode": 200, "Payload": payload({"sent": 17})}, True),
        ({"StatusCode": 200, "Payload": payload({"error": {"type": "ValidationError", "message": "x"}})}, False),
        ({"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload({"errorMessage": "boom"})}, False),
    ],
)
def test_function_errors_and_error_answers_fail_the_command(
    lambda_client: Any, response: dict[str, Any], succeeded: bool
) -> None:
    with Stubber(lambda_client) as stub:
        stub.add_response("invoke", response, {"FunctionName": "producer", "Payload": b"{}"})
        ok, answer = invoke(lambda_client, "producer", {})
    with Stubber(lambda_client) as stub:  # a group's entry point is the alias named after it
        stub.add_response("invoke", response, {"FunctionName": "query", "Payload": b"{}", "Qualifier": "partners"})
        invoke(lambda_client, "query", {}, qualifier="partners")
    assert ok is succeeded
    assert isinstance(answer, dict)


def test_events_come_inline_or_from_a_file(tmp_path: Any) -> None:
    file = tmp_path / "event.json"
    file.write_text('{"records": []}')
    assert read_event('{"a": 1}') == {"a": 1}
    assert read_event(f"@{file}") == {"records": []}
    with pytest.raises(ValueError, match="Expecting"):
        read_event("{not json")


def test_ask_builds_the_request_and_prints_answer_and_sources() -> None:
    import argparse

    from scripts.ask import build_event, render

    arguments = argparse.Namespace(question="Latest ZVZZT?", mode="retrieve", where='{"ticker": "ZVZZT"}',
                                   filter=None, results=3, audience="public", session=None)  # fmt: skip
    assert build_event(arguments) == {"question": "Latest ZVZZT?", "mode": "retrieve", "where": {"ticker": "ZVZZT"},
                                      "numberOfResults": 3}  # fmt: skip
    citation = {"uri": "s3://b/documents/aurora_company_profile.pdf", "excerpt": "", "metadata": {}}
    text = render({"answer": "Seattle.", "citations": [citation], "sessionId": "s-1"})
    assert text.splitlines()[:3] == ["Seattle.", "", "Sources:"]
    assert "[1] s3://b/documents/aurora_company_profile.pdf" in text
    assert render({"error": {"type": "ValidationError", "message": "question is empty"}}) == (
        "error (ValidationError): question is empty"
    )
    retrieved = render({"results": [{"uri": "ticker-prices/0/1", "score": 0.5, "excerpt": "At ...", "metadata": {}}]})
    assert retrieved.splitlines()[0] == "[1] 0.500 ticker-prices/0/1"
