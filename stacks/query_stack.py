"""Query stack: the function people ask the knowledge base through, with its console test events."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.answer_stream import AnswerStreamApi
from stacks.constructs.buckets import DocumentBucketRef
from stacks.constructs.chat_site import ChatSite
from stacks.constructs.evaluation import EvaluationBucketRef, EvaluationRole
from stacks.constructs.functions import FunctionCode, LambdaSources
from stacks.constructs.query_api import QueryHttpApi
from stacks.constructs.query_function import QueryFunction
from stacks.foundation.encryption import imported_key
from stacks.settings import FunctionSettings, KnowledgeBaseIdentity, Lifecycle, QueryApiSettings, QuerySettings
from stream_ingest.mapping import DocumentMapping


def chat_filters(query: QuerySettings, stream_mapping: DocumentMapping) -> list[dict[str, str]]:
    """The metadata the chat page offers to filter on: what the stream's documents carry, and the attributes the
    implicit filters describe."""
    found = {attribute.key: {"key": attribute.key, "type": attribute.type, "description": attribute.description}
             for attribute in query.implicit_filter_attributes}  # fmt: skip
    for field in stream_mapping.metadata:
        found.setdefault(field.name, {"key": field.name, "type": field.type.bedrock if field.type else "STRING",
                                      "description": "stream documents"})  # fmt: skip
    return list(found.values())


class QueryStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query: QuerySettings,
        query_api: QueryApiSettings,
        stream_mapping: DocumentMapping,
        identity: KnowledgeBaseIdentity,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        lambda_sources: LambdaSources,
        functions: FunctionSettings,
        lifecycle: Lifecycle,
        name_prefix: str,
        data_key_arn: str | None = None,
        chat_page: Path | None = None,
        documents: DocumentBucketRef | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        key = imported_key(self, data_key_arn)
        chat_on = query_api.web_chat == "on" and chat_page is not None
        # The chat page's answers as they are generated; the function's configuration names its endpoint.
        stream = None
        if chat_on:
            stream = AnswerStreamApi(self, "AnswerStream", name_prefix=name_prefix, lifecycle=lifecycle)
        code = FunctionCode.for_stack(self, lambda_sources, functions)
        self.query = QueryFunction(
            self,
            "QueryFunction",
            query=query,
            query_api=query_api,
            stream_mapping=stream_mapping,
            identity=identity,
            knowledge_base_id=knowledge_base_id,
            knowledge_base_arn=knowledge_base_arn,
            code=code,
            lifecycle=lifecycle,
            key=key,
            document_links=documents if query_api.web_chat == "on" else None,
            stream_connections_url=stream.connections_url if stream else None,
        )
        evaluation = EvaluationRole(
            self,
            "Evaluation",
            bucket=EvaluationBucketRef(name_prefix),
            knowledge_base_arn=knowledge_base_arn,
            knowledge_base_generation=identity.generation,
            generation_profile_id=query.inference_profile_id,
            evaluator_model_id=query.evaluation_judge_model_id,
            key=key,
        )
        CfnOutput(self, "QueryFunctionName", value=self.query.function.function.function_name)
        CfnOutput(self, "EvaluationRoleArn", value=evaluation.role.role_arn,
                  description="The role of Bedrock RAG evaluation jobs (make evaluate ARGS=--judge)")  # fmt: skip
        for group, policy in self.query.entry_points.policies.items():
            CfnOutput(self, f"AskAs-{group}-Policy", value=policy.managed_policy_arn,
                      description=f"Managed policy to attach to people and roles who ask as '{group}'")  # fmt: skip
        self.http_api: QueryHttpApi | None = None
        self.answer_stream = stream
        if self.query.entry_points.http_api is not None:
            self.http_api = QueryHttpApi(self, "HttpApi", api=query_api, groups=list(query.group_filters),
                                         entry_point=self.query.entry_points.http_api, name_prefix=name_prefix,
                                         lifecycle=lifecycle)  # fmt: skip
            CfnOutput(self, "QueryApiUrl", value=self.http_api.url, description="POST a question with a bearer token")
            if self.http_api.users is not None:
                CfnOutput(self, "QueryUserPoolId", value=self.http_api.users.pool.user_pool_id)
                CfnOutput(self, "QueryUserPoolClientId", value=self.http_api.users.client.user_pool_client_id)
            if stream is not None and chat_page is not None:
                assert self.query.entry_points.answer_stream is not None
                stream.connect(code=code, entry_point=self.query.entry_points.answer_stream,
                               sender=self.query.function.role, issuer=self.http_api.issuer,
                               audiences=self.http_api.audiences, group_claim=query_api.group_claim)  # fmt: skip
                chat = ChatSite(self, "Chat", page=chat_page, api=self.http_api, stream=stream,
                                api_settings=query_api, filters=chat_filters(query, stream_mapping),
                                name_prefix=name_prefix, lifecycle=lifecycle)  # fmt: skip
                CfnOutput(self, "ChatPageUrl", value=chat.url, description="The chat page: sign in and ask")
                CfnOutput(self, "AnswerStreamUrl", value=stream.url,
                          description="The chat page's WebSocket API (a connection needs a token)")  # fmt: skip
