"""Invoked by hand (console, ``make produce``): publishes ticker prices to the Kafka topic."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from common.aws import required_env

from producer.publish import RecordSender, connect, publish
from producer.records import RequestError, parse_request

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def kafka_producer() -> RecordSender:
    """One connected producer per execution environment (a failed connection is retried next time)."""
    return connect(required_env("BOOTSTRAP_BROKERS"), client_id=required_env("AWS_LAMBDA_FUNCTION_NAME"))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    topic = required_env("TOPIC_NAME")
    try:
        messages = parse_request(event)
    except RequestError as error:
        logger.warning("Invalid request; nothing sent", reason=str(error))
        metrics.add_metric(name="InvalidProducerRequests", unit=MetricUnit.Count, value=1)
        return {"error": {"type": "ValidationError", "message": str(error)}}
    result = publish(messages, kafka_producer(), topic)  # a PublishError fails the invocation, visibly
    metrics.add_metric(name="RecordsPublished", unit=MetricUnit.Count, value=len(result.records))
    logger.info("Records published", topic=topic, sent=len(result.records))
    return result.as_dict()
