"""Copies a local folder of documents into a bucket prefix at deploy time."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from stacks.foundation.encryption import acknowledge_key_grants
from stacks.foundation.handler_role import HandlerRole
from stacks.foundation.lifecycle import log_group
from stacks.foundation.nag import acknowledge, pseudo, token
from stacks.settings import Lifecycle

_GRANT_REASON = (
    "CDK's BucketDeployment grants its handler read on the CDK asset bucket and read/write on the "
    "destination bucket; the wildcard is CDK's grant pattern, confined to those two buckets."
)


class DocumentUpload(Construct):
    """Uploads ``source`` to ``bucket`` under ``prefix``; files users add there later are left alone."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: Path,
        bucket: s3.IBucket,
        prefix: str,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        logs = log_group(self, "Logs", lifecycle)
        role = HandlerRole(self, "HandlerRole", log_group=logs, description="Uploads the sample documents").role
        asset = s3_assets.Asset(self, "Files", path=str(source))
        # Changes whenever any file changes: lets a sync run exactly when the uploaded set changed.
        self.version: str = asset.asset_hash
        self.deployment = s3_deployment.BucketDeployment(
            self,
            "Deployment",
            sources=[s3_deployment.Source.bucket(asset.bucket, asset.s3_object_key)],
            destination_bucket=bucket,
            destination_key_prefix=prefix,
            prune=False,  # never delete documents users uploaded under the same prefix
            log_group=logs,
            role=role,
        )
        if bucket.encryption_key:
            acknowledge_key_grants(role)
        acknowledge_bucket_deployment(self, role, bucket)


def acknowledge_bucket_deployment(scope: Construct, role: iam.IRole, bucket: s3.IBucket) -> None:
    """What cdk-nag finds in any BucketDeployment: CDK's wildcard grants on the asset and destination buckets, and
    the runtime aws-cdk-lib pins for its stack-level handler."""
    partition, region, account = pseudo(scope)
    asset_bucket = f"arn:{partition}:s3:::cdk-hnb659fds-assets-{account}-{region}/*"
    for finding in (
        "Action::s3:GetBucket*",
        "Action::s3:GetObject*",
        "Action::s3:List*",
        "Action::s3:Abort*",
        "Action::s3:DeleteObject*",
        f"Resource::{asset_bucket}",
        f"Resource::{token(bucket)}/*",
    ):
        acknowledge(role, f"AwsSolutions-IAM5[{finding}]", _GRANT_REASON)
    # The handler function is a stack-level singleton created by aws-cdk-lib.
    handler = next(
        child for child in Stack.of(scope).node.children if child.node.id.startswith("Custom::CDKBucketDeployment")
    )
    acknowledge(
        handler.node.find_child("Resource"),
        "AwsSolutions-L1",
        "aws-cdk-lib pins the runtime of its BucketDeployment handler; it runs only during deployments.",
    )
