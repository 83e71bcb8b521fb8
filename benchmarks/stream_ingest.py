"""Throughput of stream ingest against Bedrock's IngestKnowledgeBaseDocuments quotas, for each batch shape.

    python -m benchmarks.stream_ingest [--records 1000] [--latency 0.2] [--indexing 2] [--failing-share 0.01]
                                       [--formats tickers,tickets,avro] [--mapping-records 20000]

A local fake of the Bedrock endpoint enforces 5 requests/s and 10 concurrent requests and answers after
``--latency`` seconds; at most 10 documents fit a request, so no client can exceed 50 documents/s (the
ceiling). The stream function's logic (``stream_ingest.pipeline.process_batch``, what the handler runs)
ingests the records in the shapes an MSK event source mapping delivers:

- one partition per invocation, on a topic of one partition;
- all partitions in one invocation, on a topic of two;
- one invocation per partition at the same time, on a topic of two (two threads);
- key-based document IDs: 10,000 records of 17 tickers, all partitions in one invocation;

each in three record formats (``--formats``): the sample's ticker prices (JSON, about 80 bytes), support
tickets (JSON of about 2 KB checked against a JSON Schema, five metadata fields) and sensor readings in
Avro (Confluent wire format);

then follows every accepted document with the indexing check's logic (``index_check.checks``) until
it is INDEXED or dead-lettered: the fake indexes asynchronously, after ``--indexing`` seconds, and
fails ``--failing-share`` of the documents. Next to it runs the original sample's approach: one
document per call, one call after the other, random IDs. Each invocation paces at the share of the
quota its batch's partitions hold. Last, the function's own CPU cost of mapping: records turned into
documents and requests per second (decoding, schema validation, templates, metadata), with no network.
The script measures and prints; it asserts nothing.
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
from dataclasses import dataclass, replace
from typing import Any

from devtools.fake_bedrock import FakeState, Limits
from function_runtime.contract import RuntimeConfig
from function_runtime.environment import as_environment
from stream_ingest.contract import StreamConfig
from stream_ingest.mapping import TICKER_PRICES

KB_NAME = "kbstream-knowledge-base-0123abcd"
TOPIC = "ticker-prices"
QUOTA_REQUESTS_PER_SECOND = 5
QUOTA_HEADROOM = 0.95  # as the stacks set it
MAX_CONCURRENT = 10
CEILING_DOCUMENTS_PER_SECOND = QUOTA_REQUESTS_PER_SECOND * 10
OPERATION = "IngestKnowledgeBaseDocuments"
BATCH_SIZE = 500  # records per invocation: streamBatchSize's default
STATUS_REQUESTS_PER_SECOND = 10  # shared by the two check invocations (the fake does not limit them)
CHECK_DELAY_SECONDS = 2.0  # the check queue's delivery delay (streamCheckDelaySeconds, 10 s by default)
CHECK_ROUND_SECONDS = 1.0  # documents still indexing are checked again this much later


@dataclass(frozen=True)
class Result:
    name: str
    records: int
    documents: int
    seconds: float
    accepted_calls: int
    throttles: int
    freshness: list[float]  # seconds from each record's Kafka timestamp to its document's confirmed INDEXED
    dead_lettered: int  # records whose document failed to index, with the reason
    lost: int  # records neither indexed nor dead-lettered

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds

    def row(self) -> str:
        calls = self.accepted_calls + self.throttles
        throttled = self.throttles / calls if calls else 0.0
        p50, p95 = (_percentile(self.freshness, share) for share in (0.5, 0.95))
        return (
            f"| {self.name} | {self.records} | {self.seconds:.1f} | {self.documents_per_second:.1f} | "
            f"{self.documents_per_second / CEILING_DOCUMENTS_PER_SECOND:.0%} | {self.records / self.seconds:.1f} | "
            f"{self.throttles} ({throttled:.1%}) | {p50} / {p95} | {self.dead_lettered} | {self.lost} |"
        )


def _percentile(values: list[float], share: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(share * len(ordered)))]:.1f}"


TICKETS: dict[str, Any] = {
    "format": "json",
    "schema": {"type": "object", "required": ["id", "subject", "body", "priority"], "properties": {
        "id": {"type": "integer"}, "subject": {"type": "string", "maxLength": 200}, "body": {"type": "string"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "tags": {"type": "array", "items": {"type": "string"}},
        "opened": {"type": "number"}, "customer": {"type": "object", "properties": {"tier": {"type": "string"}}}}},
    "id": "ticket/{id}",
    "text": "{subject}\n\nOpened {opened:%Y-%m-%d %H:%M} UTC, priority {priority}, {customer.tier} customer.\n\n{body}",
    "metadata": {"priority": "priority", "tags": {"field": "tags", "type": "stringList"}, "tier": "customer.tier",
                 "opened": {"field": "opened", "type": "number"}, "subject": "subject"},
}  # fmt: skip
READINGS: dict[str, Any] = {
    "format": "avro",
    "framing": "confluent",
    "schema": {"type": "record", "name": "Reading", "fields": [
        {"name": "sensor", "type": "string"}, {"name": "site", "type": "string"}, {"name": "celsius", "type": "double"},
        {"name": "humidity", "type": "double"}, {"name": "at", "type": "double"}]},
    "id": "offset",
    "text": "Sensor {sensor} at {site} read {celsius:.1f} C and {humidity:.0f}% humidity at {at:%H:%M:%S} UTC.",
    "metadata": {"sensor": "sensor", "site": "site", "celsius": "celsius"},
}  # fmt: skip
_BODY = "The nightly export stops at 90 percent and the log shows a timeout on the storage call. " * 21


def ticker_value(index: int, keys: int) -> tuple[str, bytes]:
    ticker = f"T{index % keys:03d}"
    value = {"ticker": ticker, "price": f"${1000 + index:,}.25", "timestamp": 1771151400 + index}
    return ticker, json.dumps(value).encode()


def ticket_value(index: int, keys: int) -> tuple[str, bytes]:
    value = {"id": index, "subject": f"Export stalls ({index})", "body": _BODY, "priority": 1 + index % 5,
             "tags": ["export", "storage"], "opened": 1771151400 + index, "customer": {"tier": "gold"}}  # fmt: skip
    return f"ticket-{index}", json.dumps(value).encode()


def reading_value(index: int, keys: int) -> tuple[str, bytes]:
    from stream_ingest.formats import encode_value
    from stream_ingest.mapping import parse_mapping

    value = {"sensor": f"s-{index % keys}", "site": "north", "celsius": 20 + index % 10 / 3, "humidity": 40.0,
             "at": 1771151400.0 + index}  # fmt: skip
    return str(value["sensor"]), encode_value(parse_mapping(READINGS), value)  # in the Confluent wire format


# Format name -> (mapping, value factory).
FORMATS: dict[str, tuple[dict[str, Any], Callable[[int, int], tuple[str, bytes]]]] = {
    "tickers": (dict(TICKER_PRICES), ticker_value),
    "tickets": (TICKETS, ticket_value),
    "avro": (READINGS, reading_value),
}


def kafka_event(partitions: list[int], count: int, keys: int = 500,
                value_of: Callable[[int, int], tuple[str, bytes]] = ticker_value) -> dict[str, Any]:  # fmt: skip
    """``count`` keyed records (``keys`` distinct keys) spread over ``partitions``, published now."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    published_ms = int(time.time() * 1000)
    for index in range(count):
        partition = partitions[index % len(partitions)]
        offset = index // len(partitions)
        key, value = value_of(index, keys)
        by_partition.setdefault(f"{TOPIC}-{partition}", []).append({
            "topic": TOPIC, "partition": partition, "offset": offset, "timestamp": published_ms,
            "timestampType": "CREATE_TIME", "headers": [], "key": base64.b64encode(key.encode()).decode(),
            "value": base64.b64encode(value).decode()})  # fmt: skip
    return {"eventSource": "aws:kafka", "records": by_partition}


