"""Finding the deployed app from the command line: settings from cdk.json, IDs from stack outputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from stacks.settings import Settings, load_settings

CDK_JSON = Path(__file__).resolve().parent.parent / "cdk.json"


class DeploymentError(RuntimeError):
    """The stack or one of its outputs is not there: the app is not (fully) deployed."""


def settings_with(context_arguments: Sequence[str]) -> Settings:
    """cdk.json settings with ``app:key=value`` overrides, read the way ``cdk -c`` reads them."""
    context = json.loads(CDK_JSON.read_text())["context"]
    context.update(dict(item.split("=", 1) for item in context_arguments))
    return load_settings(context)


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        # CloudFormation answers ValidationError "Stack with id ... does not exist"; any other error
        # (credentials, access) is not about the deployment and is reported as what it is.
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        raise DeploymentError(f"stack {stack_name} is not deployed in this account and Region") from None
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def stack_output(cloudformation: Any, stack_name: str, key: str) -> str:
    outputs = stack_outputs(cloudformation, stack_name)
    if key not in outputs:
        raise DeploymentError(f"stack {stack_name} has no output {key}: it runs an older version of the app")
    return outputs[key]
