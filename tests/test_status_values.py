"""The Bedrock status values the functions and the doctor act on are the ones the botocore models define."""

from __future__ import annotations

from devtools.sdk_model import service_model
from index_check.contract import FAILED_STATUSES, INDEXED
from index_check.jobs import COMPLETE, UNFINISHED_JOB_STATUSES
from ingestion_jobs.contract import RUNNING_STATUSES

# Accepted, not yet terminal: the indexing check asks again later (and gives up after the bound).
STILL_INDEXING = {"STARTING", "PENDING", "IN_PROGRESS", "DELETING", "DELETE_IN_PROGRESS"}


def enum(service: str, shape: str) -> set[str]:
    return set(service_model(service).shape_for(shape).enum)


def test_the_indexing_check_classifies_every_document_status() -> None:
    statuses = enum("bedrock-agent", "DocumentStatus")
    assert {INDEXED} | FAILED_STATUSES | STILL_INDEXING == statuses
    assert not FAILED_STATUSES & STILL_INDEXING


def test_the_doctor_compares_with_statuses_that_exist() -> None:
    assert "ACTIVE" in enum("bedrock-agent", "KnowledgeBaseStatus")
    assert "AVAILABLE" in enum("bedrock-agent", "DataSourceStatus")
    assert {"COMPLETE", "FAILED"} <= enum("bedrock-agent", "IngestionJobStatus")
    availability = service_model("bedrock").operation_model("GetFoundationModelAvailability").output_shape.members
    assert "AVAILABLE" in set(availability["agreementAvailability"].members["status"].enum)
    assert "AUTHORIZED" in set(availability["authorizationStatus"].enum)
    assert "AVAILABLE" in set(availability["entitlementAvailability"].enum)


def test_the_bulk_path_sorts_every_ingestion_job_status() -> None:
    """The starter waits on the running ones; the check confirms through COMPLETE and waits past the unfinished."""
    statuses = enum("bedrock-agent", "IngestionJobStatus")
    assert RUNNING_STATUSES | UNFINISHED_JOB_STATUSES | {COMPLETE} == statuses
    assert not RUNNING_STATUSES & UNFINISHED_JOB_STATUSES
