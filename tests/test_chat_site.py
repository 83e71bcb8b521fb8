"""webChat=on: the page in a private bucket behind CloudFront (origin access control, strict headers, HTTPS), the
API behind the same distribution, and sign-in with the authorization code flow and PKCE."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from stacks.foundation.web_headers import HSTS_SECONDS, content_security_policy
from stacks.settings import SettingsError, load_settings
from tests.conftest import OIDC_API, QUERY_FEATURES, Synthesized
from tests.support.sample_values import AppSamples
from tests.support.templates import one, resources_of_type

# The WebSocket API the answers stream over, as the sample values render its ID.
ANSWER_STREAM_ORIGIN = "wss://kbstream-answer-stream.execute-api.us-east-1.amazonaws.com"


@pytest.fixture(scope="module")
def chat(synth: Callable[..., Synthesized]) -> Synthesized:
    return synth(**QUERY_FEATURES)


def rendered(app: Synthesized, value: Any) -> Any:
    return AppSamples(app.templates_by_stack_name).render(value, app.template("Query"))


def test_the_page_needs_the_https_endpoint() -> None:
    with pytest.raises(SettingsError, match="webChat") as raised:
        load_settings({"app:webChat": "on"})
    assert "queryHttpApi" in str(raised.value)
    assert load_settings({}).query_api.web_chat == "off"


def test_without_the_option_there_is_no_page(app: Synthesized) -> None:
    assert not resources_of_type(app.template("Query"), "AWS::CloudFront::Distribution")


def test_the_bucket_is_private_and_read_by_cloudfront_through_an_origin_access_control(chat: Synthesized) -> None:
    template = chat.template("Query")
    (bucket_id,) = [key for key in resources_of_type(template, "AWS::S3::Bucket") if key.startswith("ChatPage")]
    bucket = template["Resources"][bucket_id]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    _, control = one(template, "AWS::CloudFront::OriginAccessControl")
    assert control["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    (policy,) = [resource["Properties"]["PolicyDocument"] for resource in
                 resources_of_type(template, "AWS::S3::BucketPolicy").values()
                 if resource["Properties"]["Bucket"] == {"Ref": bucket_id}]  # fmt: skip
    reader = next(statement for statement in policy["Statement"] if statement["Effect"] == "Allow"
                  and statement.get("Principal") == {"Service": "cloudfront.amazonaws.com"})  # fmt: skip
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reader["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in str(reader["Condition"])


def test_https_only_and_the_api_behind_the_same_origin(chat: Synthesized) -> None:
    _, distribution = one(chat.template("Query"), "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/query" and api["ViewerProtocolPolicy"] == "https-only"
    origin = next(origin for origin in config["Origins"] if origin["Id"] == api["TargetOriginId"])
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "ApiEndpoint" in json.dumps(origin["DomainName"]), "the HTTP API's own endpoint, its host part"
    assert config["DefaultRootObject"] == "index.html"


def test_every_response_carries_the_strict_headers(chat: Synthesized) -> None:
    _, policy = one(chat.template("Query"), "AWS::CloudFront::ResponseHeadersPolicy")
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    sign_in = "https://kbstream-123456789012.auth.us-east-1.amazoncognito.com"
    assert rendered(chat, security["ContentSecurityPolicy"]["ContentSecurityPolicy"]) == content_security_policy(
        [sign_in, ANSWER_STREAM_ORIGIN]
    )
    assert "script-src 'self';" in content_security_policy([sign_in]) and "unsafe" not in content_security_policy([])
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] == HSTS_SECONDS
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    _, distribution = one(chat.template("Query"), "AWS::CloudFront::Distribution")
    config = distribution["Properties"]["DistributionConfig"]
    policy_id, _ = one(chat.template("Query"), "AWS::CloudFront::ResponseHeadersPolicy")
    behaviors = [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]
    assert {behavior["ResponseHeadersPolicyId"]["Ref"] for behavior in behaviors} == {policy_id}


def test_cognito_signs_people_in_with_the_code_flow_back_to_the_page_only(chat: Synthesized) -> None:
    template = chat.template("Query")
    _, client = one(template, "AWS::Cognito::UserPoolClient")
    properties = client["Properties"]
    assert properties["AllowedOAuthFlows"] == ["code"] and properties["AllowedOAuthFlowsUserPoolClient"] is True
    assert properties.get("GenerateSecret", False) is False, "a browser client has no secret: PKCE instead"
    page = rendered(chat, properties["CallbackURLs"][0])
    assert page.startswith("https://") and page.endswith("/") and properties["LogoutURLs"] == properties["CallbackURLs"]
    _, domain = one(template, "AWS::Cognito::UserPoolDomain")
    assert rendered(chat, domain["Properties"]["Domain"]) == "kbstream-123456789012"
    outputs = template["Outputs"]
    assert any(key.startswith("ChatPageUrl") for key in outputs)


def test_an_oidc_issuer_signs_people_in_instead(synth: Callable[..., Synthesized]) -> None:
    oidc = synth(**OIDC_API)
    template = oidc.template("Query")
    assert not resources_of_type(template, "AWS::Cognito::UserPoolDomain")
    _, policy = one(template, "AWS::CloudFront::ResponseHeadersPolicy")
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert rendered(oidc, csp["ContentSecurityPolicy"]) == content_security_policy(
        ["https://login.example.com", ANSWER_STREAM_ORIGIN]
    )
