"""``make evaluate`` without AWS: the sample cases through the query function's own code, a local Lambda and a
fake knowledge base whose answers are canned, so every number of the report follows from those answers.

python -m scripts.evaluation.sample                 # report in build/evaluation-sample/latest/ (make evaluation-sample)
python -m scripts.evaluation.sample --write-docs    # also rewrite docs/evaluation-sample/ (the docs' sample report)

The tests run the same (tests/test_evaluate.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber

from devtools.fake_knowledge_base import KnowledgeBaseState, Passage, fake_knowledge_base, ticker_stream
from devtools.local_query import ACCOUNT, REGION, LocalQuery, local_query_function
from devtools.settings_docs import REPO_ROOT
from query.contract import QueryConfig
from scripts.operator_cli import Operator
from stacks.settings import load_settings

SAMPLE_REPORT = REPO_ROOT / "docs" / "evaluation-sample"
FUNCTION_NAME = "kbstream-query-QueryFunction"
RUNS_PER_OPERATOR = 5
# The audiences the sample cases assume: the public sees public documents, staff sees everything.
GROUP_FILTERS: dict[str, Any] = {"public": {"equals": {"key": "is_internal", "value": False}}, "staff": {}}

# What the fake's model says (sample_data/evaluation/fake-answers.json). Most answers are right; two leave out a
# fact, so the report shows what a miss looks like.
CANNED_ANSWERS: dict[str, str] = json.loads(
    (REPO_ROOT / "sample_data" / "evaluation" / "fake-answers.json").read_text()
)


SAMPLE_BUCKET = "kbstream-documents-123456789012-us-east-1"


def sample_corpus(bucket: str = SAMPLE_BUCKET, prefix: str = "documents/") -> list[Passage]:
    """The sample documents, one passage per paragraph or table row, and the ticker stream as offset documents."""
    from scripts.make_sample_documents import (
        CATALOG,
        COMPANY_PROFILE,
        DOCUMENTS,
        METRICS_HEADER,
        METRICS_ROWS,
        PRESS_ANNOUNCEMENT,
        SECURITY_BRIEF,
    )

    def paragraphs(lines: list[str]) -> list[str]:
        blocks = [
            " ".join(group).strip() for blank, group in itertools.groupby(lines, key=lambda line: not line) if not blank
        ]
        return [block for block in blocks if block]

    catalog_text: list[str] = []
    for (heading, is_heading), (body, _) in zip(CATALOG[2::2], CATALOG[3::2], strict=True):
        catalog_text.append(f"{heading}: {body}" if is_heading else body)
    texts = {
        "aurora_company_profile.pdf": paragraphs(list(COMPANY_PROFILE)),
        "aurora_security_brief.pdf": paragraphs(list(SECURITY_BRIEF)),
        "aurora_press_announcement.txt": paragraphs(PRESS_ANNOUNCEMENT.splitlines()),
        "aurora_operational_metrics.xlsx": [
            f"{region}: {METRICS_HEADER[1]} {target}, {METRICS_HEADER[2]} {growth}, {METRICS_HEADER[3]}: {offers}."
            for region, target, growth, offers in METRICS_ROWS
        ],
        "aurora_solution_catalog.docx": [CATALOG[1][0], *catalog_text],
    }
    passages = []
    for document in DOCUMENTS:
        attributes: dict[str, Any] = document.sidecar()["metadataAttributes"]  # type: ignore[assignment]
        metadata = {
            name: next(value for kind, value in attribute["value"].items() if kind != "type")
            for name, attribute in attributes.items()
        }
        uri = f"s3://{bucket}/{prefix}{document.file_name}"
        passages += [Passage(f"{document.title}. {text}", metadata, uri=uri) for text in texts[document.file_name]]
    return passages + ticker_stream()


def sample_state(answers: Mapping[str, str] | None = None) -> KnowledgeBaseState:
    """The fake knowledge base over the sample corpus, answering with ``answers`` (default: the canned ones)."""
    chosen = CANNED_ANSWERS if answers is None else answers
    return KnowledgeBaseState(
        passages=sample_corpus(), answers={question.lower(): text for question, text in chosen.items()}
    )


def query_config(group_filters: Mapping[str, Any] | None = None) -> QueryConfig:
    return QueryConfig(
        knowledge_base_id="KB12345678",
        knowledge_base_name="kbstream-knowledge-base-0123abcd",
        model_arn=f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/global.anthropic.claude-sonnet-4-6",
        default_number_of_results=5,
        group_filters=dict(GROUP_FILTERS if group_filters is None else group_filters),
        default_group="public",
    )


@contextmanager
def local_operator(
    group_filters: Mapping[str, Any] | None = None, state: KnowledgeBaseState | None = None
) -> Iterator[tuple[Operator, LocalQuery]]:
    """An operator whose query function runs here, against the fake knowledge base; CloudFormation is stubbed."""
    filters = GROUP_FILTERS if group_filters is None else group_filters
    with ExitStack() as stack:
        kb_url, _ = stack.enter_context(fake_knowledge_base(state or sample_state()))
        local = stack.enter_context(
            local_query_function(
                query_config(filters), {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": kb_url}, function_name=FUNCTION_NAME
            )
        )
        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        cloudformation = session.client("cloudformation")
        stubber = stack.enter_context(Stubber(cloudformation))
        query_stack = {"StackName": "kbstream-query", "CreationTime": "2026-12-01T00:00:00Z",
                       "StackStatus": "CREATE_COMPLETE",
                       "Outputs": [{"OutputKey": "QueryFunctionName", "OutputValue": FUNCTION_NAME}]}  # fmt: skip
        for _ in range(RUNS_PER_OPERATOR):  # each run of make evaluate reads the stack's outputs once
            stubber.add_response("describe_stacks", {"Stacks": [query_stack]}, {"StackName": "kbstream-query"})
        lambda_client = session.client(
            "lambda", endpoint_url=local.lambda_url, config=Config(retries={"mode": "standard"})
        )
        settings = load_settings({"app:groupFilters": dict(filters)} if filters else {})  # the code's defaults
        clients = {"cloudformation": cloudformation, "lambda": lambda_client}
        yield Operator(settings=settings, session=session, clients=clients), local


def run_sample(output: Path, *arguments: str) -> int:
    from scripts import evaluate

    with local_operator() as (operator, _):
        return evaluate.main(["--output", str(output), *arguments], operator=operator)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.evaluation.sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--write-docs", action="store_true",
                        help=f"also replace {SAMPLE_REPORT.relative_to(REPO_ROOT)} with this run's report")  # fmt: skip
    arguments = parser.parse_args(argv)
    scratch = REPO_ROOT / "build" / "evaluation-sample"
    shutil.rmtree(scratch, ignore_errors=True)
    status = run_sample(scratch)
    print(f"wrote {(scratch / 'latest').relative_to(REPO_ROOT)} (the run exited {status})")
    if arguments.write_docs:
        shutil.rmtree(SAMPLE_REPORT, ignore_errors=True)
        shutil.copytree(scratch / "latest", SAMPLE_REPORT)
        print(f"wrote {SAMPLE_REPORT.relative_to(REPO_ROOT)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
