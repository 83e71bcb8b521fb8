"""Limits AWS documents that shape this app's settings, each with where AWS says so."""

from __future__ import annotations

# Functions behind an Amazon MSK event source mapping may run at most 14 minutes.
# https://docs.aws.amazon.com/lambda/latest/dg/with-msk-configure.html (function timeout)
MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS = 14 * 60

# IngestKnowledgeBaseDocuments takes 1-10 documents a request (botocore model: documents, min 1, max 10).
# https://docs.aws.amazon.com/bedrock/latest/APIReference/API_agent_IngestKnowledgeBaseDocuments.html
DOCUMENTS_PER_INGEST_REQUEST = 10
