"""Bedrock's own judge: RAG evaluation jobs (``CreateEvaluationJob``, ``applicationType`` ``RagEvaluation``) on the
evaluation cases, one retrieve-and-generate job and one retrieve-only job, with built-in LLM-as-judge metrics.

A job retrieves under one configuration for all its prompts, so it judges the cases of one audience (by default
``defaultGroup``) that need no filter of their own and start a conversation. The dataset is Bedrock's prompt
dataset (``conversationTurns`` with the question and the reference answer), uploaded to the app's evaluation
bucket; the jobs run as the app's evaluation role and write their results next to it. The results are read back
as Bedrock writes them: JSON lines whose ``automatedEvaluationResult.scores`` hold each metric's result per prompt
(https://docs.aws.amazon.com/bedrock/latest/userguide/model-evaluation-report-s3.html).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scripts.deployed import stack_output
from scripts.evaluation.cases import Case
from scripts.operator_cli import EXIT_PROBLEM, Operator, OperatorError
from stacks.foundation.operator_policy import DATASETS_PREFIX, RESULTS_PREFIX
from stacks.settings import Settings

# The built-in metrics of each job type (Bedrock user guide, "Evaluate the performance of RAG sources").
RETRIEVE_AND_GENERATE_METRICS = (
    "Builtin.Correctness",
    "Builtin.Completeness",
    "Builtin.Faithfulness",
    "Builtin.CitationPrecision",
    "Builtin.CitationCoverage",
)
RETRIEVE_ONLY_METRICS = ("Builtin.ContextRelevance", "Builtin.ContextCoverage")
JOB_KINDS = {
    "retrieveAndGenerate": ("rag", RETRIEVE_AND_GENERATE_METRICS),
    "retrieveOnly": ("retrieve", RETRIEVE_ONLY_METRICS),
}
DONE = {"Completed", "Failed", "Stopped"}


@dataclass(frozen=True)
class JudgeSettings:
    name_prefix: str
    evaluator_model_id: str
    inference_profile_id: str
    audience: str
    audience_filter: Mapping[str, Any] | None  # the audience's enforced filter (None: unrestricted)
    number_of_results: int
    prompt_template: str
    timeout_seconds: float

    @classmethod
    def of(cls, settings: Settings, audience: str | None, timeout_seconds: float) -> JudgeSettings:
        query = settings.query
        chosen = audience or query.default_group
        if query.group_filters and chosen not in query.group_filters:
            raise OperatorError(
                f"--judge-audience {chosen!r} is none of groupFilters' groups",
                f"pick one of {', '.join(sorted(query.group_filters))}",
            )
        enforced = query.group_filters.get(chosen) if query.group_filters else None
        return cls(
            settings.name_prefix,
            query.evaluation_judge_model_id,
            query.inference_profile_id,
            chosen,
            enforced or None,
            query.number_of_results,
            query.prompt_template,
            timeout_seconds,
        )


def judged_cases(cases: Sequence[Case], judge: JudgeSettings, default_group: str) -> list[Case]:
    """The cases one job configuration can judge: this audience's, with a reference answer, no filter of their own,
    and no conversation before them."""
    return [
        case
        for case in cases
        if case.reference_answer
        and case.follow_up is None
        and case.filter is None
        and case.where is None
        and (case.audience or default_group) == judge.audience
    ]


def dataset(cases: Sequence[Case]) -> str:
    """Bedrock's prompt dataset for RAG evaluation: one conversation turn per case, with its reference answer."""
    lines = [
        json.dumps(
            {
                "conversationTurns": [
                    {
                        "prompt": {"content": [{"text": case.question}]},
                        "referenceResponses": [{"content": [{"text": case.reference_answer}]}],
                    }
                ]
            }
        )
        for case in cases
    ]
    return "\n".join(lines) + "\n"


def job_request(
    kind: str,
    job_name: str,
    role_arn: str,
    dataset_uri: str,
    output_uri: str,
    knowledge_base_id: str,
    model_arn: str,
    judge: JudgeSettings,
) -> dict[str, Any]:
    _, metrics = JOB_KINDS[kind]
    search: dict[str, Any] = {"numberOfResults": judge.number_of_results}
    if judge.audience_filter:
        search["filter"] = dict(judge.audience_filter)
    retrieval = {"vectorSearchConfiguration": search}
    if kind == "retrieveAndGenerate":
        knowledge_base: dict[str, Any] = {
            "knowledgeBaseId": knowledge_base_id,
            "modelArn": model_arn,
            "retrievalConfiguration": retrieval,
        }
        if judge.prompt_template:
            knowledge_base["generationConfiguration"] = {
                "promptTemplate": {"textPromptTemplate": judge.prompt_template}
            }
        rag = {"retrieveAndGenerateConfig": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": knowledge_base}}
    else:
        rag = {
            "retrieveConfig": {"knowledgeBaseId": knowledge_base_id, "knowledgeBaseRetrievalConfiguration": retrieval}
        }
    return {
        "jobName": job_name,
        "jobDescription": f"{judge.name_prefix}: {len(metrics)} built-in metrics as {judge.audience}",
        "roleArn": role_arn,
        "applicationType": "RagEvaluation",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {
                        "taskType": "QuestionAndAnswer",
                        "dataset": {"name": "cases", "datasetLocation": {"s3Uri": dataset_uri}},
                        "metricNames": list(metrics),
                    }
                ],
                "evaluatorModelConfig": {"bedrockEvaluatorModels": [{"modelIdentifier": judge.evaluator_model_id}]},
            }
        },
        "inferenceConfig": {"ragConfigs": [{"knowledgeBaseConfig": rag}]},
        "outputDataConfig": {"s3Uri": output_uri},
    }


