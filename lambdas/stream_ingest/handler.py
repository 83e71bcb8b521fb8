"""MSK event source mapping -> Bedrock knowledge base (direct: the custom data source; bulk: S3 objects), one batch
per invocation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from stream_ingest.contract import StreamConfig, StreamMetric
from stream_ingest.pipeline import BatchOutcome, process_batch

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


class IngestFailed(RuntimeError):
    """Bedrock (or S3) kept failing after botocore's retries: the mapping retries the batch (IDs make it safe)."""


def _publish_metrics(outcome: BatchOutcome, bulk: bool) -> None:
    path_metrics = (
        ((StreamMetric.S3_REQUESTS, outcome.requests), (StreamMetric.OBJECTS_WRITTEN, outcome.objects))
        if bulk
        else ((StreamMetric.INGEST_REQUESTS, outcome.requests), (StreamMetric.INGEST_RETRIES, outcome.retries))
    )
    for name, value in (
        (StreamMetric.RECORDS_RECEIVED, outcome.records),
        (StreamMetric.POISON_RECORDS, outcome.poison),
        *path_metrics,
        (StreamMetric.DOCUMENTS_INGESTED, outcome.ingested),
        (StreamMetric.DOCUMENTS_REJECTED, outcome.rejected),
        (StreamMetric.DOCUMENTS_FAILED, len(outcome.failed)),
        (StreamMetric.DOCUMENTS_DELETED, outcome.deleted),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = from_environment(StreamConfig)
    logger.append_keys(knowledge_base=config.knowledge_base_name, data_source=config.data_source_name)
    bulk = bool(config.object_bucket)
    outcome = process_batch(event, config, agent=client("bedrock-agent"), sqs=client("sqs"),
                            s3=client("s3") if bulk else None)  # fmt: skip
    _publish_metrics(outcome, bulk)
    summary = {key: value for key, value in vars(outcome).items()
               if key != "failed" and (bulk or key != "objects")}  # fmt: skip
    if not outcome.failed:
        logger.info("Batch ingested", **summary)
        return {"batchItemFailures": []} if config.partial_batch_response else summary
    _, first_reason = outcome.failed[0]
    logger.error("Documents not ingested after retries", failed=len(outcome.failed), reason=first_reason, **summary)
    if config.partial_batch_response:
        # Provisioned mode: Lambda retries from the lowest failed offset of each partition.
        return {
            "batchItemFailures": [
                {"itemIdentifier": {"partition": source.partition_key, "offset": source.offset}}
                for source in outcome.failed_sources
            ]
        }
    # On-demand mode ignores batchItemFailures: only a failed invocation makes the mapping retry.
    raise IngestFailed(f"{len(outcome.failed)} of {outcome.documents} documents were not ingested: {first_reason}")
