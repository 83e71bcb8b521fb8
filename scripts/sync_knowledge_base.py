"""Start a sync of the documents data source and follow it to the end.

    python -m scripts.sync_knowledge_base [--poll-seconds 10] [-c app:namePrefix=...]

The knowledge base and data source IDs come from the deployed knowledge-base stack's outputs (its
name from cdk.json settings). If a job is already running, the command follows that one first and
then starts its own, so the documents as they are now are always synced. Exit status 0 means the
job completed with no failed documents.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from scripts.deployed import DeploymentError, stack_outputs
from scripts.operator_cli import EXIT_PROBLEM, Operator, OperatorError, add_common_arguments, run

ACTIVE = ["STARTING", "IN_PROGRESS", "STOPPING"]
STATISTICS = {
    "scanned": "numberOfDocumentsScanned",
    "new": "numberOfNewDocumentsIndexed",
    "modified": "numberOfModifiedDocumentsIndexed",
    "deleted": "numberOfDocumentsDeleted",
    "failed": "numberOfDocumentsFailed",
    "metadata scanned": "numberOfMetadataDocumentsScanned",
}


class SyncError(RuntimeError):
    pass


def format_statistics(job: dict[str, Any]) -> str:
    statistics = job.get("statistics", {})
    return " ".join(f"{label}={statistics.get(field, 0)}" for label, field in STATISTICS.items())


class Sync:
    def __init__(self, agent: Any, knowledge_base_id: str, data_source_id: str, *, poll_seconds: float = 10,
                 sleep: Callable[[float], None] = time.sleep, out: Callable[[str], None] = print) -> None:  # fmt: skip
        self.agent, self.ids = agent, {"knowledgeBaseId": knowledge_base_id, "dataSourceId": data_source_id}
        self.poll_seconds, self.sleep, self.out = poll_seconds, sleep, out

    def running_job(self) -> str | None:
        summaries = self.agent.list_ingestion_jobs(
            **self.ids,
            filters=[{"attribute": "STATUS", "operator": "EQ", "values": ACTIVE}],
            sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
            maxResults=1,
        )["ingestionJobSummaries"]
        return str(summaries[0]["ingestionJobId"]) if summaries else None

    def start(self) -> str:
        """Start a job; while another runs, follow it to its end and then start ours."""
        while True:
            try:
                job = self.agent.start_ingestion_job(**self.ids, description="Started by sync_knowledge_base")
                return str(job["ingestionJob"]["ingestionJobId"])
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConflictException":
                    raise
            running = self.running_job()
            if running:
                self.out(f"Job {running} is already running; following it first.")
                self.follow(running)
            else:
                self.sleep(self.poll_seconds)  # it just ended; start ours

    def follow(self, job_id: str) -> dict[str, Any]:
        last = None
        while True:
            job: dict[str, Any] = self.agent.get_ingestion_job(**self.ids, ingestionJobId=job_id)["ingestionJob"]
            line = f"{job['status']:<11} {format_statistics(job)}"
            if line != last:
                self.out(f"[{time.strftime('%H:%M:%S')}] {job_id} {line}")
                last = line
            if job["status"] not in ACTIVE:
                return job
            self.sleep(self.poll_seconds)

    def run(self) -> int:
        job_id = self.start()
        self.out(f"Started ingestion job {job_id}.")
        job = self.follow(job_id)
        failed = job.get("statistics", {}).get("numberOfDocumentsFailed", 0)
        for reason in job.get("failureReasons", []):
            self.out(f"  failure: {reason}")
        self.out(f"Finished: {job['status']} ({format_statistics(job)})")
        return 0 if job["status"] == "COMPLETE" and not failed else 1


def sync(arguments: argparse.Namespace, operator: Operator) -> int:
    stack_name = operator.settings.stack_name("knowledge-base")
    outputs = stack_outputs(operator.client("cloudformation"), stack_name)
    missing = [key for key in ("KnowledgeBaseId", "DocumentsDataSourceId") if key not in outputs]
    if missing:
        raise DeploymentError(f"stack {stack_name} has no output {missing[0]}: it runs an older version of the app")
    try:
        return Sync(operator.client("bedrock-agent"), outputs["KnowledgeBaseId"], outputs["DocumentsDataSourceId"],
                    poll_seconds=arguments.poll_seconds).run()  # fmt: skip
    except SyncError as error:
        raise OperatorError(str(error), "see the knowledge base's ingestion jobs in the Bedrock console",
                            EXIT_PROBLEM) from None  # fmt: skip


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    return run(parser(), sync, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
