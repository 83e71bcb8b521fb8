"""Optional: the role GitHub Actions assumes (OIDC) to deploy this app and smoke-test it, and nothing more.

It may assume the CDK bootstrap roles of this account and Region (those roles do the deploying), and do
what an operator does (the operator policy: the pipeline's smoke test, ``make doctor --probe``).
It trusts tokens of one repository's deployment environment (whose branch rule in GitHub limits it
to the deploy branch) and of that branch itself.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.foundation.nag import acknowledge
from stacks.foundation.operator_policy import operator_policy
from stacks.settings import GitHubSettings

GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
BOOTSTRAP_QUALIFIER = "hnb659fds"  # the CDK default; the app synthesizes with the default synthesizer
BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")


class DeployRoleStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, github: GitHubSettings, name_prefix: str, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        if github.oidc_provider_arn:
            provider_arn = github.oidc_provider_arn
        else:
            provider = iam.CfnOIDCProvider(
                self, "GitHubOidcProvider", url=GITHUB_OIDC_URL, client_id_list=["sts.amazonaws.com"]
            )
            provider_arn = provider.attr_arn
        subjects = [
            f"repo:{github.repository}:environment:{github.environment}",
            f"repo:{github.repository}:ref:refs/heads/{github.branch}",
        ]
        self.role = iam.Role(
            self,
            "DeployRole",
            description=f"GitHub Actions deployments of {github.repository}",
            assumed_by=iam.FederatedPrincipal(
                provider_arn,
                conditions={
                    "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": "sts.amazonaws.com"},
                    "ForAnyValue:StringEquals": {f"{GITHUB_OIDC_HOST}:sub": subjects},
                },
                assume_role_action="sts:AssumeRoleWithWebIdentity",
            ),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole", "sts:TagSession"],
                resources=[
                    f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/cdk-{BOOTSTRAP_QUALIFIER}-{role}-role-"
                    f"{Aws.ACCOUNT_ID}-{Aws.REGION}"
                    for role in BOOTSTRAP_ROLES
                ],
            )
        )
        smoke_test = iam.ManagedPolicy(
            self,
            "SmokeTestPolicy",
            description=f"What the deploy workflow's smoke test of {name_prefix} does: make doctor --probe",
            document=iam.PolicyDocument.from_json(operator_policy(name_prefix)),
            roles=[self.role],
        )
        acknowledge(smoke_test, "AwsSolutions-IAM5[Resource::*]",
                    "bedrock:GetFoundationModelAvailability and cloudwatch:GetMetricStatistics support no "
                    "resource-level permissions (Service Authorization Reference).")  # fmt: skip
        for statement in operator_policy(name_prefix)["Statement"]:
            resource = statement["Resource"]
            if resource != "*" and "*" in resource:
                acknowledge(smoke_test, f"AwsSolutions-IAM5[Resource::{resource}]",
                            "The app's resources by its name prefix: their IDs do not exist before deployment, "
                            "and the identity policy reaches this account's resources only.")  # fmt: skip
        CfnOutput(self, "DeployRoleArn", value=self.role.role_arn, description="Set as AWS_DEPLOY_ROLE_ARN")
