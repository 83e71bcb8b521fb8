"""The chat page's security headers, written once: CloudFront's response headers policy sends them, and
``make chat-local`` serves the page with the same ones, so the browser tests run under the deployed policy."""

from __future__ import annotations

from collections.abc import Sequence

HSTS_SECONDS = 2 * 365 * 24 * 3600  # two years, as the HSTS preload list asks


def content_security_policy(connect_origins: Sequence[str]) -> str:
    """Scripts and styles from the page's own origin only; requests only to itself, the API and the sign-in."""
    connect = " ".join(["'self'", *dict.fromkeys(connect_origins)])  # in the order given: tokens do not sort
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {connect}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])  # fmt: skip


def security_headers(connect_origins: Sequence[str]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(connect_origins),
        "Strict-Transport-Security": f"max-age={HSTS_SECONDS}; includeSubDomains",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
