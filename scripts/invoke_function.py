"""Invoke one of the app's deployed functions with a JSON event and print what it returns.

    python -m scripts.invoke_function producer                      # the sample stream
    python -m scripts.invoke_function producer --event '{"records": [{"ticker": "ZVZZT", "price": "$3,413.23"}]}'
    python -m scripts.invoke_function producer --event @events.json [-c app:namePrefix=...]

The function name comes from the deployed stack's outputs. Exit status 1 if the function failed or
answered with an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from scripts.deployed import DeploymentError, settings_with, stack_output


class DeployedFunction(NamedTuple):
    stack_part: str  # as in Settings.stack_name
    output_key: str


FUNCTIONS: Mapping[str, DeployedFunction] = {
    "producer": DeployedFunction("network", "ProducerFunctionName"),
    "query": DeployedFunction("query", "QueryFunctionName"),
}


def read_event(text: str) -> Any:
    if text.startswith("@"):
        text = Path(text[1:]).read_text()
    return json.loads(text)


def invoke(lambda_client: Any, function_name: str, event: Any) -> tuple[bool, Any]:
    """(succeeded, payload): a function error or an ``{"error": ...}`` answer is a failure."""
    response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
    payload = json.loads(response["Payload"].read() or b"null")
    failed = "FunctionError" in response or (isinstance(payload, dict) and "error" in payload)
    return not failed, payload


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("--event", default="{}", help="JSON, or @file with JSON (default: {})")
    parser.add_argument("-c", "--context", action="append", default=[], help="app:key=value, as with cdk -c")
    arguments = parser.parse_args(argv)
    target = FUNCTIONS[arguments.function]
    try:
        event = read_event(arguments.event)
        stack_name = settings_with(arguments.context).stack_name(target.stack_part)
        function_name = stack_output(boto3.client("cloudformation"), stack_name, target.output_key)
    except (DeploymentError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    succeeded, payload = invoke(boto3.client("lambda"), function_name, event)
    print(json.dumps(payload, indent=2))
    return 0 if succeeded else 1


if __name__ == "__main__":
    raise SystemExit(main())
