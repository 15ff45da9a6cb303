"""The edge stack per environment: distribution, behaviours and their policies, functions, WAF, logs.

These check what each environment's config makes of the edge, on the synthesised
environments. What the constructs do with any input (rule order, policy shapes, refused inputs) is
tested beside them, in tests/constructs/test_web_acl.py, test_distribution.py, test_spa_bucket.py and
test_cloudfront_functions.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import load_environment
from config.edge import EDGE_REGION
from platform_constructs.distribution import IMMUTABLE
from platform_constructs.physical_names import Tier, origin_header_secret_name, stack_name, waf_log_group_name
from platform_constructs.web_acl import (
    DEFAULT_MANAGED_RULE_GROUPS as MANAGED_RULE_GROUPS,
    DEFAULT_REDACTED_HEADERS as REDACTED_HEADERS,
)
from stacks.edge_stack import distribution_comment
from tests.conftest import SynthesizedEnvironment


def resources(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in env.template_json("Edge")["Resources"].items() if r["Type"] == kind}


def only(env: SynthesizedEnvironment, kind: str) -> dict[str, Any]:
    (found,) = resources(env, kind).values()
    return found


def distribution(env: SynthesizedEnvironment) -> dict[str, Any]:
    config: dict[str, Any] = only(env, "AWS::CloudFront::Distribution")["Properties"]["DistributionConfig"]
    return config


def behaviors(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    config = distribution(env)
    found = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    found["default"] = config["DefaultCacheBehavior"]
    return found


def policy(env: SynthesizedEnvironment, kind: str, reference: Any) -> dict[str, Any]:
    """The policy a behaviour refers to (by Ref to a policy of this stack)."""
    logical_id = reference["Ref"]
    found: dict[str, Any] = env.template_json("Edge")["Resources"][logical_id]
    assert found["Type"] == kind
    properties: dict[str, Any] = found["Properties"]
    return properties


def origin(env: SynthesizedEnvironment, origin_id: str) -> dict[str, Any]:
    (found,) = [o for o in distribution(env)["Origins"] if o["Id"] == origin_id]
    return dict(found)


def test_the_edge_lives_in_us_east_1_and_reads_nothing_of_the_main_region_but_the_secret_replica(
    env: SynthesizedEnvironment,
) -> None:
    stack = env.stack("Edge")
    assert stack.region == EDGE_REGION
    assert stack.stack_name == stack_name(env.config.name, Tier.EDGE)
    template = env.template_json("Edge")
    kinds = {r["Type"] for r in template["Resources"].values()}
    assert not [k for k in kinds if k.startswith("Custom::") or k == "AWS::CloudFormation::CustomResource"], kinds
    assert "AWS::Lambda::Function" not in kinds
    text = json.dumps(template)
    # no cross-stack output at all: the header's secret is read by name from its us-east-1 replica
    assert "Fn::GetStackOutput" not in text
    assert "Fn::ImportValue" not in text
    # the network stack creates the secret and its replica, the services stack's listener accepts the value
    assert {d.node.id for d in stack.dependencies} >= {"Network", "Services"}


def test_distribution_protocols_price_class_and_domain(env: SynthesizedEnvironment) -> None:
    config = distribution(env)
    edge = env.config.edge
    assert config["HttpVersion"] == "http2and3"
    assert config["PriceClass"] == edge.price_class
    assert config["IPV6Enabled"] is True
    assert config["DefaultRootObject"] == "index.html"
    if edge.domain_names:
        assert config["Aliases"] == list(edge.domain_names)
        assert config["ViewerCertificate"] == {
            "AcmCertificateArn": edge.certificate_arn,
            "MinimumProtocolVersion": "TLSv1.2_2025",
            "SslSupportMethod": "sni-only",
        }
    else:
        assert env.config.name == "dev"
        assert "Aliases" not in config
        assert "ViewerCertificate" not in config  # the default certificate; acknowledged (AwsSolutions-CFR4)
    if env.config.name != "dev":
        assert edge.domain_names


def test_spa_bucket_is_private_behind_origin_access_control(env: SynthesizedEnvironment) -> None:
    buckets = resources(env, "AWS::S3::Bucket")
    (site_id,) = [k for k in buckets if k.startswith("SiteBucket")]
    site = buckets[site_id]["Properties"]
    assert site["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
    }  # fmt: skip
    assert site["VersioningConfiguration"] == {"Status": "Enabled"}
    assert site["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    oac = only(env, "AWS::CloudFront::OriginAccessControl")["Properties"]["OriginAccessControlConfig"]
    assert oac["OriginAccessControlOriginType"] == "s3"
    assert oac["SigningBehavior"] == "always"
    policies = [p["Properties"] for p in resources(env, "AWS::S3::BucketPolicy").values()]
    (site_policy,) = [p for p in policies if site_id in json.dumps(p["Bucket"])]
    statements = site_policy["PolicyDocument"]["Statement"]
    assert any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in statements)
    (read,) = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert read["Action"] == "s3:GetObject"
    assert "AWS:SourceArn" in json.dumps(read["Condition"])


def test_api_goes_to_the_alb_over_https_with_the_secret_header_by_dynamic_reference(
    env: SynthesizedEnvironment,
) -> None:
    api = behaviors(env)["/api/*"]
    target = origin(env, api["TargetOriginId"])
    assert target["DomainName"] == env.config.load_balancer.origin_domain_name
    custom = target["CustomOriginConfig"]
    assert custom["OriginProtocolPolicy"] == "https-only"
    assert custom["OriginSSLProtocols"] == ["TLSv1.2"]
    (header,) = target["OriginCustomHeaders"]
    assert header["HeaderName"] == "X-Origin-Verify"
    # by name, the current version (the default stage): resolved in us-east-1 from the secret's replica
    name = origin_header_secret_name(env.config.name)
    assert header["HeaderValue"] == f"{{{{resolve:secretsmanager:{name}:SecretString:value::}}}}"
    # never cached, every method, the viewer's headers (Authorization included) forwarded
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # Managed-CachingDisabled
    assert api["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert api["AllowedMethods"] == ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert api["Compress"] is False


def test_the_public_event_list_is_cached_as_its_origin_says(env: SynthesizedEnvironment) -> None:
    (cached,) = env.config.edge.cached_api
    assert cached.path == "/api/events"
    behavior = behaviors(env)[cached.path]
    assert behavior["TargetOriginId"] == behaviors(env)["/api/*"]["TargetOriginId"]
    assert behavior["CachedMethods"] == ["GET", "HEAD"]  # POST and the rest reach the origin, uncached
    assert "POST" in behavior["AllowedMethods"]
    config = policy(env, "AWS::CloudFront::CachePolicy", behavior["CachePolicyId"])["CachePolicyConfig"]
    assert config["MinTTL"] == 0  # the origin's no-store / private / max-age=300 decide
    assert config["DefaultTTL"] == 0  # nothing without a Cache-Control is cached
    assert config["MaxTTL"] >= 300
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {
        "QueryStringBehavior": "whitelist",
        "QueryStrings": ["category", "page", "page_size"],
    }
    # Authorization is part of the key: an authenticated response is never served to anyone else,
    # and the anonymous list is shared by every anonymous viewer.
    assert key["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["EnableAcceptEncodingGzip"] is True
    # beyond the key: every viewer header but Host (a POST needs them), no cookie, no other query string
    request = policy(env, "AWS::CloudFront::OriginRequestPolicy", behavior["OriginRequestPolicyId"])
    forwarded = request["OriginRequestPolicyConfig"]
    assert forwarded["HeadersConfig"] == {"HeaderBehavior": "allExcept", "Headers": ["Host"]}
    assert forwarded["CookiesConfig"] == {"CookieBehavior": "none"}
    assert forwarded["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_paths_route_most_specific_first(env: SynthesizedEnvironment) -> None:
    order = [b["PathPattern"] for b in distribution(env)["CacheBehaviors"]]
    assert order == ["/api/events", "/api/*", "/assets/*", "/images/*"]


def test_hashed_assets_are_kept_a_year_and_index_html_briefly(env: SynthesizedEnvironment) -> None:
    assets, default = behaviors(env)["/assets/*"], behaviors(env)["default"]
    for behavior, max_age, cache_control in (
        (assets, 365 * 86400, IMMUTABLE),
        (default, env.config.edge.index_max_age_seconds,
         f"public, max-age={env.config.edge.index_max_age_seconds}, must-revalidate"),
    ):  # fmt: skip
        config = policy(env, "AWS::CloudFront::CachePolicy", behavior["CachePolicyId"])["CachePolicyConfig"]
        assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, max_age, max_age)
        key = config["ParametersInCacheKeyAndForwardedToOrigin"]
        assert key["EnableAcceptEncodingGzip"] is True
        assert key["EnableAcceptEncodingBrotli"] is True
        headers = policy(env, "AWS::CloudFront::ResponseHeadersPolicy", behavior["ResponseHeadersPolicyId"])
        custom = headers["ResponseHeadersPolicyConfig"]["CustomHeadersConfig"]["Items"]
        assert {"Header": "Cache-Control", "Value": cache_control, "Override": True} in custom
        assert behavior["Compress"] is True
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    assert env.config.edge.index_max_age_seconds <= 300


def test_each_behaviour_has_at_most_one_viewer_request_function(env: SynthesizedEnvironment) -> None:
    functions = {k: r["Properties"] for k, r in resources(env, "AWS::CloudFront::Function").items()}
    for name, behavior in behaviors(env).items():
        associations = behavior.get("FunctionAssociations", [])
        event_types = [a["EventType"] for a in associations]
        assert len(event_types) == len(set(event_types)), f"{name}: one function per event type"
        if name == "default":
            (association,) = associations
            assert association["EventType"] == "viewer-request"
            assert "SpaRouting" in json.dumps(association["FunctionARN"])
        elif name == "/images/*":
            (association,) = associations
            assert "ImageFormat" in json.dumps(association["FunctionARN"])
        else:
            assert associations == [], f"{name}: no function"
    assert len(functions) == 2
    for properties in functions.values():
        assert properties["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
        assert properties["AutoPublish"] is True
        assert "function handler(event)" in properties["FunctionCode"]


def test_every_response_carries_the_security_headers(env: SynthesizedEnvironment) -> None:
    for name, behavior in behaviors(env).items():
        headers = policy(env, "AWS::CloudFront::ResponseHeadersPolicy", behavior["ResponseHeadersPolicyId"])
        security = headers["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
        assert security["StrictTransportSecurity"] == {
            "AccessControlMaxAgeSec": 63072000, "IncludeSubdomains": True, "Preload": True, "Override": True
        }, name  # fmt: skip
        assert security["ContentTypeOptions"] == {"Override": True}
        assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
        assert security["ReferrerPolicy"] == {"ReferrerPolicy": "strict-origin-when-cross-origin", "Override": True}
        assert security["ContentSecurityPolicy"] == {
            "ContentSecurityPolicy": env.config.edge.content_security_policy, "Override": True
        }  # fmt: skip


def test_waf_has_the_managed_groups_and_the_guides_rate_limits(env: SynthesizedEnvironment) -> None:
    acl = only(env, "AWS::WAFv2::WebACL")["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    assert acl["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in acl["Rules"]}
    for group in MANAGED_RULE_GROUPS:
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        assert statement == {"Name": group, "VendorName": "AWS"}
    assert set(MANAGED_RULE_GROUPS) == {
        "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    }  # fmt: skip
    waf = env.config.edge.waf
    login = rules["LoginRateLimit"]
    assert login["Action"] == {"Block": {}}
    rate = login["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (10, 120, "IP")  # the guide
    (path_match, method_match) = rate["ScopeDownStatement"]["AndStatement"]["Statements"]
    path = path_match["ByteMatchStatement"]
    assert path["FieldToMatch"] == {"UriPath": {}}
    assert (path["SearchString"], path["PositionalConstraint"]) == (waf.login_rate_limit.path.lower(), "EXACTLY")
    # compared as the service routes it: /api/auth/%6Cogin and /api//auth/./LOGIN count as logins too
    assert [t["Type"] for t in sorted(path["TextTransformations"], key=lambda t: t["Priority"])] == [
        "URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"
    ]  # fmt: skip
    assert method_match["ByteMatchStatement"]["FieldToMatch"] == {"Method": {}}
    assert method_match["ByteMatchStatement"]["SearchString"] == "POST"
    overall = rules["RateLimit"]["Statement"]["RateBasedStatement"]
    assert (overall["Limit"], overall["EvaluationWindowSec"]) == (waf.rate_limit.limit, waf.rate_limit.window_seconds)
    assert "ScopeDownStatement" not in overall
    assert len({r["Priority"] for r in acl["Rules"]}) == len(acl["Rules"])
    # the login limit is evaluated before the wider one, so it counts every login attempt
    assert login["Priority"] < rules["RateLimit"]["Priority"]
    assert distribution(env)["WebACLId"] == {"Fn::GetAtt": [next(iter(resources(env, "AWS::WAFv2::WebACL"))), "Arn"]}


def test_waf_logs_to_a_named_destination_without_credentials(env: SynthesizedEnvironment) -> None:
    logging = only(env, "AWS::WAFv2::LoggingConfiguration")["Properties"]
    (destination,) = logging["LogDestinationConfigs"]
    text = json.dumps(destination)
    assert f"log-group:{waf_log_group_name(env.config.name)}" in text
    assert not text.rstrip('"]}').endswith(":*")
    redacted = [field["SingleHeader"]["Name"] for field in logging["RedactedFields"]]
    assert redacted == list(REDACTED_HEADERS) == ["authorization", "cookie"]
    (group,) = [
        group
        for group in resources(env, "AWS::Logs::LogGroup").values()
        if group["Properties"]["LogGroupName"] == waf_log_group_name(env.config.name)
    ]
    assert "KmsKeyId" in group["Properties"]


def test_access_logs_land_in_a_bucket_with_the_guides_lifecycle(env: SynthesizedEnvironment) -> None:
    config = distribution(env)
    assert config["Logging"]["Prefix"] == "cloudfront/"
    buckets = resources(env, "AWS::S3::Bucket")
    (log_id,) = [k for k in buckets if k.startswith("LogBucket")]
    assert log_id in json.dumps(config["Logging"]["Bucket"])
    bucket = buckets[log_id]["Properties"]
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}  # ACLs
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    lifecycle = env.config.edge.access_logs
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": lifecycle.infrequent_access_after_days},
        {"StorageClass": "GLACIER", "TransitionInDays": lifecycle.glacier_after_days},
    ]
    assert (rule["ExpirationInDays"], rule["AbortIncompleteMultipartUpload"]) == (365, {"DaysAfterInitiation": 7})
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert buckets[log_id]["DeletionPolicy"] == "Retain"


def test_the_distribution_comment_is_the_stacks(env: SynthesizedEnvironment) -> None:
    assert distribution(env)["Comment"] == distribution_comment(env.config)


@pytest.mark.parametrize("rotating", [False, True])
def test_a_rotation_changes_the_distribution_so_its_header_is_resolved_again(rotating: bool) -> None:
    """The comment is the template change that makes CloudFormation resolve the header again."""
    config = load_environment("dev")
    config = config.model_copy(
        update={
            "load_balancer": config.load_balancer.model_copy(
                update={"accept_previous_origin_header": rotating, "keep_former_origin_secret": False}
            )
        }
    )
    comment = distribution_comment(config)
    assert comment.startswith("ticketing dev: SPA and API")
    assert comment.endswith("(origin header rotating)") is rotating
