"""A private VPC for the Kafka cluster: no internet path, only the endpoints the event source mapping needs."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.foundation.lifecycle import log_group
from stacks.settings import AVAILABILITY_ZONES, Lifecycle

KAFKA_IAM_PORT = 9098
HTTPS_PORT = 443


class PrivateNetwork(Construct):
    """Two AZs of isolated subnets, flow logs, and PrivateLink endpoints for Lambda and STS.

    The MSK event source mapping (on-demand mode) runs its pollers in the cluster's subnets with the
    cluster's security group and must reach Lambda and STS. Interface endpoints give it that path for
    about $7 per endpoint per AZ a month, where a NAT gateway would cost $33 before traffic.
    """

    def __init__(self, scope: Construct, construct_id: str, *, endpoint_az_count: int, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=AVAILABILITY_ZONES,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
            ],
            restrict_default_security_group=True,
        )
        self.vpc.add_flow_log(
            "FlowLogs",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(log_group(self, "FlowLogGroup", lifecycle)),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        self.subnets = self.vpc.isolated_subnets

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Lambda and STS interface endpoints: HTTPS from the Kafka cluster group only",
            allow_all_outbound=False,
        )
        for name, service in (
            ("LambdaEndpoint", ec2.InterfaceVpcEndpointAwsService.LAMBDA_),
            ("StsEndpoint", ec2.InterfaceVpcEndpointAwsService.STS),
        ):
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=ec2.SubnetSelection(subnets=self.subnets[:endpoint_az_count]),
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )

    def allow_https_from(self, peer: ec2.ISecurityGroup, description: str) -> None:
        self.endpoint_security_group.add_ingress_rule(peer, ec2.Port.tcp(HTTPS_PORT), description)
        peer.add_egress_rule(self.endpoint_security_group, ec2.Port.tcp(HTTPS_PORT), description)
