"""The sample-stream producer: a function inside the VPC that writes to the topic with IAM auth."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from custom_resources.console_test_events import ConsoleTestEvents
from producer import contract as producer_contract
from producer.records import EXAMPLE_KEY, is_ticker_stream
from stacks.constructs.functions import FORMATS_LAYER, KAFKA_LAYER, POWERTOOLS_LAYER, AppFunction, FunctionCode
from stacks.constructs.kafka import KafkaClusterRef
from stacks.settings import Lifecycle
from stream_ingest.mapping import DocumentMapping

TICKER_TEST_EVENTS: dict[str, Any] = {
    "send-sample-stream": {},
    # A key with no value: with key-based document IDs ("ticker/{key}") the stream function deletes ZVZZT's document.
    "delete-a-ticker": {"delete": ["ZVZZT"]},
    "send-two-records": {
        "records": [
            {"ticker": "ZVZZT", "price": "$3,413.23"},
            {"ticker": "NTEST", "price": "$0.45", "timestamp": 1771151400.0},
        ]
    },
}


def producer_test_events(mapping: DocumentMapping) -> dict[str, Any]:
    """The console's test events, in the stream's own format."""
    if is_ticker_stream(mapping):
        return TICKER_TEST_EVENTS
    events: dict[str, Any] = {}
    example = mapping.source.get("example")
    if example is not None:
        events["send-example"] = {"records": [{"key": EXAMPLE_KEY, "value": example}]}
    if mapping.id.deletes:
        events["delete-example"] = {"delete": [EXAMPLE_KEY]}  # a tombstone: deletes the key's document
    events["send-malformed"] = {"raw": ["not what the mapping expects"]}  # dead-lettered with its reason
    return events


class StreamProducer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: KafkaClusterRef,
        vpc: ec2.IVpc,
        subnets: list[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
        code: FunctionCode,
        lifecycle: Lifecycle,
        mapping: DocumentMapping,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = AppFunction(
            self,
            "Producer",
            code=code,
            handler=producer_contract.HANDLER,
            service=producer_contract.SERVICE,
            description="Publishes records (the sample, or the records given) to the Kafka topic",
            lifecycle=lifecycle,
            config=producer_contract.ProducerConfig(
                bootstrap_brokers=cluster.bootstrap_brokers,
                topic_name=cluster.topic_name,
                document_mapping=dict(mapping.source),
            ),
            timeout_seconds=60,
            layers=(POWERTOOLS_LAYER, KAFKA_LAYER, FORMATS_LAYER),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            security_groups=[security_group],
        )
        cluster.grant_produce(self.function.role)
        self.function.invoked_without_async_events(
            "make produce, the console and the doctor's probe invoke it synchronously; errors return to the caller."
        )
        ConsoleTestEvents(
            self,
            "TestEvents",
            function=self.function.function,
            events=producer_test_events(mapping),
            lifecycle=lifecycle,
        )
