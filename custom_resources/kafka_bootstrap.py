"""The IAM bootstrap-broker string of an MSK cluster, which CloudFormation does not return."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from custom_resources.sdk_call import sdk_call_resource
from stacks.foundation.nag import acknowledge
from stacks.settings import Lifecycle

IAM_BROKERS_FIELD = "BootstrapBrokerStringSaslIam"


class KafkaBootstrapBrokers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cluster_arn: str, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        # Read on create and on every update: broker endpoints change when brokers are added.
        call = cr.AwsSdkCall(
            service="Kafka",
            action="GetBootstrapBrokers",
            parameters={"ClusterArn": cluster_arn},
            physical_resource_id=cr.PhysicalResourceId.of(cluster_arn),
            output_paths=[IAM_BROKERS_FIELD],
        )
        self.resource = sdk_call_resource(
            self,
            "Resource",
            lifecycle=lifecycle,
            on_create=call,
            on_update=call,
            # The Service Authorization Reference lists no resource type for kafka:GetBootstrapBrokers:
            # a statement naming the cluster ARN never matches it, so it is allowed on "*".
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["kafka:GetBootstrapBrokers"], resources=["*"])]
            ),
        )
        acknowledge(
            self.resource.node.find_child("CustomResourcePolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "kafka:GetBootstrapBrokers supports no resource-level permissions; it reads broker addresses only.",
        )
        self.iam_brokers = self.resource.get_response_field(IAM_BROKERS_FIELD)
