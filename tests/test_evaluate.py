"""make evaluate, offline: the sample cases run through the query function's own code (a local Lambda, a fake knowledge
base with canned answers), so the report's numbers follow from those answers; a leak fails the run; Bedrock's
judge is driven through botocore's Stubber and moto's S3."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from devtools.fake_knowledge_base import fake_knowledge_base, matches
from devtools.jwt_authorizer import TEST_AUDIENCE, JwtAuthorizer, TokenIssuer
from devtools.local_query import local_query_function
from scripts import evaluate
from scripts.evaluation.cases import CasesError, load_cases, parse_cases
from scripts.evaluation.judge import RETRIEVE_AND_GENERATE_METRICS, RETRIEVE_ONLY_METRICS, JudgeSettings, job_request
from scripts.evaluation.runner import HttpEntryPoint, run_cases
from scripts.evaluation.sample import FUNCTION_NAME, GROUP_FILTERS, local_operator, query_config, sample_state
from scripts.evaluation.scoring import (
    Comparison,
    Regression,
    Source,
    Summary,
    compare,
    percentile,
    score_case,
    source_matches,
)
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, Operator
from stacks.settings import load_settings


@pytest.fixture(autouse=True)
def _credentials(credentials: None) -> None:
    """Every test here runs with fake credentials and none of this machine's AWS configuration."""


def run(operator: Operator, output: Path, *arguments: str) -> tuple[int, dict[str, Any]]:
    status = evaluate.main(["--output", str(output), *arguments], operator=operator)
    return status, json.loads((output / "latest" / "result.json").read_text())


def case(document: dict[str, Any], case_id: str) -> dict[str, Any]:
    return next(found for found in document["cases"] if found["id"] == case_id)


# --- The cases file ------------------------------------------------------------------------------------------


def test_the_sample_cases_cover_what_a_knowledge_base_must_answer() -> None:
    cases = load_cases()
    assert len(cases) >= 15
    ids = {found.id for found in cases}
    assert {f"{number}-" for number in range(1, 7)} <= {found.id[:2] for found in cases}, "the six filter scenarios"
    assert sum(bool(found.forbidden_sources) for found in cases) >= 2, "access cases"
    assert any(isinstance(entry, dict) for found in cases for entry in found.expected_sources), "a stream case"
    assert [found.follow_up for found in cases if found.follow_up] and all(
        found.follow_up in ids for found in cases if found.follow_up
    )
    assert all(found.reference_answer for found in cases if found.mode == "generate")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", r"cases.jsonl:1: not JSON"),
        ('{"id": "a"}', r"cases.jsonl:1: the case: 'question' is a required property"),
        ('{"id": "a", "question": "q", "groups": ["staff"]}', r"Additional properties are not allowed"),
        ('{"id": "a", "question": "q", "filter": {}, "where": {}}', r"cases.jsonl:1: the case: "),
        ('{"id": "a", "question": "q", "mode": "stream"}', r"cases.jsonl:1: mode: 'stream' is not one of"),
        ('{"id": "a", "question": "q", "expectedSources": [{"uri": "x"}]}', r"expectedSources/0"),
        ('{"id": "a", "question": "q", "followUp": "b"}', r"followUp 'b' names no earlier case"),
    ],
)
def test_an_unusable_case_is_refused_with_its_line(line: str, problem: str) -> None:
    with pytest.raises(CasesError, match=problem):
        parse_cases([line])


def test_a_duplicate_id_and_a_follow_up_across_audiences_are_refused() -> None:
    first = '{"id": "a", "question": "q"}'
    with pytest.raises(CasesError, match=r":2: the id 'a' is used twice"):
        parse_cases([first, first])
    with pytest.raises(CasesError, match="same audience"):
        parse_cases([first, '{"id": "b", "question": "q", "audience": "staff", "followUp": "a"}'])


# --- Scores --------------------------------------------------------------------------------------------------


def test_sources_match_by_uri_file_name_stream_id_key_or_metadata() -> None:
    document = Source("s3://bucket/documents/faq/refunds.pdf", {"department": "support"})
    stream = Source("tickets/ticket/1042", {"priority": 2})
    assert source_matches("refunds.pdf", document) and source_matches("s3://bucket/documents/faq/refunds.pdf", document)
    assert not source_matches("funds.pdf", document)
    assert source_matches("1042", stream) and source_matches("tickets/ticket/1042", stream)
    assert source_matches({"metadata": {"priority": 2}}, stream)
    assert not source_matches({"metadata": {"priority": 2, "tier": "gold"}}, stream)


