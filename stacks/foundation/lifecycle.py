"""Removal policies and log groups that follow the lifecycle mode."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.settings import LOG_RETENTION_DAYS, Lifecycle

# RetentionDays lists the same periods in the same order, then INFINITE.
_RETENTION = dict(zip(LOG_RETENTION_DAYS, list(logs.RetentionDays)[: len(LOG_RETENTION_DAYS)], strict=True))


def retention(lifecycle: Lifecycle) -> logs.RetentionDays:
    return _RETENTION[lifecycle.log_retention_days]


def removal_policy(lifecycle: Lifecycle) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if lifecycle.retain_data else RemovalPolicy.DESTROY


def log_group(scope: Construct, construct_id: str, lifecycle: Lifecycle) -> logs.LogGroup:
    """A log group with the configured retention, kept in prod and deleted with the stack in dev."""
    return logs.LogGroup(scope, construct_id, retention=retention(lifecycle), removal_policy=removal_policy(lifecycle))
