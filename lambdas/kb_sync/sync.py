"""Turning a batch of change notifications into (at most) one ingestion job.

Every message in the queue means "the documents changed, sync them". A job started after the messages
arrived covers all of them, so one job per batch is enough. While a job is running, Bedrock answers
ConflictException: the messages go back to the queue and are tried again after the visibility timeout,
which guarantees that the last change is always synced by a later job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from botocore.exceptions import ClientError

from kb_sync.contract import DEPLOYMENT_TRIGGER

S3_CHANGE_TYPES = ("Object Created", "Object Deleted")
# Errors that mean "not now": the batch is retried later instead of failing.
DEFER_ERRORS = frozenset({"ConflictException", "ThrottlingException", "ServiceQuotaExceededException"})
_MAX_DESCRIPTION = 200


class InvalidMessage(ValueError):
    """A message that is not a change notification this function understands."""


@dataclass(frozen=True)
class ChangeNotice:
    message_id: str
    summary: str  # e.g. "Object Created documents/report.pdf" or "deployment 4f2a..."


def parse_notice(message_id: str, body: str, *, bucket: str, prefix: str) -> ChangeNotice:
    """Validate one SQS message body; raise :class:`InvalidMessage` with the reason."""
    try:
        content = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidMessage(f"body is not JSON: {error.msg}") from None
    except RecursionError:
        raise InvalidMessage("body is JSON nested too deeply to read") from None
    if not isinstance(content, dict):
        raise InvalidMessage("body is not a JSON object")
    if content.get("trigger") == DEPLOYMENT_TRIGGER:
        version = content.get("documentsVersion")
        if not isinstance(version, str) or not version:
            raise InvalidMessage("deployment trigger without documentsVersion")
        data_source = content.get("dataSourceId")
        named = f" for data source {data_source}" if isinstance(data_source, str) and data_source else ""
        return ChangeNotice(message_id, f"{DEPLOYMENT_TRIGGER} {version[:12]}{named}")
    if content.get("source") != "aws.s3" or content.get("detail-type") not in S3_CHANGE_TYPES:
        raise InvalidMessage(f"not an S3 object change event (source={content.get('source')!r}, "
                             f"detail-type={content.get('detail-type')!r})")  # fmt: skip
    detail = content.get("detail")
    if not isinstance(detail, dict):
        raise InvalidMessage("S3 event without detail")
    bucket_detail, object_detail = detail.get("bucket"), detail.get("object")
    if not isinstance(bucket_detail, dict) or not isinstance(object_detail, dict):
        raise InvalidMessage("S3 event whose detail.bucket or detail.object is not an object")
    event_bucket, key = bucket_detail.get("name"), object_detail.get("key")
    if event_bucket != bucket:
        raise InvalidMessage(f"event for bucket {event_bucket!r}, expected {bucket!r}")
    if not isinstance(key, str) or not key.startswith(prefix):
        raise InvalidMessage(f"object key {key!r} is outside the prefix {prefix!r}")
    return ChangeNotice(message_id, f"{content['detail-type']} {key}")


class Outcome(Enum):
    STARTED = "started"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class SyncResult:
    outcome: Outcome
    job_id: str | None = None
    reason: str | None = None


def client_token(notices: list[ChangeNotice]) -> str:
    """Same batch, same token: a redelivered batch finds its job instead of starting a second one."""
    return hashlib.sha256("\n".join(sorted(n.message_id for n in notices)).encode()).hexdigest()


def describe(notices: list[ChangeNotice]) -> str:
    unique = sorted({notice.summary for notice in notices})
    text = f"{len(notices)} change(s): " + "; ".join(unique)
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def start_sync(
    bedrock_agent: Any, *, knowledge_base_id: str, data_source_id: str, notices: list[ChangeNotice]
) -> SyncResult:
    """Start one ingestion job for all ``notices``; defer when Bedrock says not now."""
    try:
        response = bedrock_agent.start_ingestion_job(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            clientToken=client_token(notices),
            description=describe(notices),
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in DEFER_ERRORS:
            return SyncResult(Outcome.DEFERRED, reason=code)
        raise
    return SyncResult(Outcome.STARTED, job_id=response["ingestionJob"]["ingestionJobId"])