def mapping_rate(mapping: dict[str, Any], value_of: Callable[[int, int], tuple[str, bytes]], count: int) -> float:
    """Records per second the function turns into documents and requests, with no network (one CPU)."""
    from stream_ingest.documents import plan_requests, winners
    from stream_ingest.pipeline import decoder_for
    from stream_ingest.records import document_part, kafka_records

    config = stream_config(1, "https://dlq", mapping)
    event = kafka_event([0], count, keys=count, value_of=value_of)
    decoder = decoder_for(config)
    started = time.process_time()
    parts = [document_part(record, decoder) for record in kafka_records(event)]
    list(plan_requests(winners(parts).documents))
    return count / (time.process_time() - started)


def stream_config(topic_partitions: int, dead_letters: str, mapping: dict[str, Any] | None = None) -> StreamConfig:
    return StreamConfig(
        knowledge_base_id="KB12345678",
        knowledge_base_name=KB_NAME,
        data_source_id="DS12345678",
        data_source_name="kbstream-stream",
        dead_letter_queue_url=dead_letters,
        check_queue_url=dead_letters.replace("/dlq", "/checks"),
        document_mapping=mapping or dict(TICKER_PRICES),
        quota_requests_per_second=QUOTA_REQUESTS_PER_SECOND * QUOTA_HEADROOM,
        topic_partitions=topic_partitions,
        partial_batch_response=False,
    )


