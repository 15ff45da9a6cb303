"""Edge stack (us-east-1): the CloudFront distribution in front of the SPA and the API, and its WAF.

CloudFront's certificates, web ACLs and functions live in us-east-1 whatever the environment's
region, so this stack does too. It reads one value of the main region, the origin header's, from
the us-east-1 replica of the network stack's secret, by the secret's fixed name: a dynamic reference
CloudFormation resolves in this stack's region when it deploys the distribution. No cross-stack
output, no custom resource, nothing looked up at synthesis.

The stack composes, in this order:

- the edge key (`EdgeKey`), which encrypts the WAF's logs;
- the SPA bucket (`platform_constructs.spa_bucket`) and CloudFront's access-log bucket;
- the web ACL (`platform_constructs.web_acl`): AWS managed rule groups, `edge.waf`'s per-IP rate
  limits (the login path's first, then every request), its logs;
- the CloudFront Functions in `lambda/edge/` (`platform_constructs.cloudfront_functions`);
- the distribution (`platform_constructs.distribution`, whose docstring tables the behaviours): the
  SPA bucket and the API as origins, `edge.cached_api`'s paths, the functions, the web ACL;
- the edge's alarms (`stacks/edge_alarms.py`).

Each of those creates its resources in this stack's scope under the ids this module once gave them
itself, so the logical IDs and construct paths of what is deployed do not depend on how the code is
split into modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    SecretValue,
    Stack,
    aws_certificatemanager as acm,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
    aws_s3 as s3,
)
from constructs import Construct

from config.edge import EDGE_REGION
from config.schema import EnvironmentConfig
from platform_constructs.cloudfront_functions import cloudfront_function
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.distribution import CachedApiPath, SpaDistribution, https_api_origin
from platform_constructs.log_bucket import LogLifecycle, log_bucket
from platform_constructs.log_retention import retention_from_days
from platform_constructs.origin_load_balancer import ORIGIN_HEADER_NAME
from platform_constructs.physical_names import edge_prefix, origin_header_secret_name, waf_log_group_name
from platform_constructs.protect_retained import kept_unless_disposable
from platform_constructs.spa_bucket import spa_bucket
from platform_constructs.web_acl import CloudFrontWebAcl, PathRateLimit, RateLimit, WebAclLogging
from stacks.edge_alarms import EdgeAlarms
from stacks.network_stack import ORIGIN_SECRET_KEY

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "lambda" / "edge"
PRICE_CLASSES = {
    "PriceClass_100": cloudfront.PriceClass.PRICE_CLASS_100,
    "PriceClass_200": cloudfront.PriceClass.PRICE_CLASS_200,
    "PriceClass_All": cloudfront.PriceClass.PRICE_CLASS_ALL,
}


def distribution_comment(config: EnvironmentConfig) -> str:
    """The distribution's comment, which says so while the origin header rotates.

    That is the template change that makes CloudFormation resolve the header's dynamic reference
    again when a rotation is deployed, and so CloudFront sends the new value.
    """
    rotating = " (origin header rotating)" if config.load_balancer.accept_previous_origin_header else ""
    return f"ticketing {config.name}: SPA and API{rotating}"


class EdgeStack(Stack):
    """Exposes ``key``, ``site_bucket``, ``log_bucket``, ``web_acl``, ``distribution`` and ``alarms``."""

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
        self.key = customer_managed_key(self, "EdgeKey", description=f"ticketing {config.name}: the WAF logs")
        self.site_bucket = spa_bucket(self, "SiteBucket")
        self.log_bucket = self._access_log_bucket()
        self.web_acl = self._web_acl().web_acl
        self.distribution = self._distribution()
        self.alarms = EdgeAlarms(self, "Alarms", config=config, distribution=self.distribution, web_acl=self.web_acl)
        for output_id, value, description in (
            ("DistributionDomainName", self.distribution.distribution_domain_name, "Point the custom domains here"),
            ("DistributionId", self.distribution.distribution_id, "For invalidations after a deploy of the SPA"),
            ("SiteBucketName", self.site_bucket.bucket_name, "Where the SPA's build is uploaded"),
        ):
            CfnOutput(self, output_id, value=value, description=description)

    def _access_log_bucket(self) -> s3.Bucket:
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

    def _web_acl(self) -> CloudFrontWebAcl:
        waf = self.config.edge.waf
        env = self.config.name
        login = waf.login_rate_limit
        return CloudFrontWebAcl(
            self,
            metric_name=edge_prefix(env),
            description=f"ticketing {env}: managed rules and per-IP rate limits in front of CloudFront",
            path_rate_limits=[
                PathRateLimit(
                    rule_name="LoginRateLimit",
                    path=login.path,
                    method="POST",
                    rate=RateLimit(limit=login.limit, window_seconds=login.window_seconds),
                )
            ],
            request_rate_limit=RateLimit(limit=waf.rate_limit.limit, window_seconds=waf.rate_limit.window_seconds),
            logging=WebAclLogging(
                log_group_name=waf_log_group_name(env),
                retention=retention_from_days(self.config.compute.log_retention_days),
                encryption_key=self.key,
                removal_policy=kept_unless_disposable(self.config.is_disposable),
            ),
        )

    def _distribution(self) -> cloudfront.Distribution:
        config = self.config
        env = config.name
        edge = config.edge
        spa_routing = cloudfront_function(
            self,
            "SpaRouting",
            code_file=FUNCTIONS_DIR / "spa_routing.js",
            comment="SPA routing: routes serve /index.html",
        )
        image_format = cloudfront_function(
            self,
            "ImageFormat",
            code_file=FUNCTIONS_DIR / "image_format.js",
            comment="Serve AVIF or WebP where the browser takes it",
        )
        api = https_api_origin(
            config.load_balancer.origin_domain_name,
            custom_headers={
                # Resolved by CloudFormation when it deploys the distribution, from the secret's replica in
                # this region, by name: no template holds the value, no cross-stack output the name.
                ORIGIN_HEADER_NAME: SecretValue.secrets_manager(
                    origin_header_secret_name(env), json_field=ORIGIN_SECRET_KEY
                ).unsafe_unwrap()
            },
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", edge.certificate_arn)
            if edge.certificate_arn
            else None
        )
        return SpaDistribution(
            self,
            comment=distribution_comment(config),
            comment_prefix=f"ticketing {env}",
            site_origin=origins.S3BucketOrigin.with_origin_access_control(self.site_bucket),
            api_origin=api,
            content_security_policy=edge.content_security_policy,
            index_max_age=Duration.seconds(edge.index_max_age_seconds),
            index_function=spa_routing,
            images_function=image_format,
            cached_api_paths=[CachedApiPath(cached.path, cached.query_keys) for cached in edge.cached_api],
            price_class=PRICE_CLASSES[edge.price_class],
            domain_names=edge.domain_names,
            certificate=certificate,
            access_log_bucket=self.log_bucket,
            web_acl_arn=self.web_acl.attr_arn,
            unrestricted_geography_reason="The platform sells tickets to anyone who can reach it; no country is "
            "excluded by design. WAF's IP-reputation list and rate limits stand in front of the distribution.",
            default_certificate_reason=None
            if certificate
            else f"Only {env} runs on the default *.cloudfront.net domain, whose certificate CloudFront also offers "
            "over TLS 1.0; staging and prod must have a custom domain with a certificate (the config schema refuses "
            "them without one).",
        ).distribution


__all__ = ["EDGE_REGION", "EdgeStack", "distribution_comment"]
