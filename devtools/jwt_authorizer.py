"""API Gateway's HTTP API JWT authorizer, as documented, for tests of the query function's HTTPS entry point.

What it models (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):
the token comes from the ``Authorization`` header (a ``Bearer`` prefix is accepted); its ``kid`` must
name a key of the issuer's key set and its signature must verify; ``iss`` must equal the configured
issuer; ``aud`` or, without it, ``client_id`` must be one of the configured audiences; ``exp`` must lie
in the future and ``nbf``/``iat``, when present, in the past. A rejected token gets 401 and the
integration never runs. An accepted one reaches the function as payload format 2.0, with the claims
under ``requestContext.authorizer.jwt.claims`` as text: a list claim arrives as ``"[a b]"``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from devtools.fake_bedrock import JsonHandler, serve

TEST_ISSUER = "https://issuer.example.com/tests"
TEST_AUDIENCE = "query-client"


class Unauthorized(Exception):
    """API Gateway answers 401 and does not invoke the integration."""


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class TokenIssuer:
    """An identity provider with one signing key: it signs tokens, and publishes the key set it verifies with."""

    issuer: str = TEST_ISSUER
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key"}))

    def token(self, claims: Mapping[str, Any] | None = None, *, lifetime_seconds: int = 300) -> str:
        now = int(time.time())
        payload = {"iss": self.issuer, "aud": TEST_AUDIENCE, "sub": "user-1", "iat": now,
                   "exp": now + lifetime_seconds, **(claims or {})}  # fmt: skip
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, payload, self.key)

    @property
    def key_set(self) -> KeySet:
        return KeySet([RSAKey.import_key(self.key.as_dict(private=False))])


@dataclass(frozen=True)
class JwtAuthorizer:
    issuer: str
    audiences: tuple[str, ...]
    key_set: KeySet

    def verify(self, authorization: str | None) -> dict[str, Any]:
        """The token's claims, or :class:`Unauthorized`."""
        if not authorization:
            raise Unauthorized("no Authorization header")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            decoded = jwt.decode(token, self.key_set, algorithms=["RS256"])
        except (JoseError, ValueError) as error:
            raise Unauthorized(f"token rejected: {error}") from None
        claims = decoded.claims
        now = time.time()
        if claims.get("iss") != self.issuer:
            raise Unauthorized("issuer mismatch")
        audiences = claims.get("aud", claims.get("client_id"))
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if not set(audiences) & set(self.audiences):
            raise Unauthorized("audience mismatch")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= now:
            raise Unauthorized("token expired")
        if any(isinstance(claims.get(name), int | float) and claims[name] > now + 1 for name in ("nbf", "iat")):
            raise Unauthorized("token not yet valid")
        return claims

    def event(self, authorization: str | None, body: Any, *, route: str = "POST /query") -> dict[str, Any]:
        """The integration's event for an accepted request (payload format 2.0), or :class:`Unauthorized`."""
        claims = self.verify(authorization)
        text = body if isinstance(body, str) else json.dumps(body)
        method, path = route.split(" ", 1)
        return {
            "version": "2.0",
            "routeKey": route,
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"authorization": authorization or "", "content-type": "application/json"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "a1b2c3d4e5",
                "authorizer": {"jwt": {"claims": {name: _as_text(value) for name, value in claims.items()},
                                       "scopes": None}},
                "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                         "userAgent": "curl/8"},
                "requestId": "request-1",
                "routeKey": route,
                "stage": "$default",
                "time": "22/Nov/2026:10:00:00 +0000",
                "timeEpoch": 1795342800000,
            },
            "body": text,
            "isBase64Encoded": False,  # API Gateway passes text content types as they are
        }  # fmt: skip


@contextmanager
def serve_issuer(issuer: TokenIssuer) -> Iterator[TokenIssuer]:
    """Publish the issuer's OpenID discovery document and key set on 127.0.0.1 until the block ends; the issuer
    is renamed to that URL, as a real issuer's name is where its documents are."""

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/.well-known/openid-configuration":
                self._send(200, {"issuer": issuer.issuer, "jwks_uri": f"{issuer.issuer}/jwks.json"})
            elif path == "/jwks.json":
                self._send(200, dict(issuer.key_set.as_dict()))
            else:
                self._send(404, {"message": "not found"})

    with serve(Handler) as url:
        issuer.issuer = url
        yield issuer
