"""Invoke one of the app's deployed functions with a JSON event and print what it returns.

    python -m scripts.invoke_function producer                      # the sample stream
    python -m scripts.invoke_function producer --event '{"records": [{"ticker": "ZVZZT", "price": "$3,413.23"}]}'
    python -m scripts.invoke_function producer --event @events.json [-c app:namePrefix=...]

The function name comes from the deployed stack's outputs. Exit status 1 if the function failed or
answered with an error; 2 for configuration problems (``scripts.operator_cli``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from scripts.deployed import stack_output
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, Operator, add_common_arguments, run


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


def invoke(lambda_client: Any, function_name: str, event: Any, qualifier: str | None = None) -> tuple[bool, Any]:
    """(succeeded, payload): a function error or an ``{"error": ...}`` answer is a failure. ``qualifier``
    names an alias (the query function's group entry points)."""
    options = {"Qualifier": qualifier} if qualifier else {}
    response = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode(), **options)
    payload = json.loads(response["Payload"].read() or b"null")
    failed = "FunctionError" in response or (isinstance(payload, dict) and "error" in payload)
    return not failed, payload


def produce(arguments: argparse.Namespace, operator: Operator) -> int:
    target = FUNCTIONS[arguments.function]
    event = read_event(arguments.event)
    stack_name = operator.settings.stack_name(target.stack_part)
    function_name = stack_output(operator.client("cloudformation"), stack_name, target.output_key)
    succeeded, payload = invoke(operator.client("lambda"), function_name, event)
    print(json.dumps(payload, indent=2))
    return EXIT_OK if succeeded else EXIT_PROBLEM


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", choices=sorted(FUNCTIONS))
    parser.add_argument("--event", default="{}", help="JSON, or @file with JSON (default: {})")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), produce, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
