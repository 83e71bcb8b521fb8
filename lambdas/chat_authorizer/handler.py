"""The chat page's WebSocket API authorizer ($connect): admits a connection whose token verifies, and hands the
integration the token's groups and expiry. A refused connection gets a Deny policy: API Gateway answers 403 and
the integration never runs. The policy and context are Lambda authorizer output, whose context values are strings,
numbers or booleans (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html);
a WebSocket API runs the authorizer on $connect only and passes its context to every route of the connection
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html).
"""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponseWebSocket,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from chat_authorizer.contract import IDENTITY_HEADER, ChatAuthorizerConfig
from chat_authorizer.tokens import IssuerKeys, TokenRejected, TokenRules, offered_token, verify
from function_runtime.environment import from_environment
from query.contract import AUTHORIZED_GROUPS, AUTHORIZED_UNTIL, STREAM_SUBPROTOCOL

logger = Logger()


@cache
def _issuer_keys(issuer: str) -> IssuerKeys:
    return IssuerKeys(issuer)  # one per execution environment: keys are fetched once, not per connection


def _header(event: APIGatewayAuthorizerRequestEvent, name: str) -> str | None:
    return next((value for key, value in (event.headers or {}).items() if key.lower() == name.lower()), None)


@logger.inject_lambda_context
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    config = from_environment(ChatAuthorizerConfig)
    policy = APIGatewayAuthorizerResponseWebSocket.from_route_arn(event.method_arn, principal_id="unauthorized")
    token = offered_token(_header(event, IDENTITY_HEADER), STREAM_SUBPROTOCOL)
    try:
        if token is None:
            raise TokenRejected(f"no token offered after the subprotocol {STREAM_SUBPROTOCOL}")
        claims = verify(token, TokenRules(config.issuer, tuple(config.audiences)), _issuer_keys(config.issuer),
                        time.time())  # fmt: skip
    except TokenRejected as refusal:
        logger.info("Connection refused", reason=str(refusal))
        policy.deny_all_routes()
        return policy.asdict()
    policy = APIGatewayAuthorizerResponseWebSocket.from_route_arn(
        event.method_arn,
        principal_id=str(claims.get("sub", "unknown")),
        context={
            AUTHORIZED_GROUPS: json.dumps(claims.get(config.group_claim, [])),
            AUTHORIZED_UNTIL: int(claims["exp"]),
        },
    )
    policy.allow_all_routes()
    return policy.asdict()
