"""The chat authorizer's contract with the app: its configuration. The construct that deploys the function imports
this module (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass

from function_runtime.environment import variable

SERVICE = "chat-authorizer"
HANDLER = f"{__package__}.handler.handler"
# The identity source: a browser's WebSocket can set no header but this one, so the page offers its token as a
# subprotocol, after query.contract.STREAM_SUBPROTOCOL.
IDENTITY_HEADER = "Sec-WebSocket-Protocol"


@dataclass(frozen=True)
class ChatAuthorizerConfig:
    # The token rules of the HTTP API's JWT authorizer, so that both entry points admit the same tokens.
    issuer: str = variable("TOKEN_ISSUER")
    audiences: list[str] = variable("TOKEN_AUDIENCES")
    group_claim: str = variable("GROUP_CLAIM")
