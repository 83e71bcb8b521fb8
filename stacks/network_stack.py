"""Network stack: the VPC, the MSK cluster and its topic, and the sample-stream producer.

With ``existing*`` settings the stack uses a cluster the team already runs and creates only the
topic and the producer.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.constructs.functions import FunctionCode, LambdaSources
from stacks.constructs.kafka import KafkaClusterRef, KafkaTopic, MskCluster
from stacks.constructs.network import KAFKA_IAM_PORT, PrivateNetwork
from stacks.constructs.producer import StreamProducer
from stacks.foundation.nag import acknowledge
from stacks.settings import FunctionSettings, KafkaSettings, Lifecycle
from stream_ingest.mapping import DocumentMapping


class NetworkStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        kafka: KafkaSettings,
        stream_mapping: DocumentMapping,
        lambda_sources: LambdaSources,
        functions: FunctionSettings,
        lifecycle: Lifecycle,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        vpc: ec2.IVpc
        if kafka.existing is None:
            network = PrivateNetwork(self, "Network", endpoint_az_count=kafka.endpoint_az_count, lifecycle=lifecycle)
            vpc, subnets = network.vpc, network.subnets
            cluster = MskCluster(self, "Kafka", settings=kafka, vpc=vpc, subnets=subnets, lifecycle=lifecycle)
            network.allow_https_from(cluster.security_group, "Event source mapping pollers to Lambda and STS")
            cluster_arn = cluster.cluster_arn
            producer_group: ec2.ISecurityGroup = ec2.SecurityGroup(
                self,
                "ProducerSecurityGroup",
                vpc=vpc,
                description="Sample-stream producer: reaches the brokers on the IAM port only",
                allow_all_outbound=False,
            )
            producer_group.add_egress_rule(
                cluster.security_group, ec2.Port.tcp(KAFKA_IAM_PORT), "Producer to the brokers (IAM auth)"
            )
            cluster.security_group.add_ingress_rule(
                producer_group, ec2.Port.tcp(KAFKA_IAM_PORT), "Sample-stream producer (IAM auth)"
            )
        else:
            existing = kafka.existing
            # Referenced by ID, without a lookup: synthesis needs no credentials. The AZ names are
            # placeholders the VPC import requires; only the subnet IDs reach the template.
            vpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=existing.vpc_id,
                availability_zones=[Fn.select(index, Fn.get_azs()) for index in range(len(existing.subnet_ids))],
            )
            subnets = [
                ec2.Subnet.from_subnet_id(self, f"Subnet{index}", subnet_id)
                for index, subnet_id in enumerate(existing.subnet_ids)
            ]
            for subnet in subnets:
                acknowledge(
                    subnet,
                    "Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
                    "Only the subnet ID is used (by the producer function); nothing here reads its route table.",
                )
            cluster_arn = existing.cluster_arn
            # The team's client group: it already lets its members reach the brokers on port 9098.
            producer_group = ec2.SecurityGroup.from_security_group_id(
                self, "ClientSecurityGroup", existing.security_group_id, mutable=False
            )

        topic = KafkaTopic(self, "Topic", cluster_arn=cluster_arn, settings=kafka, lifecycle=lifecycle)
        self.cluster: KafkaClusterRef = topic.ref
        self.producer = StreamProducer(
            self,
            "SampleStream",
            cluster=topic.ref,
            vpc=vpc,
            subnets=subnets,
            security_group=producer_group,
            code=FunctionCode.for_stack(self, lambda_sources, functions),
            lifecycle=lifecycle,
            mapping=stream_mapping,
        )

        CfnOutput(self, "ClusterArn", value=cluster_arn)
        CfnOutput(self, "TopicName", value=kafka.topic_name)
        CfnOutput(self, "BootstrapBrokers", value=topic.ref.bootstrap_brokers, description="IAM auth, port 9098")
        CfnOutput(self, "VpcId", value=vpc.vpc_id)
        CfnOutput(self, "SubnetIds", value=Fn.join(",", [subnet.subnet_id for subnet in subnets]))
        CfnOutput(self, "ProducerFunctionName", value=self.producer.function.function.function_name)
