"""AWS clients built once per execution environment, with botocore's retry modes."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _session() -> Any:
    # The SDK loads on the first client, not at import: a handler that is only imported (or that
    # rejects its event) never pays for it. botocore directly: boto3 would add s3transfer, unused here.
    import botocore.session

    return botocore.session.get_session()


@cache
def client(service: str, endpoint_url: str | None = None) -> Any:
    """One client per service (and endpoint, for a service that has one per resource, such as a WebSocket API's
    connections) and execution environment (created on first use, then reused).

    The retry mode and attempts come from AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, which every function
    gets (``function_runtime.contract.RuntimeConfig``): adaptive mode retries throttling with backoff
    and rate-limits the client itself, so a burst slows down instead of failing.
    """
    from botocore.config import Config

    # S3 presigns with Signature Version 4 (the chat page's document links): the only one every Region accepts.
    # and the bulk path's stream function keeps up to 32 writes in flight (stream_ingest.bulk), each on a connection.
    s3_options: dict[str, Any] = {"signature_version": "s3v4", "max_pool_connections": 32} if service == "s3" else {}
    config = Config(connect_timeout=5, read_timeout=60, **s3_options)
    if endpoint_url is None:
        return _session().create_client(service, config=config)
    return _session().create_client(service, endpoint_url=endpoint_url, config=config)