def test_rank_hit_precision_and_mentions_follow_from_the_answer() -> None:
    (found,) = parse_cases(
        [
            '{"id": "a", "question": "q", "expectedSources": ["b.pdf"], "mustMention": ["24%", '
            '"APAC"], "forbiddenSources": ["secret.xlsx"]}'
        ]
    )
    answer = {
        "answer": "APAC grows  24 %.",
        "citations": [{"uri": "s3://x/a.pdf"}, {"uri": "s3://x/b.pdf"}, {"uri": "s3://x/secret.xlsx"}],
    }
    score = score_case(found, answer, 1.5, k=1)
    assert (score.hit_at_k, score.reciprocal_rank) == (0.0, 0.5)
    assert score.citation_precision == pytest.approx(1 / 3)
    assert score.mention_coverage == 0.5 and score.missing_mentions == ["24%"]
    assert score.leaks == ["s3://x/secret.xlsx"] and score.guarded
    assert score_case(found, answer, 1.5, k=2).hit_at_k == 1.0
    refused = score_case(found, {"error": {"type": "ThrottlingException"}}, 0.1, k=5)
    assert (refused.error, refused.hit_at_k, refused.mention_coverage) == ("ThrottlingException", 0.0, 0.0)


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 21)], 0.95) == 19.0
    assert percentile([], 0.5) is None


def test_the_fake_evaluates_every_operator_s3_vectors_supports() -> None:
    metadata = {"is_internal": True, "published_at": 1750377600, "tags": "security,governance"}
    assert matches(
        {
            "andAll": [
                {"equals": {"key": "is_internal", "value": True}},
                {"greaterThanOrEquals": {"key": "published_at", "value": 1750000000}},
            ]
        },
        metadata,
    )
    assert matches(
        {
            "orAll": [
                {"in": {"key": "tags", "value": ["x", "security,governance"]}},
                {"lessThan": {"key": "published_at", "value": 0}},
            ]
        },
        metadata,
    )
    assert not matches({"notIn": {"key": "tags", "value": ["security,governance"]}}, metadata)
    assert not matches({"equals": {"key": "is_internal", "value": False}}, {"ticker": "ZVZZT"})


# --- make evaluate against the fake ------------------------------------------------------------------------------


