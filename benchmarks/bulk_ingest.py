"""The bulk path carrying 1,000 records/s for ten minutes of simulated time, through S3 and ingestion jobs.

    python -m benchmarks.bulk_ingest [--rate 1000] [--minutes 10] [--partitions 6] [--job-rate 2000]
                                     [--job-seconds 30] [--failing-share 0.001] [--shapes keys,offsets]

Nothing here waits for real time: a simulated clock runs the event source mapping, the functions and the service.
What runs is the app's own code: the stream function's logic (``stream_ingest.pipeline.process_batch``, bulk path),
the ingestion-job starter (``ingestion_jobs.starter``) and the indexing check's job follower
(``index_check.jobs``). What they call are the fakes of ``devtools.fake_ingestion``: an in-memory S3 that counts
requests and slows down past 3,500 writes/s per prefix, and ingestion jobs with Bedrock's quotas (one job per
knowledge base, 0.1 starts/s), asynchronous status, a duration of ``--job-seconds`` plus one second per
``--job-rate`` documents, and ``--failing-share`` of the documents failing. Every request is checked against the
botocore model.

The mapping delivers one batch per partition at a time: up to the bulk path's 10,000 records, after its 10 s window.
An invocation lasts the CPU time of the function's logic on this machine plus botocore's CPU per PutObject
(measured at the start against a local endpoint), on the function's one vCPU (1,769 MB), or 30 ms for every 32 S3
writes (its writes in flight), whichever is longer. Its objects and messages appear when it ends. The starter
looks every 10 s; the indexing check handles its queue every 10 s. After the offered minutes the producer stops and
the simulation runs until every record is indexed or dead-lettered.

Two topics: key-based IDs (1,000 distinct keys a second out of ten million: one object per key) and an
append-only topic (offset IDs: CSV objects of 1,000 rows). For each: records/s sustained, freshness (Kafka timestamp
to the job's end) p50 and p95, objects, S3 requests, the function's GB-seconds and indexing-check messages per
million records (what the bulk rows of docs/cost.md price), records lost (neither indexed nor dead-lettered), and
the function's peak memory (Python allocations, tracemalloc). It measures and asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import threading
import time
import tracemalloc
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.exceptions import ClientError

from devtools.fake_ingestion import IngestionJobs, JobLimits, ObjectStore, client_error
from devtools.sdk_model import validate_request
from index_check.contract import BULK_RECHECK_SECONDS, PendingCheck
from index_check.jobs import JobHistory, follow_objects
from ingestion_jobs.contract import LOOK_INTERVAL_SECONDS, DataSourceRole
from ingestion_jobs.starter import Starter
from stacks.settings import BULK_FUNCTION_MEMORY_MB, DEFAULT_BATCHING, DEFAULT_PARTITIONS, IngestPath
from stream_ingest.contract import StreamConfig
from stream_ingest.ingest import Pacer
from stream_ingest.mapping import TICKER_PRICES
from stream_ingest.pipeline import process_batch

KB_ID, STREAM_DS, DOCUMENTS_DS = "KB12345678", "DS12345678", "DS87654321"
BUCKET = "kbstream-documents-123456789012-us-east-1"
TOPIC = "ticker-prices"
DEAD_LETTERS, CHECKS = "https://sqs.us-east-1.amazonaws.com/123456789012/dlq", "https://sqs/123456789012/checks"
BATCH_SIZE, BATCH_WINDOW_SECONDS = DEFAULT_BATCHING[IngestPath.BULK]
FUNCTION_VCPU = min(1.0, BULK_FUNCTION_MEMORY_MB / 1769)  # Lambda gives a full vCPU at 1,769 MB
S3_WRITE_SECONDS, WRITES_IN_FLIGHT = 0.030, 32
CHECK_DELAY_SECONDS = 10  # app:streamCheckDelaySeconds' default: the check queue's delivery delay
INDEXED_WITHIN_SECONDS = 3_600

KEYED = {**TICKER_PRICES, "id": "ticker/{key}"}
APPEND_ONLY = {**TICKER_PRICES, "metadata": {"ticker": {"field": "ticker", "type": "string"},
                                             "price": {"field": "price", "type": "string"},
                                             "timestamp": {"field": "value.timestamp", "type": "string"}}}  # fmt: skip
SHAPES = {"keys": ("key-based IDs (one object per key)", KEYED), "offsets": ("offset IDs (CSV objects)", APPEND_ONLY)}


class SimulatedClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class DeferredS3:
    """The function's S3 client for one invocation: its calls take effect (and are checked against the botocore
    model) when the invocation ends; the invocation's time counts them at what botocore costs (see put_cpu_seconds)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_object(self, **parameters: Any) -> dict[str, Any]:
        self.calls.append(("put_object", parameters))
        return {}

    def delete_objects(self, **parameters: Any) -> dict[str, Any]:
        self.calls.append(("delete_objects", parameters))
        return {"Deleted": []}

    def apply(self, store: ObjectStore) -> None:
        for method, parameters in self.calls:
            try:
                getattr(store, method)(**parameters)
            except ClientError as error:  # the marker's conditional write: already there is fine
                if error.response["Error"]["Code"] != "PreconditionFailed":
                    raise


