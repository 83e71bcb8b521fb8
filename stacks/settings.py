"""Typed, validated settings for the whole app.

``app.py`` reads the ``app:*`` keys of the CDK context (``cdk.json``, or ``-c app:key=value`` on the
command line) exactly once through :func:`load_settings`. Stacks and constructs receive the
resulting frozen objects as explicit props and never read context, files or the environment.

Every problem is reported as a :class:`SettingsError` that names the offending context key, before
any construct is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

CONTEXT_PREFIX = "app:"

# Output dimensions each supported embedding model can produce. S3 Vectors stores float32 only.
EMBEDDING_MODEL_DIMENSIONS: Mapping[str, tuple[int, ...]] = {
    "amazon.titan-embed-text-v2:0": (256, 512, 1024),
    "amazon.titan-embed-text-v1": (1536,),
    "cohere.embed-english-v3": (1024,),
    "cohere.embed-multilingual-v3": (1024,),
}

# Retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Bedrock stores chunk text and its own metadata under these keys. They must be non-filterable,
# or every chunk counts against the 2 KB filterable-metadata limit and ingestion fails.
BEDROCK_NON_FILTERABLE_KEYS: tuple[str, ...] = ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")

_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,18}[a-z0-9]$")
_INDEX_BASE_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,52}[a-z0-9]$")
_DOCUMENT_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")
_INDEX_FINGERPRINT_LENGTH = 8


class SettingsError(ValueError):
    """A context value is missing, malformed or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Invalid setting '{CONTEXT_PREFIX}{key}': {problem}")
        self.key = key


class LifecycleMode(Enum):
    """What ``cdk destroy`` does with data."""

    DEV = "dev"  # destroy removes everything, data included
    PROD = "prod"  # buckets, vectors and logs are retained


class DistanceMetric(Enum):
    COSINE = "cosine"
    EUCLIDEAN = "euclidean"


@dataclass(frozen=True)
class EmbeddingSettings:
    model_id: str
    dimension: int


@dataclass(frozen=True)
class VectorIndexSettings:
    """Everything that defines the S3 Vectors index. All of it is immutable once created."""

    bucket_name: str
    index_base_name: str
    dimension: int
    distance_metric: DistanceMetric
    data_type: str = "float32"
    non_filterable_metadata_keys: tuple[str, ...] = BEDROCK_NON_FILTERABLE_KEYS

    @property
    def fingerprint(self) -> str:
        """A short digest of the properties an index cannot change after creation."""
        immutable = {
            "dataType": self.data_type,
            "dimension": self.dimension,
            "distanceMetric": self.distance_metric.value,
            "nonFilterableMetadataKeys": sorted(self.non_filterable_metadata_keys),
        }
        digest = hashlib.sha256(json.dumps(immutable, sort_keys=True).encode()).hexdigest()
        return digest[:_INDEX_FINGERPRINT_LENGTH]

    @property
    def index_name(self) -> str:
        """The physical index name: changing an immutable property yields a new index."""
        return f"{self.index_base_name}-{self.fingerprint}"


@dataclass(frozen=True)
class StorageSettings:
    document_prefix: str
    vector_index: VectorIndexSettings


class ChunkingStrategy(Enum):
    FIXED_SIZE = "FIXED_SIZE"
    SEMANTIC = "SEMANTIC"
    HIERARCHICAL = "HIERARCHICAL"
    NONE = "NONE"  # each document (or stream record) is one chunk


@dataclass(frozen=True)
class KnowledgeBaseSettings:
    chunking_strategy: ChunkingStrategy
    chunk_max_tokens: int
    chunk_overlap_percentage: int
    # Seconds S3 changes are gathered before one ingestion job syncs them all.
    sync_batch_window_seconds: int


@dataclass(frozen=True)
class Lifecycle:
    """What happens to data and logs: passed to every construct that creates either."""

    mode: LifecycleMode
    log_retention_days: int

    @property
    def retain_data(self) -> bool:
        return self.mode is LifecycleMode.PROD


@dataclass(frozen=True)
class Settings:
    name_prefix: str
    lifecycle: Lifecycle
    embedding: EmbeddingSettings
    storage: StorageSettings
    knowledge_base: KnowledgeBaseSettings

    def stack_name(self, part: str) -> str:
        return f"{self.name_prefix}-{part}"