def test_the_sample_run_reports_what_the_canned_answers_earn(tmp_path: Path) -> None:
    with local_operator() as (operator, _):
        status, result = run(operator, tmp_path)
    assert status == EXIT_OK and result["passed"]
    summary = result["summary"]
    assert (summary["cases"], summary["ran"], summary["skipped"], summary["errors"], summary["leaks"]) == (
        18,
        18,
        0,
        0,
        0,
    )
    # Every expected source is the first one cited or retrieved.
    assert summary["hit_rate_at_k"] == summary["mean_reciprocal_rank"] == 1.0
    # Two answers each leave out one of four facts: 14 of the 16 cases with mustMention score 1, two score 0.75.
    assert case(result, "2-domain-filter")["missing_mentions"] == ["retail"]
    assert case(result, "5-internal-metrics")["missing_mentions"] == ["22"]
    assert summary["mention_coverage"] == pytest.approx((14 + 2 * 0.75) / 16, abs=1e-4)
    # Two answers also cite the company profile beside the expected document: precision 1/2 there, 1 elsewhere.
    assert [found["id"] for found in result["cases"] if found["citation_precision"] == 0.5] == [
        "sentence-delivery-centres",
        "sentence-data-fabric",
    ]
    assert summary["citation_precision"] == pytest.approx((12 + 2 * 0.5) / 14, abs=1e-4)
    # The public audience asked for internal documents and got none of them.
    assert case(result, "access-public-metrics")["sources"] == [] and not case(result, "access-public-metrics")["leaks"]
    assert summary["input_tokens"] is None, "RetrieveAndGenerate reports no token usage"
    folder = tmp_path / "latest"
    assert (folder / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (folder / "report.md").read_text()
    assert report.startswith("# Evaluation of kbstream\n\nPASSED: 18 of 18 cases ran")
    assert "| 2-domain-filter | - | generate | 1 | 1.00 | 1.00 | 0.75 |" in report and "missing: retail" in report


def test_each_case_goes_through_its_audiences_entry_point(tmp_path: Path) -> None:
    with local_operator() as (operator, local):
        run(operator, tmp_path)
    qualifiers = {event["question"]: qualifier for qualifier, event in local.invocations}
    cases = load_cases()
    for found in cases:
        assert qualifiers[found.question] == (found.audience or ""), found.id
    follow_up = next(
        event for _, event in local.invocations if event["question"] == "Where is that practice staffed from?"
    )
    assert follow_up["sessionId"], "a follow-up continues its conversation"


def test_a_forbidden_source_shown_to_an_audience_fails_the_run(tmp_path: Path) -> None:
    # A misconfigured app: the public audience is unrestricted.
    with local_operator(group_filters={"public": {}, "staff": {}}) as (operator, _):
        status, result = run(operator, tmp_path)
    assert status == EXIT_PROBLEM and not result["passed"]
    leaked = case(result, "access-public-metrics")["leaks"]
    assert leaked and leaked[0].endswith("aurora_operational_metrics.xlsx")
    assert result["failures"][0].startswith("2 forbidden source(s) reached an audience")
    assert "**leaked**" in (tmp_path / "latest" / "report.md").read_text()


def test_without_groups_access_cases_are_skipped_and_the_rest_runs(tmp_path: Path) -> None:
    with local_operator(group_filters={}) as (operator, _):
        status, result = run(operator, tmp_path)
    skipped = {found["id"]: found["skipped"] for found in result["cases"] if found["skipped"]}
    assert set(skipped) == {"access-public-metrics", "access-public-security"}
    assert "groupFilters is empty" in skipped["access-public-metrics"]
    assert status == EXIT_OK and result["summary"]["ran"] == 16


def test_a_threshold_is_a_flag_and_below_it_the_run_fails(tmp_path: Path) -> None:
    with local_operator() as (operator, _):
        status, result = run(operator, tmp_path, "--min-mention-coverage", "0.99")
    assert status == EXIT_PROBLEM
    assert result["failures"] == ["mustMention coverage 0.9688 is below 0.99"]


def test_a_worse_answer_is_marked_as_a_regression_against_the_last_run(tmp_path: Path) -> None:
    with local_operator() as (operator, _):
        run(operator, tmp_path)
    worse = sample_state()
    worse.answers["what is the projected cagr for apac?"] = "APAC is expected to grow quickly."
    with local_operator(state=worse) as (operator, _):
        status, result = run(operator, tmp_path)
    regressions = result["comparison"]["regressions"]
    assert {"metric": "mention_coverage", "before": 1.0, "now": 0.0, "case": "cell-apac-growth"} in regressions
    assert any(item["metric"] == "mention_coverage" and item["case"] is None for item in regressions)
    assert status == EXIT_OK, "a regression is reported; thresholds decide the exit status"
    report = (tmp_path / "latest" / "report.md").read_text()
    assert "mustMention coverage | 0.91 (regression) | 0.97 |" in report and "case cell-apac-growth" in report


def test_a_slower_run_is_a_latency_regression() -> None:
    """p95 latency more than 20% above the baseline's is a regression; more than 20% below, an improvement."""
    quality = {"hit_rate_at_k": 1.0, "mean_reciprocal_rank": 1.0, "citation_precision": 1.0, "mention_coverage": 1.0}
    summary = Summary(cases=1, ran=1, skipped=0, errors=0, leaks=0, **quality, latency_p50_seconds=2.0,
                      latency_p95_seconds=3.0, input_tokens=None, output_tokens=None, k=5)  # fmt: skip

    def against(p95_before: float) -> Comparison:
        return compare(summary, [], {"summary": {**quality, "latency_p95_seconds": p95_before}}, "earlier")

    assert against(2.4).regressions == [Regression("latency_p95_seconds", 2.4, 3.0)]
    assert against(2.6).regressions == [] and against(2.6).improvements == []
    assert against(4.0).improvements == [Regression("latency_p95_seconds", 4.0, 3.0)]


def test_a_named_baseline_is_compared_instead_of_the_last_run(tmp_path: Path) -> None:
    with local_operator() as (operator, _):
        run(operator, tmp_path / "first")
        _, result = run(operator, tmp_path / "second", "--baseline", str(tmp_path / "first" / "latest"))
    assert result["comparison"]["baseline"].endswith("first/latest/result.json")
    # The same answers: no metric of their quality moved. (Latency is the local fake's wall clock, milliseconds
    # that vary with the machine's load; test_a_slower_run_is_a_latency_regression holds that rule.)
    assert [item for item in result["comparison"]["regressions"] if not item["metric"].startswith("latency")] == []


def test_a_cases_file_with_an_unknown_audience_is_a_configuration_error(tmp_path: Path, capsys: Any) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"id": "a", "question": "q", "audience": "partners"}\n')
    with local_operator() as (operator, _):
        status = evaluate.main(["--output", str(tmp_path), "--cases", str(cases)], operator=operator)
    assert status == EXIT_USAGE
    assert "audience 'partners' is none of groupFilters' groups (public, staff)" in capsys.readouterr().err


