"""A bearer token verified by the rules of API Gateway's JWT authorizer, so that the chat page's WebSocket API
admits exactly the tokens its HTTP API admits
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html):

- the token is a JWS signed with RS256 by a key of the issuer's key set (its ``kid``), which comes from the
  issuer's OpenID discovery document (``jwks_uri``);
- ``iss`` is the configured issuer; ``aud`` or, without it, ``client_id`` is one of the configured audiences;
- ``exp`` lies in the future, and ``nbf`` and ``iat``, when present, in the past.

Keys are fetched once per execution environment and again when a token names a key not yet known (the issuer
rotated its keys), at most once a minute, so forged ``kid`` values cannot make the function hammer the issuer.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHMS = ["RS256"]  # what Cognito and API Gateway's JWT authorizer use
REFETCH_SECONDS = 60
FETCH_TIMEOUT_SECONDS = 5
MAX_TOKEN_BYTES = 16 * 1024  # far above any ID token; refuses junk before parsing it
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class TokenRejected(Exception):
    """The connection is refused; the message says why (logged, never sent to the caller)."""


def fetch_json(url: str) -> Any:
    """GET a JSON document over HTTPS (plain HTTP only on this machine, for the local stand-ins)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise TokenRejected(f"the issuer's documents must be served over HTTPS: {url}")
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # the scheme is checked above
        return json.load(response)


@dataclass
class IssuerKeys:
    """The issuer's public keys, from ``<issuer>/.well-known/openid-configuration``."""

    issuer: str
    fetch: Callable[[str], Any] = fetch_json
    clock: Callable[[], float] = time.time
    _keys: KeySet | None = field(default=None, init=False)
    _fetched_at: float = field(default=float("-inf"), init=False)

    def _refresh(self) -> None:
        self._fetched_at = self.clock()  # a failed fetch also waits a minute: an unreachable issuer is not hammered
        discovery = self.fetch(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        self._keys = KeySet.import_key_set(self.fetch(str(discovery["jwks_uri"])))

    def for_key_id(self, key_id: str) -> KeySet:
        known = self._keys is not None and any(key.kid == key_id for key in self._keys.keys)
        if not known and self.clock() - self._fetched_at >= REFETCH_SECONDS:
            self._refresh()
        if self._keys is None or not any(key.kid == key_id for key in self._keys.keys):
            raise TokenRejected(f"no key {key_id!r} in the issuer's key set")
        return self._keys


@dataclass(frozen=True)
class TokenRules:
    issuer: str
    audiences: tuple[str, ...]


def verify(token: str, rules: TokenRules, keys: IssuerKeys, now: float) -> Mapping[str, Any]:
    """The token's claims, or TokenRejected."""
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected("no token, or one too long to be a token")
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError, UnicodeError) as error:
        raise TokenRejected(f"not a signed token: {error}") from None
    if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
        raise TokenRejected(f"algorithm {header.get('alg')!r} or key ID missing")
    try:
        claims = dict(jwt.decode(token, keys.for_key_id(header["kid"]), algorithms=ALGORITHMS).claims)
    except (JoseError, ValueError) as error:
        raise TokenRejected(f"signature or claims rejected: {error}") from None
    if claims.get("iss") != rules.issuer:
        raise TokenRejected("issuer mismatch")
    audiences = claims.get("aud", claims.get("client_id"))
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not set(map(str, audiences)) & set(rules.audiences):
        raise TokenRejected("audience mismatch")
    expires = claims.get("exp")
    if isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= now:
        raise TokenRejected("token expired, or without exp")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > now + 1:
            raise TokenRejected(f"token not valid yet ({name})")
    return claims


def offered_token(header: str | None, subprotocol: str) -> str | None:
    """The token the page offers after ``subprotocol`` in Sec-WebSocket-Protocol (``kb-answer-stream, <JWT>``)."""
    offered = [item.strip() for item in (header or "").split(",")]
    if len(offered) != 2 or offered[0] != subprotocol:  # the subprotocol, then the token
        return None
    return offered[1] or None
