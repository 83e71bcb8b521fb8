"""Markers: an object per data source that exists while that data source has changes no ingestion job has taken."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion_jobs.contract import DataSourceRole

# S3's answers to a conditional write whose condition failed: the marker exists already (412 PreconditionFailed), or
# another conditional write of the same key is under way (409 ConditionalRequestConflict); Amazon S3 user guide,
# "Add preconditions to S3 operations with conditional requests". Either way a marker is there, which is all a
# writer needs.
_ALREADY_THERE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


def mark_waiting(s3: Any, bucket: str, role: DataSourceRole) -> bool:
    """Say that ``role``'s data source has changes waiting; an existing marker keeps its (older) time.

    True when this call created the marker."""
    try:
        s3.put_object(Bucket=bucket, Key=role.marker_key, Body=b"", IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _ALREADY_THERE:
            return False
        raise
    return True


def waiting_since(s3: Any, bucket: str, role: DataSourceRole) -> tuple[float, str] | None:
    """(epoch seconds the marker was written, its ETag), or None when nothing waits."""
    try:
        head = s3.head_object(Bucket=bucket, Key=role.marker_key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    modified: datetime = head["LastModified"]
    return modified.timestamp(), str(head.get("ETag", ""))


def clear(s3: Any, bucket: str, role: DataSourceRole) -> None:
    s3.delete_object(Bucket=bucket, Key=role.marker_key)
