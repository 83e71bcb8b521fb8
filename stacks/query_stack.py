"""Query stack: the function people ask the knowledge base through, with its console test events."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.constructs.functions import FunctionCode, LambdaSources
from stacks.constructs.query_function import QueryFunction
from stacks.settings import FunctionSettings, KnowledgeBaseIdentity, Lifecycle, QuerySettings


class QueryStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        query: QuerySettings,
        identity: KnowledgeBaseIdentity,
        knowledge_base_id: str,
        knowledge_base_arn: str,
        lambda_sources: LambdaSources,
        functions: FunctionSettings,
        lifecycle: Lifecycle,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.query = QueryFunction(
            self,
            "QueryFunction",
            query=query,
            identity=identity,
            knowledge_base_id=knowledge_base_id,
            knowledge_base_arn=knowledge_base_arn,
            code=FunctionCode.for_stack(self, lambda_sources, functions),
            lifecycle=lifecycle,
        )
        CfnOutput(self, "QueryFunctionName", value=self.query.function.function.function_name)
