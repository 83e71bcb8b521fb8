"""Unusable SQS messages are kept, with the reason, where an operator will see them."""

from __future__ import annotations

from function_runtime.aws_clients import client
from function_runtime.sqs_limits import acceptable_text


def quarantine(queue_url: str, message_id: str, body: str, reason: str) -> None:
    """Send the message to the dead-letter queue with ``reason`` and its original ID as attributes."""
    client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=body or "(empty)",
        MessageAttributes={
            "reason": {"DataType": "String", "StringValue": acceptable_text(reason[:1024])},
            "originalMessageId": {"DataType": "String", "StringValue": message_id},
        },
    )
