"""Measure the deployed knowledge base's answers against evaluation cases, and compare with the run before.

    python -m scripts.evaluate [--cases sample_data/evaluation/cases.jsonl] [--via lambda|http --token GROUP=JWT]
                               [--baseline build/evaluation/<run>] [--min-hit-rate 0.8 ...] [--judge]
    (make evaluate ARGS=...)

Each case goes through the entry point of its audience (``scripts.evaluation.runner``). The run writes
``result.json``, ``report.md`` and ``chart.png`` to ``build/evaluation/<UTC time>/`` and to
``build/evaluation/latest/``, and compares with the previous ``latest`` (or ``--baseline``). ``--judge`` also
starts Bedrock RAG evaluation jobs on the same cases and merges their metrics (``scripts.evaluation.judge``).
Exit status 1 if a forbidden source reached an audience or a metric is below its threshold, 2 for configuration
problems (``scripts.operator_cli``).
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.deployed import stack_outputs
from scripts.evaluation import report
from scripts.evaluation.cases import SAMPLE_CASES, CasesError, load_cases
from scripts.evaluation.judge import JudgeSettings, run_judge
from scripts.evaluation.runner import EntryPoint, HttpEntryPoint, LambdaEntryPoint, run_cases
from scripts.evaluation.scoring import Thresholds, compare, failures, summarize
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, Operator, OperatorError, add_common_arguments, run

OUTPUT = Path("build") / "evaluation"
LATEST = "latest"


def _entry_point(arguments: argparse.Namespace, operator: Operator) -> EntryPoint:
    query = operator.settings.query
    outputs = stack_outputs(operator.client("cloudformation"), operator.settings.stack_name("query"))
    if arguments.via == "http":
        if "QueryApiUrl" not in outputs:
            raise OperatorError(
                "the query stack has no HTTPS endpoint (QueryApiUrl)",
                "deploy with -c app:queryHttpApi=cognito (or oidc), or use --via lambda",
            )
        tokens = dict(_token(item) for item in arguments.token)
        return HttpEntryPoint(outputs["QueryApiUrl"], tokens, query.default_group)
    if "QueryFunctionName" not in outputs:
        raise OperatorError("the query stack has no output QueryFunctionName", "deploy the app (make deploy)")
    return LambdaEntryPoint(operator.client("lambda"), outputs["QueryFunctionName"], frozenset(query.group_filters))


def _token(item: str) -> tuple[str, str]:
    group, separator, token = item.partition("=")
    if not separator or not group or not token:
        raise OperatorError(f"--token {item[:20]}... is not GROUP=JWT", "pass --token staff=eyJ... per audience")
    return group, token


def _baseline(arguments: argparse.Namespace, output: Path) -> tuple[dict[str, Any] | None, str]:
    path = Path(arguments.baseline) if arguments.baseline else output / LATEST
    result = path / report.RESULT if path.is_dir() else path
    if not result.exists():
        if arguments.baseline:
            raise OperatorError(f"{result} does not exist", "name a run folder or its result.json")
        return None, ""
    return json.loads(result.read_text()), str(result)


def evaluate(arguments: argparse.Namespace, operator: Operator) -> int:
    try:
        cases = load_cases(Path(arguments.cases))
    except CasesError as error:
        raise OperatorError(str(error), "fix the cases file (docs/evaluation.md describes the format)") from None
    thresholds = Thresholds(
        min_hit_rate=arguments.min_hit_rate,
        min_mrr=arguments.min_mrr,
        min_citation_precision=arguments.min_citation_precision,
        min_mention_coverage=arguments.min_mention_coverage,
        max_p95_seconds=arguments.max_p95_seconds,
        max_errors=arguments.max_errors,
    )
    entry = _entry_point(arguments, operator)
    k = arguments.k or operator.settings.query.number_of_results
    try:
        scores = run_cases(cases, entry, k, progress=print)
    except CasesError as error:
        raise OperatorError(str(error), "name one of groupFilters' groups in the case's audience") from None
    summary = summarize(scores, k)
    output = Path(arguments.output)
    before, baseline = _baseline(arguments, output)
    comparison = compare(summary, scores, before, baseline) if before else None
    judge = None
    if arguments.judge:
        judge = run_judge(
            operator,
            cases,
            JudgeSettings.of(operator.settings, arguments.judge_audience, arguments.judge_timeout_minutes * 60),
            poll_seconds=arguments.judge_poll_seconds,
            progress=print,
        )
    failed = failures(summary, thresholds)
    when = datetime.now(UTC)
    context = {
        "app": operator.settings.name_prefix,
        "region": operator.region,
        "cases": arguments.cases,
        "via": "the HTTPS API" if arguments.via == "http" else "Lambda",
        "when": when.isoformat(timespec="seconds"),
    }
    document = report.result_document(summary, scores, thresholds, failed, comparison, judge, context)
    folder = report.write(document, output / when.strftime("%Y%m%dT%H%M%SZ"))
    latest = output / LATEST
    shutil.rmtree(latest, ignore_errors=True)
    shutil.copytree(folder, latest)
    print(
        f"\n{'PASSED' if not failed else 'FAILED'}: hit rate {summary.hit_rate_at_k}, MRR "
        f"{summary.mean_reciprocal_rank}, citation precision {summary.citation_precision}, mentions "
        f"{summary.mention_coverage}, leaks {summary.leaks}, p95 {summary.latency_p95_seconds} s"
    )
    for reason in failed:
        print(f"  {reason}")
    if comparison and comparison.regressions:
        print(f"  {len(comparison.regressions)} regression(s) against {baseline}")
    print(f"report: {folder / report.REPORT}")
    return EXIT_PROBLEM if failed else EXIT_OK


def parser() -> argparse.ArgumentParser:
    defaults = Thresholds()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cases",
        default=str(SAMPLE_CASES.relative_to(Path.cwd()) if SAMPLE_CASES.is_relative_to(Path.cwd()) else SAMPLE_CASES),
        help="the cases file (JSON lines; default: the sample cases)",
    )
    parser.add_argument("--via", choices=["lambda", "http"], default="lambda", help="entry point (default: lambda)")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="GROUP=JWT",
        help="with --via http: the bearer token to ask as GROUP (repeat per audience)",
    )
    parser.add_argument("--k", type=int, help="rank cut-off of the hit rate (default: queryNumberOfResults)")
    parser.add_argument("--baseline", help="an earlier run's folder or result.json (default: the last run)")
    parser.add_argument("--output", default=str(OUTPUT), help="where runs are written (default: build/evaluation)")
    parser.add_argument("--min-hit-rate", type=float, default=defaults.min_hit_rate)
    parser.add_argument("--min-mrr", type=float, default=defaults.min_mrr)
    parser.add_argument("--min-citation-precision", type=float, default=defaults.min_citation_precision)
    parser.add_argument("--min-mention-coverage", type=float, default=defaults.min_mention_coverage)
    parser.add_argument("--max-p95-seconds", type=float, default=defaults.max_p95_seconds)
    parser.add_argument("--max-errors", type=int, default=defaults.max_errors)
    parser.add_argument("--judge", action="store_true", help="also run Bedrock RAG evaluation jobs on the cases")
    parser.add_argument(
        "--judge-audience", help="the audience whose filter the jobs retrieve under (default: defaultGroup)"
    )
    parser.add_argument("--judge-timeout-minutes", type=float, default=180.0)
    parser.add_argument("--judge-poll-seconds", type=float, default=30.0, help="how often to ask for the jobs' status")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), evaluate, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
