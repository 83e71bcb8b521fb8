"""The sample-stream producer: a function inside the VPC that writes to the topic with IAM auth."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from custom_resources.console_test_events import ConsoleTestEvents
from producer import contract as producer_contract
from stacks.constructs.functions import KAFKA_LAYER, POWERTOOLS_LAYER, AppFunction, FunctionCode
from stacks.constructs.kafka import KafkaClusterRef
from stacks.settings import Lifecycle

PRODUCER_TEST_EVENTS = {
    "send-sample-stream": {},
    # A key with no value: with per-ticker document IDs the stream function deletes ZVZZT's document.
    "delete-a-ticker": {"delete": ["ZVZZT"]},
    "send-two-records": {
        "records": [
            {"ticker": "ZVZZT", "price": "$3,413.23"},
            {"ticker": "NTEST", "price": "$0.45", "timestamp": 1771151400.0},
        ]
    },
}


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = AppFunction(
            self,
            "Producer",
            code=code,
            handler=producer_contract.HANDLER,
            service=producer_contract.SERVICE,
            description="Publishes ticker prices (the sample stream, or the records given) to the Kafka topic",
            lifecycle=lifecycle,
            config=producer_contract.ProducerConfig(
                bootstrap_brokers=cluster.bootstrap_brokers, topic_name=cluster.topic_name
            ),
            timeout_seconds=60,
            layers=(POWERTOOLS_LAYER, KAFKA_LAYER),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets),
            security_groups=[security_group],
        )
        cluster.grant_produce(self.function.role)
        self.function.invoked_without_async_events(
            "make produce, the console and the doctor's probe invoke it synchronously; errors return to the caller."
        )
        ConsoleTestEvents(
            self, "TestEvents", function=self.function.function, events=PRODUCER_TEST_EVENTS, lifecycle=lifecycle
        )
