"""Short-lived links to the documents an answer cites, for the chat page: each a presigned S3 GET, made with the
function's own credentials, for an object of the app's document bucket only.

Only sources the caller was shown get a link, and the caller was shown only what its audience's filter lets it
retrieve, so a link never reaches a document the caller's group may not see. A link expires after
``LINK_SECONDS``.
"""

from __future__ import annotations

from typing import Any

LINK_SECONDS = 300


def s3_object(uri: str, bucket: str) -> str | None:
    """The key of ``uri`` when it names an object of ``bucket``, else None."""
    prefix = f"s3://{bucket}/"
    return uri[len(prefix) :] if uri.startswith(prefix) and len(uri) > len(prefix) else None


def add_document_links(s3: Any, response: dict[str, Any], bucket: str) -> int:
    """Adds ``link`` to each cited or retrieved source of ``bucket``; returns how many links it made."""
    made = 0
    for source in [*response.get("citations", []), *response.get("results", [])]:
        key = s3_object(str(source.get("uri", "")), bucket)
        if key is not None and source.get("guardrail") != "BLOCKED":
            source["link"] = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                       ExpiresIn=LINK_SECONDS)  # fmt: skip
            made += 1
    return made
