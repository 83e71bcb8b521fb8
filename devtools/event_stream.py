"""AWS's event stream encoding (``application/vnd.amazon.eventstream``), for fakes of streaming operations.

Each message: a 12-byte prelude (total length, headers length, CRC32 of those 8 bytes), the headers (name
length, name, type 7 = string, value length, value), the payload, and a CRC32 of everything before it. botocore's
``botocore.eventstream`` decodes what this writes; the tests check it does.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping
from typing import Any

_STRING = 7
_PRELUDE = struct.Struct(">II")


def _headers(headers: Mapping[str, str]) -> bytes:
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", _STRING, len(raw_value)) + raw_value
    return encoded


def message(headers: Mapping[str, str], payload: bytes) -> bytes:
    encoded_headers = _headers(headers)
    prelude = _PRELUDE.pack(12 + len(encoded_headers) + len(payload) + 4, len(encoded_headers))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded_headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """One event of a stream's union, e.g. ``event("output", {"text": "..."})``."""
    headers = {":message-type": "event", ":event-type": event_type, ":content-type": "application/json"}
    return message(headers, json.dumps(payload).encode())


def exception(member: str, text: str) -> bytes:
    """An exception event, named as the stream's union names it, e.g. ``throttlingException``."""
    headers = {":message-type": "exception", ":exception-type": member, ":content-type": "application/json"}
    return message(headers, json.dumps({"message": text}).encode())
