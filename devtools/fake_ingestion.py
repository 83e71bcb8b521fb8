"""Fakes of S3 and of Bedrock's ingestion jobs that behave as the service does, on a clock the caller gives.

``IngestionJobs`` follows AWS's quota table and the jobs' documented behaviour: one running job per data source and
per knowledge base (``ConflictException``), five per account (``ServiceQuotaExceededException``), StartIngestionJob
at 0.1 requests/s (``ThrottlingException``), at most 5,000,000 files per job (the job fails). A job syncs its data
source's prefix incrementally: it takes the objects new or changed since the last job (an object and its
``.metadata.json`` sidecar are one document) and the ones deleted. Its status is asynchronous (STARTING, IN_PROGRESS,
then COMPLETE) and its duration grows with its documents (CSV rows count one each). A share of the documents fails,
chosen by a hash of the object's key, with a reason; the job's statistics count them and GetKnowledgeBaseDocuments
reports each document's status.

``ObjectStore`` is an in-memory S3 with the calls the bulk path makes (PutObject with If-None-Match, HeadObject,
DeleteObject, DeleteObjects), its request counts, and S3's 3,500 writes per second per prefix (``SlowDown``).

Both take requests as the SDK's clients do (keyword arguments, checked against the botocore models) and answer or
raise ``ClientError`` as botocore would; the local Bedrock endpoint (``devtools.fake_bedrock``) serves the same jobs
over HTTP. The benchmark runs them on a simulated clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from devtools.sdk_model import validate_request

SIDECAR_SUFFIX = ".metadata.json"
RUNNING = ("STARTING", "IN_PROGRESS")
MAX_FILES_PER_JOB = 5_000_000  # Bedrock's quota table
START_INTERVAL_SECONDS = 10.0  # StartIngestionJob: 0.1 requests/s
MAX_RUNNING_JOBS_PER_ACCOUNT = 5
WRITES_PER_SECOND_PER_PREFIX = 3_500  # S3 performance guidelines


def client_error(code: str, message: str, operation: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)  # fmt: skip


def _checked(service: str, operation: str, parameters: dict[str, Any]) -> None:
    problems = validate_request(service, operation, parameters)
    if problems:
        raise client_error("ValidationException", "; ".join(problems), operation)


@dataclass
class StoredObject:
    body: bytes
    etag: str
    modified: float


class ObjectStore:
    """An in-memory S3 bucket set, clocked by the caller."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.buckets: dict[str, dict[str, StoredObject]] = defaultdict(dict)
        self.requests: dict[str, int] = defaultdict(int)  # by operation
        self._writes: dict[tuple[str, str], deque[float]] = defaultdict(deque)  # (bucket, first key part) -> times
        self.slowed_down = 0
        self._lock = threading.Lock()

    def _admit_write(self, bucket: str, key: str, operation: str) -> None:
        """S3 scales per prefix; this fake partitions by the key up to its last '/', which is stricter."""
        now = self.clock()
        recent = self._writes[(bucket, key.rsplit("/", 1)[0])]
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= WRITES_PER_SECOND_PER_PREFIX:
            self.slowed_down += 1
            raise client_error("SlowDown", "Please reduce your request rate.", operation, 503)
        recent.append(now)

    def put_object(self, **parameters: Any) -> dict[str, Any]:
        _checked("s3", "PutObject", parameters)
        bucket, key = parameters["Bucket"], parameters["Key"]
        body = parameters.get("Body", b"")
        body = body.encode() if isinstance(body, str) else bytes(body)
        with self._lock:
            self.requests["PutObject"] += 1
            self._admit_write(bucket, key, "PutObject")
            if parameters.get("IfNoneMatch") == "*" and key in self.buckets[bucket]:
                raise client_error("PreconditionFailed", "At least one of the pre-conditions you specified did not "
                                   "hold", "PutObject", 412)  # fmt: skip
            etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
            self.buckets[bucket][key] = StoredObject(body, etag, self.clock())
        return {"ETag": etag}

    def head_object(self, **parameters: Any) -> dict[str, Any]:
        _checked("s3", "HeadObject", parameters)
        with self._lock:
            self.requests["HeadObject"] += 1
            found = self.buckets[parameters["Bucket"]].get(parameters["Key"])
        if found is None:
            raise client_error("404", "Not Found", "HeadObject", 404)
        return {"ETag": found.etag, "LastModified": datetime.fromtimestamp(found.modified, UTC),
                "ContentLength": len(found.body)}  # fmt: skip

    def delete_object(self, **parameters: Any) -> dict[str, Any]:
        _checked("s3", "DeleteObject", parameters)
        with self._lock:
            self.requests["DeleteObject"] += 1
            self._admit_write(parameters["Bucket"], parameters["Key"], "DeleteObject")
            self.buckets[parameters["Bucket"]].pop(parameters["Key"], None)
        return {}

    def delete_objects(self, **parameters: Any) -> dict[str, Any]:
        _checked("s3", "DeleteObjects", parameters)
        keys = [item["Key"] for item in parameters["Delete"]["Objects"]]
        if len(keys) > 1000:
            raise client_error("MalformedXML", "at most 1,000 keys", "DeleteObjects")
        with self._lock:
            self.requests["DeleteObjects"] += 1
            for key in keys:
                self.buckets[parameters["Bucket"]].pop(key, None)
        return {"Deleted": [{"Key": key} for key in keys]}

    def listing(self, bucket: str, prefix: str) -> dict[str, StoredObject]:
        with self._lock:
            return {key: item for key, item in self.buckets[bucket].items() if key.startswith(prefix)}