def metric_means(lines: Sequence[str]) -> dict[str, float]:
    """Each metric's mean over the prompts, from the job's output lines (metric names without ``Builtin.``)."""
    values: dict[str, list[float]] = {}
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        for score in record.get("automatedEvaluationResult", {}).get("scores", []):
            result = score.get("result")
            if isinstance(result, int | float) and not isinstance(result, bool):
                name = str(score.get("metricName", "")).removeprefix("Builtin.")
                values.setdefault(name, []).append(float(result))
    return {name: round(statistics.fmean(found), 4) for name, found in sorted(values.items())}


def _results(s3: Any, bucket: str, prefix: str) -> list[str]:
    lines: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            if entry["Key"].endswith(".jsonl"):
                body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read().decode("utf-8")
                lines += body.splitlines()
    return lines


def run_judge(
    operator: Operator,
    cases: Sequence[Case],
    judge: JudgeSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = 30.0,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    settings = operator.settings
    chosen = judged_cases(cases, judge, settings.query.default_group)
    if not chosen:
        raise OperatorError(
            f"no case can be judged as {judge.audience!r}",
            "give cases of that audience a referenceAnswer and no filter, where or followUp",
        )
    cloudformation = operator.client("cloudformation")
    bucket = stack_output(cloudformation, settings.stack_name("storage"), "EvaluationBucketName")
    role_arn = stack_output(cloudformation, settings.stack_name("query"), "EvaluationRoleArn")
    knowledge_base_id = stack_output(cloudformation, settings.stack_name("knowledge-base"), "KnowledgeBaseId")
    account = role_arn.split(":")[4]
    model_arn = f"arn:aws:bedrock:{operator.region}:{account}:inference-profile/{judge.inference_profile_id}"
    run = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    dataset_key = f"{DATASETS_PREFIX}{run}/cases.jsonl"
    operator.client("s3").put_object(
        Bucket=bucket, Key=dataset_key, Body=dataset(chosen).encode("utf-8"), ContentType="application/jsonl"
    )
    output_uri = f"s3://{bucket}/{RESULTS_PREFIX}{run}/"
    bedrock = operator.client("bedrock")
    jobs: dict[str, tuple[str, str]] = {}  # kind -> (job name, ARN)
    for kind, (suffix, _) in JOB_KINDS.items():
        name = f"{judge.name_prefix}-{run}-{suffix}"
        request = job_request(
            kind, name, role_arn, f"s3://{bucket}/{dataset_key}", output_uri, knowledge_base_id, model_arn, judge
        )
        jobs[kind] = (name, bedrock.create_evaluation_job(**request)["jobArn"])
        progress(f"judge: started {name} ({len(chosen)} cases as {judge.audience})")
    started = clock()
    status: dict[str, str] = {}
    while True:
        for kind, (name, arn) in jobs.items():
            if status.get(kind) not in DONE:
                job = bedrock.get_evaluation_job(jobIdentifier=arn)
                status[kind] = job["status"]
                if job["status"] in {"Failed", "Stopped"}:
                    reasons = "; ".join(job.get("failureMessages", [])) or job["status"]
                    raise OperatorError(
                        f"the evaluation job {name} ended {job['status']}: {reasons}",
                        "see the job in the Bedrock console (Evaluations)",
                        EXIT_PROBLEM,
                    )
        elapsed = clock() - started
        progress(
            f"judge: {', '.join(f'{jobs[kind][0]} {state}' for kind, state in status.items())} "
            f"after {elapsed / 60:.0f} min"
        )
        if all(state == "Completed" for state in status.values()):
            break
        if elapsed > judge.timeout_seconds:
            raise OperatorError(
                f"the evaluation jobs did not finish in {judge.timeout_seconds / 60:.0f} minutes",
                "they keep running: see them in the Bedrock console, or pass a longer --judge-timeout-minutes",
                EXIT_PROBLEM,
            )
        sleep(poll_seconds)
    s3 = operator.client("s3")
    scores = {
        kind: metric_means(_results(s3, bucket, f"{RESULTS_PREFIX}{run}/{name}/")) for kind, (name, _) in jobs.items()
    }
    return {
        "evaluator": judge.evaluator_model_id,
        "audience": judge.audience,
        "cases": len(chosen),
        "jobs": {kind: arn for kind, (_, arn) in jobs.items()},
        **scores,
    }
