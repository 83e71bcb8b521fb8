"""Typed, validated settings for the whole app.

``app.py`` reads the ``app:*`` keys of the CDK context (``cdk.json``, or ``-c app:key=value`` on the
command line) exactly once through :func:`load_settings`. The models below are the one definition of
those keys: each field is a key, with its type, bounds, default and documentation. ``cdk.json`` and
the table of docs/settings.md are generated from them (``make settings-docs``) and the tests hold both to them.
Stacks and constructs receive these frozen objects as explicit props and never read context, files or
the environment.

Every problem is a :class:`SettingsError` that names the ``app:`` key, raised before any construct is built.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import to_jsonable_python

from ingestion_jobs.contract import MARKER_PREFIX
from query.contract import HTTP_API_ENTRY_POINT, STREAM_ENTRY_POINT
from stacks.aws_limits import MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS
from stream_ingest.contract import DOCUMENTS_PER_INGEST_REQUEST, STREAM_OBJECT_PREFIX, batch_share
from stream_ingest.formats import JSON, check_mapping
from stream_ingest.mapping import TICKER_PRICES, DocumentMapping, MappingError, parse_mapping

CONTEXT_PREFIX = "app:"

# Output dimensions each supported embedding model can produce. S3 Vectors stores float32 only.
EMBEDDING_MODEL_DIMENSIONS: Mapping[str, tuple[int, ...]] = {
    "amazon.titan-embed-text-v2:0": (256, 512, 1024),
    "amazon.titan-embed-text-v1": (1536,),
    "cohere.embed-english-v3": (1024,),
    "cohere.embed-multilingual-v3": (1024,),
}
# Retention periods CloudWatch Logs accepts.
LogRetentionDays = Literal[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
]
LOG_RETENTION_DAYS: tuple[int, ...] = get_args(LogRetentionDays)
# Bedrock stores chunk text and its own metadata under these keys. They must be non-filterable,
# or every chunk counts against the 2 KB filterable-metadata limit and ingestion fails.
BEDROCK_NON_FILTERABLE_KEYS: tuple[str, ...] = ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")
_INDEX_FINGERPRINT_LENGTH = 8
# The MSK topic API (AWS::MSK::Topic) works on provisioned clusters from Kafka 3.6 on.
MINIMUM_KAFKA_VERSION = (3, 6)
# The VPC spans two Availability Zones; MSK needs a broker count that is a multiple of that.
AVAILABILITY_ZONES = 2
# Pace slightly under the quota: requests from concurrent invocations are not synchronized.
QUOTA_HEADROOM = 0.95


class SettingsError(ValueError):
    """A context value is missing, malformed or out of range: ``str()`` is the problem, ``fix`` what to do."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        super().__init__(f"Invalid setting '{CONTEXT_PREFIX}{key}': {problem}")
        self.key = key
        where = f"{CONTEXT_PREFIX}{key}"
        self.fix = fix or (f"Fix {where} in cdk.json or on the command line (-c {where}=...); docs/settings.md "
                           "says what each setting takes.")  # fmt: skip


def unknown_setting(key: str) -> SettingsError:
    """A key no model defines, with the closest known one when there is one."""
    close = difflib.get_close_matches(key, list(DEFAULTS), n=1, cutoff=0.6)
    fix = (f"Did you mean {CONTEXT_PREFIX}{close[0]}? Rename it in cdk.json or on the command line."
           if close else "Remove it, or pick a setting from docs/settings.md.")  # fmt: skip
    return SettingsError(key, "unknown setting", fix)


class LifecycleMode(Enum):
    """What ``cdk destroy`` does with data."""

    DEV = "dev"  # destroy removes everything, data included
    PROD = "prod"  # buckets, vectors and logs are retained


class DistanceMetric(Enum):
    COSINE = "cosine"
    EUCLIDEAN = "euclidean"


class ChunkingStrategy(Enum):
    FIXED_SIZE = "FIXED_SIZE"
    SEMANTIC = "SEMANTIC"
    HIERARCHICAL = "HIERARCHICAL"
    NONE = "NONE"  # each document (or stream record) is one chunk


class IngestPath(Enum):
    """How the stream's documents reach the knowledge base (docs/bulk-path.md)."""

    DIRECT = "direct"  # IngestKnowledgeBaseDocuments: seconds to searchable, at most 50 documents/s per account
    BULK = "bulk"  # S3 objects and ingestion jobs: any rate, minutes to searchable


# The event source mapping's batching when the settings leave it to the path: the direct path keeps batches
# small enough to finish within the function's timeout at the quota's pace; the bulk path gathers thousands.
DEFAULT_BATCHING: Mapping[IngestPath, tuple[int, int]] = {IngestPath.DIRECT: (500, 5), IngestPath.BULK: (10_000, 10)}
DEFAULT_PARTITIONS: Mapping[IngestPath, int] = {IngestPath.DIRECT: 2, IngestPath.BULK: 6}
# The bulk path's stream function: time to write a full batch's objects (32 in flight), and memory for the CPU.
BULK_FUNCTION_TIMEOUT_SECONDS = 300
# A full vCPU (Lambda allocates one at 1,769 MB): the function's S3 writes cost CPU (signing, checksums), and one
# Python process uses one vCPU at most.
BULK_FUNCTION_MEMORY_MB = 1769


class PollerMode(Enum):
    """How the MSK event source mapping runs its pollers."""

    ON_DEMAND = "on-demand"  # no fixed cost; a failing batch is retried whole and blocks its partition
    PROVISIONED = "provisioned"  # event poller units billed hourly; retries, bisection, partial batch responses


