"""SQS-triggered: document changes in, one ingestion job out (or a retry later)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from function_runtime.quarantine import quarantine
from ingestion_jobs.contract import DataSourceRole
from ingestion_jobs.markers import mark_waiting
from kb_sync.contract import SyncConfig, SyncMetric
from kb_sync.sync import ChangeNotice, InvalidMessage, Outcome, parse_notice, start_sync

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


@event_source(data_class=SQSEvent)
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: SQSEvent, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(SyncConfig)
    notices: list[ChangeNotice] = []
    for record in event.records:
        try:
            notices.append(parse_notice(record.message_id, record.body, bucket=config.bucket, prefix=config.prefix))
        except InvalidMessage as error:
            logger.warning("Unusable message quarantined", message_id=record.message_id, reason=str(error))
            quarantine(config.dead_letter_queue_url, record.message_id, record.body, str(error))
            metrics.add_metric(name=SyncMetric.INVALID_SYNC_MESSAGES, unit=MetricUnit.Count, value=1)
    if not notices:
        return {"batchItemFailures": []}

    if config.jobs_by_starter:
        mark_waiting(client("s3"), config.bucket, DataSourceRole.DOCUMENTS)
        logger.info("Changes handed to the ingestion-job starter", changes=len(notices))
        metrics.add_metric(name=SyncMetric.SYNCS_HANDED_TO_STARTER, unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": []}
    result = start_sync(
        client("bedrock-agent"),
        knowledge_base_id=config.knowledge_base_id,
        data_source_id=config.data_source_id,
        notices=notices,
    )
    if result.outcome is Outcome.STARTED:
        logger.info("Ingestion job started", job_id=result.job_id, changes=len(notices))
        metrics.add_metric(name=SyncMetric.INGESTION_JOBS_STARTED, unit=MetricUnit.Count, value=1)
        return {"batchItemFailures": []}
    logger.info("Sync deferred; the messages return to the queue", reason=result.reason, changes=len(notices))
    metrics.add_metric(name=SyncMetric.SYNCS_DEFERRED, unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": [{"itemIdentifier": notice.message_id} for notice in notices]}
