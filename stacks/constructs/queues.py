"""SQS queues of this app: encrypted at rest (SSE-SQS) and reachable over TLS only."""

from __future__ import annotations

from aws_cdk import aws_sqs as sqs
from constructs import Construct


def encrypted_queue(scope: Construct, construct_id: str, **props: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **props,  # type: ignore[arg-type]
    )
