"""S3 buckets with the baseline every bucket in this app shares."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.nag import acknowledge


def _removal(retain_data: bool) -> dict[str, object]:
    """Retained in prod; emptied and deleted with the stack in dev."""
    if retain_data:
        return {"removal_policy": RemovalPolicy.RETAIN, "auto_delete_objects": False}
    return {"removal_policy": RemovalPolicy.DESTROY, "auto_delete_objects": True}


class AccessLogBucket(Construct):
    """Destination of S3 server access logs; objects expire after ``expiration_days``."""

    def __init__(self, scope: Construct, construct_id: str, *, retain_data: bool,
                 expiration_days: int = 90) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery does not support SSE-KMS
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


class SecureBucket(Construct):
    """Private, encrypted, versioned, TLS-only bucket that logs access to ``access_logs``."""

    def __init__(self, scope: Construct, construct_id: str, *, access_logs: s3.IBucket, log_prefix: str,
                 retain_data: bool) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=log_prefix,
            # Old versions are kept long enough to undo a mistake, not forever.
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            **_removal(retain_data),  # type: ignore[arg-type]
        )
