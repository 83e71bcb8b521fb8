"""Facts about the Lambda Python runtime that the layers and the cold-start benchmark rely on."""

from __future__ import annotations

from pathlib import Path

from function_runtime.contract import PYTHON_VERSION

# The AWS SDK for Python and its dependencies, installed in the Lambda Python runtime with bytecode:
# https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html ("includes the SDK for Python (Boto3)").
RUNTIME_PROVIDED_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)

# What the layers' pip installs target: the functions' runtime and architecture.
RUNTIME_PYTHON = PYTHON_VERSION
RUNTIME_PLATFORM = {"python_version": RUNTIME_PYTHON, "python_full_version": f"{RUNTIME_PYTHON}.0",
                    "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64",
                    "implementation_name": "cpython", "platform_python_implementation": "CPython",
                    "os_name": "posix"}  # fmt: skip

LAYERS_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "layers"
