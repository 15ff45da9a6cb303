"""Edge stack (us-east-1): the CloudFront distribution in front of the SPA and the API, and its WAF.

CloudFront's certificates, web ACLs and functions live in us-east-1 whatever the environment's
region, so this stack does too. It reads one value of the main region, the origin header's, from
the us-east-1 replica of the network stack's secret, by the secret's fixed name: a dynamic reference
CloudFormation resolves in this stack's region when it deploys the distribution. No cross-stack
output, no custom resource, nothing looked up at synthesis.

Behaviours, most specific first:

| Path | Origin | Cached | Function |
|---|---|---|---|
| each `edge.cached_api` path | ALB | as its Cache-Control says; key: URI, query keys, Authorization | none |
| `/api/*` | ALB | never | none |
| `/assets/*` | SPA bucket | a year, `immutable` (hashed file names) | none |
| `/images/*` | SPA bucket | a day, key: the negotiated URI | image format negotiation |
| default | SPA bucket | `index_max_age_seconds` | SPA routing |
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    ArnFormat,
    CfnOutput,
    Duration,
    RemovalPolicy,
    SecretValue,
    Stack,
    aws_certificatemanager as acm,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
    aws_kms as kms,
    aws_logs as logs,
    aws_s3 as s3,
    aws_wafv2 as wafv2,
)
from constructs import Construct

from config.edge import EDGE_REGION, RateLimitConfig
from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.log_bucket import LogLifecycle, log_bucket
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.log_retention import retention_from_days
from platform_constructs.naming import origin_header_secret_name
from platform_constructs.origin_load_balancer import ORIGIN_HEADER_NAME
from platform_constructs.protect_retained import kept_unless_disposable
from stacks.edge_alarms import EdgeAlarms
from stacks.network_stack import ORIGIN_SECRET_KEY

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "lambda" / "edge"
#: Hashed assets: a year, never revalidated (a new build has new names).
IMMUTABLE = "public, max-age=31536000, immutable"
IMAGE_MAX_AGE = Duration.days(1)
#: Two years, with subdomains and preload: what the HSTS preload list asks for.
HSTS_MAX_AGE = Duration.days(730)
#: AWS managed rule groups on every request, in this order (priority 0..3).
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}
#: How WAF reads a path before comparing it: as the service will (decoded, normalised, any case).
PATH_TRANSFORMS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")
#: Request headers WAF leaves out of its logs.
REDACTED_HEADERS = ("authorization", "cookie")


class EdgeStack(Stack):
    """Exposes ``distribution``, ``site_bucket``, ``log_bucket`` and ``web_acl``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        env = config.name
        edge = config.edge

        self.key = kms.Key(
            self,
            "EdgeKey",
            description=f"ticketing {env}: the WAF logs",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.site_bucket = self._site_bucket()
        self.log_bucket = self._log_bucket()
        self.web_acl = self._web_acl()

        spa_routing = self._function("SpaRouting", "spa_routing.js", "SPA routing: routes serve /index.html")
        image_format = self._function("ImageFormat", "image_format.js", "Serve AVIF or WebP where the browser takes it")
        site = origins.S3BucketOrigin.with_origin_access_control(self.site_bucket)
        api = origins.HttpOrigin(
            config.load_balancer.origin_domain_name,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
            read_timeout=Duration.seconds(30),
            keepalive_timeout=Duration.seconds(5),
            custom_headers={
                # Resolved by CloudFormation when it deploys the distribution, from the secret's replica in
                # this region, by name: no template holds the value, no cross-stack output the name.
                ORIGIN_HEADER_NAME: SecretValue.secrets_manager(
                    origin_header_secret_name(env), json_field=ORIGIN_SECRET_KEY
                ).unsafe_unwrap()
            },
        )
        security = self._headers_policy("Security", cache_control=None)
        api_behavior = cloudfront.BehaviorOptions(
            origin=api,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=security,
            compress=False,  # the services compress (GZip middleware); CloudFront never does on uncached responses
        )
        behaviors: dict[str, cloudfront.BehaviorOptions] = {}
        request_policy = self._api_request_policy() if edge.cached_api else None
        for index, cached in enumerate(edge.cached_api):
            behaviors[cached.path] = cloudfront.BehaviorOptions(
                origin=api,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=self._api_cache_policy(index, cached.query_keys),
                origin_request_policy=request_policy,
                response_headers_policy=security,
                compress=False,
            )
        behaviors["/api/*"] = api_behavior
        behaviors["/assets/*"] = self._static_behavior(
            site, self._cache_policy("Assets", Duration.days(365)), self._headers_policy("Assets", IMMUTABLE)
        )
        behaviors["/images/*"] = self._static_behavior(
            site,
            self._cache_policy("Images", IMAGE_MAX_AGE),
            self._headers_policy("Images", f"public, max-age={int(IMAGE_MAX_AGE.to_seconds())}", vary_accept=True),
            function=image_format,
        )
        index_age = Duration.seconds(edge.index_max_age_seconds)
        default = self._static_behavior(
            site,
            self._cache_policy("Index", index_age),
            self._headers_policy("Index", f"public, max-age={edge.index_max_age_seconds}, must-revalidate"),
            function=spa_routing,
        )

        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", edge.certificate_arn)
            if edge.certificate_arn
            else None
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            # While the origin header rotates, the comment says so: the template changes, and so
            # CloudFormation resolves the header's value again and CloudFront sends the new one.
            comment=f"ticketing {env}: SPA and API"
            + (" (origin header rotating)" if config.load_balancer.accept_previous_origin_header else ""),
            default_behavior=default,
            additional_behaviors=behaviors,
            domain_names=list(edge.domain_names) or None,
            certificate=certificate,
            # TLS 1.2 or newer with the newest policy; only with a certificate of our own (the
            # default *.cloudfront.net certificate's policy is fixed, TLS 1.0 included).
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2025 if certificate else None,
            ssl_support_method=cloudfront.SSLMethod.SNI if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=PRICE_CLASSES[edge.price_class],
            enable_ipv6=True,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
            web_acl_id=self.web_acl.attr_arn,
            default_root_object="index.html",
        )
        self.alarms = EdgeAlarms(self, "Alarms", config=config, distribution=self.distribution, web_acl=self.web_acl)
        self._acknowledge()
        for output_id, value, description in (
            ("DistributionDomainName", self.distribution.distribution_domain_name, "Point the custom domains here"),
            ("DistributionId", self.distribution.distribution_id, "For invalidations after a deploy of the SPA"),
            ("SiteBucketName", self.site_bucket.bucket_name, "Where the SPA's build is uploaded"),
        ):
            CfnOutput(self, output_id, value=value, description=description)

    # --- buckets ------------------------------------------------------------------------------

    def _site_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "SiteBucket",
            # SSE-S3: the files are public through CloudFront anyway, and a KMS key would cost a
            # request to KMS per uncached read (and need a key policy open to every distribution).
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="OldBuilds",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        return bucket

    def _log_bucket(self) -> s3.Bucket:
        lifecycle = self.config.edge.access_logs
        return log_bucket(
            self,
            "LogBucket",
            writer="CloudFront",
            acl_delivery=True,  # standard logs are written with an ACL
            lifecycle=LogLifecycle.of_days(
                lifecycle.infrequent_access_after_days, lifecycle.glacier_after_days, lifecycle.expire_after_days
            ),
        )

    # --- WAF ----------------------------------------------------------------------------------

    def _web_acl(self) -> wafv2.CfnWebACL:
        waf = self.config.edge.waf
        env = self.config.name
        rules: list[wafv2.CfnWebACL.RuleProperty] = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                visibility_config=_visibility(group),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        login = waf.login_rate_limit
        rules.append(
            _rate_rule(
                "LoginRateLimit",
                len(rules),
                login,
                scope_down=wafv2.CfnWebACL.StatementProperty(
                    and_statement=wafv2.CfnWebACL.AndStatementProperty(
                        statements=[
                            # decoded, normalised and lower-cased first: /api/auth/%6Cogin and
                            # /api//auth/./Login are the same login to the service
                            _byte_match(URI_PATH, login.path.lower(), PATH_TRANSFORMS),
                            _byte_match(METHOD, "POST", ("NONE",)),
                        ]
                    )
                ),
            )
        )
        rules.append(_rate_rule("RateLimit", len(rules), waf.rate_limit))
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(f"ticketing-{env}-edge"),
            description=f"ticketing {env}: managed rules and per-IP rate limits in front of CloudFront",
        )
        # WAF only logs to a destination whose name starts with aws-waf-logs-, and refuses the
        # ":*" that aws-cdk-lib appends to a log group's ARN.
        log_group_name = f"aws-waf-logs-ticketing-{env}-edge"
        allow_cloudwatch_logs(self.key, self.key, log_group_arns=[log_group_arn(self, log_group_name)])
        log_group = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=log_group_name,
            retention=retention_from_days(self.config.compute.log_retention_days),
            encryption_key=self.key,
            removal_policy=kept_unless_disposable(self.config.is_disposable),
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                self.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in REDACTED_HEADERS
            ],
        )
        logging.node.add_dependency(log_group)
        return acl

    # --- policies and functions ---------------------------------------------------------------

    def _function(self, construct_id: str, file: str, comment: str) -> cloudfront.Function:
        return cloudfront.Function(
            self,
            construct_id,
            code=cloudfront.FunctionCode.from_file(file_path=str(FUNCTIONS_DIR / file)),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
            comment=comment,
            auto_publish=True,
        )

    def _cache_policy(self, name: str, max_age: Duration) -> cloudfront.CachePolicy:
        """Static files: the key is the URI alone, compressed variants cached apart; kept `max_age`."""
        return cloudfront.CachePolicy(
            self,
            f"{name}CachePolicy",
            comment=f"ticketing {self.config.name}: {name.lower()} from the SPA bucket",
            min_ttl=Duration.seconds(0),
            default_ttl=max_age,
            max_ttl=max_age,
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )

    def _api_cache_policy(self, index: int, query_keys: tuple[str, ...]) -> cloudfront.CachePolicy:
        """Cached as the origin says (min TTL 0: `no-store` and `private` are honoured, nothing is
        cached without a Cache-Control), keyed by the listed query keys and Authorization, so an
        authenticated response is never served to anyone else."""
        return cloudfront.CachePolicy(
            self,
            f"ApiCachePolicy{index}",
            comment=f"ticketing {self.config.name}: a public API path, as its Cache-Control says",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.days(1),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*query_keys)
            if query_keys
            else cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
        )

    def _api_request_policy(self) -> cloudfront.OriginRequestPolicy:
        """What reaches the origin on a cached API path beyond the cache key: every viewer header but
        Host (a POST or DELETE there needs its headers), no cookie and no other query string, so a
        GET's response can depend on nothing the key does not hold."""
        return cloudfront.OriginRequestPolicy(
            self,
            "ApiRequestPolicy",
            comment=f"ticketing {self.config.name}: a cached API path: viewer headers but Host, nothing else",
            header_behavior=cloudfront.OriginRequestHeaderBehavior.deny_list("Host"),
            query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
            cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
        )

    def _headers_policy(
        self, name: str, cache_control: str | None, *, vary_accept: bool = False
    ) -> cloudfront.ResponseHeadersPolicy:
        custom = []
        if cache_control is not None:
            custom.append(cloudfront.ResponseCustomHeader(header="Cache-Control", value=cache_control, override=True))
        if vary_accept:
            custom.append(cloudfront.ResponseCustomHeader(header="Vary", value="Accept", override=True))
        return cloudfront.ResponseHeadersPolicy(
            self,
            f"{name}HeadersPolicy",
            comment=f"ticketing {self.config.name}: security headers" + (f", {cache_control}" if cache_control else ""),
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, preload=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=self.config.edge.content_security_policy, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=custom) if custom else None,
        )

    @staticmethod
    def _static_behavior(
        origin: cloudfront.IOrigin,
        cache_policy: cloudfront.ICachePolicy,
        headers: cloudfront.IResponseHeadersPolicy,
        *,
        function: cloudfront.Function | None = None,
    ) -> cloudfront.BehaviorOptions:
        return cloudfront.BehaviorOptions(
            origin=origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
            cache_policy=cache_policy,
            response_headers_policy=headers,
            compress=True,  # gzip and brotli at the edge for files of 1,000 bytes or more
            function_associations=[
                cloudfront.FunctionAssociation(
                    function=function, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                )
            ]
            if function
            else None,
        )

    def _acknowledge(self) -> None:
        # on the L1 resources: every acknowledgment sits on one resource, never on a whole stack
        distribution = _resource(self.distribution)
        site_bucket = _resource(self.site_bucket)
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            reason="The platform sells tickets to anyone who can reach it; no country is excluded by design. WAF's "
            "IP-reputation list and rate limits stand in front of the distribution.",
        )
        if not self.config.edge.domain_names:
            acknowledge(
                distribution,
                "AwsSolutions-CFR4",
                reason=f"Only {self.config.name} runs on the default *.cloudfront.net domain, whose certificate "
                "CloudFront also offers over TLS 1.0; staging and prod must have a custom domain with a certificate "
                "(the config schema refuses them without one).",
            )
        acknowledge(
            site_bucket,
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
            reason="The SPA bucket holds build output that CI uploads again from the repository; a second-region "
            "copy would restore nothing the build cannot",
        )
        acknowledge(
            site_bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "PCI.DSS.321-S3DefaultEncryptionKMS",
            reason="The SPA bucket holds the public build of the web app, served to everyone through CloudFront; "
            "S3-managed encryption at rest, no KMS request per uncached read",
        )
        acknowledge(
            site_bucket,
            "AwsSolutions-S1",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "PCI.DSS.321-S3BucketLoggingEnabled",
            reason="Every read of the SPA bucket comes through CloudFront, whose access logs record it; its writes "
            "are CI's uploads, recorded by CloudTrail",
        )


