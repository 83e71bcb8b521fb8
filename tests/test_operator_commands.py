"""Operator commands (produce, ask, sync) fail with a clear message and a documented exit status.

Each case runs the command's ``main`` as the Makefile does, with AWS answered by botocore's Stubber (every
call validated against the botocore model) or by an environment without a Region or credentials.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from scripts import ask, invoke_function, sync_knowledge_base
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Operator, connect
from tests.conftest import default_settings

QUERY_STACK = "kbstream-query"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/kbstream-query/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def stubbed_operator() -> tuple[Operator, Stubber, Stubber]:
    session = boto3.Session(region_name="us-east-1")
    operator = Operator(settings=default_settings(), session=session)
    cloudformation, lambda_client = operator.client("cloudformation"), operator.client("lambda")
    return operator, Stubber(cloudformation), Stubber(lambda_client)


def stack(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": QUERY_STACK,
                "StackId": STACK_ID,
                "CreationTime": "2026-11-22T10:00:00Z",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


def payload(value: Any) -> StreamingBody:
    raw = json.dumps(value).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def run_ask(operator: Operator, *extra: str) -> int:
    return ask.main(["What is new?", *extra], operator=operator)


def test_no_region_is_a_configuration_error(credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert ask.main(["What is new?"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "no AWS Region is configured" in error and "--region" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_the_region_is_read_where_the_aws_cli_reads_it(
    credentials: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv(variable, "eu-west-3")
    arguments = ask.parser().parse_args(["What is new?"])
    assert connect(arguments).region == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")  # AWS_REGION comes first, as in the CLI
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert connect(arguments).region == "ap-south-1"
    assert connect(ask.parser().parse_args(["q", "--region", "us-west-2"])).region == "us-west-2"


def test_no_credentials_is_a_configuration_error(
    credentials: None, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert sync_knowledge_base.main(["--region", "us-east-1"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "no usable AWS credentials" in error and "--profile" in error
    assert "fix: configure AWS credentials" in error and "sign in again" not in error


def test_an_unknown_profile_is_a_configuration_error(credentials: None, capsys: Any) -> None:
    assert invoke_function.main(["producer", "--profile", "nobody", "--region", "us-east-1"]) == EXIT_USAGE
    assert "nobody" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        ("ExpiredToken", "The security token included in the request is expired", "credentials were refused"),
        ("ValidationError", f"Stack with id {QUERY_STACK} does not exist", f"stack {QUERY_STACK} is not deployed"),
        (
            "AccessDenied",
            "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: "
            "cloudformation:DescribeStacks on resource: x",
            "may not call cloudformation:DescribeStacks",
        ),
    ],
)
def test_configuration_problems_found_by_aws(
    credentials: None, capsys: Any, code: str, message: str, expected: str
) -> None:
    operator, cloudformation, _ = stubbed_operator()
    with cloudformation:
        cloudformation.add_client_error(
            "describe_stacks", code, message, 400, expected_params={"StackName": QUERY_STACK}
        )
        assert run_ask(operator) == EXIT_USAGE
    error = capsys.readouterr().err
    assert expected in error and "fix:" in error and "Traceback" not in error


def test_a_stack_without_its_outputs_is_a_configuration_error(credentials: None, capsys: Any) -> None:
    operator, cloudformation, _ = stubbed_operator()
    with cloudformation:
        cloudformation.add_response("describe_stacks", stack({}), {"StackName": QUERY_STACK})
        assert run_ask(operator) == EXIT_USAGE
    assert "has no output QueryFunctionName" in capsys.readouterr().err


def answered(operator: Operator, response: dict[str, Any] | None, error: str | None = None) -> int:
    _, cloudformation, lambda_client = (
        None,
        *[Stubber(operator.client(name)) for name in ("cloudformation", "lambda")],
    )
    with cloudformation, lambda_client:
        cloudformation.add_response(
            "describe_stacks", stack({"QueryFunctionName": "kbstream-query-fn"}), {"StackName": QUERY_STACK}
        )
        if error is None:
            lambda_client.add_response("invoke", response, None)
        else:
            lambda_client.add_client_error("invoke", error, "Rate exceeded", 429)
        return run_ask(operator)


def test_a_function_error_is_a_problem_the_app_reports(credentials: None, capsys: Any) -> None:
    operator, _, _ = stubbed_operator()
    response = {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload({"errorMessage": "boom"})}
    assert answered(operator, response) == EXIT_PROBLEM


def test_throttling_after_retries_is_a_problem_the_app_reports(credentials: None, capsys: Any) -> None:
    operator, _, _ = stubbed_operator()
    assert answered(operator, None, "TooManyRequestsException") == EXIT_PROBLEM
    error = capsys.readouterr().err
    assert "kept throttling Invoke after retries" in error and "fix:" in error


def test_an_answer_is_success(credentials: None, capsys: Any) -> None:
    operator, _, _ = stubbed_operator()
    answer = {"answer": "Aurora Dynamics builds platforms.", "citations": [], "sessionId": "s1"}
    assert answered(operator, {"StatusCode": 200, "Payload": payload(answer)}) == EXIT_OK
    assert "Aurora Dynamics builds platforms." in capsys.readouterr().out


def test_debug_shows_the_traceback_and_keeps_the_exit_status(credentials: None, capsys: Any) -> None:
    operator, cloudformation, _ = stubbed_operator()
    cloudformation.add_client_error("describe_stacks", "ExpiredToken", "expired", 400)
    with cloudformation:
        assert run_ask(operator, "--debug") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ExpiredToken" in err
    assert "fix: sign in again" in err


def test_a_bad_setting_is_a_configuration_error(credentials: None, capsys: Any) -> None:
    assert ask.main(["q", "--region", "us-east-1", "-c", "app:streamBatchSize=0"]) == EXIT_USAGE
    assert "app:streamBatchSize" in capsys.readouterr().err


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "produce": lambda a: invoke_function.main(["producer", *a]),
    "ask": lambda a: ask.main(["q", *a]),
    "sync": sync_knowledge_base.main,
}


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_accepts_region_profile_and_debug(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as shown:
        COMMANDS[name](["--help"])
    assert shown.value.code == 0
    usage = capsys.readouterr().out
    assert all(option in usage for option in ("--region", "--profile", "--debug", "--context"))
