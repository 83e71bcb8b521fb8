"""Amazon MSK provisioned cluster (IAM auth, TLS everywhere) and the topic the stream uses."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_msk as msk
from constructs import Construct

from custom_resources.kafka_bootstrap import KafkaBootstrapBrokers
from stacks.constructs.network import KAFKA_IAM_PORT
from stacks.foundation.lifecycle import log_group, removal_policy
from stacks.foundation.nag import acknowledge
from stacks.settings import KafkaSettings, Lifecycle


def _existing_cluster_resource_arn(cluster_arn: str, kind: str, name: str) -> str:
    """``arn:...:cluster/<name>/<uuid>`` -> ``arn:...:<kind>/<name>/<uuid>/<name of the topic or group>``."""
    head, tail = cluster_arn.split(":cluster/", 1)
    return f"{head}:{kind}/{tail}/{name}"


@dataclass(frozen=True)
class KafkaClusterRef:
    """What clients of the cluster need; built by the network stack, passed to the streaming stack.

    Other stacks read these values through stack outputs, where CloudFormation allows no
    ``Fn::Split``: so the topic ARN is the topic's own attribute, and a consumer group's ARN is
    formatted from the cluster name (known from the settings), not cut out of the cluster ARN.
    """

    cluster_arn: str
    cluster_name: str
    topic_name: str
    topic_arn: str
    bootstrap_brokers: str  # the IAM (port 9098) bootstrap string

    def group_arn(self, group_id: str) -> str:
        if not Token.is_unresolved(self.cluster_arn):  # an existing cluster: its ARN, with the UUID, is known
            return _existing_cluster_resource_arn(self.cluster_arn, "group", group_id)
        # Cluster names are unique in an account and Region; only the UUID MSK appends is unknown here.
        return f"arn:{Aws.PARTITION}:kafka:{Aws.REGION}:{Aws.ACCOUNT_ID}:group/{self.cluster_name}/*/{group_id}"

    def grant_consume(self, grantee: iam.IGrantable, group_id: str) -> None:
        """What an IAM-authenticated event source mapping needs to read the topic as ``group_id``.

        The Lambda developer guide's list for MSK mappings with IAM authentication includes reading the
        cluster's dynamic configuration.
        """
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"],
                resources=[self.cluster_arn],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"], resources=[self.topic_arn]
            )
        )
        group_arn = self.group_arn(group_id)
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"], resources=[group_arn]
            )
        )
        if Token.is_unresolved(group_arn) and isinstance(grantee, Construct):
            # Built from the cluster ARN's pseudo parameters, which stay tokens in every stack.
            acknowledge(
                grantee,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kafka:<AWS::Region>:<AWS::AccountId>:"
                f"group/{self.cluster_name}/*/{group_id}]",
                "One consumer group of one named cluster; the wildcard stands only for the UUID MSK appends "
                "to the cluster name, which other stacks cannot cut out of the cluster ARN.",
            )

    def grant_produce(self, grantee: iam.IGrantable) -> None:
        """Connect, describe and write this topic (idempotently, kafka-python's default)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"],
                resources=[self.cluster_arn],
            )
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"], resources=[self.topic_arn]
            )
        )


class MskCluster(Construct):
    """Brokers in the isolated subnets; clients authenticate with IAM over TLS on port 9098 only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: KafkaSettings,
        vpc: ec2.IVpc,
        subnets: list[ec2.ISubnet],
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="MSK brokers and the event source mapping pollers, which share this group",
            allow_all_outbound=False,
        )
        # The event source mapping polls with this same group: it must reach the brokers through it.
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(KAFKA_IAM_PORT), "IAM-authenticated Kafka from this group"
        )
        self.security_group.add_egress_rule(
            self.security_group, ec2.Port.tcp(KAFKA_IAM_PORT), "Pollers to the brokers (IAM auth)"
        )
        self.broker_logs = log_group(self, "BrokerLogs", lifecycle)
        self.cluster = msk.CfnCluster(
            self,
            "Cluster",
            cluster_name=settings.cluster_name,
            kafka_version=settings.kafka_version,
            number_of_broker_nodes=settings.broker_count,
            broker_node_group_info=msk.CfnCluster.BrokerNodeGroupInfoProperty(
                client_subnets=[subnet.subnet_id for subnet in subnets],
                instance_type=settings.broker_instance_type,
                security_groups=[self.security_group.security_group_id],
                storage_info=msk.CfnCluster.StorageInfoProperty(
                    ebs_storage_info=msk.CfnCluster.EBSStorageInfoProperty(volume_size=settings.broker_storage_gib)
                ),
            ),
            client_authentication=msk.CfnCluster.ClientAuthenticationProperty(
                sasl=msk.CfnCluster.SaslProperty(
                    iam=msk.CfnCluster.IamProperty(enabled=True),
                    scram=msk.CfnCluster.ScramProperty(enabled=False),
                ),
                tls=msk.CfnCluster.TlsProperty(enabled=False),
                unauthenticated=msk.CfnCluster.UnauthenticatedProperty(enabled=False),
            ),
            # At rest, MSK always encrypts broker volumes (with the AWS managed key aws/kafka unless told otherwise).
            encryption_info=msk.CfnCluster.EncryptionInfoProperty(
                encryption_in_transit=msk.CfnCluster.EncryptionInTransitProperty(client_broker="TLS", in_cluster=True)
            ),
            logging_info=msk.CfnCluster.LoggingInfoProperty(
                broker_logs=msk.CfnCluster.BrokerLogsProperty(
                    cloud_watch_logs=msk.CfnCluster.CloudWatchLogsProperty(
                        enabled=True, log_group=self.broker_logs.log_group_name
                    )
                )
            ),
            enhanced_monitoring="DEFAULT",
        )
        self.cluster_arn = self.cluster.attr_arn


class KafkaTopic(Construct):
    """The topic as a CloudFormation resource, and the IAM bootstrap string its clients connect to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster_arn: str,
        settings: KafkaSettings,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = msk.CfnTopic(
            self,
            "Topic",
            cluster_arn=cluster_arn,
            topic_name=settings.topic_name,
            partition_count=settings.partitions,
            replication_factor=settings.topic_replication_factor,
        )
        self.topic.apply_removal_policy(removal_policy(lifecycle))
        bootstrap = KafkaBootstrapBrokers(self, "BootstrapBrokers", cluster_arn=cluster_arn, lifecycle=lifecycle)
        self.ref = KafkaClusterRef(
            cluster_arn=cluster_arn,
            cluster_name=settings.cluster_name,
            topic_name=settings.topic_name,
            topic_arn=_existing_cluster_resource_arn(cluster_arn, "topic", settings.topic_name)
            if not Token.is_unresolved(cluster_arn)
            else self.topic.attr_topic_arn,
            bootstrap_brokers=bootstrap.iam_brokers,
        )
