"""Invoked by hand (console, ``make produce``, the doctor's probe): publishes records to the Kafka topic."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from function_runtime.environment import from_environment
from function_runtime.observability import make_tracer
from producer.contract import ProducerConfig, ProducerMetric
from producer.publish import RecordSender, connect, publish
from producer.records import RequestError, parse_request
from stream_ingest.mapping import DocumentMapping, parse_mapping

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


@cache
def mapping_of(mapping_json: str) -> DocumentMapping:
    return parse_mapping(json.loads(mapping_json))


@cache
def kafka_producer(bootstrap_brokers: str, client_id: str) -> RecordSender:
    """One connected producer per execution environment (a failed connection is retried next time)."""
    return connect(bootstrap_brokers, client_id=client_id)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(ProducerConfig)
    try:
        messages = parse_request(event, mapping_of(json.dumps(config.document_mapping, sort_keys=True)))
    except RequestError as error:
        logger.warning("Invalid request; nothing sent", reason=str(error))
        metrics.add_metric(name=ProducerMetric.INVALID_PRODUCER_REQUESTS, unit=MetricUnit.Count, value=1)
        return {"error": {"type": "ValidationError", "message": str(error)}}
    # The function name is the Kafka client ID, so the brokers' logs name the function.
    producer = kafka_producer(config.bootstrap_brokers, context.function_name)
    result = publish(messages, producer, config.topic_name)  # a PublishError fails the invocation, visibly
    metrics.add_metric(name=ProducerMetric.RECORDS_PUBLISHED, unit=MetricUnit.Count, value=len(result.records))
    logger.info("Records published", topic=config.topic_name, sent=len(result.records))
    return result.as_dict()