def _text(pattern: str, hint: str) -> AfterValidator:
    """A string matching ``pattern``; ``hint`` says what is expected when it does not."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not valid: {hint}")
        return value

    return AfterValidator(check)


def _comma_separated(value: Any) -> Any:
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


def _json_document(value: Any) -> Any:
    if isinstance(value, str):  # -c app:groupFilters='{...}'
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"is not JSON: {error}") from None
    return value


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value  # -c app:key=7


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


_ARN = "arn:aws[a-z-]*"
NamePrefix = Annotated[
    str,
    _text(
        r"^[a-z](?!.*--)[a-z0-9-]{1,18}[a-z0-9]$",
        "3-20 lowercase letters, digits and single hyphens, starting with a letter",
    ),
]
DocumentPrefix = Annotated[
    str,
    _text(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", "an S3 key prefix such as 'documents/' (no leading '/')"),
]
IndexName = Annotated[
    str, _text(r"^[a-z0-9][a-z0-9.-]{1,52}[a-z0-9]$", "3-54 lowercase letters, digits, hyphens, dots")
]
KafkaVersion = Annotated[str, _text(r"^(\d+)\.(\d+)\.(\d+|x)(\.kraft)?$", "an MSK version such as '3.8.x' or '3.9.x'")]
BrokerType = Annotated[str, _text(r"^kafka\.[a-z0-9]+\.[a-z0-9]+$", "an MSK broker type such as 'kafka.t3.small'")]
TopicName = Annotated[str, _text(r"^[A-Za-z0-9._-]{1,249}$", "1-249 letters, digits, '.', '_' or '-'")]
ClusterArn = Annotated[
    str,
    _text(rf"^$|^{_ARN}:kafka:[a-z0-9-]+:\d{{12}}:cluster/[A-Za-z0-9-]{{1,64}}/[A-Za-z0-9-]+$", "an MSK cluster ARN"),
]
VpcId = Annotated[str, _text(r"^$|^vpc-[0-9a-f]{8,17}$", "a VPC ID such as 'vpc-0123456789abcdef0'")]
SubnetId = Annotated[str, _text(r"^subnet-[0-9a-f]{8,17}$", "a subnet ID such as 'subnet-0123456789abcdef0'")]
SecurityGroupId = Annotated[str, _text(r"^$|^sg-[0-9a-f]{8,17}$", "a security group ID such as 'sg-0123456789abcdef0'")]
_INFERENCE_PROFILE_ID = r"(global|us|eu|apac|jp|au|ca|us-gov)\.[a-z0-9-]+\.[a-z0-9.-]+(:\d+)?"
_PROFILE_HINT = "an inference profile ID such as 'global.anthropic.claude-...'"
InferenceProfileId = Annotated[str, _text(f"^{_INFERENCE_PROFILE_ID}$", _PROFILE_HINT)]
OptionalInferenceProfileId = Annotated[str, _text(f"^$|^{_INFERENCE_PROFILE_ID}$", _PROFILE_HINT + ", or empty")]
# A foundation model in the deploying Region, by its model ID (no geography prefix).
FoundationModelId = Annotated[str, _text(r"^[a-z0-9-]+\.[a-z0-9][a-z0-9.-]*(:[0-9]+)?$",
                                         "a Bedrock foundation model ID such as amazon.nova-pro-v1:0")]  # fmt: skip
# Each group is a Lambda alias of the query function: the alias name rules apply (not digits only).
EnvironmentName = Annotated[
    str, _text(r"^(?!all$)[a-z][a-z0-9-]{0,11}$", "1-12 lowercase letters, digits and hyphens, starting with a letter")
]
AwsAccount = re.compile(r"^\d{12}$")
AwsRegion = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
Group = Annotated[
    str, _text(r"^(?![0-9]+$)[A-Za-z0-9_-]{1,64}$", "1-64 letters, digits, '_' or '-' (a Lambda alias name)")
]
RetrievalFilter = Annotated[dict[str, Any], Field(max_length=1)]  # one filter object, or {} for none
Email = Annotated[str, _text(r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", "an e-mail address, or empty for none")]
GitHubRepository = Annotated[
    str, _text(r"^$|^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", "owner/name of a GitHub repository")
]
KmsKeyArn = Annotated[str, _text(rf"^$|^{_ARN}:kms:[a-z0-9-]+:\d{{12}}:key/[0-9a-f-]{{36}}$", "a KMS key ARN")]
GlueRegistryArn = Annotated[
    str, _text(rf"^$|^{_ARN}:glue:[a-z0-9-]+:\d{{12}}:registry/[A-Za-z0-9_$#-]{{1,255}}$", "an AWS Glue registry ARN")
]
GuardrailId = Annotated[str, _text(r"^$|^[a-z0-9]{1,64}$", "a guardrail ID such as 'abcd1234efgh'")]
GuardrailVersion = Annotated[str, _text(r"^$|^[1-9][0-9]{0,7}$|^DRAFT$", "a guardrail version number, or DRAFT")]
HttpsUrl = Annotated[str, _text(r"^$|^https://[^\s/]+(/[^\s]*)?$", "an https:// URL")]
ClaimName = Annotated[str, _text(r"^[A-Za-z0-9:._-]{1,128}$", "a JWT claim name such as 'cognito:groups'")]
GitRef = Annotated[str, _text(r"^[A-Za-z0-9._/-]{1,100}$", "a branch or environment name")]
OidcProviderArn = Annotated[
    str,
    _text(
        rf"^$|^{_ARN}:iam::\d{{12}}:oidc-provider/token\.actions\.githubusercontent\.com$", "an IAM OIDC provider ARN"
    ),
]

RerankingModelId = Literal["", "amazon.rerank-v1:0", "cohere.rerank-v3-5:0"]
TopicName_ = Annotated[str, _text(r"^[0-9a-zA-Z-_ !?.]{1,100}$", "1-100 letters, digits, spaces and - _ ! ? .")]
# Bedrock Guardrails' sensitive-information types (a test holds this to the botocore model).
PiiEntityType = Literal[
    "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
    "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE",
    "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
    "VEHICLE_IDENTIFICATION_NUMBER",
]  # fmt: skip


class ImplicitFilterAttribute(BaseModel):
    """One metadata attribute a model may build a filter on (Bedrock's MetadataAttributeSchema)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: Annotated[str, Field(min_length=1, max_length=256)]
    type: Literal["STRING", "NUMBER", "BOOLEAN", "STRING_LIST"]
    description: Annotated[str, Field(min_length=1, max_length=1024)]


# --- The app: keys, in groups: what stacks and constructs receive ------------------------------------


class SettingsGroup(BaseModel):
    """Settings that travel together. Each field is one ``app:`` key: its alias is the key (the field
    name in camelCase unless given), its docstring is its documentation, its type and default validate it."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, values: Any) -> Any:
        """Lax validation would read true as 1: only boolean settings take booleans."""
        for name, field in cls.model_fields.items():
            value = values.get(field.alias or name) if isinstance(values, dict) else None
            if isinstance(value, bool) and field.annotation is not bool:
                raise SettingsError(field.alias or name, f"expected a number or text, got {value!r}")
        return values


class Lifecycle(SettingsGroup):
    """What happens to data and logs: passed to every construct that creates either."""

    mode: LifecycleMode = Field(LifecycleMode.DEV, alias="lifecycleMode")
    """`dev`: `cdk destroy` deletes everything, data included. `prod`: buckets, the vector bucket and index, and log groups are retained"""  # noqa: E501
    log_retention_days: Annotated[LogRetentionDays, BeforeValidator(_whole_number)] = 30
    """retention of every log group (a CloudWatch Logs period)"""

    @property
    def retain_data(self) -> bool:
        return self.mode is LifecycleMode.PROD


class EmbeddingSettings(SettingsGroup):
    model_id: Literal[tuple(EMBEDDING_MODEL_DIMENSIONS)] = Field(  # type: ignore[valid-type]
        "amazon.titan-embed-text-v2:0", alias="embeddingModelId"
    )
    """embedding model"""
    dimension: int = Field(1024, alias="embeddingDimension")
    """vector dimension; must be one the model produces (Titan v2: 256, 512, 1024)"""

    @model_validator(mode="after")
    def _model_produces_dimension(self) -> Self:
        dimensions = EMBEDDING_MODEL_DIMENSIONS[self.model_id]
        if self.dimension not in dimensions:
            allowed = ", ".join(map(str, dimensions))
            raise SettingsError("embeddingDimension", f"{self.dimension} is not one of {allowed} ({self.model_id})")
        return self


@dataclass(frozen=True)
class VectorIndexSettings:
    """Everything that defines the S3 Vectors index. All of it is immutable once created."""

    bucket_name: str
    index_base_name: str
    dimension: int
    distance_metric: DistanceMetric
    data_type: str = "float32"
    non_filterable_metadata_keys: tuple[str, ...] = BEDROCK_NON_FILTERABLE_KEYS
    # Which customer-managed key encrypts the index ("" for S3 Vectors' own): fixed at creation too.
    encryption_key: str = ""

    @property
    def fingerprint(self) -> str:
        """A short digest of the properties an index cannot change after creation."""
        immutable = {
            "dataType": self.data_type,
            "dimension": self.dimension,
            "distanceMetric": self.distance_metric.value,
            "nonFilterableMetadataKeys": sorted(self.non_filterable_metadata_keys),
        }
        if self.encryption_key:  # absent by default, so an index without one keeps its name
            immutable["encryptionKey"] = self.encryption_key
        digest = hashlib.sha256(json.dumps(immutable, sort_keys=True).encode()).hexdigest()
        return digest[:_INDEX_FINGERPRINT_LENGTH]

    @property
    def index_name(self) -> str:
        """The physical index name: changing an immutable property yields a new index."""
        return f"{self.index_base_name}-{self.fingerprint}"


class StorageSettings(SettingsGroup):
    document_prefix: DocumentPrefix = "documents/"
    """key prefix of the knowledge base's documents"""
    vector_index_name: IndexName = "documents"
    """base name of the index (a fingerprint suffix is added)"""
    distance_metric: DistanceMetric = DistanceMetric.COSINE
    """`cosine` or `euclidean`"""
    _bucket_name: str = PrivateAttr("")  # given by Settings: <prefix>-vectors, never changed in place
    _dimension: int = PrivateAttr(0)  # given by Settings: the embedding dimension
    _encryption_key: str = PrivateAttr("")  # given by Settings: which customer-managed key, if any

    @property
    def vector_index(self) -> VectorIndexSettings:
        return VectorIndexSettings(bucket_name=self._bucket_name, index_base_name=self.vector_index_name,
                                   dimension=self._dimension, distance_metric=self.distance_metric,
                                   encryption_key=self._encryption_key)  # fmt: skip


@dataclass(frozen=True)
class Chunking:
    """How a data source splits documents into chunks: create-only, so a change replaces the data source."""

    strategy: ChunkingStrategy
    max_tokens: int
    overlap_percentage: int

    @property
    def inputs(self) -> dict[str, Any]:
        """The values that shape the chunking configuration (a digest of them names the data source)."""
        used = {
            ChunkingStrategy.FIXED_SIZE: {"maxTokens": self.max_tokens, "overlap": self.overlap_percentage},
            ChunkingStrategy.SEMANTIC: {"maxTokens": self.max_tokens},
            ChunkingStrategy.HIERARCHICAL: {"maxTokens": self.max_tokens, "overlap": self.overlap_percentage},
        }.get(self.strategy, {})
        return {"strategy": self.strategy.value, **used}


class KnowledgeBaseSettings(SettingsGroup):
    chunking_strategy: ChunkingStrategy = ChunkingStrategy.FIXED_SIZE
    """chunking of the S3 data source: `FIXED_SIZE`, `SEMANTIC`, `HIERARCHICAL` or `NONE`"""
    chunk_max_tokens: Annotated[int, Field(ge=20, le=8192)] = 300
    """chunk size (for `HIERARCHICAL`: the child size; parents are 5x)"""
    chunk_overlap_percentage: Annotated[int, Field(ge=1, le=99)] = 20
    """overlap between fixed-size chunks (1-99)"""
    sync_batch_window_seconds: Annotated[int, Field(ge=0, le=300)] = 60
    """how long S3 changes are gathered before one ingestion job syncs them (0-300)"""

    @property
    def chunking(self) -> Chunking:
        """The documents data source's chunking."""
        return Chunking(self.chunking_strategy, self.chunk_max_tokens, self.chunk_overlap_percentage)

    @property
    def chunking_inputs(self) -> dict[str, Any]:
        return self.chunking.inputs


def settings_digest(values: Mapping[str, Any]) -> str:
    """A short, stable digest of settings values."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:_INDEX_FINGERPRINT_LENGTH]


@dataclass(frozen=True)
class KnowledgeBaseIdentity:
    """Names that change exactly when CloudFormation must replace the knowledge base or a data source.

    Bedrock refuses a second knowledge base (or data source of one knowledge base) with the same name,
    and CloudFormation creates a replacement before it deletes the original: so a replaced resource
    needs a new name. Each name ends in a digest of the settings behind its create-only properties.
    Readers in other stacks carry ``generation``, so their templates change when the knowledge base is
    replaced and ``cdk deploy --all`` updates them in the same deployment.
    """

    name_prefix: str
    generation: str  # digest of the knowledge base's create-only inputs: model, dimension, index
    chunking: str  # digest of the documents data source's chunking
    stream_chunking: str = ""  # digest of the stream data source's chunking; "" for the default (no chunking)
    stream_bulk: bool = False  # the bulk path: the stream data source reads S3 objects (another data source)

    @property
    def name(self) -> str:
        return f"{self.name_prefix}-knowledge-base-{self.generation}"

    @property
    def documents_data_source_name(self) -> str:
        return f"{self.name_prefix}-documents-{self.chunking}"

    @property
    def stream_data_source_name(self) -> str:
        # Replaced with its knowledge base (whose name changes) or when its chunking changes.
        suffix = f"-{self.stream_chunking}" if self.stream_chunking else ""
        return f"{self.name_prefix}-stream{'-bulk' if self.stream_bulk else ''}{suffix}"

    @property
    def stream_generation(self) -> str:
        """Changes whenever the stream data source is replaced: the mapping that feeds it is then new too."""
        return f"{self.generation}{self.stream_chunking}{'bulk' if self.stream_bulk else ''}"

    @property
    def application_log_group_name(self) -> str:
        return f"/aws/vendedlogs/bedrock/knowledge-base/{self.name}"

    @property
    def stream_consumer_group_id(self) -> str:
        """A new stream data source gets a new consumer group, which reads the topic from its start."""
        return f"{self.name_prefix}-stream-ingest-{self.stream_generation}"


@dataclass(frozen=True)
class DeploymentTarget:
    """Where one named environment deploys (either may be None: the deploying credentials decide)."""

    account: str | None
    region: str | None


@dataclass(frozen=True)
class ExistingCluster:
    """An MSK cluster the team already runs: only the topic and the producer are created for it."""

    cluster_arn: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_id: str  # must allow itself on the IAM broker port (9098)

    @property
    def cluster_name(self) -> str:
        return self.cluster_arn.split(":cluster/", 1)[1].split("/", 1)[0]


class KafkaSettings(SettingsGroup):
    kafka_version: KafkaVersion = "3.8.x"
    """MSK Kafka version, 3.6 or later"""
    broker_instance_type: BrokerType = "kafka.t3.small"
    """broker instance type"""
    broker_count: Annotated[int, Field(ge=AVAILABILITY_ZONES, le=30, multiple_of=AVAILABILITY_ZONES)] = 2
    """brokers, a multiple of the 2 Availability Zones"""
    broker_storage_gib: Annotated[int, Field(ge=1, le=16384, alias="brokerStorageGiB")] = 10
    """EBS storage per broker"""
    endpoint_az_count: Annotated[int, Field(ge=1, le=AVAILABILITY_ZONES)] = 1
    """Availability Zones that carry the Lambda and STS endpoints (1 or 2)"""
    topic_name: TopicName = "ticker-prices"
    """the stream topic"""
    topic_partitions: Annotated[int | None, Field(ge=1, le=1000), BeforeValidator(_empty_is_none)] = None
    """its partitions; empty: the path's default, 2 direct, 6 bulk (one invocation at a time per partition: the bulk path's function carries a few hundred records/s each)"""  # noqa: E501
    topic_replication_factor: Annotated[int, Field(ge=1, le=3)] = 2
    """its replication factor (at most the broker count)"""
    existing_cluster_arn: ClusterArn = ""
    """bring your own cluster: its ARN (give all four `existing*` or none)"""
    existing_vpc_id: VpcId = ""
    """its VPC"""
    existing_subnet_ids: Annotated[list[SubnetId], BeforeValidator(_comma_separated)] = []
    """subnets for the producer (at least 2; `a,b` on the command line)"""
    existing_security_group_id: SecurityGroupId = ""
    """a group that reaches the brokers on 9098"""
    _name_prefix: str = PrivateAttr("")  # given by Settings
    _bulk_stream: bool = PrivateAttr(False)  # given by Settings: the stream takes the bulk path

    @property
    def existing(self) -> ExistingCluster | None:
        if not self.existing_cluster_arn:
            return None
        return ExistingCluster(cluster_arn=self.existing_cluster_arn, vpc_id=self.existing_vpc_id,
                               subnet_ids=tuple(self.existing_subnet_ids),
                               security_group_id=self.existing_security_group_id)  # fmt: skip

    @property
    def cluster_name(self) -> str:
        return self.existing.cluster_name if self.existing else f"{self._name_prefix}-kafka"

    @property
    def partitions(self) -> int:
        """The topic's partitions: the setting, or the stream path's default (the mapping runs one invocation per
        partition at a time, so partitions are the stream's parallelism)."""
        if self.topic_partitions is not None:
            return self.topic_partitions
        return DEFAULT_PARTITIONS[IngestPath.BULK if self._bulk_stream else IngestPath.DIRECT]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        major, minor = (int(part) for part in self.kafka_version.split(".")[:2])
        if (major, minor) < MINIMUM_KAFKA_VERSION:
            raise SettingsError("kafkaVersion", f"{self.kafka_version!r} is older than 3.6, the first version "
                                "the MSK topic API supports")  # fmt: skip
        given = {"existingClusterArn": self.existing_cluster_arn, "existingVpcId": self.existing_vpc_id,
                 "existingSubnetIds": self.existing_subnet_ids,
                 "existingSecurityGroupId": self.existing_security_group_id}  # fmt: skip
        missing = [key for key, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            named = ", ".join(key for key in given if key not in missing)
            raise SettingsError(missing[0], f"is required with {named}: give all four existing* settings or none")
        if given["existingSubnetIds"] and len(self.existing_subnet_ids) < AVAILABILITY_ZONES:
            raise SettingsError("existingSubnetIds", f"give at least {AVAILABILITY_ZONES} subnets in different AZs")
        if not self.existing_cluster_arn and self.topic_replication_factor > self.broker_count:
            raise SettingsError("topicReplicationFactor",
                                f"{self.topic_replication_factor} exceeds the {self.broker_count} brokers")  # fmt: skip
        return self


class StreamSettings(SettingsGroup):
    model_config = ConfigDict(alias_generator=lambda name: to_camel(f"stream_{name}"))

    ingest_path: IngestPath = IngestPath.DIRECT
    """`direct` (IngestKnowledgeBaseDocuments: seconds to searchable, at most 50 documents/s for the account) or `bulk` (S3 objects and ingestion jobs: any rate, minutes to searchable); see docs/bulk-path.md"""  # noqa: E501
    batch_size: Annotated[int | None, Field(ge=1, le=10_000), BeforeValidator(_empty_is_none)] = None
    """records per invocation of the ingest function (1-10000); empty: the path's default, 500 direct (large batches keep the quota busy), 10000 bulk"""  # noqa: E501
    batch_window_seconds: Annotated[int | None, Field(ge=0, le=300), BeforeValidator(_empty_is_none)] = None
    """how long the mapping gathers records before invoking (0-300); empty: the path's default, 5 direct, 10 bulk"""
    document: Annotated[dict[str, Any], BeforeValidator(_json_document)] = Field(
        default_factory=lambda: json.loads(json.dumps(TICKER_PRICES))
    )
    """how a record becomes a document: `format`, `schema`, `framing`, `keyFormat`, `id` (`key`, `offset` or a template), `text` (a template), `metadata`, `example` (see docs/streaming.md); the default is the sample's ticker prices"""  # noqa: E501
    schema_registry_arn: GlueRegistryArn = ""
    """provisioned mode: an AWS Glue schema registry the event source mapping validates and decodes values with (Avro, Protobuf or JSON Schema), delivering them as JSON; `streamDocument` then uses `format` `json` (empty: off)"""  # noqa: E501
    chunking_strategy: ChunkingStrategy = ChunkingStrategy.NONE
    """chunking of the stream data source: `NONE` (each record is one chunk), `FIXED_SIZE`, `SEMANTIC` or `HIERARCHICAL`; long texts (over about 8,000 tokens) need one of the last three"""  # noqa: E501
    chunk_max_tokens: Annotated[int, Field(ge=20, le=8192)] = 300
    """with stream chunking: the chunk size"""
    chunk_overlap_percentage: Annotated[int, Field(ge=1, le=99)] = 20
    """with `FIXED_SIZE` or `HIERARCHICAL` stream chunking: the overlap (1-99)"""
    poller_mode: PollerMode = PollerMode.ON_DEMAND
    """`on-demand` or `provisioned` (retries, bisection, partial batch responses; ~$135/month minimum)"""
    retry_attempts: Annotated[int, Field(ge=0, le=10_000)] = 10
    """provisioned mode: retries before a batch goes to the dead-letter queue"""
    ingest_requests_per_second: Annotated[float, Field(gt=0, le=100, alias="ingestRequestsPerSecond")] = 5
    """the account's IngestKnowledgeBaseDocuments quota (requests per second) the stream may use"""
    check_delay_seconds: Annotated[int, Field(ge=0, le=900)] = 10
    """seconds after Bedrock accepts a document before its indexing is first checked (0-900)"""
    indexed_within_seconds: Annotated[int, Field(ge=60, le=86_400)] = 900
    """a document not indexed this long after acceptance is dead-lettered (60-86400)"""
    status_requests_per_second: Annotated[float, Field(gt=0, le=100)] = 2
    """GetKnowledgeBaseDocuments requests per second the indexing check may make"""
    freshness_alarm_seconds: Annotated[int, Field(ge=10, le=86_400)] = 600
    """alarm when the p95 time from a record's Kafka timestamp to its confirmed indexing exceeds this"""

    @model_validator(mode="after")
    def _mapping_works(self) -> Self:
        try:
            check_mapping(parse_mapping(self.document))
        except MappingError as error:
            raise SettingsError(
                "streamDocument",
                str(error),
                "Fix the mapping in cdk.json or with -c "
                "app:streamDocument='{...}'; docs/streaming.md describes every part, and "
                "make preview shows the document the example makes.",
            ) from None
        if self.schema_registry_arn:
            if self.poller_mode is not PollerMode.PROVISIONED:
                raise SettingsError("streamSchemaRegistryArn", "schema registries work with streamPollerMode="
                                    "provisioned only (Lambda's Kafka event source mappings)")  # fmt: skip
            if self.mapping.format is not JSON:
                raise SettingsError("streamSchemaRegistryArn", "the mapping delivers the records as JSON: give "
                                    'streamDocument "format": "json"')  # fmt: skip
        return self

    @property
    def mapping(self) -> DocumentMapping:
        return parse_mapping(self.document)

    @property
    def bulk(self) -> bool:
        return self.ingest_path is IngestPath.BULK

    @property
    def records_per_batch(self) -> int:
        return self.batch_size if self.batch_size is not None else DEFAULT_BATCHING[self.ingest_path][0]

    @property
    def batching_window_seconds(self) -> int:
        default = DEFAULT_BATCHING[self.ingest_path][1]
        return self.batch_window_seconds if self.batch_window_seconds is not None else default

    @property
    def chunking(self) -> Chunking:
        return Chunking(self.chunking_strategy, self.chunk_max_tokens, self.chunk_overlap_percentage)


def quota_for_the_stream(stream: StreamSettings) -> float:
    """The requests per second the stream's invocations share (each takes the share of its partitions)."""
    return round(stream.ingest_requests_per_second * QUOTA_HEADROOM, 3)


def stream_timeout_seconds(stream: StreamSettings, partitions: int) -> int:
    """Direct: twice the time a full batch of one partition takes at its share of the quota, plus a minute for
    retries. Bulk: no quota paces the writes."""
    if stream.bulk:
        return BULK_FUNCTION_TIMEOUT_SECONDS
    documents_per_second = batch_share(quota_for_the_stream(stream), 1, partitions) * DOCUMENTS_PER_INGEST_REQUEST
    return math.ceil(stream.records_per_batch / documents_per_second * 2) + 60


class QuerySettings(SettingsGroup):
    inference_profile_id: InferenceProfileId = Field("global.anthropic.claude-sonnet-4-6", alias="generationModelId")
    """inference profile for generation (its ARN is built with the deploying account and Region)"""
    temperature: Annotated[float | None, Field(ge=0, le=1, alias="generationTemperature"),
                           BeforeValidator(_empty_is_none)] = None  # fmt: skip
    """optional temperature (0-1)"""
    max_tokens: Annotated[int | None, Field(ge=1, le=65536, alias="generationMaxTokens"),
                          BeforeValidator(_empty_is_none)] = None  # fmt: skip
    """optional maximum answer tokens"""
    prompt_template: Annotated[str, Field(max_length=4000)] = ""
    """optional prompt template; must contain `$search_results$`"""
    number_of_results: Annotated[int, Field(ge=1, le=100, alias="queryNumberOfResults")] = 5
    """default `numberOfResults`"""
    group_filters: Annotated[dict[Group, RetrievalFilter], BeforeValidator(_json_document)] = {}
    """group -> enforced RetrievalFilter (`{}` for unrestricted); empty: no access control"""
    default_group: Group = "public"
    """the audience of the plain function name and of tokens without a known group (one of `groupFilters`' groups when it is set)"""  # noqa: E501
    reranking_model_id: RerankingModelId = ""
    """Bedrock reranking model that reorders the retrieved chunks: `amazon.rerank-v1:0` or `cohere.rerank-v3-5:0` (empty: off)"""  # noqa: E501
    reranking_candidates: Annotated[int, Field(ge=2, le=100)] = 25
    """with reranking: the chunks vector search returns for the model to rerank (more than `queryNumberOfResults`)"""
    query_decomposition: bool = False
    """RetrieveAndGenerate splits a complex question into sub-queries (`QUERY_DECOMPOSITION`)"""
    implicit_filter_attributes: Annotated[list[ImplicitFilterAttribute], Field(max_length=25),
                                          BeforeValidator(_json_document)] = []  # fmt: skip
    """metadata a model may filter on by itself, `[{"key", "type", "description"}]` (empty: off)"""
    implicit_filter_model_id: OptionalInferenceProfileId = ""
    """inference profile that infers implicit filters (empty: `generationModelId`)"""
    guardrail: Literal["off", "create", "existing"] = "off"
    """`create`: the app's guardrail from the `guardrail*` settings; `existing`: `guardrailId` and `guardrailVersion`"""
    guardrail_id: GuardrailId = ""
    """with `guardrail=existing`: the guardrail's ID"""
    guardrail_version: GuardrailVersion = ""
    """with `guardrail=existing`: its version (a number, or `DRAFT`)"""
    guardrail_content_filter_strength: Literal["NONE", "LOW", "MEDIUM", "HIGH"] = "HIGH"
    """with `guardrail=create`: strength of the hate, insults, sexual, violence, misconduct and prompt-attack filters"""
    guardrail_denied_topics: Annotated[dict[TopicName_, Annotated[str, Field(min_length=1, max_length=200)]],
                                       Field(max_length=30), BeforeValidator(_json_document)] = {}  # fmt: skip
    """with `guardrail=create`: topics refused, `{"name": "definition"}`"""
    guardrail_anonymized_pii: Annotated[list[PiiEntityType], BeforeValidator(_comma_separated)] = [
        "EMAIL", "PHONE", "US_SOCIAL_SECURITY_NUMBER", "CREDIT_DEBIT_CARD_NUMBER",
    ]  # fmt: skip
    """with `guardrail=create`: PII types masked in answers and passages (comma-separated)"""
    evaluation_judge_model_id: FoundationModelId = Field("amazon.nova-pro-v1:0", alias="evaluationJudgeModelId")
    """the evaluator model of `make evaluate ARGS=--judge` (Bedrock RAG evaluation jobs; one of the evaluator models Bedrock lists for built-in metrics)"""  # noqa: E501

    @property
    def foundation_model_id(self) -> str:
        """The model behind the profile: the profile ID without its geography prefix."""
        return self.inference_profile_id.split(".", 1)[1]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.prompt_template and "$search_results$" not in self.prompt_template:
            raise SettingsError("promptTemplate", "must contain $search_results$, where Bedrock puts retrieved text")
        if self.group_filters and self.default_group not in self.group_filters:
            raise SettingsError("defaultGroup", f"{self.default_group!r} must be one of the groups in groupFilters")
        for entry_point in (HTTP_API_ENTRY_POINT, STREAM_ENTRY_POINT):
            if entry_point in self.group_filters:
                raise SettingsError("groupFilters", f"{entry_point!r} is an API's entry point, not a group")
        if self.reranking_model_id and self.reranking_candidates <= self.number_of_results:
            raise SettingsError("rerankingCandidates", f"must exceed queryNumberOfResults ({self.number_of_results}): "
                                "reranking picks the best of more candidates than it returns")  # fmt: skip
        if self.guardrail == "existing" and not (self.guardrail_id and self.guardrail_version):
            raise SettingsError("guardrailId", "guardrail=existing needs guardrailId and guardrailVersion")
        if self.guardrail != "existing" and (self.guardrail_id or self.guardrail_version):
            raise SettingsError("guardrailId", "guardrailId and guardrailVersion apply to guardrail=existing only")
        return self

    @property
    def unrestricted_group(self) -> str | None:
        """A group whose entry point sees every document, if there is one."""
        return next((group for group, enforced in self.group_filters.items() if not enforced), None)

    @property
    def implicit_filter_profile_id(self) -> str:
        return self.implicit_filter_model_id or self.inference_profile_id


def data_key_alias(name_prefix: str) -> str:
    """The alias of the app's own key: operators' policies name the key by it."""
    return f"alias/{name_prefix}-data"


class EncryptionSettings(SettingsGroup):
    """Whose key encrypts the data at rest."""

    mode: Literal["aws-managed", "customer-managed"] = Field("aws-managed", alias="encryption")
    """`aws-managed`: each service's own keys; `customer-managed`: one KMS key encrypts every data store that can use it (see Security)"""  # noqa: E501
    key_arn: KmsKeyArn = Field("", alias="encryptionKeyArn")
    """with `customer-managed`: an existing key (its policy must admit what Security lists); empty: the app creates one"""  # noqa: E501

    @model_validator(mode="after")
    def _key_for_customer_managed(self) -> Self:
        if self.key_arn and self.mode != "customer-managed":
            raise SettingsError("encryptionKeyArn", "applies to encryption=customer-managed only")
        return self

    @property
    def customer_managed(self) -> bool:
        return self.mode == "customer-managed"

    @property
    def identity(self) -> str:
        """Which key, as settings name it: the index is fingerprinted with it."""
        return f"customer-managed:{self.key_arn or 'app'}" if self.customer_managed else ""


class QueryApiSettings(SettingsGroup):
    """The optional HTTPS endpoint of the query function."""

    mode: Literal["off", "cognito", "oidc"] = Field("off", alias="queryHttpApi")
    """HTTP API with a JWT authorizer: `cognito` (a user pool with one group per `groupFilters` group), `oidc` (an existing issuer), or `off`"""  # noqa: E501
    issuer: HttpsUrl = Field("", alias="queryHttpApiIssuer")
    """with `queryHttpApi=oidc`: the issuer URL (`iss`) of its tokens"""
    audience: Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_comma_separated)] = Field(
        [], alias="queryHttpApiAudience"
    )
    """with `queryHttpApi=oidc`: accepted audiences (`aud` or `client_id`), comma-separated"""
    group_claim: ClaimName = Field("cognito:groups", alias="queryGroupClaim")
    """the token claim that names the caller's groups"""
    web_chat: Literal["off", "on"] = Field("off", alias="webChat")
    """`on`: a chat page (CloudFront, sign-in with PKCE, answers streamed over a WebSocket API) for the HTTPS endpoint's users; needs `queryHttpApi` `cognito` or `oidc`"""  # noqa: E501

    @model_validator(mode="after")
    def _issuer_given(self) -> Self:
        if self.mode == "oidc" and not (self.issuer and self.audience):
            raise SettingsError(
                "queryHttpApiIssuer", "queryHttpApi=oidc needs queryHttpApiIssuer and queryHttpApiAudience"
            )
        if self.mode != "oidc" and (self.issuer or self.audience):
            raise SettingsError("queryHttpApiIssuer", "the issuer and audience apply to queryHttpApi=oidc only")
        if self.web_chat == "on" and self.mode == "off":
            raise SettingsError("webChat", "the chat page signs people in and asks over HTTPS: set queryHttpApi to "
                                "cognito or oidc as well")  # fmt: skip
        return self

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