# Every key this module understands, with its default. cdk.json lists the same keys so users see them.
DEFAULTS: Mapping[str, Any] = {
    "namePrefix": "kbstream",
    "lifecycleMode": "dev",
    "logRetentionDays": 30,
    "embeddingModelId": "amazon.titan-embed-text-v2:0",
    "embeddingDimension": 1024,
    "distanceMetric": "cosine",
    "documentPrefix": "documents/",
    "vectorIndexName": "documents",
    "chunkingStrategy": "FIXED_SIZE",
    "chunkMaxTokens": 300,
    "chunkOverlapPercentage": 20,
    "syncBatchWindowSeconds": 60,
}


class _Reader:
    """Reads raw context values and coerces strings given with ``-c`` on the command line."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def raw(self, key: str) -> Any:
        value = self._values.get(key)
        return DEFAULTS[key] if value is None else value

    def string(self, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str:
        value = self.raw(key)
        if not isinstance(value, str):
            raise SettingsError(key, f"expected a string, got {type(value).__name__}")
        if pattern is not None and not pattern.fullmatch(value):
            raise SettingsError(key, f"{value!r} is not valid{': ' + hint if hint else ''}")
        return value

    def integer(
        self, key: str, allowed: tuple[int, ...] | None = None, low: int | None = None, high: int | None = None
    ) -> int:
        value = self.raw(key)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(key, f"expected an integer, got {value!r}")
        if allowed is not None and value not in allowed:
            raise SettingsError(key, f"{value} is not one of {', '.join(map(str, allowed))}")
        if low is not None and value < low:
            raise SettingsError(key, f"{value} is below the minimum {low}")
        if high is not None and value > high:
            raise SettingsError(key, f"{value} is above the maximum {high}")
        return value

    def choice(self, key: str, enum: type[Enum]) -> Any:
        value = self.raw(key)
        allowed = [member.value for member in enum]
        if value not in allowed:
            raise SettingsError(key, f"{value!r} is not one of {', '.join(map(repr, allowed))}")
        return enum(value)


def load_settings(context: Mapping[str, Any]) -> Settings:
    """Build settings from a CDK context mapping (all keys; only ``app:*`` keys are read)."""
    values: dict[str, Any] = {}
    for full_key, value in context.items():
        if not full_key.startswith(CONTEXT_PREFIX):
            continue
        key = full_key[len(CONTEXT_PREFIX) :]
        if key not in DEFAULTS:
            raise SettingsError(key, f"unknown setting; known settings are {', '.join(sorted(DEFAULTS))}")
        values[key] = value
    read = _Reader(values)

    name_prefix = read.string(
        "namePrefix", _NAME_PREFIX, "3-20 characters: lowercase letters, digits, single hyphens, starting with a letter"
    )
    if "--" in name_prefix:
        raise SettingsError("namePrefix", f"{name_prefix!r} contains consecutive hyphens")
    model_id = read.string("embeddingModelId")
    if model_id not in EMBEDDING_MODEL_DIMENSIONS:
        raise SettingsError(
            "embeddingModelId", f"{model_id!r} is not one of {', '.join(sorted(EMBEDDING_MODEL_DIMENSIONS))}"
        )
    dimension = read.integer("embeddingDimension", allowed=EMBEDDING_MODEL_DIMENSIONS[model_id])
    # The bucket name derives from the prefix, which also names the stacks: it never changes in place.
    bucket_name = f"{name_prefix}-vectors"
    index_base_name = read.string(
        "vectorIndexName",
        _INDEX_BASE_NAME,
        "3-54 characters: lowercase letters, digits, hyphens, dots (a 9-character suffix is added)",
    )

    return Settings(
        name_prefix=name_prefix,
        lifecycle=Lifecycle(
            mode=read.choice("lifecycleMode", LifecycleMode),
            log_retention_days=read.integer("logRetentionDays", allowed=LOG_RETENTION_DAYS),
        ),
        embedding=EmbeddingSettings(model_id=model_id, dimension=dimension),
        storage=StorageSettings(
            document_prefix=read.string(
                "documentPrefix", _DOCUMENT_PREFIX, "an S3 key prefix such as 'documents/' (no leading '/')"
            ),
            vector_index=VectorIndexSettings(
                bucket_name=bucket_name,
                index_base_name=index_base_name,
                dimension=dimension,
                distance_metric=read.choice("distanceMetric", DistanceMetric),
            ),
        ),
        knowledge_base=KnowledgeBaseSettings(
            chunking_strategy=read.choice("chunkingStrategy", ChunkingStrategy),
            chunk_max_tokens=read.integer("chunkMaxTokens", low=20, high=8192),
            chunk_overlap_percentage=read.integer("chunkOverlapPercentage", low=1, high=99),
            sync_batch_window_seconds=read.integer("syncBatchWindowSeconds", low=0, high=300),
        ),
    )
