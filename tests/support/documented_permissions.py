"""Permission sets AWS documents for the integrations this app uses, written down once as data.

Each set names its documentation page. The tests hold every role of the app to its set both ways:
each documented permission is allowed on the resource it concerns (evaluated by iam-simulate), and
the role allows nothing beyond the set unless the app's own code needs it (listed with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Permission:
    action: str
    resource: str  # the Service Authorization Reference's resource type ("cluster", "Index"), or "*" as documented
    waived: str = ""  # why the app does without it (empty: required)


@dataclass(frozen=True)
class PermissionSet:
    name: str
    documentation: str
    permissions: tuple[Permission, ...]
    # Actions the app's role may hold on top, with the reason (what in the app calls them).
    extras: dict[str, str] = field(default_factory=dict)

    def required(self) -> list[Permission]:
        return [permission for permission in self.permissions if not permission.waived]

    def actions(self) -> set[str]:
        return {permission.action for permission in self.permissions} | set(self.extras)

    def scoped_to_all(self) -> set[str]:
        """Actions the documentation itself grants on ``*`` (for example network interfaces not yet created)."""
        return {permission.action for permission in self.permissions if permission.resource == "*"}


MSK_EVENT_SOURCE_MAPPING_IAM_AUTH = PermissionSet(
    name="Execution role of a function behind an Amazon MSK event source mapping with IAM authentication",
    documentation="https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html "
    "(required permissions; AWSLambdaMSKExecutionRole) and "
    "https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html",
    permissions=(
        # "Use kafka:DescribeClusterV2 rather than kafka:DescribeCluster": one of the two suffices.
        Permission("kafka:DescribeClusterV2", "cluster"),
        Permission("kafka:GetBootstrapBrokers", "*"),
        Permission("ec2:CreateNetworkInterface", "*"),
        Permission("ec2:DescribeNetworkInterfaces", "*"),
        Permission("ec2:DescribeVpcs", "*"),
        Permission("ec2:DeleteNetworkInterface", "*"),
        Permission("ec2:DescribeSubnets", "*"),
        Permission("ec2:DescribeSecurityGroups", "*"),
        Permission(
            "logs:CreateLogGroup",
            "log-group",
            waived="The app creates the function's log group itself, with retention; the role only writes to it.",
        ),
        Permission("logs:CreateLogStream", "log-stream"),
        Permission("logs:PutLogEvents", "log-stream"),
        # IAM access control: what the pollers do on the cluster, the topic and the consumer group.
        Permission("kafka-cluster:Connect", "cluster"),
        Permission("kafka-cluster:DescribeClusterDynamicConfiguration", "cluster"),
        Permission("kafka-cluster:DescribeTopic", "topic"),
        Permission("kafka-cluster:ReadData", "topic"),
        Permission("kafka-cluster:DescribeGroup", "group"),
        Permission("kafka-cluster:AlterGroup", "group"),
    ),
    extras={
        "bedrock:IngestKnowledgeBaseDocuments": "the function ingests each record into the knowledge base",
        "bedrock:DeleteKnowledgeBaseDocuments": "a tombstone deletes its ticker's document (per-ticker IDs)",
        "sqs:SendMessage": "records that cannot be ingested go to the dead-letter queue; accepted documents to the "
        "indexing check",
        "sqs:GetQueueAttributes": "granted with SendMessage by CDK's grant_send_messages",
        "sqs:GetQueueUrl": "granted with SendMessage by CDK's grant_send_messages",
        "xray:PutTraceSegments": "active tracing",
        "xray:PutTelemetryRecords": "active tracing",
    },
)

KNOWLEDGE_BASE_SERVICE_ROLE = PermissionSet(
    name="Service role of a Bedrock knowledge base on S3 Vectors with an Amazon S3 data source",
    documentation="https://docs.aws.amazon.com/bedrock/latest/userguide/kb-permissions.html "
    "(models, Amazon S3 data source, S3 Vectors)",
    permissions=(
        Permission("bedrock:InvokeModel", "foundation-model"),
        # The documented statement: ListBucket on the bucket, conditioned on aws:ResourceAccount only.
        Permission("s3:ListBucket", "bucket"),
        Permission("s3:GetObject", "object"),
        Permission("s3vectors:GetIndex", "Index"),
        Permission("s3vectors:QueryVectors", "Index"),
        Permission("s3vectors:PutVectors", "Index"),
        Permission("s3vectors:GetVectors", "Index"),
        Permission("s3vectors:DeleteVectors", "Index"),
    ),
)

RAG_EVALUATION_SERVICE_ROLE = PermissionSet(
    name="Service role of Bedrock RAG evaluation jobs on a knowledge base (retrieve only, and retrieve and generate)",
    documentation="https://docs.aws.amazon.com/bedrock/latest/userguide/rag-eval-service-roles.html "
    "(Amazon S3 access, Amazon Bedrock actions, service principal)",
    permissions=(
        # The input dataset, and the output bucket.
        Permission("s3:GetObject", "object"),
        Permission("s3:ListBucket", "bucket"),
        Permission("s3:PutObject", "object"),
        Permission("s3:GetBucketLocation", "bucket"),
        Permission("s3:AbortMultipartUpload", "object"),
        Permission("s3:ListBucketMultipartUploads", "bucket"),
        # The generator and evaluator models.
        Permission("bedrock:InvokeModel", "foundation-model"),
        Permission("bedrock:InvokeModelWithResponseStream", "foundation-model"),
        Permission("bedrock:CreateModelInvocationJob", "foundation-model"),
        Permission("bedrock:StopModelInvocationJob", "model-invocation-job"),
        Permission("bedrock:GetInferenceProfile", "inference-profile"),
        Permission(
            "bedrock:GetProvisionedModelThroughput",
            "provisioned-model",
            waived="The app generates through an inference profile, never provisioned throughput.",
        ),
        Permission("bedrock:GetImportedModel", "imported-model", waived="The app uses no imported model."),
        # The knowledge base. The page names the knowledge base for both actions; the Service Authorization
        # Reference gives RetrieveAndGenerate no resource types, so it can only be allowed on "*".
        Permission("bedrock:Retrieve", "knowledge-base"),
        Permission("bedrock:RetrieveAndGenerate", "*"),
    ),
    extras={
        "kms:Decrypt": "encryption=customer-managed: the evaluation bucket's objects are under the app's key",
        "kms:GenerateDataKey": "encryption=customer-managed: the jobs write their results under the app's key",
    },
)

VENDED_LOG_DELIVERY = PermissionSet(
    name="Deploying identity (CloudFormation execution role) for knowledge-base application logs to CloudWatch Logs",
    documentation="https://docs.aws.amazon.com/bedrock/latest/userguide/knowledge-bases-logging.html and "
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html "
    "(logs sent to CloudWatch Logs)",
    permissions=(
        Permission("bedrock:AllowVendedLogDeliveryForResource", "knowledge-base"),
        Permission("logs:PutDeliverySource", "delivery-source"),
        Permission("logs:GetDeliverySource", "delivery-source"),
        # The Service Authorization Reference lists the delivery destination as this action's resource.
        Permission("logs:DeleteDeliverySource", "delivery-destination"),
        Permission("logs:PutDeliveryDestination", "delivery-destination"),
        Permission("logs:GetDeliveryDestination", "delivery-destination"),
        Permission("logs:DeleteDeliveryDestination", "delivery-destination"),
        Permission("logs:CreateDelivery", "delivery"),
        Permission("logs:GetDelivery", "delivery"),
        Permission("logs:DeleteDelivery", "delivery"),
        Permission("logs:CreateLogDelivery", "*"),
        Permission("logs:PutResourcePolicy", "*"),
        Permission("logs:DescribeResourcePolicies", "*"),
        Permission("logs:DescribeLogGroups", "*"),
    ),
)

LAMBDA_VPC_ACCESS = PermissionSet(
    name="Execution role of a function attached to a VPC",
    documentation="https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html "
    "(AWSLambdaVPCAccessExecutionRole)",
    permissions=(
        Permission("ec2:CreateNetworkInterface", "*"),
        Permission("ec2:DescribeNetworkInterfaces", "*"),
        Permission("ec2:DescribeSubnets", "*"),
        Permission("ec2:DeleteNetworkInterface", "*"),
        Permission("ec2:AssignPrivateIpAddresses", "*"),
        Permission("ec2:UnassignPrivateIpAddresses", "*"),
    ),
)

ALL_SETS = (MSK_EVENT_SOURCE_MAPPING_IAM_AUTH, KNOWLEDGE_BASE_SERVICE_ROLE, VENDED_LOG_DELIVERY, LAMBDA_VPC_ACCESS)


def documented_on_all_resources(action: str) -> bool:
    """An action with resource types that AWS's own documentation grants on ``*``."""
    return any(action.lower() in {a.lower() for a in permission_set.scoped_to_all()} for permission_set in ALL_SETS)


