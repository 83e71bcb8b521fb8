"""Amazon S3 Vectors bucket and index as ``AwsCustomResource`` constructs.

The SDK calls live in the template, so new API fields reach this app without waiting for
CloudFormation support, and the exact calls can be checked offline against the botocore model.

Replacement rules:
* The vector bucket's name is fixed for a deployment (it derives from the name prefix, which also
  names the stacks). It lives in the storage stack.
* The index name carries a fingerprint of everything an index cannot change (data type, dimension,
  metric, non-filterable keys). Changing any of them renames the index, so CloudFormation creates the
  new index and then deletes the old one instead of silently keeping it or failing the update. The
  index lives in the knowledge base's stack, and the knowledge base depends on it: so in a replacement
  CloudFormation deletes the old data sources, then the old knowledge base, then the old index.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from custom_resources.sdk_call import sdk_call_resource
from stacks.foundation.lifecycle import removal_policy
from stacks.foundation.nag import acknowledge, pseudo
from stacks.settings import Lifecycle, VectorIndexSettings

SERVICE = "S3Vectors"
NOT_FOUND = "NotFoundException"
ALREADY_EXISTS = "ConflictException"
SSE_S3 = {"sseType": "AES256"}


@dataclass(frozen=True)
class VectorIndexRef:
    """Deterministic names of the vector store; ARNs are formatted in the consumer's own stack.

    Formatting them where they are used (instead of exporting them) means a replaced index never
    trips over a CloudFormation export that is still imported by another stack.
    """

    bucket_name: str
    index_name: str

    def bucket_arn(self, scope: IConstruct) -> str:
        return Stack.of(scope).format_arn(service="s3vectors", resource="bucket", resource_name=self.bucket_name)

    def index_arn(self, scope: IConstruct) -> str:
        return Stack.of(scope).format_arn(
            service="s3vectors", resource="bucket", resource_name=f"{self.bucket_name}/index/{self.index_name}"
        )

    def any_index_arn(self, scope: IConstruct) -> str:
        return Stack.of(scope).format_arn(
            service="s3vectors", resource="bucket", resource_name=f"{self.bucket_name}/index/*"
        )


def _sdk_call(
    action: str, parameters: dict[str, object], *, physical_id: str | None = None, ignore: str | None = None
) -> cr.AwsSdkCall:
    return cr.AwsSdkCall(
        service=SERVICE,
        action=action,
        parameters=parameters,
        physical_resource_id=cr.PhysicalResourceId.of(physical_id) if physical_id else None,
        ignore_error_codes_matching=ignore,
    )


class S3VectorBucket(Construct):
    """A vector bucket (SSE-S3) for the knowledge base's index. An index may take its own key, so the bucket's
    encryption never has to change (changing it would mean a new bucket)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, index: VectorIndexSettings, lifecycle: Lifecycle
    ) -> None:
        super().__init__(scope, construct_id)
        self.ref = VectorIndexRef(bucket_name=index.bucket_name, index_name=index.index_name)
        bucket_arn = self.ref.bucket_arn(self)
        create_bucket = _sdk_call(
            "CreateVectorBucket",
            {"vectorBucketName": index.bucket_name, "encryptionConfiguration": SSE_S3},
            physical_id=bucket_arn,
        )
        self.bucket = sdk_call_resource(
            self,
            "Bucket",
            lifecycle=lifecycle,
            resource_type="Custom::S3VectorBucket",
            on_create=create_bucket,
            # An update with the same name finds the bucket already there: nothing to change.
            on_update=_sdk_call(
                "CreateVectorBucket",
                {"vectorBucketName": index.bucket_name, "encryptionConfiguration": SSE_S3},
                physical_id=bucket_arn,
                ignore=ALREADY_EXISTS,
            ),
            on_delete=_sdk_call("DeleteVectorBucket", {"vectorBucketName": index.bucket_name}, ignore=NOT_FOUND),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["s3vectors:CreateVectorBucket", "s3vectors:DeleteVectorBucket"],
                        resources=[bucket_arn],
                    )
                ]
            ),
            removal_policy=removal_policy(lifecycle),
        )

    @property
    def bucket_arn(self) -> str:
        return self.ref.bucket_arn(self)


class S3VectorIndex(Construct):
    """One index configured for Bedrock Knowledge Bases, in the vector bucket of the storage stack."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        index: VectorIndexSettings,
        lifecycle: Lifecycle,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.ref = VectorIndexRef(bucket_name=index.bucket_name, index_name=index.index_name)
        index_arn = self.ref.index_arn(self)
        removal = removal_policy(lifecycle)

        create_index_parameters: dict[str, object] = {
            "vectorBucketName": index.bucket_name,
            "indexName": index.index_name,
            "dataType": index.data_type,
            "dimension": index.dimension,
            "distanceMetric": index.distance_metric.value,
            "metadataConfiguration": {"nonFilterableMetadataKeys": list(index.non_filterable_metadata_keys)},
            # An index may have its own key (S3 Vectors): the vector bucket stays as it was created.
            "encryptionConfiguration": {"sseType": "aws:kms", "kmsKeyArn": key.key_arn} if key else SSE_S3,
        }
        # The ARN names the one index; its parameters, key included, are fixed in the template.
        create_index = iam.PolicyStatement(actions=["s3vectors:CreateIndex"], resources=[index_arn])
        self.index = sdk_call_resource(
            self,
            "Index",
            lifecycle=lifecycle,
            resource_type="Custom::S3VectorIndex",
            # An index of this name already has this configuration (the name carries its fingerprint):
            # one kept from an earlier deployment (prod mode retains it) is adopted, not refused.
            on_create=_sdk_call("CreateIndex", create_index_parameters, physical_id=index_arn, ignore=ALREADY_EXISTS),
            # A new fingerprint means a new name: this creates the new index, and CloudFormation then
            # deletes the old one. The same name means the index is already as configured.
            on_update=_sdk_call("CreateIndex", create_index_parameters, physical_id=index_arn, ignore=ALREADY_EXISTS),
            on_delete=_sdk_call(
                "DeleteIndex", {"vectorBucketName": index.bucket_name, "indexName": index.index_name}, ignore=NOT_FOUND
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    create_index,
                    # Creating an index under a key checks that the caller may use it.
                    *(
                        [
                            iam.PolicyStatement(
                                actions=["kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt"],
                                resources=[key.key_arn],
                            )
                        ]
                        if key
                        else []
                    ),
                    # Deleting runs with the current policy, also for an index replaced by a new fingerprint.
                    iam.PolicyStatement(actions=["s3vectors:DeleteIndex"], resources=[self.ref.any_index_arn(self)]),
                ]
            ),
            removal_policy=removal,
        )
        partition, region, account = pseudo(self)
        acknowledge(
            self.index,
            f"AwsSolutions-IAM5[Resource::arn:{partition}:s3vectors:{region}:{account}:"
            f"bucket/{index.bucket_name}/index/*]",
            "DeleteIndex must reach indexes this app replaced after an immutable setting changed; "
            "it is confined to the app's own vector bucket.",
        )

    @property
    def index_arn(self) -> str:
        return self.ref.index_arn(self)