def test_over_https_the_verified_token_decides_the_audience() -> None:
    issuer = TokenIssuer()
    authorizer = JwtAuthorizer(issuer=issuer.issuer, audiences=(TEST_AUDIENCE,), key_set=issuer.key_set)
    config = dataclasses.replace(query_config(), group_claim="cognito:groups")
    with fake_knowledge_base(sample_state()) as (kb_url, _):
        endpoints = {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": kb_url}
        with local_query_function(config, endpoints, authorizer=authorizer) as local:
            tokens = {group: issuer.token({"cognito:groups": [group]}) for group in GROUP_FILTERS}
            entry = HttpEntryPoint(f"{local.http_url}/query", tokens, "public")
            scores = {score.id: score for score in run_cases(load_cases(), entry, k=5)}
            staff_only = HttpEntryPoint(f"{local.http_url}/query", {"staff": tokens["staff"]}, "public")
            skipped = run_cases(load_cases()[:1], staff_only, k=5)
    assert not any(score.leaks for score in scores.values())
    assert scores["5-internal-metrics"].hit_at_k == 1.0, "the staff token sees internal documents"
    assert scores["access-public-metrics"].sources == []
    assert {qualifier for qualifier, _ in local.invocations} == {"http-api"}
    assert skipped[0].skipped == "no --token for audience 'public'"


def test_the_docs_sample_report_is_what_the_fake_run_gives(tmp_path: Path) -> None:
    from scripts.evaluation.sample import SAMPLE_REPORT

    def numbers(document: dict[str, Any]) -> dict[str, Any]:
        """All but the timings and the date, which each run measures anew."""
        summary = {key: value for key, value in document["summary"].items() if not key.startswith("latency")}
        cases = [{key: value for key, value in found.items() if key != "seconds"} for found in document["cases"]]
        return {"summary": summary, "cases": cases, "passed": document["passed"], "failures": document["failures"]}

    with local_operator() as (operator, _):
        _, result = run(operator, tmp_path)
    shown = json.loads((SAMPLE_REPORT / "result.json").read_text())
    assert numbers(shown) == numbers(result), "run `make evaluation-sample`"
    assert (SAMPLE_REPORT / "chart.png").exists() and "PASSED: 18 of 18" in (SAMPLE_REPORT / "report.md").read_text()


# --- Bedrock's judge -----------------------------------------------------------------------------------------

BUCKET = "kbstream-evaluation-123456789012-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/kbstream-evaluation-us-east-1"


def job_status(arn: str, status: str, *failures: str) -> dict[str, Any]:
    """GetEvaluationJob's answer for a job of this app, in the shape the botocore model requires."""
    request = job_request(
        "retrieveOnly",
        "kbstream-job",
        ROLE,
        f"s3://{BUCKET}/datasets/d",
        f"s3://{BUCKET}/results/",
        "KB12345678",
        "",
        JudgeSettings.of(load_settings({}), None, 60),
    )
    response = {
        key: request[key]
        for key in ("jobName", "roleArn", "applicationType", "evaluationConfig", "inferenceConfig", "outputDataConfig")
    }
    response |= {"status": status, "jobArn": arn, "jobType": "Automated", "creationTime": "2026-12-01T00:00:00Z"}
    return response | ({"failureMessages": list(failures)} if failures else {})


def judged_operator(
    bedrock_responses: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
) -> tuple[Operator, Stubber, Stubber]:
    session = boto3.Session(region_name="us-east-1")
    settings = load_settings({"app:groupFilters": GROUP_FILTERS})
    operator = Operator(settings=settings, session=session)
    cloudformation = Stubber(operator.client("cloudformation"))
    for stack, key, value in (
        ("kbstream-query", "QueryFunctionName", FUNCTION_NAME),
        ("kbstream-storage", "EvaluationBucketName", BUCKET),
        ("kbstream-query", "EvaluationRoleArn", ROLE),
        ("kbstream-knowledge-base", "KnowledgeBaseId", "KB12345678"),
    ):
        cloudformation.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": stack,
                        "CreationTime": "2026-12-01T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": key, "OutputValue": value}],
                    }
                ]
            },
            {"StackName": stack},
        )
    bedrock = Stubber(operator.client("bedrock"))
    for operation, response, expected in bedrock_responses:
        bedrock.add_response(operation, response, expected)
    return operator, cloudformation, bedrock


