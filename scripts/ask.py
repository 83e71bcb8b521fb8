"""Ask the deployed knowledge base a question through the query function and print the answer.

    python -m scripts.ask "What does the security brief cover?"
    python -m scripts.ask "Latest ZVZZT price?" --mode retrieve --where '{"ticker": "ZVZZT"}'
    python -m scripts.ask "Revenue targets?" --as partners [-c app:namePrefix=...]

The function name comes from the query stack's outputs. Exit status 1 if the function answers with an error,
2 for configuration problems (``scripts.operator_cli``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from scripts.deployed import stack_output
from scripts.invoke_function import FUNCTIONS, invoke
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, Operator, add_common_arguments, run


def build_event(arguments: argparse.Namespace) -> dict[str, Any]:
    event: dict[str, Any] = {"question": arguments.question, "mode": arguments.mode}
    if arguments.where:
        event["where"] = json.loads(arguments.where)
    if arguments.filter:
        event["filter"] = json.loads(arguments.filter)
    if arguments.results:
        event["numberOfResults"] = arguments.results
    if arguments.session:
        event["sessionId"] = arguments.session
    return event


def render(answer: Any) -> str:
    """The answer and its sources as plain text (the raw JSON for anything else)."""
    if not isinstance(answer, dict):
        return json.dumps(answer, indent=2)
    if "error" in answer:
        return f"error ({answer['error'].get('type')}): {answer['error'].get('message')}"
    lines: list[str] = []
    if "answer" in answer:
        lines += [answer["answer"], "", "Sources:"]
        lines += [f"  [{index}] {citation['uri']}" for index, citation in enumerate(answer["citations"], 1)]
        lines += ["", f"sessionId: {answer['sessionId']} (--session to ask a follow-up)"]
        if answer.get("guardrail", {}).get("action") == "INTERVENED":
            lines.append("The guardrail intervened in this answer.")
    for index, result in enumerate(answer.get("results", []), 1):
        verdict = result.get("guardrail", "NONE")
        guarded = f" ({verdict.lower()} by the guardrail)" if verdict != "NONE" else ""
        lines.append(f"[{index}] {result['score']:.3f} {result['uri']}{guarded}")
        lines.append(f"    {result['excerpt'][:300]}")
    return "\n".join(lines)


def ask(arguments: argparse.Namespace, operator: Operator) -> int:
    target = FUNCTIONS["query"]
    event = build_event(arguments)
    stack_name = operator.settings.stack_name(target.stack_part)
    function_name = stack_output(operator.client("cloudformation"), stack_name, target.output_key)
    succeeded, answer = invoke(operator.client("lambda"), function_name, event, qualifier=arguments.audience)
    print(render(answer))
    return EXIT_OK if succeeded else EXIT_PROBLEM


def _question(text: str) -> str:
    """Checked before anything reaches AWS, so an empty question is a usage error, not a Region or credentials one."""
    if not text.strip():
        raise argparse.ArgumentTypeError('the question is empty: make ask Q="What does the security brief cover?"')
    return text


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", type=_question, help='what to ask, in quotes: make ask Q="..."')
    parser.add_argument("--mode", choices=["generate", "retrieve"], default="generate")
    parser.add_argument("--where", help="compact filter, e.g. '{\"is_internal\": false}'")
    parser.add_argument("--filter", help="a Bedrock RetrievalFilter as JSON")
    parser.add_argument("--results", type=int, help="numberOfResults (1-100)")
    parser.add_argument(
        "--as",
        dest="audience",
        metavar="GROUP",
        help="ask through this group's entry point (the function alias); default: the plain function",
    )
    parser.add_argument("--session", help="sessionId of a previous answer")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), ask, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
