"""SQS queues of this app: encrypted at rest (SSE-SQS, or the app's key) and reachable over TLS only."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.foundation.checkov import skip_check
from stacks.foundation.nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey | None, holds: str) -> sqs.Queue:
    """Where ``holds`` ends up; kept 14 days (SQS's maximum) for inspection and redrive."""
    queue = encrypted_queue(scope, construct_id, key=key, retention_period=Duration.days(14))
    acknowledge(queue, "Serverless-SQSRedrivePolicy", f"This is the dead-letter queue of {holds}.")
    acknowledge(queue, "AwsSolutions-SQS3", f"This is the dead-letter queue of {holds}.")
    return queue


def encrypted_queue(scope: Construct, construct_id: str, *, key: kms.IKey | None, **props: object) -> sqs.Queue:
    """With ``key``, CDK's grants on the queue include what its users need of the key."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        # One data key serves many messages: fewer KMS requests (SQS's default is 5 minutes).
        data_key_reuse=Duration.hours(1) if key else None,
        enforce_ssl=True,
        **props,  # type: ignore[arg-type]
    )
    if key is None:
        skip_check(queue, "CKV_AWS_27", "Encrypted with SSE-SQS (SqsManagedSseEnabled), which this check does not "
                   "recognize; encryption=customer-managed uses the app's key.")  # fmt: skip
    return queue