class CapturingSqs:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []  # (queue URL, body)

    def send_message_batch(self, **parameters: Any) -> dict[str, Any]:
        problems = validate_request("sqs", "SendMessageBatch", parameters)
        if problems:
            raise client_error("InvalidParameterValue", "; ".join(problems), "SendMessageBatch")
        self.sent += [(parameters["QueueUrl"], entry["MessageBody"]) for entry in parameters["Entries"]]
        return {"Successful": [], "Failed": []}


@dataclass
class Partition:
    number: int
    next_offset: int = 0
    waiting: deque[tuple[int, float, str]] = field(default_factory=deque)  # (offset, produced at, key)
    busy_until: float = 0.0


@dataclass
class Result:
    shape: str
    offered: int
    delivered: int = 0
    indexed: int = 0
    dead_lettered: int = 0
    freshness: list[float] = field(default_factory=list)
    invocations: int = 0
    function_seconds: float = 0.0  # every invocation's duration, summed
    check_messages: int = 0  # indexing-check messages sent, requeues included
    longest_invocation: float = 0.0
    peak_memory_mb: float = 0.0
    objects: int = 0
    s3_requests: int = 0
    jobs: int = 0
    refused_starts: int = 0
    slowed_down: int = 0
    last_delivery: float = 0.0
    offered_seconds: float = 0.0

    def row(self) -> str:
        per_million = 1_000_000 / max(1, self.offered)
        lost = self.offered - self.indexed - self.dead_lettered
        p50, p95 = (statistics.quantiles(self.freshness, n=100)[index] for index in (49, 94))
        sustained = self.delivered / max(self.last_delivery, self.offered_seconds)
        gb_seconds = self.function_seconds * BULK_FUNCTION_MEMORY_MB / 1024 * per_million
        return (f"| {self.shape} | {self.offered:,} | {sustained:,.0f} | {p50:,.0f} / {p95:,.0f} | "
                f"{self.objects * per_million:,.0f} | {self.s3_requests * per_million:,.0f} | "
                f"{gb_seconds:,.0f} | {self.check_messages * per_million:,.0f} | {self.jobs} | "
                f"{self.dead_lettered:,} | {lost:,} | {self.longest_invocation:.1f} | "
                f"{self.peak_memory_mb:.0f} |")  # fmt: skip


