"""Python Lambda functions of this app, bundled without Docker.

All handlers live under ``lambdas/`` and ship as one code asset (a few kilobytes of our own code);
their third-party dependencies ship as one layer built with ``pip install --platform`` for the
Lambda architecture, so synthesis needs neither Docker nor a matching local Python.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import BundlingOptions, Duration, ILocalBundling, Stack, SymlinkFollowMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.constructs.handler_role import HandlerRole
from stacks.constructs.lifecycle import log_group
from stacks.constructs.nag import acknowledge
from stacks.constructs.singleton import stack_singleton
from stacks.settings import Lifecycle

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64  # cheaper per GB-second; every dependency is pure Python or has wheels
PIP_PLATFORM = "manylinux2014_aarch64"
CODE_EXCLUDES = ["layer", "**/__pycache__", "**/*.pyc", "**/README.md"]


@dataclass(frozen=True)
class LambdaSources:
    """Where the handlers and the layer's requirements are; given by the app, not read by stacks."""

    code_dir: Path
    layer_dir: Path  # holds requirements.txt


@jsii.implements(ILocalBundling)
class PipInstallForLambda:
    """Installs ``requirements.txt`` for the Lambda platform into ``python/`` of the layer asset."""

    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, options: Any) -> bool:  # options: BundlingOptions, unused
        target = Path(output_dir) / "python"
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--requirement", str(self._requirements), "--target", str(target),
            "--platform", PIP_PLATFORM, "--implementation", "cp",
            "--python-version", RUNTIME.name.removeprefix("python"), "--only-binary=:all:", "--no-compile",
        ]  # fmt: skip
        subprocess.run(command, check=True)
        # Console scripts are useless in a layer.
        shutil.rmtree(target / "bin", ignore_errors=True)
        return True


class DependenciesLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, sources: LambdaSources) -> None:
        super().__init__(scope, construct_id)
        requirements = sources.layer_dir / "requirements.txt"
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(sources.layer_dir),
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,  # named only because the API requires it; never pulled
                    local=cast(ILocalBundling, PipInstallForLambda(requirements)),
                    command=["false"],
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools for AWS Lambda and the pinned AWS SDK",
        )


@dataclass(frozen=True)
class FunctionCode:
    """The handlers' code directory and the dependencies layer of one stack."""

    code_dir: Path
    layer: lambda_.ILayerVersion

    @staticmethod
    def for_stack(scope: Construct, sources: LambdaSources) -> FunctionCode:
        layer = stack_singleton(
            scope,
            "Dependencies",
            DependenciesLayer,
            lambda stack, name: DependenciesLayer(stack, name, sources=sources),
        )
        return FunctionCode(code_dir=sources.code_dir, layer=layer.layer)


class AppFunction(Construct):
    """A function with its own log group and a role that may write only there, traced with X-Ray."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: FunctionCode,
        handler: str,
        description: str,
        lifecycle: Lifecycle,
        environment: Mapping[str, str] | None = None,
        timeout_seconds: int = 30,
        memory_size: int = 256,
        reserved_concurrency: int | None = None,
        wildcard_reasons: Sequence[str] = (),
        **function_props: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", lifecycle)
        self.role: iam.Role = HandlerRole(self, "Role", log_group=self.log_group, description=description).role
        service = handler.split(".", 1)[0]
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(
                str(code.code_dir),
                exclude=CODE_EXCLUDES,
                # The producer's sample stream links to sample_data/: ship the file, not the link.
                follow_symlinks=SymlinkFollowMode.ALWAYS,
            ),
            layers=[code.layer],
            description=description,
            role=self.role,
            log_group=self.log_group,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": service,
                "POWERTOOLS_METRICS_NAMESPACE": Stack.of(self).stack_name.split("-", 1)[0],
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # Retries with client-side rate limiting, so throttling backs off instead of failing.
                "AWS_RETRY_MODE": "adaptive",
                "AWS_MAX_ATTEMPTS": "8",
                **(environment or {}),
            },
            **function_props,
        )
        # Why this role has statements on Resource::* (cdk-nag IAM5); callers that add some say why.
        reasons = ["X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
                   *wildcard_reasons]  # fmt: skip
        if "vpc" in function_props:
            # What AWSLambdaVPCAccessExecutionRole grants, inline: Lambda manages the function's
            # network interfaces with this role, and their IDs do not exist before it does.
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=[
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DescribeSubnets",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    resources=["*"],
                )
            )
            reasons.append(
                "Lambda creates the VPC function's network interfaces with this role; their IDs are unknown."
            )
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", " ".join(reasons))
