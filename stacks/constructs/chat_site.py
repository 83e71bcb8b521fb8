"""The chat page (``webChat=on``): a private bucket read by CloudFront through an origin access control, the HTTP
API behind the same distribution (so the page calls its own origin and the API needs no CORS), the WebSocket API
its answers stream over (``stacks.constructs.answer_stream``), and sign-in with the authorization code flow and
PKCE: Cognito's managed login, or the configured OIDC issuer.

The page is built by ``make chat-build`` (esbuild, from ``web/chat``) and uploaded with its ``config.json`` at
deploy time. Every response carries the security headers of ``stacks.foundation.web_headers``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aws_cdk import Duration, Fn, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct

from query.contract import STREAM_SUBPROTOCOL
from stacks.constructs.answer_stream import AnswerStreamApi
from stacks.constructs.document_upload import acknowledge_bucket_deployment
from stacks.constructs.query_api import ROUTE, QueryHttpApi
from stacks.foundation.checkov import skip_check
from stacks.foundation.handler_role import HandlerRole
from stacks.foundation.lifecycle import log_group, removal_policy
from stacks.foundation.nag import acknowledge
from stacks.foundation.web_headers import HSTS_SECONDS, content_security_policy
from stacks.settings import Lifecycle, QueryApiSettings

SCOPES = ["openid", "email", "profile"]


class ChatSite(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        page: Path,
        api: QueryHttpApi,
        stream: AnswerStreamApi,
        api_settings: QueryApiSettings,
        filters: list[dict[str, str]],
        name_prefix: str,
        lifecycle: Lifecycle,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (page / "index.html").exists():
            raise FileNotFoundError(f"{page} holds no built chat page: run make chat-build (make synth does)")
        stack = Stack.of(self)
        self.bucket = s3.Bucket(
            self,
            "Page",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy(lifecycle),
            auto_delete_objects=not lifecycle.retain_data,
        )
        reason = ("The bucket holds the page's public files only, rebuilt from the repository on every deploy; "
                  "CloudFront is its only reader.")  # fmt: skip
        acknowledge(self.bucket, "AwsSolutions-S1", reason)
        skip_check(self.bucket, "CKV_AWS_18", reason)
        skip_check(self.bucket, "CKV_AWS_21", reason)

        if api_settings.mode == "cognito":
            assert api.users is not None
            domain_prefix = f"{name_prefix}-{stack.account}"
            api.users.pool.add_domain(
                "SignIn", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=domain_prefix)
            )
            # The managed login endpoints of a prefix domain: https://docs.aws.amazon.com/cognito/latest/developerguide/
            # federation-endpoints.html (/oauth2/authorize, /oauth2/token, /logout).
            sign_in = f"https://{domain_prefix}.auth.{stack.region}.amazoncognito.com"
            auth: dict[str, Any] = {
                "authorizeUrl": f"{sign_in}/oauth2/authorize",
                "tokenUrl": f"{sign_in}/oauth2/token",
                "logoutUrl": f"{sign_in}/logout",
                "clientId": api.users.client.user_pool_client_id,
            }
        else:
            issuer = api_settings.issuer.rstrip("/")
            sign_in = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
            auth = {"issuer": issuer, "clientId": api_settings.audience[0]}

        headers = cloudfront.ResponseHeadersPolicy(
            self,
            "Headers",
            comment="The chat page: own scripts and styles only, requests to itself and the sign-in only",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=content_security_policy([sign_in, stream.origin]), override=True),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.seconds(HSTS_SECONDS), include_subdomains=True, override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True),
            ),
        )  # fmt: skip
        # The API's answers are never cached; the bearer token goes to the API, as a cache key header must.
        no_cache = cloudfront.CachePolicy(
            self,
            "ApiRequests",
            comment="Questions to the HTTP API: nothing cached, the Authorization header forwarded",
            default_ttl=Duration.seconds(0),
            min_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(1),
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )
        api_domain = Fn.select(2, Fn.split("/", api.api.api_endpoint))
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{name_prefix}: the chat page and its API",
            default_root_object="index.html",
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
            ),
            additional_behaviors={
                ROUTE: cloudfront.BehaviorOptions(
                    origin=origins.HttpOrigin(api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=no_cache,
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy=headers,
                ),
            },
        )  # fmt: skip
        self.url = f"https://{self.distribution.distribution_domain_name}/"
        for finding, why in (
            ("AwsSolutions-CFR1", "The page is for this app's users wherever they are; sign-in decides who may ask."),
            ("AwsSolutions-CFR2", "The API requires a verified token and is throttled; AWS WAF would bill per month "
             "and per request for a page that serves static files."),
            ("AwsSolutions-CFR3", "CloudFront standard logs need an ACL-enabled bucket; the HTTP API logs every "
             "question with its caller, and the page itself is static."),
            ("AwsSolutions-CFR4", "The distribution uses CloudFront's default certificate, whose minimum protocol "
             "CloudFront sets; a custom domain with its own certificate can require TLS 1.2."),
        ):  # fmt: skip
            acknowledge(self.distribution, finding, why)
        for check, why in (("CKV_AWS_86", "standard logs need an ACL-enabled bucket; the HTTP API logs every question"),
                           ("CKV_AWS_68", "the API requires a verified token and is throttled; no AWS WAF"),
                           ("CKV_AWS_174", "CloudFront's default certificate; a custom domain can require TLS 1.2"),
                           ("CKV_AWS_310", "one origin each; the page is static and the API regional"),
                           ("CKV_AWS_374", "the page serves this app's users wherever they are"),
                           ("CKV2_AWS_47", "no AWS WAF; the API requires a verified token")):  # fmt: skip
            skip_check(self.distribution, check, f"The chat page: {why}.")

        if api.users is not None:
            # The page's client: authorization code with PKCE (no secret), back to the page only.
            client = api.users.client.node.default_child
            assert isinstance(client, cognito.CfnUserPoolClient)
            client.allowed_o_auth_flows_user_pool_client = True
            client.allowed_o_auth_flows = ["code"]
            client.allowed_o_auth_scopes = SCOPES
            client.callback_ur_ls = [self.url]
            client.logout_ur_ls = [self.url]
            client.supported_identity_providers = ["COGNITO"]

        config = {
            "apiUrl": ROUTE,
            "streamUrl": stream.url,
            "streamProtocol": STREAM_SUBPROTOCOL,
            "auth": {
                **auth,
                "redirectUri": self.url,
                "groupClaim": api_settings.group_claim,
                "scopes": " ".join(SCOPES),
            },
            "filters": filters,
        }
        logs = log_group(self, "UploadLogs", lifecycle)
        role = HandlerRole(self, "UploadRole", log_group=logs, description="Uploads the chat page").role
        s3_deployment.BucketDeployment(
            self,
            "Upload",
            sources=[s3_deployment.Source.asset(str(page)), s3_deployment.Source.json_data("config.json", config)],
            destination_bucket=self.bucket,
            # CloudFront asks S3 whether a file changed on every request (a conditional GET), so a deploy takes
            # effect at once without cache invalidations, which IAM can grant only on every distribution.
            cache_control=[s3_deployment.CacheControl.no_cache()],
            log_group=logs,
            role=role,
        )
        acknowledge_bucket_deployment(self, role, self.bucket)
