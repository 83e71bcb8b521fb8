"""The bulk path's last step: documents written as S3 objects (sidecars first), tombstones' objects deleted, and the
stream data source's marker left for the ingestion-job starter (docs/bulk-path.md)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion_jobs.contract import DataSourceRole
from ingestion_jobs.markers import mark_waiting
from stream_ingest.documents import StreamDocument
from stream_ingest.objects import StreamObject, deletion_keys

# Writes in flight at once: 32 PUTs of ~30 ms carry about 1,000 per second, well within S3's 3,500 per prefix.
MAX_WRITES_IN_FLIGHT = 32
KEYS_PER_DELETE_REQUEST = 1_000  # DeleteObjects takes up to 1,000 keys (S3 API reference)


@dataclass
class WriteReport:
    written: list[StreamObject] = field(default_factory=list)
    deleted: list[StreamDocument] = field(default_factory=list)
    requests: int = 0  # PUT and DELETE requests, sidecars and the marker included
    failed: list[tuple[StreamDocument, str]] = field(default_factory=list)  # after botocore's retries


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"
    return f"{type(error).__name__}: {error}"


class ObjectWriter:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket

    def _put(self, item: StreamObject) -> tuple[StreamObject, int, str | None]:
        """The sidecar first: a job that runs between the two writes finds no document yet, rather than a document
        without its metadata."""
        requests = 0
        try:
            for key, body, content_type in ((item.sidecar_key, item.sidecar, "application/json"),
                                            (item.key, item.body, item.content_type)):  # fmt: skip
                requests += 1
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)
        except (ClientError, BotoCoreError) as error:
            return item, requests, _reason(error)
        return item, requests, None

    def write(self, objects: Sequence[StreamObject], deletions: Sequence[StreamDocument]) -> WriteReport:
        report = WriteReport()
        if objects:
            with ThreadPoolExecutor(max_workers=min(MAX_WRITES_IN_FLIGHT, len(objects))) as pool:
                for item, requests, error in pool.map(self._put, objects):
                    report.requests += requests
                    if error is None:
                        report.written.append(item)
                    else:
                        report.failed += [(document, error) for document in item.documents]
        self._delete(deletions, report)
        if report.written or report.deleted:
            report.requests += 1
            mark_waiting(self._s3, self._bucket, DataSourceRole.STREAM)
        return report

    def _delete(self, deletions: Sequence[StreamDocument], report: WriteReport) -> None:
        per_request = KEYS_PER_DELETE_REQUEST // 2  # a document's object and its sidecar
        for start in range(0, len(deletions), per_request):
            chunk = list(deletions[start : start + per_request])
            keys = deletion_keys([document.document_id for document in chunk])
            report.requests += 1
            try:
                response = self._s3.delete_objects(
                    Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
                )
            except (ClientError, BotoCoreError) as error:
                report.failed += [(document, _reason(error)) for document in chunk]
                continue
            errors = {error.get("Key"): f"{error.get('Code')}: {error.get('Message', '')}"
                      for error in response.get("Errors", [])}  # fmt: skip
            for document, document_keys in zip(chunk, (keys[index:index + 2] for index in range(0, len(keys), 2)),
                                                strict=True):  # fmt: skip
                problem = next((errors[key] for key in document_keys if key in errors), None)
                if problem is None:
                    report.deleted.append(document)
                else:
                    report.failed.append((document, problem))
