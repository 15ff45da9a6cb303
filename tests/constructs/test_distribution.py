"""SpaDistribution: behaviours in order, their policies and functions, TLS, acknowledgments, and bad inputs.

The module builds one small App with two distributions, each in a stack of its own, and
synthesises it once with every compliance pack registered (an open finding fails the fixture):

- `Default`: the *.cloudfront.net name, a cached API path, a function on the index and on images;
- `Custom`: a custom domain with its certificate, no cached API path, no functions.

Invalid constructions are refused before anything is built; they use throwaway stacks, never
synthesised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import (
    App,
    Duration,
    Environment,
    Stack,
    aws_certificatemanager as acm,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
)
from constructs import IConstruct

from platform_constructs.cloudfront_functions import cloudfront_function
from platform_constructs.distribution import IMMUTABLE, CachedApiPath, SpaDistribution, https_api_origin
from platform_constructs.log_bucket import LogLifecycle, log_bucket
from platform_constructs.spa_bucket import spa_bucket
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ENV = Environment(account="111111111111", region="us-east-1")
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-4000-8000-000000000000"
WEB_ACL_ARN = "arn:aws:wafv2:us-east-1:111111111111:global/webacl/edge/00000000-0000-4000-8000-000000000000"
CSP = "default-src 'self'"
GEOGRAPHY_REASON = "Tickets are sold to anyone who can reach the site; WAF's rate limits stand in front of it."
CERTIFICATE_REASON = "A test fixture on the default domain, never deployed; real environments use their own domain."
#: CloudFront's managed policies, by id.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@dataclass
class Built:
    stack: Stack
    spa: SpaDistribution
    template: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        resources = self.template["Resources"].values()
        (distribution,) = [r for r in resources if r["Type"] == "AWS::CloudFront::Distribution"]
        config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
        return config

    def behaviors(self) -> dict[str, dict[str, Any]]:
        found = {b["PathPattern"]: b for b in self.config["CacheBehaviors"]}
        found["default"] = self.config["DefaultCacheBehavior"]
        return found

    def policy(self, reference: dict[str, str]) -> dict[str, Any]:
        """The policy config a behaviour refers to by Ref (a cache, origin request or headers policy)."""
        properties: dict[str, Any] = self.template["Resources"][reference["Ref"]]["Properties"]
        (config,) = properties.values()
        return dict(config)

    def of_type(self, kind: str) -> list[str]:
        return [k for k, r in self.template["Resources"].items() if r["Type"] == kind]


def _origins(stack: Stack) -> tuple[cloudfront.IOrigin, cloudfront.IOrigin]:
    site = origins.S3BucketOrigin.with_origin_access_control(spa_bucket(stack, "SiteBucket"))
    return site, https_api_origin("origin.example.com", custom_headers={"X-Origin-Verify": "not-a-secret"})


def _log_bucket(stack: Stack) -> Any:
    return log_bucket(
        stack, "LogBucket", writer="CloudFront", acl_delivery=True, lifecycle=LogLifecycle.of_days(30, 90, 365)
    )


def _function(stack: Stack, construct_id: str, directory: Path) -> cloudfront.Function:
    code = directory / f"{construct_id}.js"
    code.write_text("function handler(event) { return event.request; }\n", encoding="utf-8")
    return cloudfront_function(stack, construct_id, code_file=code, comment=f"{construct_id} of the fixture")


def _required(stack: Stack) -> dict[str, Any]:
    site, api = _origins(stack)
    return {
        "comment": "the fixture: SPA and API",
        "comment_prefix": "fixture",
        "site_origin": site,
        "api_origin": api,
        "content_security_policy": CSP,
        "index_max_age": Duration.seconds(60),
        "price_class": cloudfront.PriceClass.PRICE_CLASS_200,
        "access_log_bucket": _log_bucket(stack),
        "web_acl_arn": WEB_ACL_ARN,
        "unrestricted_geography_reason": GEOGRAPHY_REASON,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    functions = tmp_path_factory.mktemp("functions")
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    default = Stack(app, "Default", env=ENV)
    custom = Stack(app, "Custom", env=ENV)
    spas = {
        "Default": SpaDistribution(
            default,
            **_required(default),
            index_function=_function(default, "SpaRouting", functions),
            images_function=_function(default, "ImageFormat", functions),
            cached_api_paths=[CachedApiPath("/api/events", ("page", "category"))],
            default_certificate_reason=CERTIFICATE_REASON,
        ),
        "Custom": SpaDistribution(
            custom,
            **_required(custom),
            domain_names=["tickets.example.com"],
            certificate=acm.Certificate.from_certificate_arn(custom, "Certificate", CERTIFICATE_ARN),
        ),
    }
    assembly = app.synth()  # runs every pack: raises on any open finding
    return {
        name: Built(stack, spas[name], assembly.get_stack_by_name(stack.stack_name).template)
        for name, stack in (("Default", default), ("Custom", custom))
    }


def acknowledged(construct: IConstruct) -> dict[str, str]:
    """Rule id -> reason of the acknowledgments on `construct` itself."""
    return {
        rule.removeprefix("Annotation::"): reason
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    }


def test_resources_are_made_in_the_callers_scope_under_fixed_ids(built: dict[str, Built]) -> None:
    b = built["Default"]
    assert b.spa.distribution.node.path == "Default/Distribution"  # no construct level of its own
    for prefix in (
        "Distribution", "SecurityHeadersPolicy", "ApiRequestPolicy", "ApiCachePolicy0", "AssetsCachePolicy",
        "AssetsHeadersPolicy", "ImagesCachePolicy", "ImagesHeadersPolicy", "IndexCachePolicy", "IndexHeadersPolicy",
    ):  # fmt: skip
        assert [k for k in b.template["Resources"] if k.startswith(prefix)], prefix
    assert "Default/SecurityHeadersPolicy" in {c.node.path for c in b.stack.node.children}


def test_paths_route_most_specific_first(built: dict[str, Built]) -> None:
    assert [b["PathPattern"] for b in built["Default"].config["CacheBehaviors"]] == [
        "/api/events", "/api/*", "/assets/*", "/images/*"
    ]  # fmt: skip
    assert [b["PathPattern"] for b in built["Custom"].config["CacheBehaviors"]] == ["/api/*", "/assets/*", "/images/*"]


def test_the_api_is_never_cached_and_gets_every_viewer_header_but_host(built: dict[str, Built]) -> None:
    b = built["Default"]
    api = b.behaviors()["/api/*"]
    assert (api["CachePolicyId"], api["OriginRequestPolicyId"]) == (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST_HEADER)
    assert api["AllowedMethods"] == ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    assert (api["ViewerProtocolPolicy"], api["Compress"]) == ("https-only", False)
    (origin,) = [o for o in b.config["Origins"] if o["Id"] == api["TargetOriginId"]]
    assert origin["DomainName"] == "origin.example.com"
    assert origin["CustomOriginConfig"] == {
        "OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"],
        "OriginReadTimeout": 30, "OriginKeepaliveTimeout": 5,
    }  # fmt: skip
    assert origin["OriginCustomHeaders"] == [{"HeaderName": "X-Origin-Verify", "HeaderValue": "not-a-secret"}]


def test_a_cached_api_path_is_keyed_by_its_query_keys_and_authorization(built: dict[str, Built]) -> None:
    b = built["Default"]
    cached = b.behaviors()["/api/events"]
    assert cached["TargetOriginId"] == b.behaviors()["/api/*"]["TargetOriginId"]
    assert cached["CachedMethods"] == ["GET", "HEAD"]
    config = b.policy(cached["CachePolicyId"])
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 0, 86400)  # as the origin says
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["page", "category"]}
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    forwarded = b.policy(cached["OriginRequestPolicyId"])
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["Host"]}
    assert forwarded["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert forwarded["CookiesConfig"] == {"CookieBehavior": "none"}


def test_the_origin_request_policy_exists_only_with_cached_api_paths(built: dict[str, Built]) -> None:
    assert len(built["Default"].of_type("AWS::CloudFront::OriginRequestPolicy")) == 1
    assert built["Custom"].of_type("AWS::CloudFront::OriginRequestPolicy") == []
    assert len(built["Custom"].of_type("AWS::CloudFront::CachePolicy")) == 3  # assets, images, index


def test_static_files_are_kept_as_their_kind_allows(built: dict[str, Built]) -> None:
    b = built["Default"]
    for path, max_age, cache_control in (
        ("/assets/*", 365 * 86400, IMMUTABLE),
        ("/images/*", 86400, "public, max-age=86400"),
        ("default", 60, "public, max-age=60, must-revalidate"),
    ):
        behavior = b.behaviors()[path]
        config = b.policy(behavior["CachePolicyId"])
        assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, max_age, max_age), path
        key = config["ParametersInCacheKeyAndForwardedToOrigin"]
        assert (key["EnableAcceptEncodingGzip"], key["EnableAcceptEncodingBrotli"]) == (True, True)
        assert key["HeadersConfig"] == {"HeaderBehavior": "none"}  # images: keyed by the negotiated URI
        custom = b.policy(behavior["ResponseHeadersPolicyId"])["CustomHeadersConfig"]["Items"]
        assert {"Header": "Cache-Control", "Value": cache_control, "Override": True} in custom
        assert ({"Header": "Vary", "Value": "Accept", "Override": True} in custom) is (path == "/images/*")
        assert (behavior["ViewerProtocolPolicy"], behavior["Compress"]) == ("redirect-to-https", True)
        assert behavior["AllowedMethods"] == ["GET", "HEAD"]


def test_every_response_carries_the_security_headers(built: dict[str, Built]) -> None:
    for b in built.values():
        for path, behavior in b.behaviors().items():
            security = b.policy(behavior["ResponseHeadersPolicyId"])["SecurityHeadersConfig"]
            assert security == {
                "StrictTransportSecurity": {
                    "AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True, "Preload": True, "Override": True
                },
                "ContentTypeOptions": {"Override": True},
                "FrameOptions": {"FrameOption": "DENY", "Override": True},
                "ReferrerPolicy": {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True},
                "ContentSecurityPolicy": {"ContentSecurityPolicy": CSP, "Override": True},
            }, path  # fmt: skip


def test_functions_run_on_viewer_requests_where_given(built: dict[str, Built]) -> None:
    for name, b in built.items():
        for path, behavior in b.behaviors().items():
            associations = behavior.get("FunctionAssociations", [])
            expected = {"default": "SpaRouting", "/images/*": "ImageFormat"}.get(path) if name == "Default" else None
            if expected is None:
                assert associations == [], (name, path)
            else:
                (association,) = associations
                assert association["EventType"] == "viewer-request"
                assert association["FunctionARN"]["Fn::GetAtt"][0].startswith(expected)


def test_tls_12_with_a_certificate_and_the_default_certificate_without(built: dict[str, Built]) -> None:
    custom = built["Custom"].config
    assert custom["Aliases"] == ["tickets.example.com"]
    assert custom["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE_ARN, "MinimumProtocolVersion": "TLSv1.2_2025", "SslSupportMethod": "sni-only"
    }  # fmt: skip
    default = built["Default"].config
    assert "Aliases" not in default
    assert "ViewerCertificate" not in default
    for config in (custom, default):
        assert (config["HttpVersion"], config["IPV6Enabled"], config["DefaultRootObject"]) == (
            "http2and3", True, "index.html"
        )  # fmt: skip
        assert (config["PriceClass"], config["WebACLId"]) == ("PriceClass_200", WEB_ACL_ARN)
        assert config["Logging"]["Prefix"] == "cloudfront/"


def test_acknowledgments_sit_on_the_distribution_with_the_callers_reasons(built: dict[str, Built]) -> None:
    default = built["Default"].spa.distribution.node.default_child
    custom = built["Custom"].spa.distribution.node.default_child
    assert default is not None
    assert custom is not None
    assert acknowledged(default) == {"AwsSolutions-CFR1": GEOGRAPHY_REASON, "AwsSolutions-CFR4": CERTIFICATE_REASON}
    # with a certificate of its own the TLS finding does not arise, and nothing is acknowledged for it
    assert acknowledged(custom) == {"AwsSolutions-CFR1": GEOGRAPHY_REASON}


def test_the_spa_bucket_is_read_through_origin_access_control_only(built: dict[str, Built]) -> None:
    b = built["Default"]
    (oac,) = [r for r in b.template["Resources"].values() if r["Type"] == "AWS::CloudFront::OriginAccessControl"]
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert (config["OriginAccessControlOriginType"], config["SigningBehavior"]) == ("s3", "always")
    (site,) = [o for o in b.config["Origins"] if "S3OriginConfig" in o]
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert "OriginAccessControlId" in site


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"domain_names": ["tickets.example.com"]}, "domain_names and certificate: give both"),
        ({"certificate": "certificate"}, "domain_names and certificate: give both"),
        ({}, "default_certificate_reason: required without a certificate"),
        (
            {"domain_names": ["tickets.example.com"], "certificate": "certificate", "default_certificate_reason": "x"},
            "default_certificate_reason: only without a certificate",
        ),
        (
            {"index_max_age": Duration.seconds(0), "default_certificate_reason": CERTIFICATE_REASON},
            "index_max_age: at least 1 second, got 0",
        ),
    ],
)
def test_invalid_constructions_are_refused_with_a_message_naming_the_parameter(
    overrides: dict[str, Any], message: str
) -> None:
    stack = Stack(App(), "Throwaway", env=ENV)
    if overrides.get("certificate") == "certificate":
        overrides = {**overrides, "certificate": acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)}
    with pytest.raises(ValueError, match=re.escape(message)):
        SpaDistribution(stack, **{**_required(stack), **overrides})


@pytest.mark.parametrize("path", ["/events", "/api/*", "api/events"])
def test_a_cached_api_path_is_below_api_and_not_api_itself(path: str) -> None:
    with pytest.raises(ValueError, match=r"cached API path: a pattern below /api/ other than /api/\*"):
        CachedApiPath(path)
