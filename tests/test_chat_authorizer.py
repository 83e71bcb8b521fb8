"""The chat page's WebSocket authorizer admits exactly the tokens the HTTP API's JWT authorizer admits, fetches the
issuer's keys over HTTP as deployed (a local issuer here), and refuses everything else with a Deny policy."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from chat_authorizer import handler as authorizer
from chat_authorizer.contract import IDENTITY_HEADER, ChatAuthorizerConfig
from chat_authorizer.tokens import IssuerKeys, TokenRejected, TokenRules, fetch_json, offered_token, verify
from devtools.jwt_authorizer import TEST_AUDIENCE, JwtAuthorizer, TokenIssuer, Unauthorized, serve_issuer
from devtools.lambda_events import FakeLambdaContext
from function_runtime.environment import as_environment
from query.contract import AUTHORIZED_GROUPS, AUTHORIZED_UNTIL, STREAM_SUBPROTOCOL

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:wsapi12345/live/$connect"


@pytest.fixture(scope="module")
def issuer() -> Iterator[TokenIssuer]:
    with serve_issuer(TokenIssuer()) as served:
        yield served


@pytest.fixture
def configured(issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch) -> TokenIssuer:
    config = ChatAuthorizerConfig(issuer=issuer.issuer, audiences=[TEST_AUDIENCE], group_claim="cognito:groups")
    for name, value in as_environment(config).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "chat-authorizer")
    return issuer


def connect(header: str | None) -> dict[str, Any]:
    headers = {IDENTITY_HEADER: header} if header is not None else {}
    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers,
             "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c1"}}  # fmt: skip
    decision: dict[str, Any] = authorizer.handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    return decision


def effect(decision: dict[str, Any]) -> str:
    (statement,) = decision["policyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    return str(statement["Effect"])


def test_a_verified_token_connects_with_its_groups_and_expiry(configured: TokenIssuer) -> None:
    token = configured.token({"cognito:groups": ["staff", "partners"], "sub": "person-7"})
    decision = connect(f"{STREAM_SUBPROTOCOL}, {token}")
    assert effect(decision) == "Allow" and decision["principalId"] == "person-7"
    assert json.loads(decision["context"][AUTHORIZED_GROUPS]) == ["staff", "partners"]
    assert decision["context"][AUTHORIZED_UNTIL] > time.time()


def forged_with_a_shared_secret(issuer: TokenIssuer) -> str:
    """alg HS256 keyed with the issuer's public key: the classic algorithm confusion."""
    public = json.dumps(issuer.key.as_dict(private=False)).encode()
    claims = {"iss": issuer.issuer, "aud": TEST_AUDIENCE, "exp": int(time.time()) + 300}
    return jwt.encode({"alg": "HS256", "kid": "test-key"}, claims, OctKey.import_key(public))


def unsigned(issuer: TokenIssuer) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"iss": issuer.issuer, "aud": TEST_AUDIENCE, "exp": int(time.time()) + 300}
    return f"{part({'alg': 'none', 'kid': 'test-key'})}.{part(claims)}."


@pytest.mark.parametrize(
    "make_header",
    [
        pytest.param(lambda issuer: None, id="no header"),
        pytest.param(lambda issuer: STREAM_SUBPROTOCOL, id="the subprotocol without a token"),
        pytest.param(lambda issuer: f"other-protocol, {issuer.token()}", id="another subprotocol"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token()}, extra", id="three items"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token(lifetime_seconds=-5)}", id="expired"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token({'aud': 'other-client'})}", id="audience"),
        pytest.param(
            lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token({'iss': 'https://evil.example'})}", id="issuer"
        ),
        pytest.param(
            lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token({'nbf': int(time.time()) + 600})}", id="not yet valid"
        ),
        pytest.param(
            lambda issuer: f"{STREAM_SUBPROTOCOL}, {TokenIssuer(issuer.issuer).token()}",
            id="signed by another key with the same kid",
        ),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {forged_with_a_shared_secret(issuer)}", id="HS256"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {unsigned(issuer)}", id="alg none"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {issuer.token()[:-6]}", id="truncated signature"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, not-a-token", id="junk"),
        pytest.param(lambda issuer: f"{STREAM_SUBPROTOCOL}, {'A' * 70_000}", id="huge"),
    ],
)
def test_anything_else_is_denied_and_never_reaches_the_function(configured: TokenIssuer, make_header: Any) -> None:
    decision = connect(make_header(configured))
    assert effect(decision) == "Deny" and "context" not in decision


