"""Python Lambda functions of this app, bundled without Docker.

All handlers live under ``lambdas/`` and ship as one code asset (a few kilobytes of our own code);
their third-party dependencies ship as layers (``lambdas/layers/<name>/requirements.txt``) built
with ``pip install --platform`` for the Lambda architecture, so synthesis needs neither Docker nor a
matching local Python. The AWS SDK is the runtime's own: it ships compiled, so it loads faster than
any copy in a layer could.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import BundlingOptions, Duration, ILocalBundling, SymlinkFollowMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from function_runtime.contract import PYTHON_VERSION, RuntimeConfig
from function_runtime.environment import DataclassInstance, as_environment
from stacks.foundation.checkov import NETWORK_INTERFACE_WRITES, skip_check, skip_on_role_policy
from stacks.foundation.handler_role import HandlerRole
from stacks.foundation.lifecycle import log_group
from stacks.foundation.nag import acknowledge
from stacks.foundation.singleton import stack_singleton
from stacks.settings import FunctionSettings, Lifecycle

RUNTIME: lambda_.Runtime = getattr(lambda_.Runtime, f"PYTHON_{PYTHON_VERSION.replace('.', '_')}")
ARCHITECTURE = lambda_.Architecture.ARM_64  # cheaper per GB-second; every dependency is pure Python or has wheels
PIP_PLATFORM = "manylinux2014_aarch64"
CODE_EXCLUDES = ["layers", "**/__pycache__", "**/*.pyc", "**/README.md"]
# Why Checkov's Lambda checks that do not fit this app are skipped on each function.
OUTSIDE_THE_VPC = (
    "It calls only AWS APIs (Bedrock, SQS, CloudWatch) over TLS with IAM authentication; placing it in the VPC "
    "would add interface endpoints or a NAT gateway and protect nothing. Only the producer, which talks to "
    "the brokers, runs in the VPC."
)
CONFIGURATION_ONLY_ENVIRONMENT = (
    "The environment holds configuration (names, ARNs, numbers) and no secret; Lambda encrypts it at rest."
)
UNRESERVED_CONCURRENCY = (
    "Reserving concurrency takes it from the account's unreserved pool (as little as 10 in a new account); "
    "the function's invoker bounds its concurrency: one poller per partition, SQS maximum concurrency, or people."
)
POWERTOOLS_LAYER = "powertools"  # every function: Powertools and the X-Ray SDK
KAFKA_LAYER = "kafka"  # the producer's Kafka client
FORMATS_LAYER = "formats"  # JSON Schema and Avro: the stream function and the producer
TOKENS_LAYER = "tokens"  # JWT verification: the chat page's WebSocket authorizer


@dataclass(frozen=True)
class LambdaSources:
    """Where the handlers and the layers' requirements are; given by the app, not read by stacks."""

    code_dir: Path
    layers_dir: Path  # one folder per layer, each with its requirements.txt


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
            # The requirements list every dependency the runtime lacks; the runtime's SDK is not copied.
            "--no-deps",
        ]  # fmt: skip
        subprocess.run(command, check=True)
        # Console scripts are useless in a layer.
        shutil.rmtree(target / "bin", ignore_errors=True)
        return True


class DependenciesLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, layer_dir: Path) -> None:
        super().__init__(scope, construct_id)
        requirements = layer_dir / "requirements.txt"
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(layer_dir),
                bundling=BundlingOptions(
                    image=RUNTIME.bundling_image,  # named only because the API requires it; never pulled
                    local=cast(ILocalBundling, PipInstallForLambda(requirements)),
                    command=["false"],
                ),
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description=f"Pinned dependencies of this app's functions: lambdas/layers/{layer_dir.name}",
        )


@dataclass(frozen=True)
class FunctionCode:
    """The handlers' code, the layers of one stack (each created once, on first use), and what every
    function gets."""

    scope: Construct
    sources: LambdaSources
    settings: FunctionSettings

    @staticmethod
    def for_stack(scope: Construct, sources: LambdaSources, settings: FunctionSettings) -> FunctionCode:
        return FunctionCode(scope=scope, sources=sources, settings=settings)

    @property
    def code_dir(self) -> Path:
        return self.sources.code_dir

    def layer(self, name: str) -> lambda_.ILayerVersion:
        layer_dir = self.sources.layers_dir / name
        construct_id = "Dependencies" if name == POWERTOOLS_LAYER else f"{name.capitalize()}Dependencies"
        return stack_singleton(
            self.scope,
            construct_id,
            DependenciesLayer,
            lambda stack, construct_name: DependenciesLayer(stack, construct_name, layer_dir=layer_dir),
        ).layer


class AppFunction(Construct):
    """A function with its own log group and a role that may write only there, traced with X-Ray.

    Its environment is its contract's configuration (``lambdas/<function>/contract.py``) plus what every
    function gets (``function_runtime.contract.RuntimeConfig``): one definition for both sides.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: FunctionCode,
        handler: str,
        service: str,
        config: DataclassInstance | None,
        description: str,
        lifecycle: Lifecycle,
        timeout_seconds: int = 30,
        memory_size: int = 256,
        reserved_concurrency: int | None = None,
        layers: Sequence[str] = (POWERTOOLS_LAYER,),
        wildcard_reasons: Sequence[str] = (),
        **function_props: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = log_group(self, "Logs", lifecycle)
        self.role: iam.Role = HandlerRole(self, "Role", log_group=self.log_group, description=description).role
        runtime = RuntimeConfig(
            service=service,
            metrics_namespace=code.settings.metrics_namespace,
            tracer_disabled=not code.settings.trace_aws_calls,
        )
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
            layers=[code.layer(name) for name in layers],
            description=description,
            role=self.role,
            log_group=self.log_group,
            timeout=Duration.seconds(timeout_seconds),
            memory_size=memory_size,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            environment={**as_environment(runtime), **(as_environment(config) if config else {})},
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
            skip_on_role_policy(self.role, "CKV_AWS_111", NETWORK_INTERFACE_WRITES)
        else:
            skip_check(self.function, "CKV_AWS_117", OUTSIDE_THE_VPC)
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", " ".join(reasons))
        skip_check(self.function, "CKV_AWS_173", CONFIGURATION_ONLY_ENVIRONMENT)
        if reserved_concurrency is None:
            skip_check(self.function, "CKV_AWS_115", UNRESERVED_CONCURRENCY)

    def acknowledge_sqs_mappings(self, dead_letters: str) -> None:
        """SQS event source mappings take no on-failure destination: the queue's redrive policy is the
        failure path (cdk-nag Serverless-LambdaEventSourceMappingDestination)."""
        for child in self.function.node.children:
            if isinstance(child, lambda_.EventSourceMapping):
                acknowledge(child, "Serverless-LambdaEventSourceMappingDestination",
                            f"An SQS mapping has no on-failure destination; the queue's redrive policy moves a "
                            f"message that keeps failing to {dead_letters}.")  # fmt: skip

    def invoked_without_async_events(self, how: str) -> None:
        """A dead-letter target serves asynchronous invocations only; ``how`` says how this function is invoked
        and where its failures go instead (cdk-nag Serverless-LambdaDLQ, Checkov CKV_AWS_116)."""
        reason = f"Never invoked asynchronously: {how}"
        acknowledge(self.function, "Serverless-LambdaDLQ", reason)
        skip_check(self.function, "CKV_AWS_116", reason)
