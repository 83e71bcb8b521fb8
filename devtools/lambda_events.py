"""What the Lambda runtime gives a handler, for calling handlers in tests."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def sqs_event(bodies: list[str], queue: str = "queue") -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"message-{index}",
                "receiptHandle": f"handle-{index}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def emf_metrics(stdout: str) -> dict[str, float]:
    """Metric values from the CloudWatch embedded-metric-format lines Powertools prints."""
    values: dict[str, float] = {}
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    values[metric["Name"]] = values.get(metric["Name"], 0) + (
                        sum(value) if isinstance(value, list) else value
                    )
    return values


@dataclass(frozen=True)
class EmittedMetric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted (name, value) pairs


def emf_emitted(stdout: str) -> set[EmittedMetric]:
    """Every metric the embedded-metric-format lines declare: namespace, name and dimension values."""
    emitted: set[EmittedMetric] = set()
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
                for metric in directive["Metrics"]:
                    emitted.add(EmittedMetric(directive["Namespace"], metric["Name"], dimensions))
    return emitted


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


KafkaRecordSpec = tuple[str, int, int, str | None] | tuple[str, int, int, str | None, str | None]


def kafka_event(records: Sequence[KafkaRecordSpec], cluster: str = "kbstream-kafka") -> dict[str, Any]:
    """An MSK event source mapping event; each record is (topic, partition, offset, base64 value or None),
    optionally followed by its key as text."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for spec in records:
        topic, partition, offset, value = spec[:4]
        key = spec[4] if len(spec) > 4 else None
        record: dict[str, Any] = {
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": 1771151400000 + offset,
            "timestampType": "CREATE_TIME",
            "headers": [],
        }
        if value is not None:
            record["value"] = value
        if key is not None:
            record["key"] = b64(key)
        by_partition.setdefault(f"{topic}-{partition}", []).append(record)
    return {
        "eventSource": "aws:kafka",
        "eventSourceArn": f"arn:aws:kafka:us-east-1:123456789012:cluster/{cluster}/1a2b3c4d-0000-1111-2222",
        "bootstrapServers": "b-1.kafka:9098,b-2.kafka:9098",
        "records": by_partition,
    }


def ticker_value(ticker: str, price: str, timestamp: float = 1771151400.0) -> str:
    return b64(json.dumps({"ticker": ticker, "price": price, "timestamp": timestamp}))
