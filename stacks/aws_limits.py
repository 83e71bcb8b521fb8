"""Limits AWS documents that shape this app's settings, each with where AWS says so.

Limits a function works within live in that function's contract (``lambdas/<function>/contract.py``).
"""

from __future__ import annotations

# Functions behind an Amazon MSK event source mapping may run at most 14 minutes.
# https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html (function timeout)
MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS = 14 * 60

# An HTTP API waits at most 30 seconds for its integration (API Gateway quotas, HTTP APIs:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html, integration timeout).
HTTP_API_MAX_INTEGRATION_SECONDS = 30
