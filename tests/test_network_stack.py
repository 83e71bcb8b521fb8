"""Network stack: private VPC, MSK with IAM auth and TLS, topic in code, producer, bring your own cluster."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from custom_resources.console_test_events import REGISTRY_NAME
from tests.conftest import EXISTING_CLUSTER, EXISTING_CLUSTER_ARN, Synthesized
from tests.support.contracts import deployed_config
from tests.support.iam import allowed_resources, function_role, role_statements
from tests.support.templates import function_with_handler, one, render, resources_of_type

CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/kbstream-kafka/1a2b3c4d-0000-1111-2222-333344445555-2"
TOPIC_ARN = (
    "arn:aws:kafka:us-east-1:123456789012:topic/kbstream-kafka/1a2b3c4d-0000-1111-2222-333344445555-2/ticker-prices"
)


def network(app: Synthesized) -> dict[str, Any]:
    return app.template("Network")


def cluster_attributes(template: dict[str, Any]) -> dict[str, str]:
    cluster_id, _ = one(template, "AWS::MSK::Cluster")
    topic_id, _ = one(template, "AWS::MSK::Topic")
    return {f"{cluster_id}.Arn": CLUSTER_ARN, f"{topic_id}.TopicArn": TOPIC_ARN}


def producer_function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return function_with_handler(template, "producer.handler.handler")


def rules(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [render(resource["Properties"]) for resource in resources_of_type(template, resource_type).values()]


def group_id(template: dict[str, Any], description_start: str) -> str:
    (logical_id,) = [
        key
        for key, resource in resources_of_type(template, "AWS::EC2::SecurityGroup").items()
        if resource["Properties"]["GroupDescription"].startswith(description_start)
    ]
    return f"\u27e6GetAtt:{logical_id}.GroupId\u27e7"


def test_cluster_accepts_only_iam_authenticated_tls_clients(app: Synthesized) -> None:
    _, cluster = one(network(app), "AWS::MSK::Cluster")
    properties = cluster["Properties"]
    assert properties["ClientAuthentication"] == {
        "Sasl": {"Iam": {"Enabled": True}, "Scram": {"Enabled": False}},
        "Tls": {"Enabled": False},
        "Unauthenticated": {"Enabled": False},
    }
    assert properties["EncryptionInfo"]["EncryptionInTransit"] == {"ClientBroker": "TLS", "InCluster": True}
    # At rest MSK always encrypts; no setting may turn it off (the property only chooses the key).
    assert "EncryptionAtRest" not in properties["EncryptionInfo"]


def test_cluster_size_version_storage_and_logs_follow_settings(synth: Callable[..., Synthesized]) -> None:
    app = synth(brokerCount=4, brokerInstanceType="kafka.m7g.large", brokerStorageGiB=100, kafkaVersion="3.9.x")
    template = network(app)
    _, cluster = one(template, "AWS::MSK::Cluster")
    properties = cluster["Properties"]
    assert properties["NumberOfBrokerNodes"] == 4
    assert properties["KafkaVersion"] == "3.9.x"
    nodes = properties["BrokerNodeGroupInfo"]
    assert nodes["InstanceType"] == "kafka.m7g.large"
    assert nodes["StorageInfo"]["EBSStorageInfo"]["VolumeSize"] == 100
    assert len(nodes["ClientSubnets"]) == 2
    log_group = properties["LoggingInfo"]["BrokerLogs"]["CloudWatchLogs"]
    assert log_group["Enabled"] is True
    retention = template["Resources"][log_group["LogGroup"]["Ref"]]["Properties"]["RetentionInDays"]
    assert retention == app.settings.lifecycle.log_retention_days


def test_default_cluster_is_two_small_brokers_on_a_topic_api_version(app: Synthesized) -> None:
    _, cluster = one(network(app), "AWS::MSK::Cluster")
    assert cluster["Properties"]["NumberOfBrokerNodes"] == 2
    assert cluster["Properties"]["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.t3.small"
    major, minor = map(int, cluster["Properties"]["KafkaVersion"].split(".")[:2])
    assert (major, minor) >= (3, 6)


def test_vpc_has_no_internet_path_and_logs_its_flows(app: Synthesized) -> None:
    template = network(app)
    for resource_type in ("AWS::EC2::NatGateway", "AWS::EC2::InternetGateway", "AWS::EC2::EIP"):
        assert resources_of_type(template, resource_type) == {}
    subnets = resources_of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) == 2
    assert all(not subnet["Properties"].get("MapPublicIpOnLaunch", False) for subnet in subnets.values())
    routes = [render(route["Properties"]) for route in resources_of_type(template, "AWS::EC2::Route").values()]
    assert routes == []  # isolated subnets: local routes only
    _, flow_log = one(template, "AWS::EC2::FlowLog")
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"


@pytest.mark.parametrize("az_count", [1, 2])
def test_lambda_and_sts_endpoints_in_the_configured_number_of_azs(
    synth: Callable[..., Synthesized], az_count: int
) -> None:
    template = network(synth(endpointAzCount=az_count))
    endpoints = {
        render(endpoint["Properties"]["ServiceName"]): endpoint["Properties"]
        for endpoint in resources_of_type(template, "AWS::EC2::VPCEndpoint").values()
    }
    assert set(endpoints) == {"com.amazonaws.us-east-1.lambda", "com.amazonaws.us-east-1.sts"}
    for endpoint in endpoints.values():
        assert endpoint["VpcEndpointType"] == "Interface"
        assert endpoint["PrivateDnsEnabled"] is True
        assert len(endpoint["SubnetIds"]) == az_count


def test_security_groups_open_only_the_iam_port_and_https_between_known_groups(app: Synthesized) -> None:
    template = network(app)
    cluster_group = group_id(template, "MSK brokers")
    producer_group = group_id(template, "Sample-stream producer")
    endpoint_group = group_id(template, "Lambda and STS interface endpoints")
    ingress = {
        (rule["GroupId"], rule["SourceSecurityGroupId"], rule["FromPort"], rule["ToPort"])
        for rule in rules(template, "AWS::EC2::SecurityGroupIngress")
    }
    assert ingress == {
        (cluster_group, cluster_group, 9098, 9098),  # the event source mapping's pollers
        (cluster_group, producer_group, 9098, 9098),
        (endpoint_group, cluster_group, 443, 443),
    }
    egress = {
        (rule["GroupId"], rule["DestinationSecurityGroupId"], rule["FromPort"], rule["ToPort"])
        for rule in rules(template, "AWS::EC2::SecurityGroupEgress")
    }
    assert egress == {
        (cluster_group, cluster_group, 9098, 9098),
        (cluster_group, endpoint_group, 443, 443),
        (producer_group, cluster_group, 9098, 9098),
    }
    for group in resources_of_type(template, "AWS::EC2::SecurityGroup").values():
        properties = group["Properties"]
        assert "SecurityGroupIngress" not in properties
        # allow_all_outbound=False leaves CDK's placeholder rule that matches no traffic, nothing else.
        for rule in properties.get("SecurityGroupEgress", []):
            assert rule["CidrIp"] == "255.255.255.255/32" and rule["IpProtocol"] == "icmp"
    serialized = json.dumps(template)
    assert "0.0.0.0/0" not in serialized and "::/0" not in serialized


def test_topic_is_declared_from_settings(synth: Callable[..., Synthesized]) -> None:
    app = synth(topicName="prices.v1", topicPartitions=6, topicReplicationFactor=2)
    template = network(app)
    _, topic = one(template, "AWS::MSK::Topic")
    cluster_id, _ = one(template, "AWS::MSK::Cluster")
    assert topic["Properties"] == {
        "ClusterArn": {"Fn::GetAtt": [cluster_id, "Arn"]},
        "TopicName": "prices.v1",
        "PartitionCount": 6,
        "ReplicationFactor": 2,
    }
    assert topic["DeletionPolicy"] == "Delete"


def test_producer_runs_in_the_vpc_with_the_bootstrap_brokers_and_topic(app: Synthesized) -> None:
    template = network(app)
    _, function = producer_function(template)
    properties = function["Properties"]
    assert render(properties["VpcConfig"]["SecurityGroupIds"]) == [group_id(template, "Sample-stream producer")]
    assert len(properties["VpcConfig"]["SubnetIds"]) == 2
    config = deployed_config(function)
    assert config.topic_name == "ticker-prices"
    assert config.bootstrap_brokers.endswith(".BootstrapBrokerStringSaslIam\u27e7")


def test_producer_may_only_connect_describe_and_write_its_topic(app: Synthesized) -> None:
    template = network(app)
    producer_id, _ = producer_function(template)
    statements = role_statements(template, function_role(template, producer_id), cluster_attributes(template))
    kafka_actions = sorted(
        {
            action
            for statement in statements
            for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            if action.startswith("kafka")
        }
    )
    assert kafka_actions == [
        "kafka-cluster:Connect",
        "kafka-cluster:DescribeTopic",
        "kafka-cluster:WriteData",
        "kafka-cluster:WriteDataIdempotently",
    ]
    assert allowed_resources(statements, "kafka-cluster:Connect") == [CLUSTER_ARN]
    assert allowed_resources(statements, "kafka-cluster:WriteDataIdempotently") == [CLUSTER_ARN]
    assert allowed_resources(statements, "kafka-cluster:WriteData") == [TOPIC_ARN]
    assert allowed_resources(statements, "kafka-cluster:DescribeTopic") == [TOPIC_ARN]
    assert allowed_resources(statements, "kafka-cluster:ReadData") == []


def test_producer_console_test_events_are_shared_in_the_lambda_registry(app: Synthesized) -> None:
    template = network(app)
    producer_id, _ = producer_function(template)
    _, schema = one(template, "AWS::EventSchemas::Schema")
    properties = schema["Properties"]
    assert properties["RegistryName"] == REGISTRY_NAME
    assert properties["Type"] == "OpenApi3"
    assert render(properties["SchemaName"]) == f"_\u27e6Ref:{producer_id}\u27e7-schema"
    examples = json.loads(properties["Content"])["components"]["examples"]
    assert examples["send-sample-stream"]["value"] == {}
    assert [record["ticker"] for record in examples["send-two-records"]["value"]["records"]] == ["ZVZZT", "NTEST"]


def test_outputs(app: Synthesized) -> None:
    outputs = network(app)["Outputs"]
    assert {"ClusterArn", "TopicName", "BootstrapBrokers", "VpcId", "SubnetIds", "ProducerFunctionName"} <= set(outputs)
    assert render(outputs["BootstrapBrokers"]["Value"]).endswith(".BootstrapBrokerStringSaslIam\u27e7")


def test_existing_cluster_gets_only_the_topic_and_producer(synth: Callable[..., Synthesized]) -> None:
    app = synth(**EXISTING_CLUSTER)
    template = network(app)
    for resource_type in (
        "AWS::MSK::Cluster",
        "AWS::EC2::VPC",
        "AWS::EC2::Subnet",
        "AWS::EC2::VPCEndpoint",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::FlowLog",
    ):
        assert resources_of_type(template, resource_type) == {}, resource_type
    _, topic = one(template, "AWS::MSK::Topic")
    assert topic["Properties"]["ClusterArn"] == EXISTING_CLUSTER_ARN
    _, function = producer_function(template)
    assert function["Properties"]["VpcConfig"] == {
        "SecurityGroupIds": [EXISTING_CLUSTER["existingSecurityGroupId"]],
        "SubnetIds": EXISTING_CLUSTER["existingSubnetIds"],
    }
    producer_id, _ = producer_function(template)
    statements = role_statements(template, function_role(template, producer_id))
    assert allowed_resources(statements, "kafka-cluster:WriteData") == [
        "arn:aws:kafka:us-east-1:123456789012:topic/team-kafka/0b1c2d3e-4f5a-6b7c-8d9e-0123456789ab-3/ticker-prices"
    ]
    outputs = render(template["Outputs"])
    assert outputs["ClusterArn"]["Value"] == EXISTING_CLUSTER_ARN
    assert outputs["VpcId"]["Value"] == EXISTING_CLUSTER["existingVpcId"]
    assert outputs["SubnetIds"]["Value"] == ",".join(EXISTING_CLUSTER["existingSubnetIds"])
