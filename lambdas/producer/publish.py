"""Send messages to the topic and wait for the brokers to acknowledge every one of them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from producer.records import Message

ACK_TIMEOUT_SECONDS = 30.0


class Acknowledgement(Protocol):
    partition: int
    offset: int


class PendingSend(Protocol):
    def get(self, timeout: float | None = None) -> Acknowledgement: ...


class RecordSender(Protocol):
    """The part of ``kafka.KafkaProducer`` this module uses."""

    def send(self, topic: str, value: bytes | None = None, key: bytes | None = None) -> PendingSend: ...

    def flush(self, timeout: float | None = None) -> None: ...


class PublishError(RuntimeError):
    """The brokers did not acknowledge every record (after the client's own retries)."""


@dataclass(frozen=True)
class SentRecord:
    key: str | None
    partition: int
    offset: int


@dataclass
class PublishResult:
    topic: str
    records: list[SentRecord] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        per_partition = Counter(record.partition for record in self.records)
        return {
            "topic": self.topic,
            "sent": len(self.records),
            "partitions": {str(partition): count for partition, count in sorted(per_partition.items())},
            "records": [vars(record) for record in self.records],
        }


def kafka_producer_config(bootstrap_brokers: str, client_id: str, bootstrap_timeout_ms: int = 10_000) -> dict[str, Any]:
    """IAM authentication over TLS (port 9098); idempotent, all-replica acknowledgements."""
    return {
        "bootstrap_timeout_ms": bootstrap_timeout_ms,
        "bootstrap_servers": [broker.strip() for broker in bootstrap_brokers.split(",") if broker.strip()],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "AWS_MSK_IAM",  # signs with the function role's credentials (botocore)
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_block_ms": 15_000,
        "request_timeout_ms": 15_000,
        "delivery_timeout_ms": 25_000,
    }


def connect(bootstrap_brokers: str, client_id: str, bootstrap_timeout_ms: int = 10_000) -> RecordSender:
    """A producer connected to the cluster; a cluster it cannot reach is a :class:`PublishError`."""
    from kafka import KafkaProducer  # imported here: the rest of the module works without a Kafka client
    from kafka.errors import KafkaError

    try:
        producer: RecordSender = KafkaProducer(
            **kafka_producer_config(bootstrap_brokers, client_id, bootstrap_timeout_ms=bootstrap_timeout_ms)
        )
    except KafkaError as error:
        raise PublishError(f"cannot connect to the brokers {bootstrap_brokers}: {error}") from error
    return producer


def publish(messages: Sequence[Message], sender: RecordSender, topic: str) -> PublishResult:
    """Send all messages, then wait for each acknowledgement; raise if any is missing."""
    pending = [(message, sender.send(topic, value=message.value, key=message.key)) for message in messages]
    sender.flush(timeout=ACK_TIMEOUT_SECONDS)
    result = PublishResult(topic=topic)
    failures: list[str] = []
    for message, send in pending:
        try:
            ack = send.get(timeout=ACK_TIMEOUT_SECONDS)
        except Exception as error:  # kafka.errors.KafkaError and timeouts: reported, never swallowed
            failures.append(f"{message.label}: {type(error).__name__}: {error}")
            continue
        key = message.key.decode(errors="replace") if message.key else None
        result.records.append(SentRecord(key=key, partition=ack.partition, offset=ack.offset))
    if failures:
        raise PublishError(
            f"{len(failures)} of {len(messages)} records were not acknowledged by the brokers "
            f"({len(result.records)} were); first failure: {failures[0]}"
        )
    return result