class GitHubSettings(SettingsGroup):
    repository: GitHubRepository = Field("", alias="githubRepository")
    """`owner/name`: adds the GitHub Actions deploy-role stack"""
    branch: GitRef = Field("main", alias="githubBranch")
    """the branch the deploy role trusts"""
    environment: GitRef = Field("production", alias="githubEnvironment")
    """the GitHub environment the deploy role trusts"""
    oidc_provider_arn: OidcProviderArn = Field("", alias="githubOidcProviderArn")
    """the account's existing GitHub OIDC provider (empty: the stack creates it)"""


@dataclass(frozen=True)
class FunctionSettings:
    """What every function of the app gets."""

    metrics_namespace: str  # Powertools' namespace; the monitoring reads the same
    trace_aws_calls: bool


class Settings(SettingsGroup):
    """The app's settings: a few of their own, the rest in groups. ``load_settings`` builds it from the
    flat ``app:`` keys, giving each group the keys its fields name."""

    name_prefix: NamePrefix = "kbstream"
    """prefix of stack and resource names and the metrics namespace; the vector bucket is `<prefix>-vectors`"""
    environments: Annotated[dict[EnvironmentName, dict[str, Any]], BeforeValidator(_json_document)] = {}
    """named environments, `{"dev": {"account": "...", "region": "...", "<setting>": value}}`: each deploys its own copy of the app with these settings over the others (its `namePrefix` defaults to `<namePrefix>-<name>`)"""  # noqa: E501
    environment: Annotated[str, _text(r"^$|^[a-z][a-z0-9-]{0,11}$|^all$", "an environment name, or all")] = ""
    """which of `environments` to synthesize and deploy (`make deploy ENV=prod`); `all`: every one, each in a stage of its own; empty: the settings as they are"""  # noqa: E501
    alarm_email: Email = ""
    """optional e-mail address subscribed to the alarm topic"""
    trace_aws_calls: bool = False
    """X-Ray subsegments for every AWS call (the SDK adds about 0.2 s to each cold start); Lambda traces every invocation either way"""  # noqa: E501
    lifecycle: Lifecycle
    data_encryption: EncryptionSettings
    embedding: EmbeddingSettings
    storage: StorageSettings
    knowledge_base: KnowledgeBaseSettings
    kafka: KafkaSettings
    stream: StreamSettings
    query: QuerySettings
    query_api: QueryApiSettings
    github_deployment: GitHubSettings

    @classmethod
    def groups(cls) -> dict[str, type[SettingsGroup]]:
        """Field name -> group model, in the order of the fields."""
        return {name: field.annotation for name, field in cls.model_fields.items()
                if isinstance(field.annotation, type) and issubclass(field.annotation, SettingsGroup)}  # fmt: skip

    @model_validator(mode="before")
    @classmethod
    def _into_groups(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        remaining = dict(values)
        grouped: dict[str, Any] = {}
        for name, group in cls.groups().items():
            keys = {field.alias or field_name for field_name, field in group.model_fields.items()}
            grouped[cls.model_fields[name].alias or name] = {k: remaining.pop(k) for k in keys & remaining.keys()}
        for key in remaining.keys() & grouped.keys():  # a group's own name is not a setting
            raise unknown_setting(key)
        return {**remaining, **grouped}  # keys no group claims are validated (and refused) here

    def model_post_init(self, context: Any) -> None:
        # Values a group derives from other settings.
        self.storage._bucket_name = f"{self.name_prefix}-vectors"
        self.storage._dimension = self.embedding.dimension
        self.storage._encryption_key = self.data_encryption.identity
        self.kafka._name_prefix = self.name_prefix
        self.kafka._bulk_stream = self.stream.bulk

    @model_validator(mode="after")
    def _stream_fits_the_mapping_timeout(self) -> Self:
        timeout = stream_timeout_seconds(self.stream, self.kafka.partitions)
        if timeout > MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS:
            raise SettingsError(
                "streamBatchSize",
                f"a batch of {self.stream.records_per_batch} records, paced at app:ingestRequestsPerSecond="
                f"{self.stream.ingest_requests_per_second} shared by app:topicPartitions={self.kafka.partitions},"
                f" needs a {timeout} s function timeout; functions behind an MSK event source mapping may run at most "
                f"{MSK_MAPPING_MAX_FUNCTION_TIMEOUT_SECONDS} s. Lower app:streamBatchSize or raise "
                "app:ingestRequestsPerSecond (or, for a topic past the quota, app:streamIngestPath=bulk)",
            )
        return self

    @model_validator(mode="after")
    def _bulk_prefixes_are_free(self) -> Self:
        if not self.stream.bulk:
            return self
        documents = self.storage.document_prefix
        for prefix in (STREAM_OBJECT_PREFIX, MARKER_PREFIX):
            if documents.startswith(prefix) or prefix.startswith(documents):
                raise SettingsError("documentPrefix", f"{documents!r} overlaps {prefix!r}, which the bulk path writes "
                                    "the stream's objects and ingestion-job markers under")  # fmt: skip
        return self

    @property
    def target(self) -> DeploymentTarget | None:
        """The account and Region the selected environment names (None: the CLI's, at deploy time)."""
        chosen = self.environments.get(self.environment, {}) if self.environment else {}
        if not chosen.get("account") and not chosen.get("region"):
            return None
        return DeploymentTarget(account=chosen.get("account"), region=chosen.get("region"))

    @property
    def github(self) -> GitHubSettings | None:
        """None: no deploy-role stack."""
        return self.github_deployment if self.github_deployment.repository else None

    @property
    def knowledge_base_identity(self) -> KnowledgeBaseIdentity:
        index = self.storage.vector_index
        knowledge_base_inputs = {
            "embeddingModelId": self.embedding.model_id,
            "dimension": self.embedding.dimension,
            "storage": "S3_VECTORS",
            "vectorBucket": index.bucket_name,
            "index": index.index_name,
        }
        stream_chunking = self.stream.chunking
        # Without chunking (the default) the stream data source keeps the name it has always had.
        unchunked = stream_chunking.strategy is ChunkingStrategy.NONE
        stream_digest = "" if unchunked else settings_digest(stream_chunking.inputs)
        return KnowledgeBaseIdentity(name_prefix=self.name_prefix, generation=settings_digest(knowledge_base_inputs),
                                     chunking=settings_digest(self.knowledge_base.chunking_inputs),
                                     stream_chunking=stream_digest, stream_bulk=self.stream.bulk)  # fmt: skip

    @property
    def functions(self) -> FunctionSettings:
        return FunctionSettings(metrics_namespace=self.name_prefix, trace_aws_calls=self.trace_aws_calls)

    def stack_name(self, part: str) -> str:
        return f"{self.name_prefix}-{part}"


def _models() -> tuple[type[SettingsGroup], ...]:
    return (Settings, *Settings.groups().values())


def documented_settings() -> list[tuple[str, Any, str]]:
    """(``app:`` key, default as JSON, documentation) of every setting, in the order they are defined."""
    rows: list[tuple[str, Any, str]] = []
    for model in _models():
        for name, field in model.model_fields.items():
            if name not in Settings.groups():
                default = to_jsonable_python(field.get_default(call_default_factory=True))
                rows.append((field.alias or name, default, field.description or ""))
    return rows


# Every key with its default, as cdk.json lists them.
DEFAULTS: Mapping[str, Any] = {key: default for key, default, _ in documented_settings()}


# Keys an earlier version read, with what replaces each.
RETIRED_SETTINGS: Mapping[str, str] = {
    "streamDocumentIds": 'replaced by streamDocument\'s "id": "offset" keeps every record (per-message), '
    '"ticker/{key}" keeps the latest record of each key and lets tombstones delete it (per-ticker)',
}


ENVIRONMENT_TARGET_KEYS = ("account", "region")


def _environments(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    raw = values.get("environments") or {}
    try:
        environments = _json_document(raw)
    except ValueError as error:
        raise SettingsError("environments", str(error)) from None
    if not isinstance(environments, dict) or not all(isinstance(entry, dict) for entry in environments.values()):
        raise SettingsError("environments", 'must map names to settings, {"prod": {"namePrefix": "kbprod", ...}}')
    for name, entry in environments.items():
        for key, value in entry.items():
            if key == "account" and not (isinstance(value, str) and AwsAccount.fullmatch(value)):
                raise SettingsError(f"environments.{name}.account", f"{value!r} is not a 12-digit account ID")
            if key == "region" and not (isinstance(value, str) and AwsRegion.fullmatch(value)):
                raise SettingsError(f"environments.{name}.region", f"{value!r} is not a Region such as 'eu-west-1'")
            if (key not in ENVIRONMENT_TARGET_KEYS and key not in DEFAULTS) or key in ("environment", "environments"):
                fix = unknown_setting(key).fix
                raise SettingsError(f"environments.{name}.{key}", "is not a setting an environment can set", fix)
    return environments


def _in_environment(values: dict[str, Any]) -> dict[str, Any]:
    """The values with the selected environment's settings over them."""
    environments = _environments(values)
    name = values.get("environment") or ""
    if not name or name == "all":
        return values
    if name not in environments:
        known = ", ".join(sorted(environments)) or "none are defined in app:environments"
        raise SettingsError("environment", f"{name!r} is not a named environment ({known})")
    chosen = environments[name]
    overrides = {key: value for key, value in chosen.items() if key not in ENVIRONMENT_TARGET_KEYS}
    prefix = overrides.get("namePrefix", f"{values.get('namePrefix', DEFAULTS['namePrefix'])}-{name}")
    return {**values, **overrides, "namePrefix": prefix}


def load_environments(context: Mapping[str, Any]) -> list[Settings]:
    """Every named environment's settings (for ``app:environment=all``); their names never overlap."""
    base = {key: value for key, value in context.items() if key != f"{CONTEXT_PREFIX}environment"}
    names = sorted(_environments({key.removeprefix(CONTEXT_PREFIX): value for key, value in base.items()}))
    if not names:
        raise SettingsError("environment", "all needs app:environments to name at least one environment")
    environments = [load_settings({**base, f"{CONTEXT_PREFIX}environment": name}) for name in names]
    prefixes = [settings.name_prefix for settings in environments]
    for name, prefix in zip(names, prefixes, strict=True):
        if prefixes.count(prefix) > 1:
            raise SettingsError(f"environments.{name}.namePrefix", f"{prefix!r} is another environment's too: stack "
                                "and resource names must not overlap")  # fmt: skip
    return environments


def load_settings(context: Mapping[str, Any]) -> Settings:
    """Build settings from a CDK context mapping (all keys; only ``app:*`` keys are read)."""
    values = {key.removeprefix(CONTEXT_PREFIX): value for key, value in context.items()
              if key.startswith(CONTEXT_PREFIX) and value is not None}  # fmt: skip
    for key, replacement in RETIRED_SETTINGS.items():
        if key in values:
            raise SettingsError(key, replacement)
    values = _in_environment(values)
    try:
        return Settings.model_validate(values)
    except ValidationError as invalid:
        raise _first_problem(invalid) from None


def _first_problem(invalid: ValidationError) -> SettingsError:
    error = invalid.errors()[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    location = [str(part) for part in error["loc"]]
    group_aliases = {field.alias or name for name, field in Settings.model_fields.items() if name in Settings.groups()}
    key = location[1] if len(location) > 1 and location[0] in group_aliases else location[0]
    if error["type"] == "extra_forbidden":
        return unknown_setting(key)
    if error["type"] == "value_error":
        return SettingsError(key, str(error["msg"]).removeprefix("Value error, "))
    return SettingsError(key, f"{error['input']!r}: {str(error['msg']).removeprefix('Value error, ')}")
