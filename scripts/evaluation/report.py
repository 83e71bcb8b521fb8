"""What an evaluation run leaves behind: ``result.json`` (the numbers), ``report.md`` (for people) and
``chart.png`` (drawn with matplotlib), in a folder of its own under ``build/evaluation/``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scripts.evaluation.scoring import CaseScore, Comparison, Summary, Thresholds

RESULT, REPORT, CHART = "result.json", "report.md", "chart.png"
_METRICS = (
    ("hit_rate_at_k", "hit rate at k"),
    ("mean_reciprocal_rank", "mean reciprocal rank"),
    ("citation_precision", "citation precision"),
    ("mention_coverage", "mustMention coverage"),
)


def result_document(
    summary: Summary,
    scores: Sequence[CaseScore],
    thresholds: Thresholds,
    failed: Sequence[str],
    comparison: Comparison | None,
    judge: Mapping[str, Any] | None,
    context: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "context": dict(context),
        "summary": asdict(summary),
        "thresholds": asdict(thresholds),
        "passed": not failed,
        "failures": list(failed),
        "cases": [asdict(score) for score in scores],
        "comparison": asdict(comparison) if comparison else None,
        "judge": dict(judge) if judge else None,
    }


def _shown(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(document: Mapping[str, Any], chart_name: str = CHART) -> str:
    summary, context = document["summary"], document["context"]
    comparison = document.get("comparison") or {}
    regressed = {(item["metric"], item.get("case")) for item in comparison.get("regressions", [])}
    lines = [f"# Evaluation of {context.get('app', 'the knowledge base')}", ""]
    lines.append(
        f"{'PASSED' if document['passed'] else 'FAILED'}: {summary['ran']} of {summary['cases']} cases ran "
        f"({summary['skipped']} skipped) through {context.get('via', 'Lambda')}, on "
        f"{context.get('when', 'an unrecorded date')}."
    )
    if document["failures"]:
        lines += [""] + [f"- {reason}" for reason in document["failures"]]
    lines += [
        "",
        f"![The run's scores]({chart_name})",
        "",
        "## Overall",
        "",
        "| metric | this run | before | threshold |",
        "|---|---:|---:|---:|",
    ]
    before = comparison.get("before_summary") or {}
    thresholds = document["thresholds"]
    limits = {
        "hit_rate_at_k": f">= {thresholds['min_hit_rate']}",
        "mean_reciprocal_rank": f">= {thresholds['min_mrr']}",
        "citation_precision": f">= {thresholds['min_citation_precision']}",
        "mention_coverage": f">= {thresholds['min_mention_coverage']}",
        "latency_p95_seconds": f"<= {thresholds['max_p95_seconds']}",
        "errors": f"<= {thresholds['max_errors']}",
        "leaks": "0",
    }
    rows = [
        *_METRICS,
        ("latency_p50_seconds", "latency p50 (s)"),
        ("latency_p95_seconds", "latency p95 (s)"),
        ("errors", "errors"),
        ("leaks", "forbidden-source leaks"),
    ]
    for key, name in rows:
        mark = " (regression)" if (key, None) in regressed else ""
        lines.append(f"| {name} | {_shown(summary[key])}{mark} | {_shown(before.get(key))} | {limits.get(key, '')} |")
    tokens = (
        "not reported by the query function's responses"
        if summary["input_tokens"] is None
        else f"{summary['input_tokens']:,} in, {summary['output_tokens']:,} out"
    )
    lines += ["", f"k = {summary['k']}. Bedrock token usage: {tokens}."]
    if comparison:
        lines += [
            "",
            f"Compared with {comparison['baseline']}: {len(comparison['regressions'])} regression(s), "
            f"{len(comparison['improvements'])} improvement(s).",
        ]
        for item in comparison["regressions"]:
            where = f"case {item['case']}: " if item.get("case") else ""
            lines.append(f"- {where}{item['metric']} {_shown(item['before'])} -> {_shown(item['now'])}")
    judge = document.get("judge")
    if judge:
        lines += [
            "",
            "## Bedrock's judge",
            "",
            f"Evaluator {judge['evaluator']}, {judge['cases']} cases, as `{judge['audience']}`.",
            "",
            "| metric | retrieve and generate | retrieve only |",
            "|---|---:|---:|",
        ]
        names = sorted({*judge["retrieveAndGenerate"], *judge["retrieveOnly"]})
        for name in names:
            lines.append(
                f"| {name} | {_shown(judge['retrieveAndGenerate'].get(name))} | "
                f"{_shown(judge['retrieveOnly'].get(name))} |"
            )
    lines += [
        "",
        "## Cases",
        "",
        "| case | audience | mode | hit@k | RR | precision | mentions | s | notes |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for case in document["cases"]:
        notes = []
        if case["skipped"]:
            notes.append(f"skipped: {case['skipped']}")
        if case["error"]:
            notes.append(f"error: {case['error']}")
        if case["leaks"]:
            notes.append(f"**leaked** {', '.join(case['leaks'])}")
        if case["guarded"] and not case["leaks"]:
            notes.append("access held")
        if case["missing_mentions"]:
            notes.append(f"missing: {', '.join(case['missing_mentions'])}")
        if any(metric_case == case["id"] for _, metric_case in regressed):
            notes.append("regression")
        lines.append(
            f"| {case['id']} | {case['audience'] or '-'} | {case['mode']} | {_shown(case['hit_at_k'], 0)} | "
            f"{_shown(case['reciprocal_rank'])} | {_shown(case['citation_precision'])} | "
            f"{_shown(case['mention_coverage'])} | {_shown(case['seconds'])} | {'; '.join(notes)} |"
        )
    return "\n".join(lines) + "\n"


def draw_chart(document: Mapping[str, Any], path: Path) -> None:
    """Overall scores (this run beside the one before), and each case's scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = document["summary"]
    before = (document.get("comparison") or {}).get("before_summary") or {}
    cases = [case for case in document["cases"] if not case["skipped"]]
    figure, (overall, per_case) = plt.subplots(
        1, 2, figsize=(11, max(4.0, 0.32 * len(cases) + 1.5)), dpi=100, gridspec_kw={"width_ratios": [1, 2]}
    )
    names = [name for _, name in _METRICS]
    now = [summary[key] or 0 for key, _ in _METRICS]
    positions = range(len(names))
    shift, height = (0.2, 0.4) if before else (0.0, 0.6)
    overall.barh([p + shift for p in positions], now, height=height, color="#2f6db3", label="this run")
    if before:
        overall.barh(
            [p - 0.2 for p in positions],
            [before.get(key) or 0 for key, _ in _METRICS],
            height=0.4,
            color="#b0b7c3",
            label="before",
        )
    overall.set_yticks(list(positions), names)
    overall.set_xlim(0, 1)
    overall.invert_yaxis()
    overall.set_title(f"Overall ({summary['leaks']} leaks, {summary['errors']} errors)")
    overall.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2, fontsize=8, frameon=False)
    labels = [case["id"] for case in cases]
    rows = range(len(cases))
    for offset, key, colour, name in (
        (-0.27, "hit_at_k", "#2f6db3", "hit@k"),
        (0.0, "reciprocal_rank", "#6aa84f", "reciprocal rank"),
        (0.27, "mention_coverage", "#e69138", "mustMention coverage"),
    ):
        values = [case[key] if case[key] is not None else 0 for case in cases]
        per_case.barh([row + offset for row in rows], values, height=0.26, color=colour, label=name)
    for row, case in enumerate(cases):
        if case["leaks"]:
            per_case.text(
                0.02, row, "LEAK: a forbidden source was shown", color="#c0392b", va="center", fontsize=8, weight="bold"
            )
        elif case["error"]:
            per_case.text(0.02, row, f"error: {case['error']}", color="#c0392b", va="center", fontsize=8)
        elif case["guarded"]:
            per_case.text(0.02, row, "access held: no forbidden source", color="#2e8540", va="center", fontsize=8)
    per_case.set_yticks(list(rows), labels, fontsize=8)
    per_case.set_xlim(0, 1)
    per_case.invert_yaxis()
    per_case.set_title("Each case")
    per_case.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)


def write(document: Mapping[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RESULT).write_text(json.dumps(document, indent=2) + "\n")
    (folder / REPORT).write_text(markdown(document))
    draw_chart(document, folder / CHART)
    return folder
