"""The optional HTTPS endpoint: an HTTP API whose JWT authorizer verifies the caller's token.

API Gateway checks the token's signature, issuer, audience and expiry before the function runs; the
function reads the caller's groups from the verified claims. The API is the only principal allowed to
invoke its entry point (a resource policy naming this API), and an HTTP API costs nothing while idle.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigatewayv2 as apigateway
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.foundation.api_stage import log_access
from stacks.foundation.lifecycle import removal_policy
from stacks.foundation.nag import acknowledge
from stacks.settings import Lifecycle, QueryApiSettings

ROUTE = "/query"
# Requests per second (and burst) the stage admits: RetrieveAndGenerate's own quota is far lower.
THROTTLE_RATE, THROTTLE_BURST = 20, 40
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",'
    '"route":"$context.routeKey","status":"$context.status","latencyMs":"$context.responseLatency",'
    '"subject":"$context.authorizer.claims.sub","authorizerError":"$context.authorizer.error"}'
)


class QueryUsers(Construct):
    """A Cognito user pool with one group per audience, and the app client people sign in with."""

    def __init__(self, scope: Construct, construct_id: str, *, groups: Sequence[str], name_prefix: str,
                 lifecycle: Lifecycle) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        self.pool = cognito.UserPool(
            self,
            "Pool",
            user_pool_name=f"{name_prefix}-query-users",
            self_sign_up_enabled=False,  # administrators add users and put them in groups
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12, require_digits=True, require_lowercase=True, require_uppercase=True, require_symbols=True
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            removal_policy=removal_policy(lifecycle),
        )
        acknowledge(self.pool, "AwsSolutions-COG2", "MFA is offered (TOTP) and left to each organization to require; "
                    "the API accepts only tokens of users an administrator created.")  # fmt: skip
        for finding in ("AwsSolutions-COG3", "AwsSolutions-COG8"):
            acknowledge(self.pool, finding, "Threat protection needs the Plus feature plan, billed per active user; "
                        "sign-up is closed and every user is created by an administrator.")  # fmt: skip
        for group in groups:
            cognito.CfnUserPoolGroup(self, f"Group-{group}", user_pool_id=self.pool.user_pool_id, group_name=group,
                                     description=f"Asks the knowledge base as '{group}'")  # fmt: skip
        self.client = self.pool.add_client(
            "Client",
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            generate_secret=False,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            prevent_user_existence_errors=True,
        )
        region = Stack.of(self).region
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{self.pool.user_pool_id}"


class QueryHttpApi(Construct):
    """``POST /query`` with a bearer token, answered by ``entry_point``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: QueryApiSettings,
        groups: Sequence[str],
        entry_point: lambda_.IFunction,
        name_prefix: str,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        self.users: QueryUsers | None = None
        if api.mode == "cognito":
            self.users = QueryUsers(self, "Users", groups=groups, name_prefix=name_prefix, lifecycle=lifecycle)
            issuer, audience = self.users.issuer, [self.users.client.user_pool_client_id]
        else:
            issuer, audience = api.issuer, list(api.audience)
        self.issuer, self.audiences = issuer, audience  # the chat page's WebSocket authorizer applies the same rules
        authorizer = authorizers.HttpJwtAuthorizer("Tokens", issuer, jwt_audience=audience)
        self.api = apigateway.HttpApi(
            self,
            "Api",
            api_name=f"{name_prefix}-query",
            description="Asks the knowledge base; the caller's groups come from the verified token",
            create_default_stage=False,
        )
        self.stage = apigateway.HttpStage(
            self,
            "Stage",
            http_api=self.api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigateway.ThrottleSettings(rate_limit=THROTTLE_RATE, burst_limit=THROTTLE_BURST),
        )
        log_access(self, self.stage, ACCESS_LOG_FORMAT, lifecycle)
        # The integration adds the entry point's resource policy: this API, this route, nothing else.
        self.api.add_routes(
            path=ROUTE,
            methods=[apigateway.HttpMethod.POST],
            integration=integrations.HttpLambdaIntegration("Query", entry_point),
            authorizer=authorizer,
        )
        self.url = f"{self.api.api_endpoint}{ROUTE}"
