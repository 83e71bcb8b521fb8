"""The customer-managed KMS key of ``encryption=customer-managed``, with the policy AWS documents for
each service that uses it on the app's behalf. Roles of this account get their grants through IAM, on
this one key (the key policy delegates to the account); where AWS documents a kms:ViaService condition
for a grant (the knowledge base reading documents through S3), the grant carries it."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.settings import Lifecycle, data_key_alias

# The shortest waiting period KMS allows before it deletes a key.
MINIMUM_PENDING_WINDOW_DAYS = 7


def service_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """What each AWS service that encrypts for the app needs in the key policy, as its documentation says."""
    account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
    this_account = {"StringEquals": {"aws:SourceAccount": account}}
    return [
        # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
        iam.PolicyStatement(
            sid="CloudWatchLogs",
            principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
            # The page also lists kms:Describe*, but DescribeKey carries no encryption context: under this
            # condition it could never be allowed, so it is left out.
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"
                }
            },
        ),
        # CloudWatch alarms publishing to the encrypted alarm topic:
        # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
        iam.PolicyStatement(
            sid="CloudWatchAlarmsToTopic",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
            conditions=this_account,
        ),
        # The EventBridge rule that queues document changes for the sync function ("compatibility between
        # AWS services and encrypted queues"):
        # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html
        iam.PolicyStatement(
            sid="EventBridgeToQueue",
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=["*"],
            conditions=this_account,
        ),
        # S3 Vectors maintains an encrypted index in the background:
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-vectors-data-encryption.html
        iam.PolicyStatement(
            sid="S3VectorsIndexing",
            principals=[iam.ServicePrincipal("indexing.s3vectors.amazonaws.com")],
            actions=["kms:Decrypt"],
            resources=["*"],
            conditions={
                **this_account,
                "ArnLike": {
                    "aws:SourceArn": stack.format_arn(service="s3vectors", resource="bucket", resource_name="*")
                },
            },
        ),
    ]


class DataKey(Construct):
    """One key, rotated yearly. Destroyed with the app in dev mode (after the shortest waiting period),
    retained in prod mode."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=data_key_alias(name_prefix),
            description=f"Encrypts the data of {name_prefix}: documents, vectors, queues, alarms, logs",
            enable_key_rotation=True,
            pending_window=Duration.days(MINIMUM_PENDING_WINDOW_DAYS),
            removal_policy=RemovalPolicy.RETAIN if lifecycle.retain_data else RemovalPolicy.DESTROY,
        )
        for statement in service_statements(Stack.of(self)):
            self.key.add_to_resource_policy(statement)