def _resource(construct: Construct) -> Construct:
    resource = construct.node.default_child
    assert resource is not None, construct.node.path
    return resource  # type: ignore[return-value]


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _rate_rule(
    name: str,
    priority: int,
    limit: RateLimitConfig,
    *,
    scope_down: wafv2.CfnWebACL.StatementProperty | None = None,
) -> wafv2.CfnWebACL.RuleProperty:
    """Block a client IP that sends more than `limit` (matching requests) in its window."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(block={}),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                limit=limit.limit,
                evaluation_window_sec=limit.window_seconds,
                aggregate_key_type="IP",
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(name),
    )


URI_PATH = wafv2.CfnWebACL.FieldToMatchProperty(uri_path={})
METHOD = wafv2.CfnWebACL.FieldToMatchProperty(method={})


def _byte_match(
    field: wafv2.CfnWebACL.FieldToMatchProperty, value: str, transforms: tuple[str, ...]
) -> wafv2.CfnWebACL.StatementProperty:
    """`field`, after `transforms`, equals `value`."""
    return wafv2.CfnWebACL.StatementProperty(
        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
            field_to_match=field,
            positional_constraint="EXACTLY",
            search_string=value,
            text_transformations=[
                wafv2.CfnWebACL.TextTransformationProperty(priority=index, type=transform)
                for index, transform in enumerate(transforms)
            ],
        )
    )


__all__ = ["EDGE_REGION", "EdgeStack"]