def batches(event: dict[str, Any], size: int) -> list[dict[str, Any]]:
    """The event as the mapping delivers it with a batch size: records in order, ``size`` per invocation."""
    records = [record for partition in event["records"].values() for record in partition]
    records.sort(key=lambda record: (record["offset"], record["partition"]))
    split = []
    for start in range(0, len(records), size):
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for record in records[start : start + size]:
            by_partition.setdefault(f"{TOPIC}-{record['partition']}", []).append(record)
        split.append({"eventSource": "aws:kafka", "records": by_partition})
    return split


def invocations(config: StreamConfig, events: list[dict[str, Any]], batch_size: int = BATCH_SIZE) -> int:
    """One poller per event, all at the same time, each invoking the function on its event's batches in
    turn (as the mapping does per partition); the documents ingested."""
    from function_runtime.aws_clients import client
    from stream_ingest.pipeline import process_batch

    ingested: list[int] = []

    def invoke(event: dict[str, Any]) -> None:
        for batch in batches(event, batch_size):
            outcome = process_batch(batch, config, agent=client("bedrock-agent"), sqs=client("sqs"))
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


class Confirmer(threading.Thread):
    """The indexing check as deployed, beside ingestion: check messages are due ``CHECK_DELAY_SECONDS``
    after acceptance, two invocations at a time share the status-request budget, and documents still
    indexing are checked again ``CHECK_ROUND_SECONDS`` later."""

    def __init__(self, checks_url: str) -> None:
        super().__init__(daemon=True)
        self.checks_url = checks_url
        self.ingest_done = threading.Event()
        self.freshness: list[float] = []
        self.dead_lettered = 0

    def run(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from function_runtime.aws_clients import client
        from index_check.contract import PendingCheck

        sqs = client("sqs")
        pending: list[tuple[float, str]] = []  # (due, check message body)
        lock = threading.Lock()

        def collect(future: Any) -> None:
            freshness, dead_lettered, again = future.result()
            with lock:
                self.freshness.extend(freshness)
                self.dead_lettered += dead_lettered
                if again is not None:
                    pending.append((time.time() + CHECK_ROUND_SECONDS, again))

        # Two processes, as two Lambda invocations: the status checks never compete with ingestion for a CPU.
        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
            in_flight: list[Any] = []
            while True:
                messages = sqs.receive_message(QueueUrl=self.checks_url, MaxNumberOfMessages=10).get("Messages", [])
                for message in messages:
                    due = PendingCheck.parse(message["Body"]).accepted_at + CHECK_DELAY_SECONDS
                    with lock:
                        pending.append((due, message["Body"]))
                    sqs.delete_message(QueueUrl=self.checks_url, ReceiptHandle=message["ReceiptHandle"])
                now = time.time()
                with lock:
                    due_now = [body for when, body in pending if when <= now]
                    pending[:] = [(when, body) for when, body in pending if when > now]
                for body in due_now:
                    future = pool.submit(examine, body)
                    future.add_done_callback(collect)
                    in_flight.append(future)
                in_flight = [future for future in in_flight if not future.done()]
                with lock:
                    idle = not pending and not in_flight and not messages
                if idle and self.ingest_done.is_set():
                    return
                time.sleep(0.5)


_status_pacer: Any = None


def examine(body: str) -> tuple[list[float], int, str | None]:
    """One check message, in a worker process: (freshness of indexed records, records dead-lettered,
    the message of documents still indexing, or None)."""
    global _status_pacer
    from function_runtime.aws_clients import client
    from index_check.checks import check_documents
    from index_check.contract import PendingCheck
    from stream_ingest.ingest import Pacer

    if _status_pacer is None:
        _status_pacer = Pacer(STATUS_REQUESTS_PER_SECOND / 2)
    check = PendingCheck.parse(body)
    outcome = check_documents(client("bedrock-agent"), check, knowledge_base_id="KB12345678",
                              data_source_id="DS12345678", pacer=_status_pacer, now=time.time(),
                              indexed_within_seconds=600)  # fmt: skip
    again = PendingCheck(check.accepted_at, tuple(outcome.still_pending)).body() if outcome.still_pending else None
    return outcome.freshness_seconds, len(outcome.letters), again


def measure(name: str, records: int, limits: Limits, run: Callable[[str], int], confirmed: bool = True) -> Result:
    """``run(dead_letter_queue_url)`` returns the documents ingested; each run gets a fresh fake."""
    from moto import mock_aws

    from devtools.fake_bedrock import fake_bedrock_agent
    from function_runtime import aws_clients

    state: FakeState
    with fake_bedrock_agent(limits) as (url, state):
        os.environ["AWS_ENDPOINT_URL_BEDROCK_AGENT"] = url
        with mock_aws(config={"core": {"passthrough": {"services": ["bedrock-agent"]}}}):
            import boto3

            queue_url = boto3.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
            checks_url = boto3.client("sqs").create_queue(QueueName="checks")["QueueUrl"]
            aws_clients.client.cache_clear()
            confirmer = Confirmer(checks_url)
            if confirmed:
                confirmer.start()
            started = time.perf_counter()
            documents = run(queue_url)
            seconds = time.perf_counter() - started
            confirmer.ingest_done.set()
            if confirmed:
                confirmer.join()
            freshness, dead_lettered = confirmer.freshness, confirmer.dead_lettered
        accepted = sum(1 for operation, _ in state.requests if operation == OPERATION)
        lost = records - len(freshness) - dead_lettered if confirmed else records - documents
        return Result(name, records, documents, seconds, accepted, state.throttled, freshness, dead_lettered, lost)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1000, help="records per shape")
    parser.add_argument("--baseline-records", type=int, default=100, help="the baseline is slow: fewer records")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the fake takes per request")
    parser.add_argument("--indexing", type=float, default=2.0, help="seconds the fake takes to index a document")
    parser.add_argument("--failing-share", type=float, default=0.01, help="share of documents that fail to index")
    parser.add_argument("--ticker-records", type=int, default=10_000, help="records of the key-based shape")
    parser.add_argument("--formats", default=",".join(FORMATS), help="record formats to measure, comma-separated")
    parser.add_argument("--mapping-records", type=int, default=20_000, help="records for the mapping's CPU cost")
    arguments = parser.parse_args(argv)
    count, latency = arguments.records, arguments.latency
    limits = Limits(requests_per_second={OPERATION: QUOTA_REQUESTS_PER_SECOND}, max_concurrent=MAX_CONCURRENT,
                    latency_seconds=latency, indexing_seconds=arguments.indexing,
                    failing_share=arguments.failing_share)  # fmt: skip
    os.environ.update({"AWS_ACCESS_KEY_ID": "benchmark", "AWS_SECRET_ACCESS_KEY": "benchmark",
                       "AWS_DEFAULT_REGION": "us-east-1"})  # fmt: skip
    runtime = RuntimeConfig(service="stream_ingest", metrics_namespace="benchmark", tracer_disabled=True,
                            log_level="WARNING")  # fmt: skip
    os.environ.update(as_environment(runtime))
    formats = [name.strip() for name in arguments.formats.split(",") if name.strip()]
    results: list[Result] = []
    for format_name in formats:
        mapping, value_of = FORMATS[format_name]

        def event(partitions: list[int], records: int, value_of: Any = value_of) -> dict[str, Any]:
            return kafka_event(partitions, records, value_of=value_of)

        def config(partitions: int, dlq: str, mapping: dict[str, Any] = mapping) -> StreamConfig:
            return stream_config(partitions, dlq, mapping)

        shapes: list[tuple[str, Callable[[str], int]]] = [
            ("one partition per invocation (topic of 1)", lambda dlq: invocations(config(1, dlq), [event([0], count)])),
            ("all partitions in one invocation (topic of 2)",
             lambda dlq: invocations(config(2, dlq), [event([0, 1], count)])),
            ("one invocation per partition at once (topic of 2)",
             lambda dlq: invocations(config(2, dlq), [event([0], count // 2), event([1], count // 2)])),
        ]  # fmt: skip
        results += [measure(f"{format_name}: {name}", count, limits, run) for name, run in shapes]
    ticker_records = arguments.ticker_records
    per_key = [kafka_event([0, 1], ticker_records, keys=17)]
    name = f"tickers: key-based IDs, {ticker_records} records of 17 keys (topic of 2)"
    key_config = stream_config(2, "", {**TICKER_PRICES, "id": "ticker/{key}"})
    results.append(measure(name, ticker_records, limits, lambda dlq: invocations(
        replace(key_config, dead_letter_queue_url=dlq, check_queue_url=dlq.replace("/dlq", "/checks")),
        per_key, batch_size=ticker_records)))  # fmt: skip
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS"):
        os.environ.pop(name)
    baseline = arguments.baseline_records
    results.append(measure("baseline: 1 per call, sequential", baseline, limits, lambda _: run_baseline(baseline),
                           confirmed=False))  # fmt: skip
    print(f"Fake Bedrock: {QUOTA_REQUESTS_PER_SECOND} requests/s, {MAX_CONCURRENT} concurrent, {latency * 1000:.0f} ms "
          f"latency, indexing after {arguments.indexing:.1f} s, {arguments.failing_share:.0%} failing; ceiling "
          f"{CEILING_DOCUMENTS_PER_SECOND} documents/s\n")  # fmt: skip
    columns = ["batch shape", "records", "ingest seconds", "documents/s", "of ceiling", "records/s",
               "throttled requests", "freshness p50 / p95 (s)", "records dead-lettered", "records lost"]  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        print(result.row())
    print(
        "\nThe function's CPU cost of mapping (no network, one CPU; the best of three runs, since a shared machine's "
        "speed varies from run to run):\n"
    )
    print("| format | records | records/s |")
    print("|---|---|---|")
    for format_name in formats:
        mapping, value_of = FORMATS[format_name]
        rate = max(mapping_rate(mapping, value_of, arguments.mapping_records) for _ in range(3))
        print(f"| {format_name} | {arguments.mapping_records} | {rate:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
