"""Throughput of stream ingest against Bedrock's IngestKnowledgeBaseDocuments quotas, for each batch shape.

    python -m benchmarks.stream_ingest [--records 1000] [--latency 0.2] [--baseline-records 100]

A local fake of the Bedrock endpoint enforces 5 requests/s and 10 concurrent requests and answers after
``--latency`` seconds; at most 10 documents fit a request, so no client can exceed 50 documents/s (the
ceiling). The stream function's logic (``stream_ingest.pipeline.process_batch``, what the handler runs)
ingests the records in the shapes an MSK event source mapping delivers:

- one partition per invocation, on a topic of one partition;
- all partitions in one invocation, on a topic of two;
- one invocation per partition at the same time, on a topic of two (two threads);

next to the original sample's approach: one document per call, one call after the other, random IDs.
Each invocation paces at the share of the quota its batch's partitions hold. The script measures and
prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.fake_bedrock import FakeState
from function_runtime.contract import RuntimeConfig
from function_runtime.environment import as_environment
from stream_ingest.contract import DocumentIds, StreamConfig

KB_NAME = "kbstream-knowledge-base-0123abcd"
TOPIC = "ticker-prices"
QUOTA_REQUESTS_PER_SECOND = 5
QUOTA_HEADROOM = 0.95  # as the stacks set it
MAX_CONCURRENT = 10
CEILING_DOCUMENTS_PER_SECOND = QUOTA_REQUESTS_PER_SECOND * 10
OPERATION = "IngestKnowledgeBaseDocuments"


@dataclass(frozen=True)
class Result:
    name: str
    records: int
    documents: int
    seconds: float
    accepted_calls: int
    throttles: int
    lost: int

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    def row(self) -> str:
        calls = self.accepted_calls + self.throttles
        throttled = self.throttles / calls if calls else 0.0
        return (
            f"| {self.name} | {self.records} | {self.seconds:.1f} | {self.documents_per_second:.1f} | "
            f"{self.documents_per_second / CEILING_DOCUMENTS_PER_SECOND:.0%} | {self.records / self.seconds:.1f} | "
            f"{self.throttles} ({throttled:.1%}) | {self.lost} |"
        )


def kafka_event(partitions: list[int], count: int, offset_start: int = 0) -> dict[str, Any]:
    """``count`` records spread over ``partitions``, as the mapping delivers them."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for index in range(count):
        partition = partitions[index % len(partitions)]
        offset = offset_start + index // len(partitions)
        value = {"ticker": f"T{index % 500:03d}", "price": f"${1000 + index:,}.25", "timestamp": 1771151400 + index}
        by_partition.setdefault(f"{TOPIC}-{partition}", []).append({
            "topic": TOPIC, "partition": partition, "offset": offset, "timestamp": 0, "timestampType": "CREATE_TIME",
            "headers": [], "value": base64.b64encode(json.dumps(value).encode()).decode()})  # fmt: skip
    return {"eventSource": "aws:kafka", "records": by_partition}


def stream_config(topic_partitions: int, dead_letters: str) -> StreamConfig:
    return StreamConfig(
        knowledge_base_id="KB12345678",
        knowledge_base_name=KB_NAME,
        data_source_id="DS12345678",
        dead_letter_queue_url=dead_letters,
        check_queue_url=dead_letters.replace("/dlq", "/checks"),
        document_ids=DocumentIds.PER_MESSAGE,
        quota_requests_per_second=QUOTA_REQUESTS_PER_SECOND * QUOTA_HEADROOM,
        topic_partitions=topic_partitions,
        partial_batch_response=False,
    )


def invocations(config: StreamConfig, events: list[dict[str, Any]]) -> int:
    """Run one invocation per event, all at the same time; the documents ingested."""
    from function_runtime.aws_clients import client
    from stream_ingest.pipeline import process_batch

    ingested: list[int] = []

    def invoke(event: dict[str, Any]) -> None:
        outcome = process_batch(event, config, agent=client("bedrock-agent"), sqs=client("sqs"))
        ingested.append(outcome.ingested)

    threads = [threading.Thread(target=invoke, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(ingested)


def run_baseline(count: int) -> int:
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
    return count


def measure(name: str, records: int, latency: float, run: Callable[[str], int]) -> Result:
    """``run(dead_letter_queue_url)`` returns the documents ingested; each run gets a fresh fake."""
    from moto import mock_aws

    from devtools.fake_bedrock import Limits, fake_bedrock_agent
    from function_runtime import aws_clients

    limits = Limits(requests_per_second={OPERATION: QUOTA_REQUESTS_PER_SECOND}, max_concurrent=MAX_CONCURRENT,
                    latency_seconds=latency)  # fmt: skip
    state: FakeState
    with fake_bedrock_agent(limits) as (url, state):
        os.environ["AWS_ENDPOINT_URL_BEDROCK_AGENT"] = url
        with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
            import boto3

            queue_url = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
            boto3.client("sqs").create_queue(QueueName="checks")
            aws_clients.client.cache_clear()
            started = time.perf_counter()
            documents = run(queue_url)
            seconds = time.perf_counter() - started
        accepted = sum(1 for operation, _ in state.requests if operation == OPERATION)
        return Result(name, records, documents, seconds, accepted, state.throttled, records - len(state.documents))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000, help="records per shape")
    parser.add_argument("--baseline-records", type=int, default=100, help="the baseline is slow: fewer records")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the fake takes per request")
    arguments = parser.parse_args(argv)
    count, latency = arguments.records, arguments.latency
    os.environ.update({"AWS_ACCESS_KEY_ID": "benchmark", "AWS_SECRET_ACCESS_KEY": "benchmark",
                       "AWS_DEFAULT_REGION": "us-east-1"})  # fmt: skip
    runtime = RuntimeConfig(service="stream_ingest", metrics_namespace="benchmark", tracer_disabled=True,
                            log_level="WARNING")  # fmt: skip
    os.environ.update(as_environment(runtime))
    shapes: list[tuple[str, int, Callable[[str], int]]] = [
        ("one partition per invocation (topic of 1)", 1,
         lambda dlq: invocations(stream_config(1, dlq), [kafka_event([0], count)])),
        ("all partitions in one invocation (topic of 2)", 2,
         lambda dlq: invocations(stream_config(2, dlq), [kafka_event([0, 1], count)])),
        ("one invocation per partition at once (topic of 2)", 2,
         lambda dlq: invocations(stream_config(2, dlq), [kafka_event([0], count // 2), kafka_event([1], count // 2)])),
    ]  # fmt: skip
    results = [measure(name, count, latency, run) for name, _, run in shapes]
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        os.environ.pop(name)
    baseline = arguments.baseline_records
    results.append(measure("baseline: 1 per call, sequential", baseline, latency, lambda _: run_baseline(baseline)))
    print(f"Fake Bedrock: {QUOTA_REQUESTS_PER_SECOND} requests/s, {MAX_CONCURRENT} concurrent, {latency * 1000:.0f} ms "
          f"latency; ceiling {CEILING_DOCUMENTS_PER_SECOND} documents/s\n")  # fmt: skip
    columns = ["batch shape", "records", "seconds", "documents/s", "of ceiling", "records/s", "throttled requests",
               "records lost"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        print(result.row())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