def test_the_judge_jobs_match_the_botocore_model_and_merge_into_the_report(tmp_path: Path) -> None:
    from scripts.evaluation import judge

    settings = load_settings({"app:groupFilters": GROUP_FILTERS})
    judge_settings = JudgeSettings.of(settings, None, 3600)
    arn = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/{}"
    expected = {}
    for kind in judge.JOB_KINDS:
        request = job_request(
            kind,
            "name",
            ROLE,
            "s3://x/d",
            "s3://x/r/",
            "KB12345678",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-6",
            judge_settings,
        )
        expected[kind] = {
            **request,
            "jobName": ANY,
            "jobDescription": ANY,
            "evaluationConfig": {
                "automated": {
                    **request["evaluationConfig"]["automated"],
                    "datasetMetricConfigs": [
                        {
                            **request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0],
                            "dataset": {"name": "cases", "datasetLocation": {"s3Uri": ANY}},
                        }
                    ],
                }
            },
            "outputDataConfig": {"s3Uri": ANY},
        }
    responses: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        ("create_evaluation_job", {"jobArn": arn.format("aaaaaaaaaaa1")}, expected["retrieveAndGenerate"]),
        ("create_evaluation_job", {"jobArn": arn.format("aaaaaaaaaaa2")}, expected["retrieveOnly"]),
    ]
    for state in ("InProgress", "Completed"):
        for number in (1, 2):
            job = arn.format(f"aaaaaaaaaaa{number}")
            responses.append(("get_evaluation_job", job_status(job, state), {"jobIdentifier": job}))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)

        def bedrock_writes_results(params: dict[str, Any], **_: Any) -> None:
            """When the dataset arrives, write what the two jobs would: two prompts' scores each."""
            if not params["Key"].startswith("datasets/"):
                return
            run_id = params["Key"].split("/")[1]
            for suffix, metrics, value in (
                ("rag", RETRIEVE_AND_GENERATE_METRICS, 0.8),
                ("retrieve", RETRIEVE_ONLY_METRICS, 0.6),
            ):
                lines = [
                    json.dumps(
                        {
                            "automatedEvaluationResult": {
                                "scores": [{"metricName": name, "result": value + offset} for name in metrics]
                            }
                        }
                    )
                    for offset in (0.1, -0.1)
                ]
                s3.put_object(
                    Bucket=BUCKET,
                    Key=f"results/{run_id}/kbstream-{run_id}-{suffix}/0a1b/models/m/"
                    "taskTypes/QuestionAndAnswer/datasets/cases/out_output.jsonl",
                    Body="\n".join(lines),
                )

        s3.meta.events.register("provide-client-params.s3.PutObject", bedrock_writes_results)
        operator, cloudformation, bedrock = judged_operator(responses)
        with local_operator() as (local, _), cloudformation, bedrock:
            local.clients.update(
                {"cloudformation": operator.client("cloudformation"), "bedrock": operator.client("bedrock"), "s3": s3}
            )
            status, result = run(local, tmp_path, "--judge", "--judge-poll-seconds", "0")
        (dataset_object,) = s3.list_objects_v2(Bucket=BUCKET, Prefix="datasets/")["Contents"]
        lines = s3.get_object(Bucket=BUCKET, Key=dataset_object["Key"])["Body"].read().decode().splitlines()
    assert status == EXIT_OK
    judged = result["judge"]
    assert judged["audience"] == "public" and judged["evaluator"] == "amazon.nova-pro-v1:0"
    assert judged["retrieveAndGenerate"]["Correctness"] == 0.8 and judged["retrieveOnly"]["ContextCoverage"] == 0.6
    prompts = [json.loads(line)["conversationTurns"][0]["prompt"]["content"][0]["text"] for line in lines]
    assert judged["cases"] == len(prompts) == 6, "the public audience's cases without filters or follow-ups"
    assert "What does the new climate-tech practice combine?" in prompts
    report = (tmp_path / "latest" / "report.md").read_text()
    assert "## Bedrock's judge" in report and "| Correctness | 0.80 | - |" in report


