"""S3 buckets with the baseline every bucket in this app shares."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge, pseudo


@dataclass(frozen=True)
class DocumentBucketRef:
    """The document bucket by its deterministic name, usable from any stack without a cross-stack reference.

    ``<prefix>-documents-<account>-<region>`` is globally unique and tells an operator what it holds.
    """

    name_prefix: str
    document_prefix: str

    def bucket_name(self, scope: Construct) -> str:
        stack = Stack.of(scope)
        return f"{self.name_prefix}-documents-{stack.account}-{stack.region}"

    def bucket(self, scope: Construct, construct_id: str) -> s3.IBucket:
        return s3.Bucket.from_bucket_name(scope, construct_id, self.bucket_name(scope))

    def nag_documents_arn(self, scope: Construct) -> str:
        """How cdk-nag spells the ARN of the objects under the document prefix, in ``scope``'s stack."""
        return self.nag_objects_arn(scope, self.document_prefix)

    def nag_objects_arn(self, scope: Construct, prefix: str) -> str:
        """How cdk-nag spells the ARN of the objects under ``prefix``, in ``scope``'s stack."""
        partition, region, account = pseudo(scope)
        return f"arn:{partition}:s3:::{self.name_prefix}-documents-{account}-{region}/{prefix}*"


def _removal(retain_data: bool) -> dict[str, object]:
    """Retained in prod; emptied and deleted with the stack in dev."""
    if retain_data:
        return {"removal_policy": RemovalPolicy.RETAIN, "auto_delete_objects": False}
    return {"removal_policy": RemovalPolicy.DESTROY, "auto_delete_objects": True}


class AccessLogBucket(Construct):
    """Destination of S3 server access logs; objects expire after ``expiration_days``."""

    def __init__(self, scope: Construct, construct_id: str, *, retain_data: bool, expiration_days: int = 90) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # Server access logs are delivered only to SSE-S3 buckets (destination bucket requirements):
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(expiration_days))],
            **_removal(retain_data),  # type: ignore[arg-type]
        )
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "This bucket is the access-log destination; logging it into itself would loop.",
        )
        skip_check(self.bucket, "CKV_AWS_18", "This bucket is the access-log destination; logging it into itself "
                   "would loop.")  # fmt: skip
        skip_check(self.bucket, "CKV_AWS_21", f"Access logs are written once and expire after {expiration_days} days; "
                   "versions would only keep expired logs longer.")  # fmt: skip


class SecureBucket(Construct):
    """Private, encrypted, versioned, TLS-only bucket that logs access to ``access_logs``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs: s3.IBucket,
        log_prefix: str,
        retain_data: bool,
        event_bridge: bool = False,
        bucket_name: str | None = None,
        key: kms.IKey | None = None,
        expiration_days: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Old versions are kept long enough to undo a mistake, not forever; working data may expire too.
        expiration = Duration.days(expiration_days) if expiration_days else None
        lifecycle = [s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30), expiration=expiration)]
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=True if key else None,  # one data key per bucket, not per object: fewer KMS calls
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=log_prefix,
            lifecycle_rules=lifecycle,
            **_removal(retain_data),  # type: ignore[arg-type]
        )
        if event_bridge:
            # The native property: s3.Bucket(event_bridge_enabled=True) would add a custom resource for it.
            resource = self.bucket.node.default_child
            assert isinstance(resource, s3.CfnBucket)
            resource.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
            )
