"""SQS's size limits, for every function that sends messages. Standard library only.

A message (its body and attributes) and a whole SendMessageBatch request may each hold at most 1 MiB
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html; the
app's queues keep SQS's default MaximumMessageSize, which is that same 1 MiB).
"""

from __future__ import annotations

import re

MAX_MESSAGE_BYTES = 1024 * 1024
MAX_BATCH_BYTES = 1024 * 1024
MAX_BATCH_ENTRIES = 10
# What a message's attributes may take of it: the dead letters' four attributes are well under this.
ATTRIBUTES_BUDGET_BYTES = 2 * 1024

# A message body and a String attribute may hold only these characters (XML 1.0's Char production): #x9, #xA, #xD,
# #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF; SQS refuses the message otherwise
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html, MessageBody).
REFUSED_CHARACTERS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def acceptable_text(text: str) -> str:
    """``text`` with every character SQS refuses replaced by U+FFFD (control characters, lone surrogates)."""
    return REFUSED_CHARACTERS.sub("\ufffd", text)
