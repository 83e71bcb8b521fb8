"""boto3 clients built once per execution environment, with botocore's retry modes."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config


def retry_config() -> Config:
    """Adaptive mode retries throttling with backoff and also rate-limits the client itself, so a burst
    slows down instead of failing. AWS_MAX_ATTEMPTS (set on every function) bounds the attempts."""
    attempts = int(os.environ.get("AWS_MAX_ATTEMPTS", "8"))
    return Config(retries={"mode": "adaptive", "total_max_attempts": attempts}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    """One client per service and execution environment (created on first use, then reused)."""
    return boto3.client(service, config=retry_config())


def required_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value