def test_it_admits_the_same_tokens_as_the_http_apis_authorizer(configured: TokenIssuer) -> None:
    rules = TokenRules(configured.issuer, (TEST_AUDIENCE,))
    model = JwtAuthorizer(issuer=configured.issuer, audiences=(TEST_AUDIENCE,), key_set=configured.key_set)
    keys = IssuerKeys(configured.issuer)
    now = int(time.time())
    for claims in ({}, {"aud": "other"}, {"aud": None, "client_id": TEST_AUDIENCE}, {"exp": now - 1},
                   {"iat": now + 600}, {"iss": "https://other.example"}, {"aud": [TEST_AUDIENCE, "x"]}):  # fmt: skip
        token = configured.token(claims)
        try:
            model.verify(f"Bearer {token}")
            expected = True
        except Unauthorized:
            expected = False
        try:
            verify(token, rules, keys, time.time())
            admitted = True
        except TokenRejected:
            admitted = False
        assert admitted == expected, claims


def test_keys_are_fetched_once_and_again_only_for_a_new_key_at_most_once_a_minute(issuer: TokenIssuer) -> None:
    fetched: list[str] = []
    now = [1000.0]

    def fetch(url: str) -> Any:
        fetched.append(url)
        return fetch_json(url)

    keys = IssuerKeys(issuer.issuer, fetch=fetch, clock=lambda: now[0])
    rules = TokenRules(issuer.issuer, (TEST_AUDIENCE,))
    for _ in range(3):
        verify(issuer.token(), rules, keys, time.time())
    assert len(fetched) == 2, "the discovery document and the key set, once"
    rotated = TokenIssuer(issuer.issuer, key=RSAKey.generate_key(2048, parameters={"kid": "rotated"}))
    for _ in range(5):  # a flood of tokens naming an unknown key
        with pytest.raises(TokenRejected, match="no key"):
            verify(jwt.encode({"alg": "RS256", "kid": "rotated"}, {"iss": issuer.issuer}, rotated.key), rules, keys,
                   time.time())  # fmt: skip
    assert len(fetched) == 2, "no refetch within a minute of the last"
    now[0] += 61
    with pytest.raises(TokenRejected, match="no key"):
        verify(jwt.encode({"alg": "RS256", "kid": "rotated"}, {"iss": issuer.issuer}, rotated.key), rules, keys,
               time.time())  # fmt: skip
    assert len(fetched) == 4, "one refetch after a minute"


def test_the_issuers_documents_come_over_https_only() -> None:
    with pytest.raises(TokenRejected, match="HTTPS"):
        fetch_json("http://login.example.com/.well-known/openid-configuration")


def test_the_token_is_the_second_subprotocol() -> None:
    assert offered_token(f"{STREAM_SUBPROTOCOL}, abc.def.ghi", STREAM_SUBPROTOCOL) == "abc.def.ghi"
    assert offered_token(f"{STREAM_SUBPROTOCOL},abc", STREAM_SUBPROTOCOL) == "abc"
    assert offered_token("abc, " + STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL) is None
    assert offered_token(None, STREAM_SUBPROTOCOL) is None


def test_an_unreachable_issuer_is_an_error_once_then_asked_again_after_a_minute(issuer: TokenIssuer) -> None:
    attempts: list[str] = []
    now = [0.0]

    def unreachable(url: str) -> Any:
        attempts.append(url)
        raise OSError("connection refused")

    keys = IssuerKeys(issuer.issuer, fetch=unreachable, clock=lambda: now[0])
    rules = TokenRules(issuer.issuer, (TEST_AUDIENCE,))
    with pytest.raises(OSError, match="refused"):  # the function fails: the errors alarm tells the operator
        verify(issuer.token(), rules, keys, time.time())
    for _ in range(3):
        with pytest.raises(TokenRejected, match="no key"):
            verify(issuer.token(), rules, keys, time.time())
    assert len(attempts) == 1
    now[0] += 61
    with pytest.raises(OSError, match="refused"):
        verify(issuer.token(), rules, keys, time.time())
    assert len(attempts) == 2
