"""What every function gets in its environment, read by Powertools and botocore themselves."""

from __future__ import annotations

from dataclasses import dataclass

from function_runtime.environment import variable

# The Lambda runtime the functions run on (python3.14): the stacks deploy it, the layers are built for it.
PYTHON_VERSION = "3.14"


@dataclass(frozen=True)
class RuntimeConfig:
    service: str = variable("POWERTOOLS_SERVICE_NAME")  # the metrics' "service" dimension and log key
    metrics_namespace: str = variable("POWERTOOLS_METRICS_NAMESPACE")
    # Off: Lambda still traces each invocation, and the X-Ray SDK is never loaded (about 0.2 s of cold start).
    tracer_disabled: bool = variable("POWERTOOLS_TRACE_DISABLED")
    log_level: str = variable("POWERTOOLS_LOG_LEVEL", default="INFO")
    # Adaptive mode retries throttling with backoff and also rate-limits the client itself.
    retry_mode: str = variable("AWS_RETRY_MODE", default="adaptive")
    max_attempts: int = variable("AWS_MAX_ATTEMPTS", default=8)
