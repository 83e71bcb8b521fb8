"""Composes the app's stacks from settings; shared by ``app.py`` and the tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Aspects, Environment, Stage, Tags, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from stacks.constructs.functions import LambdaSources
from stacks.constructs.monitoring import MonitoredResources
from stacks.constructs.provider_logs import acknowledge_cdk_provider_functions, adopt_provider_log_groups
from stacks.deploy_role_stack import DeployRoleStack
from stacks.foundation.encryption import LogGroupEncryption
from stacks.keys_stack import KeysStack
from stacks.knowledge_base_stack import KnowledgeBaseStack
from stacks.monitoring_stack import MonitoringStack
from stacks.network_stack import NetworkStack
from stacks.query_stack import QueryStack
from stacks.settings import Settings
from stacks.storage_stack import StorageStack
from stacks.streaming_stack import StreamingStack

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCUMENTS = REPO_ROOT / "sample_data" / "documents"
CHAT_PAGE = REPO_ROOT / "build" / "chat"  # make chat-build, and cdk.json's "build" before every CDK CLI synthesis
LAMBDA_SOURCES = LambdaSources(code_dir=REPO_ROOT / "lambdas", layers_dir=REPO_ROOT / "lambdas" / "layers")


@dataclass(frozen=True)
class Stacks:
    keys: KeysStack | None
    storage: StorageStack
    knowledge_base: KnowledgeBaseStack
    network: NetworkStack
    streaming: StreamingStack
    query: QueryStack
    monitoring: MonitoringStack
    deploy_role: DeployRoleStack | None = None


def stack_environment(settings: Settings) -> Environment | None:
    target = settings.target
    return Environment(account=target.account, region=target.region) if target else None


def build_app(scope: Construct, settings: Settings) -> Stacks:
    """Add every stack to ``scope`` (the app, or one environment's stage of it) and run cdk-nag's AwsSolutions
    and Serverless packs over all of them."""
    target = stack_environment(settings)  # the environment's account and Region, if it names them
    encryption = settings.data_encryption
    keys = None
    data_key_arn: str | None = None
    if encryption.customer_managed:
        if encryption.key_arn:
            data_key_arn = encryption.key_arn
        else:
            keys = KeysStack(scope, "Keys", env=target, stack_name=settings.stack_name("keys"),
                             name_prefix=settings.name_prefix, lifecycle=settings.lifecycle,
                             description="The customer-managed KMS key that encrypts the app's data")  # fmt: skip
            data_key_arn = keys.data_key.key.key_arn
    storage = StorageStack(
        scope,
        "Storage",
        env=target,
        stack_name=settings.stack_name("storage"),
        description="Document bucket with sample documents, and the S3 Vectors bucket and index",
        name_prefix=settings.name_prefix,
        storage=settings.storage,
        lifecycle=settings.lifecycle,
        sample_documents=SAMPLE_DOCUMENTS,
        data_key_arn=data_key_arn,
    )
    knowledge_base = KnowledgeBaseStack(
        scope,
        "KnowledgeBase",
        env=target,
        stack_name=settings.stack_name("knowledge-base"),
        description="Bedrock knowledge base on S3 Vectors with S3 and stream data sources, kept in sync",
        identity=settings.knowledge_base_identity,
        embedding=settings.embedding,
        knowledge_base=settings.knowledge_base,
        stream_chunking=settings.stream.chunking,
        stream_bulk=settings.stream.bulk,
        vector_index=settings.storage.vector_index,
        documents=storage.documents,
        documents_version=storage.sample_documents_version,
        lambda_sources=LAMBDA_SOURCES,
        functions=settings.functions,
        lifecycle=settings.lifecycle,
        reranking_model_id=settings.query.reranking_model_id,
        data_key_arn=data_key_arn,
    )
    # The documents and the vector bucket are referenced by name, not by stack output: make the order explicit.
    knowledge_base.add_stack_dependency(storage)

    network = NetworkStack(
        scope,
        "Network",
        env=target,
        stack_name=settings.stack_name("network"),
        description="VPC, MSK cluster (IAM auth, TLS) with the stream topic, and the sample-stream producer",
        kafka=settings.kafka,
        stream_mapping=settings.stream.mapping,
        lambda_sources=LAMBDA_SOURCES,
        functions=settings.functions,
        lifecycle=settings.lifecycle,
    )

    streaming = StreamingStack(
        scope,
        "Streaming",
        env=target,
        stack_name=settings.stack_name("streaming"),
        description="MSK event source mapping and the function that ingests the stream into the knowledge base",
        identity=settings.knowledge_base_identity,
        stream=settings.stream,
        cluster=network.cluster,
        topic_partitions=settings.kafka.partitions,
        knowledge_base_id=knowledge_base.knowledge_base.knowledge_base_id,
        knowledge_base_arn=knowledge_base.knowledge_base.knowledge_base_arn,
        data_source_id=knowledge_base.stream_data_source_id,
        documents=storage.documents,
        lambda_sources=LAMBDA_SOURCES,
        functions=settings.functions,
        lifecycle=settings.lifecycle,
        data_key_arn=data_key_arn,
    )

    query = QueryStack(
        scope,
        "Query",
        env=target,
        stack_name=settings.stack_name("query"),
        description="Query function: grounded answers with citations under metadata filters",
        query=settings.query,
        stream_mapping=settings.stream.mapping,
        query_api=settings.query_api,
        name_prefix=settings.name_prefix,
        data_key_arn=data_key_arn,
        identity=settings.knowledge_base_identity,
        knowledge_base_id=knowledge_base.knowledge_base.knowledge_base_id,
        knowledge_base_arn=knowledge_base.knowledge_base.knowledge_base_arn,
        lambda_sources=LAMBDA_SOURCES,
        functions=settings.functions,
        lifecycle=settings.lifecycle,
        chat_page=CHAT_PAGE,
        documents=storage.documents,
    )

    monitoring = MonitoringStack(
        scope,
        "Monitoring",
        env=target,
        stack_name=settings.stack_name("monitoring"),
        description="Alarms (SNS) and the operations dashboard of the stream, the document sync and queries",
        name_prefix=settings.name_prefix,
        resources=MonitoredResources(
            metrics_namespace=settings.functions.metrics_namespace,
            stream_function=streaming.ingest.function.function,
            stream_mapping_id=streaming.ingest.event_source_mapping.event_source_mapping_id,
            stream_dead_letters=streaming.ingest.dead_letters,
            sync_function=knowledge_base.sync.function.function,
            sync_dead_letters=knowledge_base.sync.dead_letters,
            query_function=query.query.function.function,
            # By name, not by reference: the monitoring stack changes (and follows) when the knowledge base does.
            knowledge_base_log_group_name=settings.knowledge_base_identity.application_log_group_name,
            freshness_alarm_seconds=settings.stream.freshness_alarm_seconds,
            chat_authorizer=query.answer_stream.authorizer.function if query.answer_stream else None,
            bulk_path=settings.stream.bulk,
        ),
        alarm_email=settings.alarm_email,
        data_key_arn=data_key_arn,
    )

    # The metric filter names the knowledge base's log group: create it after the group exists.
    monitoring.add_stack_dependency(knowledge_base)

    deploy_role = None
    if settings.github is not None:
        deploy_role = DeployRoleStack(
            scope,
            "DeployRole",
            env=target,
            stack_name=settings.stack_name("github-deploy"),
            description="Role GitHub Actions assumes through OIDC to deploy this app with the CDK bootstrap roles",
            github=settings.github,
            name_prefix=settings.name_prefix,
            query=settings.query,
        )

    for stack in (storage, knowledge_base, network, streaming, query, monitoring):
        adopt_provider_log_groups(stack, settings.lifecycle)
        acknowledge_cdk_provider_functions(stack)
        Aspects.of(stack).add(LogGroupEncryption(data_key_arn))
    Tags.of(scope).add("application", settings.name_prefix)
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), ServerlessChecks(scope))
    return Stacks(
        keys=keys,
        storage=storage,
        knowledge_base=knowledge_base,
        network=network,
        streaming=streaming,
        query=query,
        monitoring=monitoring,
        deploy_role=deploy_role,
    )


def build_environments(app: App, environments: Sequence[Settings]) -> dict[str, Stacks]:
    """Every named environment in one cloud assembly, each in a stage of its own (``cdk deploy 'dev/*'``)."""
    built: dict[str, Stacks] = {}
    for settings in environments:
        stage = Stage(app, settings.environment, env=stack_environment(settings))
        built[settings.environment] = build_app(stage, settings)
    return built
