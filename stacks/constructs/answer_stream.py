"""The chat page's answers as they are generated: an API Gateway WebSocket API.

Lambda's Python runtime cannot stream a function's response, so the query function sends the answer's text over
the page's WebSocket connection instead (PostToConnection), piece by piece, as RetrieveAndGenerateStream yields it.

- ``$connect`` is authorized by ``chat_authorizer``, which verifies the token the page offers as its second
  subprotocol by the HTTP API's rules (same issuer, same audiences); its ``$connect`` integration selects the
  subprotocol. A connection that fails the check gets 403 and never reaches the query function.
- Every message (``ask``, or anything else: ``$default``) goes to the query function's ``chat-stream`` alias, which
  answers as the connection's verified groups. The alias is invoked by this API only (its resource policy).
- The stage is throttled and logs every connection and message; the API costs nothing while idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import Aws, CfnElement, Fn, Stack
from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from chat_authorizer import contract as authorizer_contract
from query.contract import STREAM_ASK_ACTION
from stacks.constructs.functions import POWERTOOLS_LAYER, TOKENS_LAYER, AppFunction, FunctionCode
from stacks.foundation.api_stage import log_access
from stacks.foundation.nag import acknowledge
from stacks.settings import Lifecycle

STAGE = "live"
# Messages per second (and burst) the stage admits; each question is one message, and RetrieveAndGenerateStream's
# own quota is about 20 requests per second (https://docs.aws.amazon.com/bedrock/latest/userguide/quotas.html).
THROTTLE_RATE, THROTTLE_BURST = 20, 40
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"event":"$context.eventType","route":"$context.routeKey","status":"$context.status",'
    '"connectionId":"$context.connectionId","subject":"$context.authorizer.principalId",'
    '"latencyMs":"$context.integrationLatency","error":"$context.error.message"}'
)


class AnswerStreamApi(Construct):
    """The API and its stage; ``connect`` adds the routes once the query function's alias exists (the function's
    configuration names this API's connection endpoint, so the API comes first)."""

    def __init__(self, scope: Construct, construct_id: str, *, name_prefix: str, lifecycle: Lifecycle) -> None:
        super().__init__(scope, construct_id)
        self._lifecycle = lifecycle
        self.api = apigateway.WebSocketApi(
            self,
            "Api",
            api_name=f"{name_prefix}-answer-stream",
            description="The chat page's answers, sent as they are generated; connections need a verified token",
            route_selection_expression="$request.body.action",
        )
        self.stage = apigateway.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE,
            auto_deploy=True,
            throttle=apigateway.ThrottleSettings(rate_limit=THROTTLE_RATE, burst_limit=THROTTLE_BURST),
        )
        log_access(self, self.stage, ACCESS_LOG_FORMAT, lifecycle)
        self.url = self.stage.url  # wss://<api>.execute-api.<region>.amazonaws.com/live
        self.connections_url = self.stage.callback_url  # https://... : where the function posts to connections
        self.origin = Fn.join("", ["wss://", self.api.api_id, f".execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}"])

    def connect(
        self,
        *,
        code: FunctionCode,
        entry_point: lambda_.IFunction,
        sender: iam.Role,
        issuer: str,
        audiences: Sequence[str],
        group_claim: str,
    ) -> None:
        self.authorizer = AppFunction(
            self,
            "Authorizer",
            code=code,
            handler=authorizer_contract.HANDLER,
            service=authorizer_contract.SERVICE,
            description="Admits chat connections whose token verifies (issuer, audience, signature, expiry)",
            lifecycle=self._lifecycle,
            config=authorizer_contract.ChatAuthorizerConfig(
                issuer=issuer, audiences=list(audiences), group_claim=group_claim
            ),
            timeout_seconds=10,
            layers=(POWERTOOLS_LAYER, TOKENS_LAYER),
        )
        self.authorizer.invoked_without_async_events(
            "API Gateway invokes it synchronously on each $connect; a failure refuses the connection."
        )
        tokens = authorizers.WebSocketLambdaAuthorizer(
            "Tokens", self.authorizer.function,
            identity_source=[f"route.request.header.{authorizer_contract.IDENTITY_HEADER}"],
        )  # fmt: skip
        answers = integrations.WebSocketLambdaIntegration("Answers", entry_point)
        self.api.add_route("$connect", integration=answers, authorizer=tokens)
        for route_key in (STREAM_ASK_ACTION, "$default"):
            route = self.api.add_route(route_key, integration=answers)
            acknowledge(route, "AwsSolutions-APIG4", "A WebSocket API authorizes the connection ($connect, with the "
                        "token authorizer); its message routes take no authorizer of their own.")  # fmt: skip
        # Posting to this stage's connections, nothing else of the management API (not reading or closing them):
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html
        stack = Stack.of(self)
        connections = f"{self.api.api_id}/{STAGE}/POST/@connections"
        sender.add_to_principal_policy(iam.PolicyStatement(
            sid="AnswerStreamConnections", actions=["execute-api:ManageConnections"],
            resources=[stack.format_arn(service="execute-api", resource=f"{connections}/*")],
        ))  # fmt: skip
        api_logical_id = stack.resolve(stack.get_logical_id(cast(CfnElement, self.api.node.default_child)))
        acknowledge(sender, "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:"
                    f"<AWS::AccountId>:<{api_logical_id}>/{STAGE}/POST/@connections/*]",
                    "Any connection of the chat page's WebSocket API: connection IDs exist only once a page "
                    "connects, and the function posts the answer to the one that asked.")  # fmt: skip
