"""The chat page on this machine, with no AWS: ``make chat-local`` (http://127.0.0.1:8765, ``PORT`` overrides).

    python -m scripts.chat_local [--port 8765]

The built page (``build/chat``, from ``make chat-build``) is served with the security headers CloudFront sends.
Behind it, everything the deployed page talks to has a local stand-in:
- sign-in: an authorization endpoint that lets you pick a group and a token endpoint that checks the PKCE
  verifier and issues a signed test token with that group in ``cognito:groups``; the issuer publishes its keys
  (OpenID discovery) for the WebSocket authorizer;
- the HTTPS API (which the page uses where no WebSocket connection opens): the query function's own code behind
  API Gateway's JWT authorizer, admitting the page's origin, which here is another port (``devtools.local_query``);
- the WebSocket API the answers stream over: the authorizer's own code admits each connection, and the query
  function streams the answer back through the connection endpoint (``devtools.local_stream_api``);
- the knowledge base: the fake over the sample documents and stream, with canned answers
  (``scripts.evaluation.sample``).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import html
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from chat_authorizer.contract import ChatAuthorizerConfig
from devtools.fake_bedrock import serve
from devtools.fake_knowledge_base import fake_knowledge_base
from devtools.jwt_authorizer import JwtAuthorizer, TokenIssuer, serve_issuer
from devtools.local_query import local_query_function
from devtools.settings_docs import REPO_ROOT
from query.contract import STREAM_SUBPROTOCOL
from scripts.evaluation.sample import GROUP_FILTERS, SAMPLE_BUCKET, query_config, sample_state
from stacks.foundation.web_headers import security_headers

PAGE = REPO_ROOT / "build" / "chat"
DEFAULT_PORT = 8765
CLIENT_ID = "local-chat"
# The metadata the sample knowledge base declares: its documents' sidecars and the stream mapping's fields.
SAMPLE_FILTERS = [
    {"key": "is_internal", "type": "BOOLEAN", "description": "internal documents"},
    {"key": "tags", "type": "STRING", "description": "tag set, e.g. security,governance"},
    {"key": "published_at", "type": "NUMBER", "description": "epoch seconds"},
    {"key": "ticker", "type": "STRING", "description": "stream: ticker symbol"},
]
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".png": "image/png",
}


@dataclass
class ChatLocal:
    url: str  # the page
    api_url: str
    tokens_issued: list[str]  # the group of each token issued
    stream_url: str = ""  # the WebSocket API the answers stream over


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _sign_in_form(query: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in query.items()
    )
    options = "".join(f'<option value="{group}">{group}</option>' for group in GROUP_FILTERS)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local sign-in</title></head>'
        "<body><main><h1>Local sign-in</h1><p>This stands in for Cognito's managed login: choose the group "
        'your test token carries.</p><form method="post"><label for="group">Group</label> '
        f'<select id="group" name="group">{options}</select>{hidden} '
        '<button type="submit">Sign in</button></form></main></body></html>'
    )


def _handler(
    page: Path,
    config: dict[str, Any],
    issuer: TokenIssuer,
    chat: ChatLocal,
    origins: list[str],
    codes: dict[str, dict[str, str]],
    lock: threading.Lock,
) -> type[BaseHTTPRequestHandler]:

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as JsonHandler (devtools/fake_bedrock.py) says

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {
                **security_headers(origins),
                "Content-Type": content_type,
                "Cache-Control": "no-store",
                **(extra or {}),
            }.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _redirect(self, location: str) -> None:
            self._send(302, b"", "text/plain", {"Location": location})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            if parts.path == "/config.json":
                self._send(200, json.dumps(config).encode(), "application/json")
            elif parts.path == "/local-auth/authorize":
                wanted = {"response_type": "code", "code_challenge_method": "S256", "client_id": CLIENT_ID}
                if any(query.get(name) != value for name, value in wanted.items()) or "code_challenge" not in query:
                    self._send(400, b"authorization code with PKCE (S256) for this client only", "text/plain")
                    return
                # The sign-in page's own policy: a form posting to itself, nothing else.
                self._send(
                    200,
                    _sign_in_form(query).encode(),
                    "text/html; charset=utf-8",
                    {"Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'"},
                )
            elif parts.path == "/local-auth/logout":
                self._redirect(query.get("logout_uri", "/"))
            else:
                name = "index.html" if parts.path in {"", "/"} else parts.path.lstrip("/")
                target = (page / name).resolve()
                if page.resolve() not in target.parents or not target.is_file():
                    self._send(404, b"not found", "text/plain")
                    return
                self._send(200, target.read_bytes(), _CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            form = {
                name: values[0]
                for name, values in parse_qs(
                    self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                ).items()
            }
            if parts.path == "/local-auth/authorize":
                code = secrets.token_urlsafe(24)
                with lock:
                    codes[code] = form
                self._redirect(f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}")
            elif parts.path == "/local-auth/token":
                with lock:
                    granted = codes.pop(form.get("code", ""), None)
                valid = (
                    granted is not None
                    and form.get("client_id") == CLIENT_ID
                    and (
                        form.get("redirect_uri") == granted["redirect_uri"]
                        and _challenge(form.get("code_verifier", "")) == granted["code_challenge"]
                    )
                )
                if not valid or granted is None:
                    self._send(
                        400,
                        json.dumps({"error": "invalid_grant"}).encode(),
                        "application/json",
                        {"Access-Control-Allow-Origin": chat.url},
                    )
                    return
                group = granted["group"]
                chat.tokens_issued.append(group)
                token = issuer.token(
                    {"aud": CLIENT_ID, "cognito:groups": [group], "email": f"{group}@example.com", "token_use": "id"},
                    lifetime_seconds=3600,
                )
                body = {"id_token": token, "access_token": token, "token_type": "Bearer", "expires_in": 3600}
                self._send(
                    200, json.dumps(body).encode(), "application/json", {"Access-Control-Allow-Origin": chat.url}
                )
            else:
                self._send(404, b"not found", "text/plain")

        def do_OPTIONS(self) -> None:
            self._send(
                204,
                b"",
                "text/plain",
                {
                    "Access-Control-Allow-Origin": chat.url,
                    "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "content-type",
                },
            )

    return Handler


def _unreachable_stream_url() -> str:
    """A ws:// URL of a port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"ws://127.0.0.1:{probe.getsockname()[1]}/local"


