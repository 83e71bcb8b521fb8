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
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from stacks.aws_limits import MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS
from stream_ingest.contract import DOCUMENTS_PER_INGEST_REQUEST, DocumentIds

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
_KAFKA_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+|x)(\.kraft)?$")
_BROKER_INSTANCE_TYPE = re.compile(r"^kafka\.[a-z0-9]+\.[a-z0-9]+$")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_CLUSTER_ARN = re.compile(r"^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9-]{1,64}/[A-Za-z0-9-]+$")
_INFERENCE_PROFILE_ID = re.compile(r"^(global|us|eu|apac|jp|au|ca|us-gov)\.[a-z0-9-]+\.[a-z0-9.-]+(:\d+)?$")
_GROUP = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_GIT_REF = re.compile(r"^[A-Za-z0-9._/-]{1,100}$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
# The MSK topic API (AWS::MSK::Topic) works on provisioned clusters from Kafka 3.6 on.
MINIMUM_KAFKA_VERSION = (3, 6)
# The VPC spans two Availability Zones; MSK needs a broker count that is a multiple of that.
AVAILABILITY_ZONES = 2


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
class ExistingCluster:
    """An MSK cluster the team already runs: only the topic and the producer are created for it."""

    cluster_arn: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    # Must allow itself on the IAM broker port (9098); the producer and the event source mapping use it.
    security_group_id: str

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.split(":cluster/", 1)[1].split("/", 1)[0]


@dataclass(frozen=True)
class KafkaSettings:
    cluster_name: str
    kafka_version: str
    broker_instance_type: str
    broker_count: int
    broker_storage_gib: int
    # Availability Zones that carry the Lambda and STS endpoints: 1 is cheaper, 2 survives an AZ outage.
    endpoint_az_count: int
    topic_name: str
    topic_partitions: int
    topic_replication_factor: int
    existing: ExistingCluster | None = None


class PollerMode(Enum):
    """How the MSK event source mapping runs its pollers."""

    ON_DEMAND = "on-demand"  # no fixed cost; a failing batch is retried whole and blocks its partition
    PROVISIONED = "provisioned"  # event poller units billed hourly; retries, bisection, partial batch responses


@dataclass(frozen=True)
class StreamSettings:
    batch_size: int
    batch_window_seconds: int
    document_ids: DocumentIds
    poller_mode: PollerMode
    # Provisioned mode only: attempts after the first before a batch goes to the dead-letter queue.
    retry_attempts: int
    # The account's IngestKnowledgeBaseDocuments quota, shared by the mapping's concurrent invocations.
    ingest_requests_per_second: float


# Pace slightly under the quota: requests from concurrent invocations are not synchronized.
QUOTA_HEADROOM = 0.95


def requests_per_invocation(stream: StreamSettings, partitions: int) -> float:
    """The mapping runs at most one invocation per partition at a time; they share the quota."""
    return round(stream.ingest_requests_per_second * QUOTA_HEADROOM / partitions, 3)


def stream_timeout_seconds(stream: StreamSettings, partitions: int) -> int:
    """Twice the time a full batch takes at one invocation's pace, plus a minute for retries."""
    documents_per_second = requests_per_invocation(stream, partitions) * DOCUMENTS_PER_INGEST_REQUEST
    return math.ceil(stream.batch_size / documents_per_second * 2) + 60


@dataclass(frozen=True)
class QuerySettings:
    inference_profile_id: str  # e.g. global.anthropic.claude-sonnet-4-5-20250929-v1:0
    number_of_results: int
    temperature: float | None
    max_tokens: int | None
    prompt_template: str
    # Group -> enforced RetrievalFilter ({}: unrestricted), as JSON; no groups: no access control.
    group_filters_json: str
    default_group: str

    @property
    def foundation_model_id(self) -> str:
        """The model behind the profile: the profile ID without its geography prefix."""
        return self.inference_profile_id.split(".", 1)[1]


@dataclass(frozen=True)
class GitHubSettings:
    repository: str  # owner/name
    branch: str
    environment: str
    oidc_provider_arn: str  # empty: the stack creates the account's GitHub OIDC provider


@dataclass(frozen=True)
class Lifecycle:
    """What happens to data and logs: passed to every construct that creates either."""

    mode: LifecycleMode
    log_retention_days: int

    @property
    def retain_data(self) -> bool:
        return self.mode is LifecycleMode.PROD


@dataclass(frozen=True)
class FunctionSettings:
    """What every function of the app gets."""

    metrics_namespace: str  # Powertools' namespace; the monitoring reads the same
    # X-Ray SDK subsegments for every AWS call; Lambda traces each invocation either way.
    trace_aws_calls: bool


@dataclass(frozen=True)
class Settings:
    name_prefix: str
    lifecycle: Lifecycle
    embedding: EmbeddingSettings
    storage: StorageSettings
    knowledge_base: KnowledgeBaseSettings
    kafka: KafkaSettings
    stream: StreamSettings
    query: QuerySettings
    alarm_email: str  # empty: alarms notify the SNS topic only
    github: GitHubSettings | None  # None: no deploy-role stack
    functions: FunctionSettings

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
    "kafkaVersion": "3.8.x",
    "brokerInstanceType": "kafka.t3.small",
    "brokerCount": 2,
    "brokerStorageGiB": 10,
    "endpointAzCount": 1,
    "topicName": "ticker-prices",
    "topicPartitions": 2,
    "topicReplicationFactor": 2,
    "existingClusterArn": "",
    "existingVpcId": "",
    "existingSubnetIds": [],
    "existingSecurityGroupId": "",
    "streamBatchSize": 100,
    "streamBatchWindowSeconds": 5,
    "streamDocumentIds": "per-message",
    "streamPollerMode": "on-demand",
    "streamRetryAttempts": 10,
    "ingestRequestsPerSecond": 5,
    "generationModelId": "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "generationTemperature": None,
    "generationMaxTokens": None,
    "promptTemplate": "",
    "queryNumberOfResults": 5,
    "groupFilters": {},
    "defaultGroup": "public",
    "alarmEmail": "",
    "githubRepository": "",
    "githubBranch": "main",
    "githubEnvironment": "production",
    "githubOidcProviderArn": "",
    "traceAwsCalls": False,
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

    def string_list(self, key: str, pattern: re.Pattern[str], hint: str) -> tuple[str, ...]:
        value = self.raw(key)
        if isinstance(value, str):  # -c app:key=a,b on the command line
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(key, f"expected a list of strings, got {value!r}")
        for item in value:
            if not pattern.fullmatch(item):
                raise SettingsError(key, f"{item!r} is not valid: {hint}")
        return tuple(value)

    def optional_number(self, key: str, low: float, high: float, *, integer: bool = False) -> Any:
        value = self.raw(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):  # from the command line
            try:
                value = int(value) if integer else float(value)
            except ValueError:
                raise SettingsError(key, f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
            raise SettingsError(key, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
        if not low <= value <= high:
            raise SettingsError(key, f"{value} is outside {low}-{high}")
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

    kafka = _kafka_settings(read, name_prefix)
    stream = _stream_settings(read, kafka.topic_partitions)
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
        kafka=kafka,
        stream=stream,
        query=_query_settings(read),
        alarm_email=read.string("alarmEmail", _EMAIL, "an e-mail address, or empty for none")
        if read.raw("alarmEmail")
        else "",
        github=_github_settings(read),
        functions=FunctionSettings(metrics_namespace=name_prefix, trace_aws_calls=read.raw("traceAwsCalls") is True),
    )


def _github_settings(read: _Reader) -> GitHubSettings | None:
    if not read.raw("githubRepository"):
        return None
    provider = read.raw("githubOidcProviderArn")
    return GitHubSettings(
        repository=read.string("githubRepository", _GITHUB_REPOSITORY, "owner/name of a GitHub repository"),
        branch=read.string("githubBranch", _GIT_REF, "a branch name"),
        environment=read.string("githubEnvironment", _GIT_REF, "a GitHub environment name"),
        oidc_provider_arn=read.string("githubOidcProviderArn", _OIDC_PROVIDER_ARN, "an IAM OIDC provider ARN")
        if provider
        else "",
    )


def _query_settings(read: _Reader) -> QuerySettings:
    prompt_template = read.string("promptTemplate")
    if prompt_template and "$search_results$" not in prompt_template:
        raise SettingsError("promptTemplate", "must contain $search_results$, where Bedrock puts the retrieved text")
    if len(prompt_template) > 4000:
        raise SettingsError("promptTemplate", "is longer than 4000 characters")
    default_group = read.string("defaultGroup", _GROUP, "1-64 letters, digits, '.', '_', '@' or '-'")
    group_filters = read.raw("groupFilters")
    if isinstance(group_filters, str):  # -c app:groupFilters='{...}'
        try:
            group_filters = json.loads(group_filters)
        except json.JSONDecodeError as error:
            raise SettingsError("groupFilters", f"is not JSON: {error}") from None
    if not isinstance(group_filters, dict):
        raise SettingsError("groupFilters", "expected an object mapping groups to a filter or null")
    for group, enforced in group_filters.items():
        if not _GROUP.fullmatch(group):
            raise SettingsError("groupFilters", f"group {group!r} is not 1-64 letters, digits, '.', '_', '@' or '-'")
        # {} is "no filter": the group sees everything (JSON null would be lost on the way through jsii).
        if not isinstance(enforced, dict) or len(enforced) > 1:
            raise SettingsError("groupFilters", f"the filter of {group!r} must be one RetrievalFilter object or {{}}")
    if group_filters and default_group not in group_filters:
        raise SettingsError("defaultGroup", f"{default_group!r} must be one of the groups in groupFilters")
    return QuerySettings(
        inference_profile_id=read.string(
            "generationModelId", _INFERENCE_PROFILE_ID, "an inference profile ID such as 'global.anthropic.claude-...'"
        ),
        number_of_results=read.integer("queryNumberOfResults", low=1, high=100),
        temperature=read.optional_number("generationTemperature", 0, 1),
        max_tokens=read.optional_number("generationMaxTokens", 1, 65536, integer=True),
        prompt_template=prompt_template,
        group_filters_json=json.dumps(group_filters, sort_keys=True),
        default_group=default_group,
    )


def _stream_settings(read: _Reader, topic_partitions: int) -> StreamSettings:
    stream = StreamSettings(
        batch_size=read.integer("streamBatchSize", low=1, high=10_000),
        batch_window_seconds=read.integer("streamBatchWindowSeconds", low=0, high=300),
        document_ids=read.choice("streamDocumentIds", DocumentIds),
        poller_mode=read.choice("streamPollerMode", PollerMode),
        retry_attempts=read.integer("streamRetryAttempts", low=0, high=10_000),
        ingest_requests_per_second=read.integer("ingestRequestsPerSecond", low=1, high=100),
    )
    timeout = stream_timeout_seconds(stream, topic_partitions)
    if timeout > MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS:
        raise SettingsError(
            "streamBatchSize",
            f"a batch of {stream.batch_size} records, paced at app:ingestRequestsPerSecond="
            f"{stream.ingest_requests_per_second} shared by app:topicPartitions={topic_partitions}, needs a "
            f"{timeout} s function timeout; functions behind an MSK event source mapping may run at most "
            f"{MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS} s. Lower app:streamBatchSize or raise "
            "app:ingestRequestsPerSecond",
        )
    return stream


def _kafka_settings(read: _Reader, name_prefix: str) -> KafkaSettings:
    version = read.string("kafkaVersion", _KAFKA_VERSION, "an MSK version such as '3.8.x' or '3.9.x'")
    match = _KAFKA_VERSION.fullmatch(version)
    assert match is not None
    if (int(match[1]), int(match[2])) < MINIMUM_KAFKA_VERSION:
        raise SettingsError(
            "kafkaVersion", f"{version!r} is older than 3.6, the first version the MSK topic API supports"
        )
    broker_count = read.integer("brokerCount", low=AVAILABILITY_ZONES, high=30)
    if broker_count % AVAILABILITY_ZONES:
        raise SettingsError(
            "brokerCount", f"{broker_count} is not a multiple of {AVAILABILITY_ZONES} Availability Zones"
        )
    replication_factor = read.integer("topicReplicationFactor", low=1, high=3)
    existing = _existing_cluster(read)
    if existing is None and replication_factor > broker_count:
        raise SettingsError("topicReplicationFactor", f"{replication_factor} exceeds the {broker_count} brokers")
    return KafkaSettings(
        cluster_name=existing.cluster_name if existing else f"{name_prefix}-kafka",
        kafka_version=version,
        broker_instance_type=read.string(
            "brokerInstanceType", _BROKER_INSTANCE_TYPE, "an MSK broker type such as 'kafka.t3.small'"
        ),
        broker_count=broker_count,
        broker_storage_gib=read.integer("brokerStorageGiB", low=1, high=16384),
        endpoint_az_count=read.integer("endpointAzCount", low=1, high=AVAILABILITY_ZONES),
        topic_name=read.string("topicName", _TOPIC_NAME, "1-249 letters, digits, '.', '_' or '-'"),
        topic_partitions=read.integer("topicPartitions", low=1, high=1000),
        topic_replication_factor=replication_factor,
        existing=existing,
    )


def _existing_cluster(read: _Reader) -> ExistingCluster | None:
    keys = ("existingClusterArn", "existingVpcId", "existingSubnetIds", "existingSecurityGroupId")
    given = [key for key in keys if read.raw(key) not in ("", [], None)]
    if not given:
        return None
    missing = [key for key in keys if key not in given]
    if missing:
        raise SettingsError(
            missing[0], f"is required with {', '.join(given)}: give all four existing* settings or none"
        )
    subnet_ids = read.string_list("existingSubnetIds", _SUBNET_ID, "a subnet ID such as 'subnet-0123456789abcdef0'")
    if len(subnet_ids) < AVAILABILITY_ZONES:
        raise SettingsError("existingSubnetIds", f"give at least {AVAILABILITY_ZONES} subnets in different AZs")
    return ExistingCluster(
        cluster_arn=read.string("existingClusterArn", _CLUSTER_ARN, "an MSK cluster ARN"),
        vpc_id=read.string("existingVpcId", _VPC_ID, "a VPC ID such as 'vpc-0123456789abcdef0'"),
        subnet_ids=subnet_ids,
        security_group_id=read.string(
            "existingSecurityGroupId", _SECURITY_GROUP_ID, "a security group ID such as 'sg-0123456789abcdef0'"
        ),
    )
