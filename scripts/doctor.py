"""Is the deployed pipeline healthy? Checks every part of the app and prints a table with the fixes.

    python -m scripts.doctor [--probe] [--region R] [--profile P] [-c app:key=value]

Exit status 0 when no check fails, 1 when one does, 2 for configuration problems (see
``scripts.operator_cli``). ``--probe`` also publishes one marked record, waits until the query
function retrieves it, reports the measured freshness and deletes the record's document again.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from scripts.deployed import settings_with
from scripts.invoke_function import invoke
from scripts.operator_cli import EXIT_OK, EXIT_PROBLEM, Operator, add_common_arguments, explain, run
from stacks.foundation.operator_policy import operator_policy
from stream_ingest.mapping import DocumentMapping, IdKind, RecordView

STACK_PARTS = ("storage", "knowledge-base", "network", "streaming", "query", "monitoring")
OFFSET_LAG_WARNING = 1000  # records; the monitoring stack alarms from the same level
PROBE_POLL_SECONDS = 5.0


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    evidence: str
    fix: str = ""


class MissingOutput(LookupError):
    """A stack the check needs is not deployed, or lacks the output."""


class Doctor:
    def __init__(
        self, operator: Operator, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.operator = operator
        self.settings = operator.settings
        self.clock, self.sleep = clock, sleep
        self._outputs: dict[str, dict[str, str]] = {}

    # --- helpers ---------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        return self.operator.client(service)

    def output(self, part: str, key: str) -> str:
        outputs = self._outputs.get(part)
        if outputs is None or key not in outputs:
            raise MissingOutput(f"{self.settings.stack_name(part)} has no output {key}")
        return outputs[key]

    # --- checks ----------------------------------------------------------------------------------

    def stacks(self) -> Iterator[Check]:
        cloudformation = self.client("cloudformation")
        for part in STACK_PARTS:
            name = self.settings.stack_name(part)
            try:
                (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ValidationError":
                    raise
                yield Check(f"stack {name}", Status.FAIL, "not deployed", "make deploy")
                continue
            status = stack["StackStatus"]
            self._outputs[part] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            if status.endswith("_COMPLETE") and "ROLLBACK" not in status:
                yield Check(f"stack {name}", Status.OK, status)
            elif status.endswith("_IN_PROGRESS"):
                yield Check(f"stack {name}", Status.WARN, status, "wait for the deployment to finish")
            else:
                reason = stack.get("StackStatusReason", "")
                yield Check(
                    f"stack {name}",
                    Status.FAIL,
                    f"{status} {reason}".strip(),
                    "read the stack's events in the CloudFormation console, fix, then make deploy",
                )

    def knowledge_base(self) -> Iterator[Check]:
        agent = self.client("bedrock-agent")
        knowledge_base_id = self.output("knowledge-base", "KnowledgeBaseId")
        found = agent.get_knowledge_base(knowledgeBaseId=knowledge_base_id)["knowledgeBase"]
        active = found["status"] == "ACTIVE"
        yield Check(
            "knowledge base",
            Status.OK if active else Status.FAIL,
            f"{found['name']} {found['status']}",
            "" if active else "; ".join(found.get("failureReasons", [])) or "make deploy",
        )
        for key in ("DocumentsDataSourceId", "StreamDataSourceId"):
            source = agent.get_data_source(
                knowledgeBaseId=knowledge_base_id, dataSourceId=self.output("knowledge-base", key)
            )["dataSource"]
            available = source["status"] == "AVAILABLE"
            yield Check(
                f"data source {source['name']}",
                Status.OK if available else Status.FAIL,
                source["status"],
                "" if available else "; ".join(source.get("failureReasons", [])) or "make deploy",
            )
        index_arn = self.output("knowledge-base", "VectorIndexArn")
        bucket, index = index_arn.split(":bucket/", 1)[1].split("/index/", 1)
        try:
            self.client("s3vectors").get_index(vectorBucketName=bucket, indexName=index)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            yield Check(
                "vector index",
                Status.FAIL,
                f"{bucket}/{index} not found",
                "make deploy: the knowledge base stack creates the index",
            )
            return
        yield Check("vector index", Status.OK, f"{bucket}/{index}")

    def last_ingestion_job(self) -> Iterator[Check]:
        agent = self.client("bedrock-agent")
        knowledge_base_id = self.output("knowledge-base", "KnowledgeBaseId")
        data_source_id = self.output("knowledge-base", "DocumentsDataSourceId")
        jobs = agent.list_ingestion_jobs(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            sortBy={"attribute": "STARTED_AT", "order": "DESCENDING"},
            maxResults=1,
        )["ingestionJobSummaries"]
        if not jobs:
            yield Check("documents sync", Status.WARN, "no ingestion job yet", "make sync")
            return
        job = agent.get_ingestion_job(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id, ingestionJobId=jobs[0]["ingestionJobId"]
        )["ingestionJob"]
        statistics = job.get("statistics", {})
        failed = statistics.get("numberOfDocumentsFailed", 0)
        evidence = (
            f"{job['status']} {job['ingestionJobId']}: {statistics.get('numberOfDocumentsScanned', 0)} "
            f"scanned, {statistics.get('numberOfNewDocumentsIndexed', 0)} new, {failed} failed"
        )
        reasons = "; ".join(job.get("failureReasons", [])[:2])
        if job["status"] == "FAILED":
            yield Check("documents sync", Status.FAIL, evidence, reasons or "make sync")
        elif failed:
            yield Check(
                "documents sync",
                Status.WARN,
                f"{evidence}. {reasons}".strip(". "),
                "fix the failed documents (python -m scripts.check_sidecars <folder>), then make sync",
            )
        elif job["status"] == "COMPLETE":
            yield Check("documents sync", Status.OK, evidence)
        else:
            yield Check("documents sync", Status.WARN, evidence, "wait for the job (make sync follows it)")

    def stream(self) -> Iterator[Check]:
        mapping = self.client("lambda").get_event_source_mapping(UUID=self.output("streaming", "EventSourceMappingId"))
        state = mapping.get("State", "")
        reason = mapping.get("StateTransitionReason", "")
        last = mapping.get("LastProcessingResult", "")
        evidence = f"{state}: {reason}; last result: {last}".strip()
        if state == "Enabled" and "PROBLEM" not in last:
            yield Check("event source mapping", Status.OK, evidence)
        elif state in ("Creating", "Enabling", "Updating"):
            yield Check("event source mapping", Status.WARN, evidence, "wait a few minutes")
        else:
            yield Check(
                "event source mapping",
                Status.FAIL,
                evidence,
                "see the reason; for IAM or network problems check the streaming stack's role and subnets",
            )
        now = datetime.fromtimestamp(self.clock(), UTC)
        points = self.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="OffsetLag",
            StartTime=now - timedelta(minutes=15),
            EndTime=now,
            Period=300,
            Statistics=["Maximum"],
            Dimensions=[{"Name": "FunctionName", "Value": self.output("streaming", "IngestFunctionName")}],
        )["Datapoints"]
        lag = max((point["Maximum"] for point in points), default=0.0)
        behind = lag >= OFFSET_LAG_WARNING
        yield Check(
            "stream offset lag",
            Status.WARN if behind else Status.OK,
            f"max {lag:.0f} records in the last 15 minutes",
            "the consumer falls behind: see the ingest function's errors and throttles" if behind else "",
        )

    def dead_letters(self) -> Iterator[Check]:
        sqs = self.client("sqs")
        for name, part, key in (
            ("stream dead letters", "streaming", "DeadLetterQueueUrl"),
            ("sync dead letters", "knowledge-base", "SyncDeadLetterQueueUrl"),
        ):
            url = self.output(part, key)
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            waiting = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
            if not waiting:
                yield Check(name, Status.OK, "empty")
                continue
            sample = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0, MessageAttributeNames=["All"]
            ).get("Messages", [])
            reason = _reason(sample[0]) if sample else ""
            yield Check(
                name,
                Status.WARN,
                f"{waiting} waiting; e.g. {reason}" if reason else f"{waiting} waiting",
                f"read them in the SQS console ({url}), fix the cause, then delete them",
            )

    def alarms(self) -> Iterator[Check]:
        prefix = self.settings.stack_name("monitoring")
        firing = self.client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix, StateValue="ALARM")["MetricAlarms"]
        if not firing:
            yield Check("alarms", Status.OK, "none in ALARM")
            return
        names = ", ".join(alarm["AlarmName"].removeprefix(f"{prefix}-") for alarm in firing[:3])
        yield Check("alarms", Status.FAIL, f"{len(firing)} in ALARM: {names}", "see the operations dashboard")

    def model_access(self) -> Iterator[Check]:
        bedrock = self.client("bedrock")
        for purpose, model_id in (
            ("embedding", self.settings.embedding.model_id),
            ("generation", self.settings.query.foundation_model_id),
        ):
            found = bedrock.get_foundation_model_availability(modelId=model_id)
            agreement = found["agreementAvailability"]["status"]
            authorization = found["authorizationStatus"]
            entitlement = found["entitlementAvailability"]
            evidence = f"{model_id}: agreement {agreement}, {authorization}, entitlement {entitlement}"
            usable = agreement == "AVAILABLE" and authorization == "AUTHORIZED" and entitlement == "AVAILABLE"
            yield Check(
                f"{purpose} model access",
                Status.OK if usable else Status.FAIL,
                evidence,
                "" if usable else "enable the model once as the README's Deploy step 2 describes",
            )

    def probe(self, timeout_seconds: float) -> Iterator[Check]:
        """Publish the mapping's example under a fresh key, wait until the query function retrieves it (by its
        Kafka partition and offset, which every stream document carries), then delete its document."""
        mapping = self.settings.stream.mapping
        if mapping.id.kind is IdKind.FIELDS or mapping.source.get("example") is None:
            why = "the stream's mapping has no example to publish"
            if mapping.id.kind is IdKind.FIELDS:
                why = "documents are identified by value fields, so the example would replace a real document"
            yield Check("probe", Status.FAIL, f"cannot probe: {why}",
                        'give streamDocument an "example" and an "id" of "key" or "offset"')  # fmt: skip
            return
        lambda_client = self.client("lambda")
        key = f"probe-{uuid.uuid4().hex[:12]}"
        published_at = self.clock()
        sent, result = invoke(lambda_client, self.output("network", "ProducerFunctionName"),
                              {"records": [{"key": key, "value": mapping.source["example"]}]})  # fmt: skip
        if not sent:
            yield Check("probe", Status.FAIL, f"the producer failed: {json.dumps(result)[:200]}", "make produce")
            return
        record = result["records"][0]
        question = {"question": "probe", "mode": "retrieve",
                    "where": {"partition": record["partition"], "offset": record["offset"]}}  # fmt: skip
        query_function = self.output("query", "QueryFunctionName")
        # Ask as a group that sees everything: the default group's filter may exclude stream documents.
        audience = self.settings.query.unrestricted_group
        found = False
        while not found and self.clock() - published_at < timeout_seconds:
            self.sleep(PROBE_POLL_SECONDS)
            answered, answer = invoke(lambda_client, query_function, question, qualifier=audience)
            found = answered and bool(answer.get("results"))
        freshness = self.clock() - published_at
        self._delete_probe(mapping, key, record)
        if found:
            yield Check("probe", Status.OK, f"{key} retrievable after {freshness:.0f} s; its document deleted")
        else:
            yield Check(
                "probe",
                Status.FAIL,
                f"{key} not retrievable within {timeout_seconds:.0f} s",
                "see the stream checks above and the ingest function's logs",
            )

    def _delete_probe(self, mapping: DocumentMapping, key: str, record: dict[str, Any]) -> None:
        where = RecordView(value=None, key=key, topic=self.output("network", "TopicName"),
                           partition=record["partition"], offset=record["offset"], timestamp=None)  # fmt: skip
        self.client("bedrock-agent").delete_knowledge_base_documents(
            knowledgeBaseId=self.output("knowledge-base", "KnowledgeBaseId"),
            dataSourceId=self.output("knowledge-base", "StreamDataSourceId"),
            documentIdentifiers=[{"dataSourceType": "CUSTOM", "custom": {"id": mapping.id.template.render(where)}}],
        )

    def run(self, probe_timeout_seconds: float | None = None) -> list[Check]:
        sections: list[tuple[str, Callable[[], Iterator[Check]]]] = [
            ("stacks", self.stacks),
            ("knowledge base", self.knowledge_base),
            ("documents sync", self.last_ingestion_job),
            ("stream", self.stream),
            ("dead letters", self.dead_letters),
            ("alarms", self.alarms),
            ("model access", self.model_access),
        ]
        if probe_timeout_seconds is not None:
            sections.append(("probe", lambda: self.probe(probe_timeout_seconds)))
        checks: list[Check] = []
        for name, section in sections:
            try:
                for check in section():  # the checks before a failure are kept
                    checks.append(check)
            except MissingOutput as missing:
                checks.append(Check(f"{name} (not checked)", Status.FAIL, str(missing), "make deploy"))
            except ClientError as error:
                explained = explain(error)
                if explained.problem.startswith("your AWS credentials were refused"):
                    raise  # no check can run: a configuration problem, not a finding
                checks.append(Check(f"{name} (not checked)", Status.FAIL, explained.problem, explained.fix))
        return checks


def _reason(message: dict[str, Any]) -> str:
    attribute = message.get("MessageAttributes", {}).get("reason", {}).get("StringValue")
    if attribute:
        return str(attribute)[:120]
    try:
        return str(json.loads(message.get("Body", "")).get("reason", ""))[:120]
    except (json.JSONDecodeError, AttributeError):
        return ""


def table(checks: list[Check]) -> str:
    rows = [("check", "status", "evidence", "fix"), *((c.name, c.status.value, c.evidence, c.fix) for c in checks)]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    lines = []
    for row in rows:
        cells = "  ".join(value.ljust(width) for value, width in zip(row[:3], widths, strict=True))
        lines.append(f"{cells}  {row[3]}".rstrip())
    return "\n".join(lines)


def doctor(arguments: argparse.Namespace, operator: Operator) -> int:
    if arguments.print_policy:
        print(json.dumps(operator_policy(operator.settings.name_prefix, operator.settings.query), indent=2))
        return EXIT_OK
    checks = Doctor(operator).run(arguments.probe_timeout if arguments.probe else None)
    print(table(checks))
    return EXIT_PROBLEM if any(check.status is Status.FAIL for check in checks) else EXIT_OK


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", action="store_true", help="publish a marked record and time it end to end")
    parser.add_argument("--probe-timeout", type=float, default=300.0, help="seconds to wait for the probe")
    parser.add_argument("--print-policy", action="store_true", help="print the IAM policy an operator needs, and exit")
    add_common_arguments(parser)
    return parser


def main(argv: list[str] | None = None, operator: Operator | None = None) -> int:
    arguments = parser().parse_args(argv)
    if arguments.print_policy and operator is None:
        # The policy depends on the settings only: no Region, no credentials.
        settings = settings_with(arguments.context)
        print(json.dumps(operator_policy(settings.name_prefix, settings.query), indent=2))
        return EXIT_OK
    return run(parser(), doctor, argv, operator)


if __name__ == "__main__":
    raise SystemExit(main())
