"""Conversations bound to the audience that started them.

RetrieveAndGenerate keeps a conversation's turns under its sessionId, answers included, so whoever holds a
sessionId can ask what an earlier turn said. With groups configured, the function never returns Bedrock's
sessionId bare: it returns ``<sessionId>~<MAC>``, the MAC being a KMS HMAC (GenerateMac, HMAC_SHA_256) of
the sessionId and the audience (the groups the caller asked as). A follow-up must come from the same
audience: KMS verifies the MAC (VerifyMac) before Bedrock is called, and a handle of another audience, or
an altered one, is refused. The key never leaves KMS, and nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from query.request import RequestError

MAC_ALGORITHM = "HMAC_SHA_256"
_SEPARATOR = "~"  # not in Bedrock's sessionId pattern, ^[0-9a-zA-Z._:-]+$


def _message(session_id: str, audience: Sequence[str]) -> bytes:
    return f"kbstream-session\n{session_id}\n{','.join(sorted(audience))}".encode()


@dataclass(frozen=True)
class SessionSeal:
    kms: Any
    key_arn: str

    def seal(self, session_id: str, audience: Sequence[str]) -> str:
        mac = self.kms.generate_mac(KeyId=self.key_arn, Message=_message(session_id, audience),
                                    MacAlgorithm=MAC_ALGORITHM)["Mac"]  # fmt: skip
        return f"{session_id}{_SEPARATOR}{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def open(self, handle: str, audience: Sequence[str]) -> str:
        """Bedrock's sessionId, if this audience started the conversation; else RequestError."""
        session_id, _, encoded = handle.partition(_SEPARATOR)
        try:
            mac = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            mac = b""
        if not session_id or not mac:
            raise RequestError("sessionId must be the sessionId a previous answer returned")
        try:
            self.kms.verify_mac(KeyId=self.key_arn, Message=_message(session_id, audience), Mac=mac,
                                MacAlgorithm=MAC_ALGORITHM)  # fmt: skip
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "KMSInvalidMacException":
                raise
            raise RequestError("this conversation was started by another audience (or its sessionId was "
                               "altered): ask without sessionId to start a new one") from None  # fmt: skip
        return session_id
