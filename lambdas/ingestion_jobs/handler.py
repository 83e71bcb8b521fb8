"""Every minute (an EventBridge rule): start the knowledge base's next ingestion job when one is due."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from function_runtime.aws_clients import client
from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from ingestion_jobs.contract import RUN_SECONDS, DataSourceRole, JobMetric, StarterConfig
from ingestion_jobs.starter import Starter, Step

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = from_environment(StarterConfig)
    starter = Starter(client("bedrock-agent"), client("s3"), knowledge_base_id=config.knowledge_base_id,
                      bucket=config.bucket,
                      data_sources={role: config.data_source_id(role) for role in DataSourceRole})  # fmt: skip
    outcomes = starter.run(RUN_SECONDS)
    for outcome in outcomes:
        if outcome.step is Step.STARTED:
            logger.info("Ingestion job started", data_source=outcome.role, job_id=outcome.job_id,
                        waited_seconds=outcome.waited_seconds)  # fmt: skip
            metrics.add_metric(name=JobMetric.WAITED, unit=MetricUnit.Seconds, value=outcome.waited_seconds or 0)
        elif outcome.step is Step.REFUSED:
            logger.info("Bedrock refused the start; the changes wait", data_source=outcome.role, reason=outcome.reason)
    # Counts every run, zero included: a quiet minute is data, not a gap (nor Powertools' empty-metrics warning).
    for name, step in ((JobMetric.JOBS_STARTED, Step.STARTED), (JobMetric.STARTS_REFUSED, Step.REFUSED)):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=sum(outcome.step is step for outcome in outcomes))
    return {"steps": [outcome.step.value for outcome in outcomes]}
