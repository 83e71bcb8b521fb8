"""SQS's size limits, for every function that sends messages. Standard library only.

A message (its body and attributes) and a whole SendMessageBatch request may each hold at most 1 MiB
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html; the
app's queues keep SQS's default MaximumMessageSize, which is that same 1 MiB).
"""

from __future__ import annotations

MAX_MESSAGE_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 1024 * 1024
MAX_BATCH_ENTRIES = 10
# What a message's attributes may take of it: the dead letters' four attributes are well under this.
ATTRIBUTES_BUDGET_BYTES = 2 * 1024