def put_cpu_seconds(calls: int = 2_000) -> float:
    """The CPU seconds one PutObject costs the caller in botocore (serializing, checksumming, signing, HTTP), measured
    on this machine against a local endpoint; the calling thread's CPU only, not the endpoint's."""
    import botocore.session
    from botocore.config import Config

    class Endpoint(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_PUT(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("ETag", '"0"')
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    session = botocore.session.get_session()
    session.set_credentials("benchmark", "benchmark")
    s3 = session.create_client("s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                               config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    body = json.dumps({"metadataAttributes": {"ticker": {"value": {"type": "STRING", "stringValue": "T1"}}}}).encode()
    for index in range(100):  # warm: connections, caches
        s3.put_object(Bucket=BUCKET, Key=f"stream/documents/00/{index}.txt", Body=body)
    began = time.thread_time()
    for index in range(calls):
        s3.put_object(Bucket=BUCKET, Key=f"stream/documents/00/{index}.txt", Body=body, ContentType="text/plain")
    spent = (time.thread_time() - began) / calls
    server.shutdown()
    return spent


def record(partition: int, offset: int, produced_at: float, key: str, index: int) -> dict[str, Any]:
    value = json.dumps({"ticker": f"T{index % 500}", "price": f"${index % 9000 + 1}.25", "timestamp": produced_at})
    return {"topic": TOPIC, "partition": partition, "offset": offset, "timestamp": int(produced_at * 1000),
            "timestampType": "CREATE_TIME", "headers": [], "value": base64.b64encode(value.encode()).decode(),
            "key": base64.b64encode(key.encode()).decode()}  # fmt: skip


def simulate(shape: str, mapping: dict[str, Any], arguments: argparse.Namespace, put_cpu: float) -> Result:
    clock = SimulatedClock(1_800_000_000.0)
    store = ObjectStore(clock)
    jobs = IngestionJobs(KB_ID, {STREAM_DS: (BUCKET, "stream/"), DOCUMENTS_DS: (BUCKET, "documents/")},
                         store.listing, clock, JobLimits(base_seconds=arguments.job_seconds,
                                                         documents_per_second=arguments.job_rate,
                                                         failing_share=arguments.failing_share))  # fmt: skip
    starter = Starter(jobs, store, knowledge_base_id=KB_ID, bucket=BUCKET,
                      data_sources={DataSourceRole.DOCUMENTS: DOCUMENTS_DS, DataSourceRole.STREAM: STREAM_DS},
                      clock=clock, sleep=lambda seconds: None)  # fmt: skip
    config = StreamConfig(knowledge_base_id=KB_ID, knowledge_base_name="kb", data_source_id=STREAM_DS,
                          data_source_name="kbstream-stream-bulk", dead_letter_queue_url=DEAD_LETTERS,
                          check_queue_url=CHECKS, document_mapping=mapping, quota_requests_per_second=5,
                          topic_partitions=arguments.partitions, partial_batch_response=False,
                          object_bucket=BUCKET)  # fmt: skip
    seconds = int(arguments.minutes * 60)
    result = Result(shape=SHAPES[shape][0], offered=arguments.rate * seconds, offered_seconds=seconds)
    partitions = [Partition(number) for number in range(arguments.partitions)]
    ending: list[tuple[float, DeferredS3, CapturingSqs, int]] = []  # invocations in flight
    checks: list[tuple[float, PendingCheck]] = []  # (visible at, message)
    produced = 0
    start = clock.now
    pacer = Pacer(1_000, clock=clock, sleep=lambda seconds: None)  # the check's pace, on the simulated clock
    while True:
        now = clock.now - start
        if now < seconds:  # the producer: the rate spread over partitions, keys out of ten million
            for index in range(produced, produced + arguments.rate):
                target = partitions[index % len(partitions)]
                target.waiting.append((target.next_offset, clock.now + (index - produced) / arguments.rate,
                                       f"K{(index * 7_919) % 10_000_000}"))  # fmt: skip
                target.next_offset += 1
            produced += arguments.rate
        for partition in partitions:  # the event source mapping: one batch per partition at a time
            if not partition.waiting or partition.busy_until > clock.now:
                continue
            full = len(partition.waiting) >= BATCH_SIZE
            if not full and clock.now - partition.waiting[0][1] < BATCH_WINDOW_SECONDS and now < seconds:
                continue
            batch = [partition.waiting.popleft() for _ in range(min(BATCH_SIZE, len(partition.waiting)))]
            event = {"eventSource": "aws:kafka", "records": {f"{TOPIC}-{partition.number}": [
                record(partition.number, offset, at, key, offset) for offset, at, key in batch]}}  # fmt: skip
            s3, sqs = DeferredS3(), CapturingSqs()
            tracemalloc.start()  # the function's allocations only, not the fakes'
            began = time.thread_time()
            outcome = process_batch(event, config, agent=None, sqs=sqs, s3=s3)
            spent = time.thread_time() - began
            result.peak_memory_mb = max(result.peak_memory_mb, tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
            writes = len(s3.calls)
            # CPU: the function's own work, measured, plus what botocore costs per write; the writes' latency
            # overlaps with it across the threads in flight.
            cpu = spent + writes * put_cpu
            duration = max(cpu / FUNCTION_VCPU, -(-writes // WRITES_IN_FLIGHT) * S3_WRITE_SECONDS)
            partition.busy_until = clock.now + duration
            ending.append((clock.now + duration, s3, sqs, outcome.records))
            result.objects += outcome.objects
            result.invocations += 1
            result.function_seconds += duration
            result.longest_invocation = max(result.longest_invocation, duration)
        for done in [item for item in ending if item[0] <= clock.now + 1]:  # invocations ending within the second
            ending.remove(done)
            ended_at, s3, sqs, delivered = done
            saved, clock.now = clock.now, ended_at
            s3.apply(store)
            clock.now = saved
            result.delivered += delivered
            result.last_delivery = ended_at - start
            for queue, body in sqs.sent:
                if queue == CHECKS:
                    result.check_messages += 1
                    check = PendingCheck.parse(body)
                    checks.append((ended_at + CHECK_DELAY_SECONDS, PendingCheck(ended_at, check.documents)))
                else:
                    result.dead_lettered += 1
        if int(now) % LOOK_INTERVAL_SECONDS == 0:
            starter.step()
            history = JobHistory(jobs, knowledge_base_id=KB_ID, data_source_id=STREAM_DS)
            visible = [item for item in checks if item[0] <= clock.now]
            for item in visible:
                checks.remove(item)
                followed = follow_objects(jobs, item[1], history=history, knowledge_base_id=KB_ID,
                                          data_source_id=STREAM_DS, bucket=BUCKET, pacer=pacer,
                                          now=clock.now, indexed_within_seconds=INDEXED_WITHIN_SECONDS)  # fmt: skip
                records = sum(len(document.sources) for document in item[1].documents)
                waiting = sum(len(document.sources) for document in followed.still_pending)
                result.indexed += records - waiting - len(followed.letters)
                result.dead_lettered += len(followed.letters)
                result.freshness += followed.freshness_seconds
                if followed.still_pending:
                    result.check_messages += 1
                    checks.append((clock.now + BULK_RECHECK_SECONDS,
                                   PendingCheck(item[1].accepted_at, tuple(followed.still_pending))))  # fmt: skip
        drained = now >= seconds and not ending and not checks and not any(p.waiting for p in partitions)
        if drained or now > seconds + 4 * 3600:
            break
        clock.now += 1
    result.s3_requests = sum(store.requests.values())
    result.jobs = len(jobs.jobs)
    result.refused_starts = sum(jobs.refused.values())
    result.slowed_down = store.slowed_down
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="records offered per second")
    parser.add_argument("--minutes", type=float, default=10, help="simulated minutes of offered records")
    parser.add_argument(
        "--partitions",
        type=int,
        default=DEFAULT_PARTITIONS[IngestPath.BULK],
        help="the topic's partitions (the bulk path's default)",
    )
    parser.add_argument("--job-rate", type=float, default=2000, help="documents an ingestion job indexes a second")
    parser.add_argument("--job-seconds", type=float, default=30, help="an ingestion job's fixed seconds")
    parser.add_argument("--failing-share", type=float, default=0.001, help="share of documents a job fails")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"of {', '.join(SHAPES)}")
    arguments = parser.parse_args(argv)
    put_cpu = put_cpu_seconds()
    print(f"{arguments.rate:,} records/s for {arguments.minutes:g} simulated minutes on {arguments.partitions} "
          f"partitions; ingestion jobs: {arguments.job_seconds:g} s + 1 s per {arguments.job_rate:,.0f} documents, "
          f"{arguments.failing_share:.1%} failing; botocore's PutObject costs {put_cpu * 1000:.2f} ms of CPU "
          "here\n")  # fmt: skip
    print("| topic | records | records/s sustained | freshness p50 / p95 (s) | objects per million records | "
          "S3 requests per million records | function GB-s per million records | check messages per million "
          "records | ingestion jobs | records dead-lettered | records lost | longest invocation (s) | "
          "function peak memory (MB) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for shape in arguments.shapes.split(","):
        began = time.perf_counter()
        result = simulate(shape, SHAPES[shape][1], arguments, put_cpu)
        print(result.row(), flush=True)
        extra = (f"  ({time.perf_counter() - began:.0f} s to simulate; {result.invocations} invocations, "
                 f"{result.refused_starts} job starts refused, {result.slowed_down} S3 SlowDown answers)")  # fmt: skip
        print(extra, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
