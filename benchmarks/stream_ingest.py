"""Throughput of the streaming ingest function against Bedrock's IngestKnowledgeBaseDocuments quotas.

    python -m benchmarks.stream_ingest [--records 500] [--latency 0.2] [--baseline-records 100]

A local fake of the Bedrock endpoint enforces 5 requests/s and 10 concurrent requests, answering
after ``--latency`` seconds; at most 10 documents per request, so no client can exceed 50
documents/s. The ingest handler runs on a one-partition batch (it gets the whole quota), next to
the original sample's approach: one document per call, one call after the other, random IDs.
The script measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.lambda_events import FakeLambdaContext
from function_runtime.contract import RuntimeConfig
from function_runtime.environment import as_environment, variable_names
from stream_ingest.contract import DocumentIds, StreamConfig

KB_NAME = "kbstream-knowledge-base-0123abcd"

QUOTA_REQUESTS_PER_SECOND = 5
MAX_CONCURRENT = 10
CEILING_DOCUMENTS_PER_SECOND = QUOTA_REQUESTS_PER_SECOND * 10
OPERATION = "IngestKnowledgeBaseDocuments"


@dataclass(frozen=True)
class Result:
    name: str
    documents: int
    seconds: float
    accepted_calls: int
    throttles: int
    peak_concurrency: int

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    def row(self) -> str:
        calls = self.accepted_calls + self.throttles
        return (
            f"| {self.name} | {self.documents} | {self.seconds:.1f} | {self.documents_per_second:.1f} | "
            f"{self.documents_per_second / CEILING_DOCUMENTS_PER_SECOND:.0%} | {calls / self.documents:.2f} | "
            f"{self.throttles} | {self.peak_concurrency} |"
        )


def synthetic_event(count: int) -> dict[str, Any]:
    records = []
    for offset in range(count):
        value = {"ticker": f"T{offset % 500:03d}", "price": f"${1000 + offset:,}.25", "timestamp": 1771151400 + offset}
        records.append({"topic": "ticker-prices", "partition": 0, "offset": offset, "timestamp": 0,
                        "timestampType": "CREATE_TIME", "headers": [],
                        "value": base64.b64encode(json.dumps(value).encode()).decode()})  # fmt: skip
    return {"eventSource": "aws:kafka", "records": {"ticker-prices-0": records}}


def run_handler(count: int) -> None:
    from stream_ingest import handler

    with contextlib.redirect_stdout(io.StringIO()):  # Powertools' log and metric lines
        summary = handler.handler(synthetic_event(count), FakeLambdaContext())
    assert summary["ingested"] == count, summary


def run_baseline(count: int) -> None:
    import boto3

    agent = boto3.client("bedrock-agent")  # the SDK's default (legacy) retries, as in the original sample
    for offset in range(count):
        agent.ingest_knowledge_base_documents(
            knowledgeBaseId="KB12345678",
            dataSourceId="DS12345678",
            documents=[{"content": {"dataSourceType": "CUSTOM", "custom": {
                "customDocumentIdentifier": {"id": str(uuid.uuid4())}, "sourceType": "IN_LINE",
                "inlineContent": {"type": "TEXT", "textContent": {"data": f"price {offset}"}}}}}],
        )  # fmt: skip


def measure(name: str, count: int, latency: float, run: Callable[[int], None]) -> Result:
    from moto import mock_aws

    from devtools.fake_bedrock import Limits, fake_bedrock_agent
    from function_runtime import aws_clients

    limits = Limits(
        requests_per_second={OPERATION: QUOTA_REQUESTS_PER_SECOND}, max_concurrent=MAX_CONCURRENT,
        latency_seconds=latency,
    )  # fmt: skip
    with fake_bedrock_agent(limits) as (url, state):
        os.environ["AWS_ENDPOINT_URL_BEDROCK_AGENT"] = url
        with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
            import boto3

            queue_url = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
            os.environ[variable_names(StreamConfig)["dead_letter_queue_url"]] = queue_url
            aws_clients.client.cache_clear()
            started = time.perf_counter()
            run(count)
            seconds = time.perf_counter() - started
        accepted = sum(1 for operation, _ in state.requests if operation == OPERATION)
        return Result(name, count, seconds, accepted, state.throttled, state.peak_concurrency)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--baseline-records", type=int, default=100, help="the baseline is slow: fewer records")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the fake takes per request")
    arguments = parser.parse_args(argv)
    os.environ.update({"AWS_ACCESS_KEY_ID": "benchmark", "AWS_SECRET_ACCESS_KEY": "benchmark",
                       "AWS_DEFAULT_REGION": "us-east-1"})  # fmt: skip
    runtime = RuntimeConfig(service="stream_ingest", metrics_namespace="benchmark", tracer_disabled=True,
                            log_level="WARNING")  # fmt: skip
    # What the stack sets for a one-partition topic: the whole quota, less 5% headroom.
    stream = StreamConfig(
        knowledge_base_id="KB12345678",
        knowledge_base_name=KB_NAME,
        data_source_id="DS12345678",
        dead_letter_queue_url="unset",
        document_ids=DocumentIds.PER_MESSAGE,
        requests_per_second=QUOTA_REQUESTS_PER_SECOND * 0.95,
        partial_batch_response=False,
    )
    os.environ.update({**as_environment(runtime), **as_environment(stream)})
    results = [
        measure("ingest function (10 per call, paced, concurrent)", arguments.records, arguments.latency, run_handler),
    ]
    os.environ.pop("AWS_RETRY_MODE")
    os.environ.pop("AWS_MAX_ATTEMPTS")
    results.append(
        measure("baseline (1 per call, sequential)", arguments.baseline_records, arguments.latency, run_baseline)
    )
    latency_ms = arguments.latency * 1000
    print(f"Fake Bedrock: {QUOTA_REQUESTS_PER_SECOND} requests/s, {MAX_CONCURRENT} concurrent, {latency_ms:.0f} ms "
          f"latency; ceiling {CEILING_DOCUMENTS_PER_SECOND} documents/s\n")  # fmt: skip
    columns = ["client", "documents", "seconds", "documents/s", "of ceiling", "API calls/document", "throttled",
               "peak concurrency"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
