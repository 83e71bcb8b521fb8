"""Scores of one evaluation run: per case, overall, against thresholds, and against an earlier run.

The ranked sources of an answer are its citations in the order the query function returns them (generate mode)
or its results (retrieve mode). A source entry of a case matches a source by URI, by file name, by stream
document ID (or the key at its end), or by metadata values. Every metric is a number from 0 to 1 except
latency; a metric a case cannot have (no expected sources, nothing cited) is ``None`` and left out of means.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scripts.evaluation.cases import Case

SourceEntry = str | Mapping[str, Any]


@dataclass(frozen=True)
class Source:
    uri: str
    metadata: Mapping[str, Any]


def answer_sources(response: Mapping[str, Any]) -> list[Source]:
    entries = response.get("citations") if "answer" in response else response.get("results")
    return [Source(str(entry.get("uri", "")), entry.get("metadata") or {}) for entry in entries or []]


def answer_text(response: Mapping[str, Any]) -> str:
    """What the reader sees: the answer (generate) or the excerpts (retrieve)."""
    if "answer" in response:
        return str(response.get("answer", ""))
    return "\n".join(str(result.get("excerpt", "")) for result in response.get("results", []))


def source_matches(entry: SourceEntry, source: Source) -> bool:
    if isinstance(entry, Mapping):
        wanted = entry["metadata"]
        return all(key in source.metadata and source.metadata[key] == value for key, value in wanted.items())
    uri = source.uri
    return uri == entry or uri.rsplit("/", 1)[-1] == entry or uri.endswith(f"/{entry}")


def _normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2011", "-")).strip().lower()


@dataclass(frozen=True)
class CaseScore:
    id: str
    audience: str | None
    mode: str
    seconds: float
    sources: list[str]
    hit_at_k: float | None  # 1 if an expected source is among the first k sources
    reciprocal_rank: float | None  # 1 / the rank of the first expected source, 0 if none
    citation_precision: float | None  # of the cited sources, the share that are expected (generate mode)
    mention_coverage: float | None  # of mustMention, the share the answer contains
    missing_mentions: list[str]
    leaks: list[str]  # sources the audience must never see
    guarded: bool = False  # the case checks access: it names sources its audience must never see
    error: str | None = None  # the function's error type, if it answered with one
    skipped: str | None = None  # why the case did not run
    input_tokens: int | None = None  # when the response reports usage
    output_tokens: int | None = None


def score_case(case: Case, response: Mapping[str, Any], seconds: float, k: int) -> CaseScore:
    if "error" in response:
        error = str(response["error"].get("type", "error"))
        return CaseScore(
            case.id,
            case.audience,
            case.mode,
            seconds,
            [],
            0.0 if case.expected_sources else None,
            0.0 if case.expected_sources else None,
            None,
            0.0 if case.must_mention else None,
            list(case.must_mention),
            [],
            guarded=bool(case.forbidden_sources),
            error=error,
        )
    sources = answer_sources(response)
    hit = rank = precision = coverage = None
    if case.expected_sources:
        ranks = [
            index
            for index, source in enumerate(sources, 1)
            if any(source_matches(entry, source) for entry in case.expected_sources)
        ]
        hit = 1.0 if ranks and ranks[0] <= k else 0.0
        rank = 1.0 / ranks[0] if ranks else 0.0
        if "answer" in response and sources:
            precision = len(ranks) / len(sources)
    leaks = [source.uri for source in sources if any(source_matches(entry, source) for entry in case.forbidden_sources)]
    text = _normalized(answer_text(response))
    missing = [mention for mention in case.must_mention if _normalized(mention) not in text]
    if case.must_mention:
        coverage = 1 - len(missing) / len(case.must_mention)
    reported = response.get("usage")
    usage: Mapping[str, Any] = reported if isinstance(reported, Mapping) else {}
    return CaseScore(
        case.id,
        case.audience,
        case.mode,
        round(seconds, 3),
        [source.uri for source in sources],
        hit,
        rank,
        precision,
        coverage,
        missing,
        leaks,
        guarded=bool(case.forbidden_sources),
        input_tokens=usage.get("inputTokens"),
        output_tokens=usage.get("outputTokens"),
    )


def skipped(case: Case, reason: str) -> CaseScore:
    return CaseScore(case.id, case.audience, case.mode, 0.0, [], None, None, None, None, [], [], skipped=reason)


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (p50 is the median of an odd count)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.fmean(present), 4) if present else None


@dataclass(frozen=True)
class Summary:
    cases: int
    ran: int
    skipped: int
    errors: int
    leaks: int
    hit_rate_at_k: float | None
    mean_reciprocal_rank: float | None
    citation_precision: float | None
    mention_coverage: float | None
    latency_p50_seconds: float | None
    latency_p95_seconds: float | None
    input_tokens: int | None
    output_tokens: int | None
    k: int


def summarize(scores: Sequence[CaseScore], k: int) -> Summary:
    ran = [score for score in scores if score.skipped is None]
    latencies = [score.seconds for score in ran]
    tokens_in = [score.input_tokens for score in ran if score.input_tokens is not None]
    tokens_out = [score.output_tokens for score in ran if score.output_tokens is not None]
    return Summary(
        cases=len(scores),
        ran=len(ran),
        skipped=len(scores) - len(ran),
        errors=sum(score.error is not None for score in ran),
        leaks=sum(len(score.leaks) for score in ran),
        hit_rate_at_k=_mean([score.hit_at_k for score in ran]),
        mean_reciprocal_rank=_mean([score.reciprocal_rank for score in ran]),
        citation_precision=_mean([score.citation_precision for score in ran]),
        mention_coverage=_mean([score.mention_coverage for score in ran]),
        latency_p50_seconds=percentile(latencies, 0.5),
        latency_p95_seconds=percentile(latencies, 0.95),
        input_tokens=sum(tokens_in) if tokens_in else None,
        output_tokens=sum(tokens_out) if tokens_out else None,
        k=k,
    )


@dataclass(frozen=True)
class Thresholds:
    """Below any of these the run fails (exit status 1). A leak of a forbidden source always fails it."""

    min_hit_rate: float = 0.8
    min_mrr: float = 0.6
    min_citation_precision: float = 0.5
    min_mention_coverage: float = 0.7
    max_p95_seconds: float = 30.0
    max_errors: int = 0


def failures(summary: Summary, thresholds: Thresholds) -> list[str]:
    """Why the run fails, one reason per line; empty when it passes."""
    reasons = []
    if summary.leaks:
        reasons.append(f"{summary.leaks} forbidden source(s) reached an audience that must not see them")
    checks = (
        ("hit rate at k", summary.hit_rate_at_k, thresholds.min_hit_rate, False),
        ("mean reciprocal rank", summary.mean_reciprocal_rank, thresholds.min_mrr, False),
        ("citation precision", summary.citation_precision, thresholds.min_citation_precision, False),
        ("mustMention coverage", summary.mention_coverage, thresholds.min_mention_coverage, False),
        ("latency p95 (s)", summary.latency_p95_seconds, thresholds.max_p95_seconds, True),
        ("errors", summary.errors, thresholds.max_errors, True),
    )
    for name, value, limit, is_maximum in checks:
        if value is not None and (value > limit if is_maximum else value < limit):
            reasons.append(f"{name} {value:g} is {'above' if is_maximum else 'below'} {limit:g}")
    return reasons


# How much worse a metric may get between two runs before the report marks it.
REGRESSION_TOLERANCE = {
    "hit_rate_at_k": 0.0,
    "mean_reciprocal_rank": 0.02,
    "citation_precision": 0.05,
    "mention_coverage": 0.02,
    "latency_p95_seconds": 0.2,
}  # latency: relative


@dataclass(frozen=True)
class Regression:
    metric: str
    before: float
    now: float
    case: str | None = None  # None: the overall metric


@dataclass
class Comparison:
    baseline: str  # where the earlier run came from
    before_summary: dict[str, Any] = field(default_factory=dict)
    regressions: list[Regression] = field(default_factory=list)
    improvements: list[Regression] = field(default_factory=list)


def compare(summary: Summary, scores: Sequence[CaseScore], before: Mapping[str, Any], baseline: str) -> Comparison:
    """This run against an earlier run's result (its JSON): what got worse beyond tolerance, and what got better."""
    earlier = dict(before.get("summary", {}))
    comparison = Comparison(baseline, before_summary=earlier)
    for metric, tolerance in REGRESSION_TOLERANCE.items():
        now, then = getattr(summary, metric), earlier.get(metric)
        if now is None or then is None:
            continue
        if metric.startswith("latency"):
            worse, better = now > then * (1 + tolerance), now < then * (1 - tolerance)
        else:
            worse, better = now < then - tolerance, now > then + tolerance
        if worse or better:
            (comparison.regressions if worse else comparison.improvements).append(Regression(metric, then, now))
    earlier_cases = {case["id"]: case for case in before.get("cases", [])}
    for score in scores:
        then_case = earlier_cases.get(score.id)
        if then_case is None or score.skipped:
            continue
        for metric in ("hit_at_k", "mention_coverage"):
            now, then = getattr(score, metric), then_case.get(metric)
            if now is not None and then is not None and now < then:
                comparison.regressions.append(Regression(metric, then, now, case=score.id))
        if score.leaks and not then_case.get("leaks"):
            comparison.regressions.append(Regression("leaks", 0, len(score.leaks), case=score.id))
    return comparison