def test_a_failed_judge_job_fails_the_run_with_bedrocks_reason(tmp_path: Path, capsys: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/aaaaaaaaaaa1"
    responses: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
        ("create_evaluation_job", {"jobArn": arn}, None),
        ("create_evaluation_job", {"jobArn": arn.replace("a1", "a2")}, None),
        (
            "get_evaluation_job",
            job_status(arn, "Failed", "The role cannot read s3://bucket/datasets/"),
            {"jobIdentifier": arn},
        ),
    ]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        operator, cloudformation, bedrock = judged_operator(responses)
        with local_operator() as (local, _), cloudformation, bedrock:
            local.clients.update(
                {"cloudformation": operator.client("cloudformation"), "bedrock": operator.client("bedrock"), "s3": s3}
            )
            status = evaluate.main(["--output", str(tmp_path), "--judge", "--judge-poll-seconds", "0"], operator=local)
    assert status == EXIT_PROBLEM
    assert "ended Failed: The role cannot read s3://bucket/datasets/" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["retrieveAndGenerate", "retrieveOnly"])
@pytest.mark.parametrize("audience", ["public", "staff"])
def test_each_job_request_is_valid_by_the_botocore_model_enums_and_patterns_included(kind: str, audience: str) -> None:
    from devtools.sdk_model import validate_request

    settings = load_settings({"app:groupFilters": GROUP_FILTERS, "app:promptTemplate": "Answer from $search_results$"})
    judge_settings = JudgeSettings.of(settings, audience, 3600)
    run_id = "20261201t120000"
    request = job_request(
        kind, f"kbstream-{run_id}-rag", ROLE, f"s3://{BUCKET}/datasets/{run_id}/cases.jsonl",
        f"s3://{BUCKET}/results/{run_id}/", "KB12345678",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-6", judge_settings,
    )  # fmt: skip
    assert validate_request("bedrock", "CreateEvaluationJob", request) == []
    search = json.dumps(request["inferenceConfig"])
    assert ("is_internal" in search) is (audience == "public"), "the audience's enforced filter, and only it"


def test_every_bad_line_of_a_file_gets_its_number_and_reason(tmp_path: Path) -> None:
    good = '{"id": "a", "question": "What does the brief say\u2028about zero trust\u0085?"}'
    lines = [
        good.encode(),
        b'{"id": "b", "question": "caf\xe9?"}',  # Latin-1, not UTF-8
        b"[" * 100_000,
        b'{"id": "c"}',
        b"",
        b'{"id": "d", "question": "q", "numberOfResults": ' + b"9" * 5_000 + b"}",
        '{"id": "e", "question": "\u2028"}'.encode(),
    ]
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(CasesError) as raised:
        load_cases(path)
    problems = raised.value.problems
    assert [problem.split(": ", 1)[0] for problem in problems] == [f"{path}:{n}" for n in (2, 3, 4, 6)]
    assert "not UTF-8 text (byte 29)" in problems[0]
    assert "nested too deeply" in problems[1]
    assert "'question' is a required property" in problems[2]
    assert "not JSON" in problems[3]
    assert str(raised.value).startswith(problems[0]) and "and 3 more" in str(raised.value)


def test_a_line_separator_inside_a_question_is_text() -> None:
    cases = parse_cases(['{"id": "a", "question": "one\u2028two\u0085three"}'])
    assert cases[0].question == "one\u2028two\u0085three"


@given(st.lists(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)), max_size=8))
def test_any_bytes_are_cases_or_a_cases_error(tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("cases") / "cases.jsonl"
    path.write_bytes(b"\n".join(lines))
    problems: list[str] = []
    try:
        assert load_cases(path)
    except CasesError as error:
        problems = error.problems
    assert all(problem.startswith(f"{path}") for problem in problems)
