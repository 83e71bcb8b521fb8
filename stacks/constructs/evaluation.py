"""What Bedrock's RAG evaluation jobs need (``make evaluate ARGS=--judge``): a bucket for their datasets and
results, and the service role they run as.

The permissions are those of the Bedrock user guide's "Service role requirements for knowledge base evaluation
jobs" (https://docs.aws.amazon.com/bedrock/latest/userguide/rag-eval-service-roles.html), narrowed to this app:
its bucket's two prefixes, its knowledge base, its generation profile and the configured evaluator model.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.foundation.nag import acknowledge, pseudo
from stacks.foundation.operator_policy import DATASETS_PREFIX, RESULTS_PREFIX, evaluation_role_name
from stacks.foundation.service_trust import bedrock_acting_for

EVALUATION_DATA_DAYS = 90  # datasets and results are working data: compare runs, then let them go


@dataclass(frozen=True)
class EvaluationBucketRef:
    """The evaluation bucket by its deterministic name, so the query stack grants on it without an export."""

    name_prefix: str

    def bucket_name(self, scope: Construct) -> str:
        stack = Stack.of(scope)
        return f"{self.name_prefix}-evaluation-{stack.account}-{stack.region}"

    def bucket_arn(self, scope: Construct) -> str:
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_name(scope)}"


class EvaluationRole(Construct):
    """The role Bedrock assumes to run this app's RAG evaluation jobs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: EvaluationBucketRef,
        knowledge_base_arn: str,
        knowledge_base_generation: str,
        generation_profile_id: str,
        evaluator_model_id: str,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bucket_arn = bucket.bucket_arn(self)
        generation_model_id = generation_profile_id.split(".", 1)[1]
        profile_arn = stack.format_arn(
            service="bedrock", resource="inference-profile", resource_name=generation_profile_id
        )
        evaluator_arn = stack.format_arn(
            service="bedrock", account="", resource="foundation-model", resource_name=evaluator_model_id
        )
        generation_models = f"arn:{Aws.PARTITION}:bedrock:*::foundation-model/{generation_model_id}"
        invocation_jobs = stack.format_arn(service="bedrock", resource="model-invocation-job", resource_name="*")
        self.role = iam.Role(
            self,
            "Role",
            # Named, so that the operator policy may pass this role and no other (iam:PassRole).
            role_name=evaluation_role_name(bucket.name_prefix, stack.region),
            description="Bedrock RAG evaluation jobs of this app: read the datasets, write the results, query the "
            "knowledge base and invoke the generator and evaluator models",
            # Only Bedrock acting for an evaluation job of this account may assume the role.
            assumed_by=bedrock_acting_for(self, "evaluation-job"),
            inline_policies={
                "Evaluation": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="ReadDatasets", actions=["s3:GetObject"], resources=[f"{bucket_arn}/{DATASETS_PREFIX}*"]
                        ),
                        iam.PolicyStatement(
                            sid="WriteResults",
                            actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                            resources=[f"{bucket_arn}/{RESULTS_PREFIX}*"],
                        ),
                        iam.PolicyStatement(
                            sid="ListTheBucket",
                            actions=["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                            resources=[bucket_arn],
                        ),
                        iam.PolicyStatement(
                            # The Sid names the knowledge base's generation: a replaced one updates this policy.
                            sid=f"QueryTheKnowledgeBase{knowledge_base_generation}",
                            actions=["bedrock:Retrieve"],
                            resources=[knowledge_base_arn],
                        ),
                        # RetrieveAndGenerate supports no resource types (Service Authorization Reference).
                        iam.PolicyStatement(
                            sid="GenerateAnswers", actions=["bedrock:RetrieveAndGenerate"], resources=["*"]
                        ),
                        iam.PolicyStatement(
                            sid="InvokeTheModels",
                            actions=["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                            resources=[profile_arn, generation_models, evaluator_arn],
                        ),
                        iam.PolicyStatement(
                            sid="GenerationProfile", actions=["bedrock:GetInferenceProfile"], resources=[profile_arn]
                        ),
                        # The documented role lets Bedrock run the judge as batch inference on the same models.
                        iam.PolicyStatement(
                            sid="BatchInference",
                            actions=["bedrock:CreateModelInvocationJob"],
                            resources=[generation_models, evaluator_arn, invocation_jobs],
                        ),
                        iam.PolicyStatement(
                            sid="StopBatchInference",
                            actions=["bedrock:StopModelInvocationJob"],
                            resources=[invocation_jobs],
                        ),
                    ]
                )
            },
        )
        if key is not None:
            # The bucket's objects are under the app's key.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DataKey", actions=["kms:Decrypt", "kms:GenerateDataKey"], resources=[key.key_arn]
                )
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:RetrieveAndGenerate supports no resource-level permissions; the knowledge base is "
            "limited by bedrock:Retrieve on this one, the models by the InvokeTheModels statement.",
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/{generation_model_id}]",
            "One foundation model, the one behind the generation profile, in "
            "whichever Region the profile routes a request to.",
        )
        partition, region, account = pseudo(self)  # as cdk-nag spells them in this stack
        for pattern, reason in (
            (f"{DATASETS_PREFIX}*", "The datasets the operator uploads for evaluation jobs, and nothing else."),
            (f"{RESULTS_PREFIX}*", "Evaluation jobs write their results under this prefix of this bucket only."),
        ):
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::"
                f"{bucket.name_prefix}-evaluation-{account}-{region}/{pattern}]",
                reason,
            )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::arn:{partition}:bedrock:{region}:{account}:model-invocation-job/*]",
            "Batch inference jobs an evaluation job starts "
            "have names Bedrock chooses; the documented role grants them the same way.",
        )