@dataclass(frozen=True)
class KeyPolicyGrant:
    """What a service that encrypts on the app's behalf needs in the key policy, as its documentation writes it."""

    principal: str  # service principal; "{region}" stands for the deployment's Region
    actions: frozenset[str]
    condition_keys: frozenset[str]  # the conditions the statement must carry
    documentation: str


KEY_POLICY_GRANTS: tuple[KeyPolicyGrant, ...] = (
    KeyPolicyGrant(
        "logs.{region}.amazonaws.com",
        # The page also lists kms:Describe*, which its encryption-context condition can never allow.
        frozenset({"kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"}),
        frozenset({"kms:EncryptionContext:aws:logs:arn"}),
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
    ),
    KeyPolicyGrant(
        "cloudwatch.amazonaws.com",
        frozenset({"kms:Decrypt", "kms:GenerateDataKey*"}),
        frozenset({"aws:SourceAccount"}),
        "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services",
    ),
    KeyPolicyGrant(
        "events.amazonaws.com",
        frozenset({"kms:Decrypt", "kms:GenerateDataKey"}),
        frozenset({"aws:SourceAccount"}),
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html",
    ),
    KeyPolicyGrant(
        "indexing.s3vectors.amazonaws.com",
        frozenset({"kms:Decrypt"}),
        frozenset({"aws:SourceAccount", "aws:SourceArn"}),
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/s3-vectors-data-encryption.html",
    ),
)