@contextmanager
def chat_local(
    port: int = DEFAULT_PORT, page: Path = PAGE, latency_seconds: float = 0.0, websockets_blocked: bool = False
) -> Iterator[ChatLocal]:
    """The page and its local stand-ins, until the block ends. ``websockets_blocked``: the page's answer stream
    points where nothing listens, as on a network that blocks WebSockets."""
    if not (page / "index.html").exists():
        raise SystemExit(f"{page} has no built page: run make chat-build first")
    with ExitStack() as stack:
        issuer = stack.enter_context(serve_issuer(TokenIssuer()))
        authorizer = JwtAuthorizer(issuer=issuer.issuer, audiences=(CLIENT_ID,), key_set=issuer.key_set)
        state = sample_state()
        state.latency_seconds = latency_seconds
        kb_url, _ = stack.enter_context(fake_knowledge_base(state))
        chat = ChatLocal(url="", api_url="", tokens_issued=[])  # the URLs are known once the servers listen
        config: dict[str, Any] = {}
        codes: dict[str, dict[str, str]] = {}
        origins: list[str] = []
        url = stack.enter_context(serve(_handler(page, config, issuer, chat, origins, codes, threading.Lock()), port))
        chat.url = url
        # As deployed with the page: cited documents of the sample bucket get short-lived links.
        function_config = dataclasses.replace(
            query_config(), group_claim="cognito:groups", document_bucket=SAMPLE_BUCKET
        )
        local = stack.enter_context(
            local_query_function(
                function_config,
                {"AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME": kb_url},
                authorizer=authorizer,
                cors_origin=url,
                chat_authorizer=ChatAuthorizerConfig(
                    issuer=issuer.issuer, audiences=[CLIENT_ID], group_claim="cognito:groups"
                ),
            )
        )
        assert local.stream is not None
        chat.api_url = f"{local.http_url}/query"
        chat.stream_url = _unreachable_stream_url() if websockets_blocked else local.stream.url
        origins.extend([local.http_url, chat.stream_url.rsplit("/", 1)[0]])
        config.update(
            {
                "apiUrl": chat.api_url,
                "streamUrl": chat.stream_url,
                "streamProtocol": STREAM_SUBPROTOCOL,
                "auth": {
                    "authorizeUrl": f"{url}/local-auth/authorize",
                    "tokenUrl": f"{url}/local-auth/token",
                    "logoutUrl": f"{url}/local-auth/logout",
                    "clientId": CLIENT_ID,
                    "redirectUri": f"{url}/",
                    "groupClaim": "cognito:groups",
                },
                "filters": SAMPLE_FILTERS,
            }
        )
        yield chat


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    arguments = parser.parse_args(argv)
    with chat_local(arguments.port) as chat:
        print(f"The chat page: {chat.url}/ (sign in as public or staff; Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
