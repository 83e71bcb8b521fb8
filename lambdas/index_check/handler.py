"""SQS-triggered: documents the stream function sent (bulk path: objects it wrote), followed until Bedrock has
indexed them or failed."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from function_runtime.quarantine import quarantine
from index_check.checks import CheckOutcome, check_documents
from index_check.contract import BULK_RECHECK_SECONDS, CheckMetric, IndexCheckConfig, PendingCheck
from index_check.jobs import JobHistory, follow_objects
from ingestion_jobs.contract import DataSourceRole
from ingestion_jobs.markers import mark_waiting
from stream_ingest.dead_letters import DeadLetterError, send_dead_letters
from stream_ingest.ingest import Pacer

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


def _outcome(check: PendingCheck, config: IndexCheckConfig, pacer: Pacer, history: JobHistory | None) -> CheckOutcome:
    agent, now = client("bedrock-agent"), time.time()
    if history is None or not config.object_bucket:
        return check_documents(agent, check, knowledge_base_id=config.knowledge_base_id,
                               data_source_id=config.data_source_id, pacer=pacer, now=now,
                               indexed_within_seconds=config.indexed_within_seconds,
                               deleted_by_tombstones=config.deleted_by_tombstones)  # fmt: skip
    outcome = follow_objects(agent, check, history=history, knowledge_base_id=config.knowledge_base_id,
                             data_source_id=config.data_source_id, bucket=config.object_bucket, pacer=pacer, now=now,
                             indexed_within_seconds=config.indexed_within_seconds,
                             deleted_by_tombstones=config.deleted_by_tombstones)  # fmt: skip
    if outcome.marker_needed:  # no job covers the objects yet: make sure the starter will start one
        mark_waiting(client("s3"), config.object_bucket, DataSourceRole.STREAM)
    return outcome


def _follow(check: PendingCheck, config: IndexCheckConfig, pacer: Pacer, history: JobHistory | None) -> None:
    outcome = _outcome(check, config, pacer, history)
    # Dead letters first: if storing them fails, the message is delivered again and nothing is lost.
    send_dead_letters(client("sqs"), config.dead_letter_queue_url, outcome.letters)
    if outcome.still_pending:
        again = PendingCheck(check.accepted_at, tuple(outcome.still_pending))
        # The bulk path waits for ingestion jobs, which take minutes: it looks again a minute later.
        delay = {"DelaySeconds": BULK_RECHECK_SECONDS} if history is not None else {}
        client("sqs").send_message(QueueUrl=config.check_queue_url, MessageBody=again.body(), **delay)
        metrics.add_metric(name=CheckMetric.CHECKS_REQUEUED, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=CheckMetric.DOCUMENTS_INDEXED, unit=MetricUnit.Count, value=outcome.indexed)
    metrics.add_metric(name=CheckMetric.DOCUMENTS_NOT_INDEXED, unit=MetricUnit.Count, value=outcome.not_indexed)
    metrics.add_metric(name=CheckMetric.DOCUMENTS_DELETED_BEFORE_INDEXED, unit=MetricUnit.Count,
                       value=outcome.deleted)  # fmt: skip
    for seconds in outcome.freshness_seconds[:100]:  # EMF keeps up to 100 values of a metric
        metrics.add_metric(name=CheckMetric.FRESHNESS, unit=MetricUnit.Seconds, value=seconds)
    if outcome.letters:
        logger.error("Documents not indexed", documents=outcome.not_indexed, reason=outcome.letters[0].reason)


@event_source(data_class=SQSEvent)
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(IndexCheckConfig)
    logger.append_keys(knowledge_base=config.knowledge_base_name, data_source=config.data_source_name)
    pacer = Pacer(config.status_requests_per_second)
    history = JobHistory(client("bedrock-agent"), knowledge_base_id=config.knowledge_base_id,
                         data_source_id=config.data_source_id) if config.object_bucket else None  # fmt: skip
    failures: list[dict[str, str]] = []
    for record in event.records:
        try:
            check = PendingCheck.parse(record.body)
        except ValueError as error:
            logger.warning("Unusable message quarantined", message_id=record.message_id, reason=str(error))
            quarantine(config.dead_letter_queue_url, record.message_id, record.body, str(error))
            continue
        try:
            _follow(check, config, pacer, history)
        except (ClientError, BotoCoreError, DeadLetterError) as error:
            # After botocore's retries: this message alone goes round again (the others are done), and its
            # dead letters, if some were stored, are stored again: duplicates, never losses.
            logger.warning("Check failed; the message returns to the queue", message_id=record.message_id,
                           reason=str(error))  # fmt: skip
            metrics.add_metric(name=CheckMetric.CHECK_MESSAGES_FAILED, unit=MetricUnit.Count, value=1)
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}