@dataclass
class Job:
    job_id: str
    data_source_id: str
    started: float
    ends: float
    documents: dict[str, str | None]  # document key -> failure reason (None: indexed)
    deleted: int
    scanned: int
    failure: str | None = None  # the whole job failed

    def status(self, now: float) -> str:
        if now < self.started + 1:
            return "STARTING"
        if now < self.ends:
            return "IN_PROGRESS"
        return "FAILED" if self.failure else "COMPLETE"


@dataclass
class JobLimits:
    base_seconds: float = 30.0  # a job's fixed cost: crawling, starting, finishing
    documents_per_second: float = 1_000.0  # then this many documents (CSV rows) per second
    failing_share: float = 0.0  # of documents, chosen by a hash of the object's key


@dataclass
class IngestionJobs:
    """Bedrock's ingestion jobs over S3 data sources, for one knowledge base."""

    knowledge_base_id: str
    data_sources: Mapping[str, tuple[str, str]]  # data source ID -> (bucket, prefix)
    listing: Callable[[str, str], Mapping[str, StoredObject]]  # (bucket, prefix) -> objects
    clock: Callable[[], float]
    limits: JobLimits = field(default_factory=JobLimits)
    jobs: list[Job] = field(default_factory=list)
    indexed: dict[str, dict[str, str]] = field(default_factory=dict)  # data source -> key -> version it holds
    statuses: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # document key -> (status, reason)
    other_running_jobs: int = 0  # jobs of other knowledge bases of the account
    starts: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _versions(self, data_source_id: str) -> dict[str, tuple[str, int]]:
        """Document key -> (version: ETags of the object and its sidecar, CSV rows) of what the prefix holds now."""
        bucket, prefix = self.data_sources[data_source_id]
        objects = self.listing(bucket, prefix)
        versions: dict[str, tuple[str, int]] = {}
        for key, item in objects.items():
            if key.endswith(SIDECAR_SUFFIX):
                continue
            sidecar = objects.get(key + SIDECAR_SUFFIX)
            rows = max(1, item.body.count(b"\n") - 1) if key.endswith(".csv") else 1
            versions[key] = (item.etag + (sidecar.etag if sidecar else ""), rows)
        return versions

    def start_ingestion_job(self, **parameters: Any) -> dict[str, Any]:
        _checked("bedrock-agent", "StartIngestionJob", parameters)
        now = self.clock()
        data_source_id = parameters["dataSourceId"]
        with self._lock:
            if self.starts and now - self.starts[-1] < START_INTERVAL_SECONDS:
                self.refused["ThrottlingException"] += 1
                raise client_error("ThrottlingException", "Rate exceeded", "StartIngestionJob", 429)
            running = [job for job in self.jobs if job.status(now) in RUNNING]
            if running:
                self.refused["ConflictException"] += 1
                raise client_error("ConflictException", f"job {running[0].job_id} is running on this knowledge base",
                                   "StartIngestionJob", 409)  # fmt: skip
            if self.other_running_jobs >= MAX_RUNNING_JOBS_PER_ACCOUNT:
                self.refused["ServiceQuotaExceededException"] += 1
                raise client_error("ServiceQuotaExceededException", "5 ingestion jobs run in this account",
                                   "StartIngestionJob", 402)  # fmt: skip
            self.starts.append(now)
            versions = self._versions(data_source_id)
            held = self.indexed.setdefault(data_source_id, {})
            changed = {key: version for key, (version, _) in versions.items() if held.get(key) != version}
            deleted = [key for key in held if key not in versions]
            rows = sum(versions[key][1] for key in changed)
            job = Job(job_id=f"JOB{len(self.jobs):07d}", data_source_id=data_source_id, started=now,
                      ends=now + self.limits.base_seconds + rows / self.limits.documents_per_second,
                      documents={key: self._failure(key) for key in changed}, deleted=len(deleted),
                      scanned=len(versions))  # fmt: skip
            if len(changed) + len(deleted) > MAX_FILES_PER_JOB:
                job.failure = f"the job has {len(changed) + len(deleted):,} files; at most {MAX_FILES_PER_JOB:,}"
                job.documents = {}
            else:
                for key, version in changed.items():
                    held[key] = version
                    self.statuses[key] = ("IN_PROGRESS", None)
                for key in deleted:
                    held.pop(key)
                    self.statuses[key] = ("DELETING", None)
            self.jobs.append(job)
        return {"ingestionJob": self._job_view(job, now)}

    def _failure(self, key: str) -> str | None:
        digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return "fake: the embedding model rejected the content" if digest < self.limits.failing_share else None

    def _job_view(self, job: Job, now: float, summary: bool = False) -> dict[str, Any]:
        status = job.status(now)
        done = status in ("COMPLETE", "FAILED")
        failed = sum(reason is not None for reason in job.documents.values()) if done else 0
        view: dict[str, Any] = {
            "knowledgeBaseId": self.knowledge_base_id, "dataSourceId": job.data_source_id,
            "ingestionJobId": job.job_id, "status": status,
            "startedAt": datetime.fromtimestamp(job.started, UTC),
            "updatedAt": datetime.fromtimestamp(min(now, job.ends) if done else now, UTC),
            "statistics": {"numberOfDocumentsScanned": job.scanned,
                           "numberOfNewDocumentsIndexed": (len(job.documents) - failed) if done else 0,
                           "numberOfDocumentsDeleted": job.deleted if done else 0,
                           "numberOfDocumentsFailed": failed},
        }  # fmt: skip
        if not summary and job.failure:
            view["failureReasons"] = [job.failure]
        return view

    def list_ingestion_jobs(self, **parameters: Any) -> dict[str, Any]:
        _checked("bedrock-agent", "ListIngestionJobs", parameters)
        now = self.clock()
        with self._lock:
            mine = [job for job in self.jobs if job.data_source_id == parameters["dataSourceId"]]
        order = parameters.get("sortBy", {}).get("order", "DESCENDING")
        mine.sort(key=lambda job: job.started, reverse=order == "DESCENDING")
        start = int(parameters.get("nextToken", "0"))
        size = int(parameters.get("maxResults", 10))
        page = mine[start : start + size]
        answer: dict[str, Any] = {"ingestionJobSummaries": [self._job_view(job, now, summary=True) for job in page]}
        if start + size < len(mine):
            answer["nextToken"] = str(start + size)
        return answer

    def get_ingestion_job(self, **parameters: Any) -> dict[str, Any]:
        _checked("bedrock-agent", "GetIngestionJob", parameters)
        for job in self.jobs:
            if job.job_id == parameters["ingestionJobId"]:
                return {"ingestionJob": self._job_view(job, self.clock())}
        raise client_error("ResourceNotFoundException", "no such job", "GetIngestionJob", 404)

    def document_status(self, key: str) -> tuple[str, str | None]:
        now = self.clock()
        for job in reversed(self.jobs):
            if key in job.documents:
                status = job.status(now)
                if status in RUNNING:
                    return "IN_PROGRESS", None
                if job.failure:
                    return "FAILED", job.failure
                reason = job.documents[key]
                return ("FAILED", reason) if reason else ("INDEXED", None)
        return self.statuses.get(key, ("NOT_FOUND", None))

    def get_knowledge_base_documents(self, **parameters: Any) -> dict[str, Any]:
        _checked("bedrock-agent", "GetKnowledgeBaseDocuments", parameters)
        details = []
        for identifier in parameters["documentIdentifiers"]:
            uri = identifier["s3"]["uri"]
            key = uri.split("/", 3)[3]
            status, reason = self.document_status(key)
            detail = {"knowledgeBaseId": self.knowledge_base_id, "dataSourceId": parameters["dataSourceId"],
                      "status": status, "identifier": identifier, "updatedAt": datetime.now(UTC)}  # fmt: skip
            if reason:
                detail["statusReason"] = reason
            details.append(detail)
        return {"documentDetails": details}

    def running(self) -> Iterator[Job]:
        now = self.clock()
        return (job for job in self.jobs if job.status(now) in RUNNING)
