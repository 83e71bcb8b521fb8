"""Recognizes Bedrock's refusals that mean "this account has not enabled the model yet".

A third-party model (Claude) is enabled in an account by its first invocation, which needs
aws-marketplace:Subscribe and ViewSubscriptions; Anthropic models also need the one-time use-case
form. The query function deliberately holds neither (answering a question must not subscribe the
account to a Marketplace offer), so it names the one-time step instead of passing on a bare 403.
"""

from __future__ import annotations

# Phrases of Bedrock's messages for a model the account has not enabled (lowercase).
_MODEL_ACCESS_HINTS = (
    "aws-marketplace",
    "use case",
    "model access",
    "don't have access to the model",
    "do not have access to the model",
)
_CODES = {"AccessDeniedException", "ResourceNotFoundException", "ValidationException"}

FIX = (
    "Enable the generation model once for this account and Region, as an administrator with "
    "aws-marketplace:Subscribe, ViewSubscriptions and Unsubscribe: submit Anthropic's use-case form "
    "(Bedrock console, model catalog, or `aws bedrock put-use-case-for-model-access`), then invoke the "
    "model once (see the README, Deploy, step 2). Retry the question afterwards."
)


def needs_model_access(code: str, message: str) -> bool:
    lowered = message.lower()
    return code in _CODES and any(hint in lowered for hint in _MODEL_ACCESS_HINTS)
