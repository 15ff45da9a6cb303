"""A CloudFront distribution in front of a single-page app's bucket and its API.

Behaviours, most specific first:

| Path | Origin | Cached | Viewer-request function |
|---|---|---|---|
| each of `cached_api_paths` | API | as its Cache-Control says; key: URI, its query keys, Authorization | none |
| `/api/*` | API | never; every viewer header but Host forwarded | none |
| `/assets/*` | SPA bucket | a year, `immutable` (hashed file names) | none |
| `/images/*` | SPA bucket | a day, keyed by the URI alone | `images_function` |
| default | SPA bucket | `index_max_age`, then revalidated | `index_function` |

Every response carries the security headers (`distribution_policies.response_headers_policy`).
The API is reached over HTTPS only and never compressed by CloudFront (the service compresses what
it returns; CloudFront never compresses an uncached response); files from the bucket are
compressed at the edge. With a certificate of the caller's own, viewers need TLS 1.2 or newer
(the newest policy, by SNI); without one the distribution serves on its *.cloudfront.net name,
whose certificate CloudFront also offers over TLS 1.0, and the caller must say why that is
acceptable (`default_certificate_reason`), as it must say why no country is excluded
(`unrestricted_geography_reason`): both are acknowledged here, on the distribution.

Construct paths. `SpaDistribution` is a plain class, not a `Construct`: it creates the policies
(`SecurityHeadersPolicy`, `ApiRequestPolicy`, `ApiCachePolicy<n>`, `<Assets|Images|Index>CachePolicy`
and `...HeadersPolicy`) and `Distribution` directly in the scope it is given. CloudFormation logical
IDs are computed from construct paths; a construct level of its own would have given each of them a
new ID, and a deploy would have replaced the distribution (and its domain names with it). Created
in the caller's scope they keep their IDs and paths. The cost is one such distribution per scope.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import (
    Duration,
    aws_certificatemanager as acm,
    aws_cloudfront as cloudfront,
    aws_cloudfront_origins as origins,
    aws_s3 as s3,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.cloudfront_functions import on_viewer_request
from platform_constructs.distribution_policies import (
    api_cache_policy,
    api_request_policy,
    response_headers_policy,
    static_cache_policy,
)

API_PATH = "/api/*"
ASSETS_PATH = "/assets/*"
IMAGES_PATH = "/images/*"
#: Hashed assets: a year, never revalidated (a new build has new names).
ASSETS_MAX_AGE = Duration.days(365)
IMMUTABLE = f"public, max-age={int(ASSETS_MAX_AGE.to_seconds())}, immutable"
IMAGE_MAX_AGE = Duration.days(1)
#: Where CloudFront writes its standard logs in `access_log_bucket`.
ACCESS_LOG_PREFIX = "cloudfront/"
#: How long CloudFront waits for the API's response, and keeps an idle connection to it.
API_READ_TIMEOUT = Duration.seconds(30)
API_KEEPALIVE_TIMEOUT = Duration.seconds(5)


@dataclass(frozen=True)
class CachedApiPath:
    """An API path pattern cached as its origin's Cache-Control says, its key holding `query_keys`."""

    path: str
    query_keys: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.path.startswith("/api/") or self.path == API_PATH:
            raise ValueError(f"cached API path: a pattern below /api/ other than {API_PATH}, got {self.path!r}")


def https_api_origin(domain_name: str, *, custom_headers: Mapping[str, str] | None = None) -> origins.HttpOrigin:
    """The API at `domain_name`, reached over HTTPS with TLS 1.2, sent `custom_headers` with every request
    (e.g. a secret header the load balancer checks)."""
    return origins.HttpOrigin(
        domain_name,
        protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
        origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
        read_timeout=API_READ_TIMEOUT,
        keepalive_timeout=API_KEEPALIVE_TIMEOUT,
        custom_headers=dict(custom_headers) if custom_headers else None,
    )


class SpaDistribution:
    """Exposes ``distribution``.

    :param comment: the distribution's comment. A new comment is a change of the template, which makes
        CloudFormation resolve the origins' dynamic references (e.g. a secret header) again.
    :param comment_prefix: starts each policy's comment, e.g. "ticketing prod".
    :param site_origin: the SPA bucket, e.g. `S3BucketOrigin.with_origin_access_control(bucket)`.
    :param api_origin: the API, e.g. `https_api_origin(<the load balancer's name>)`.
    :param index_max_age: how long browsers and CloudFront keep what the default behaviour serves
        (index.html); at least a second (with every TTL at 0 CloudFront refuses compressed keys).
    :param index_function: viewer-request function of the default behaviour. Default: none.
    :param images_function: viewer-request function of `/images/*`. Default: none.
    :param cached_api_paths: API paths cached as their origin says, before `/api/*`. Default: none.
    :param domain_names: custom domains, with `certificate`. Default: the *.cloudfront.net name only.
    :param web_acl_arn: the WAF web ACL in front of the distribution.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        comment: str,
        comment_prefix: str,
        site_origin: cloudfront.IOrigin,
        api_origin: cloudfront.IOrigin,
        content_security_policy: str,
        index_max_age: Duration,
        price_class: cloudfront.PriceClass,
        access_log_bucket: s3.IBucket,
        web_acl_arn: str,
        unrestricted_geography_reason: str,
        index_function: cloudfront.IFunction | None = None,
        images_function: cloudfront.IFunction | None = None,
        cached_api_paths: Sequence[CachedApiPath] = (),
        domain_names: Sequence[str] = (),
        certificate: acm.ICertificate | None = None,
        default_certificate_reason: str | None = None,
    ) -> None:
        _check_certificate(domain_names, certificate, default_certificate_reason)
        if index_max_age.to_seconds() < 1:
            raise ValueError(f"index_max_age: at least 1 second, got {index_max_age.to_seconds()}")
        self._scope = scope
        self._comment_prefix = comment_prefix
        self._content_security_policy = content_security_policy
        security = self._headers_policy("Security")
        behaviors = self._api_behaviors(api_origin, security, cached_api_paths)
        behaviors.update(self._file_behaviors(site_origin, images_function))
        default = self._index_behavior(site_origin, index_max_age, index_function)
        self.distribution = cloudfront.Distribution(
            scope,
            "Distribution",
            comment=comment,
            default_behavior=default,
            additional_behaviors=behaviors,
            domain_names=list(domain_names) or None,
            certificate=certificate,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2025 if certificate else None,
            ssl_support_method=cloudfront.SSLMethod.SNI if certificate else None,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=price_class,
            enable_ipv6=True,
            enable_logging=True,
            log_bucket=access_log_bucket,
            log_file_prefix=ACCESS_LOG_PREFIX,
            web_acl_id=web_acl_arn,
            default_root_object="index.html",
        )
        self._acknowledge(unrestricted_geography_reason, default_certificate_reason)

    def _api_behaviors(
        self,
        api: cloudfront.IOrigin,
        security: cloudfront.IResponseHeadersPolicy,
        cached_api_paths: Sequence[CachedApiPath],
    ) -> dict[str, cloudfront.BehaviorOptions]:
        """Each cached API path, then `/api/*` (never cached), in that order: CloudFront takes the first match."""
        behaviors: dict[str, cloudfront.BehaviorOptions] = {}
        request_policy = (
            api_request_policy(self._scope, comment_prefix=self._comment_prefix) if cached_api_paths else None
        )
        for index, cached in enumerate(cached_api_paths):
            behaviors[cached.path] = cloudfront.BehaviorOptions(
                origin=api,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=api_cache_policy(
                    self._scope, index, cached.query_keys, comment_prefix=self._comment_prefix
                ),
                origin_request_policy=request_policy,
                response_headers_policy=security,
                compress=False,
            )
        behaviors[API_PATH] = cloudfront.BehaviorOptions(
            origin=api,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=security,
            compress=False,  # the service compresses; CloudFront never does on uncached responses
        )
        return behaviors

    def _file_behaviors(
        self, site: cloudfront.IOrigin, images_function: cloudfront.IFunction | None
    ) -> dict[str, cloudfront.BehaviorOptions]:
        """Hashed assets, kept a year and never revalidated; images, kept a day (`Vary: Accept` for the
        caches after CloudFront, whose key is the URI the images function chose)."""
        return {
            ASSETS_PATH: _static_behavior(
                site, self._cache_policy("Assets", ASSETS_MAX_AGE), self._headers_policy("Assets", IMMUTABLE)
            ),
            IMAGES_PATH: _static_behavior(
                site,
                self._cache_policy("Images", IMAGE_MAX_AGE),
                self._headers_policy("Images", f"public, max-age={int(IMAGE_MAX_AGE.to_seconds())}", vary_accept=True),
                function=images_function,
            ),
        }

    def _index_behavior(
        self, site: cloudfront.IOrigin, max_age: Duration, function: cloudfront.IFunction | None
    ) -> cloudfront.BehaviorOptions:
        """Everything else, index.html above all: kept `max_age`, then revalidated, so a new build shows soon."""
        return _static_behavior(
            site,
            self._cache_policy("Index", max_age),
            self._headers_policy("Index", f"public, max-age={int(max_age.to_seconds())}, must-revalidate"),
            function=function,
        )

    def _cache_policy(self, name: str, max_age: Duration) -> cloudfront.CachePolicy:
        return static_cache_policy(self._scope, name, max_age, comment_prefix=self._comment_prefix)

    def _headers_policy(
        self, name: str, cache_control: str | None = None, *, vary_accept: bool = False
    ) -> cloudfront.ResponseHeadersPolicy:
        return response_headers_policy(
            self._scope,
            name,
            content_security_policy=self._content_security_policy,
            comment_prefix=self._comment_prefix,
            cache_control=cache_control,
            vary_accept=vary_accept,
        )

    def _acknowledge(self, unrestricted_geography_reason: str, default_certificate_reason: str | None) -> None:
        # on the L1 resource: an acknowledgment sits on one resource, never on a whole stack
        resource = self.distribution.node.default_child
        assert resource is not None, self.distribution.node.path  # a Distribution always has its CfnDistribution
        acknowledge(resource, "AwsSolutions-CFR1", reason=unrestricted_geography_reason)
        if default_certificate_reason is not None:
            acknowledge(resource, "AwsSolutions-CFR4", reason=default_certificate_reason)


def _check_certificate(
    domain_names: Sequence[str], certificate: acm.ICertificate | None, default_certificate_reason: str | None
) -> None:
    if bool(domain_names) != (certificate is not None):
        raise ValueError(
            "domain_names and certificate: give both (custom domains) or neither (the *.cloudfront.net name), "
            f"got {len(domain_names)} domain name(s) and {'a' if certificate else 'no'} certificate"
        )
    if certificate is None and default_certificate_reason is None:
        raise ValueError(
            "default_certificate_reason: required without a certificate (the default certificate is also "
            "offered over TLS 1.0: say why that is acceptable here)"
        )
    if certificate is not None and default_certificate_reason is not None:
        raise ValueError("default_certificate_reason: only without a certificate, which this distribution has")


def _static_behavior(
    origin: cloudfront.IOrigin,
    cache_policy: cloudfront.ICachePolicy,
    headers: cloudfront.IResponseHeadersPolicy,
    *,
    function: cloudfront.IFunction | None = None,
) -> cloudfront.BehaviorOptions:
    """GET and HEAD from the SPA bucket, HTTP redirected to HTTPS, compressed at the edge."""
    return cloudfront.BehaviorOptions(
        origin=origin,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cache_policy=cache_policy,
        response_headers_policy=headers,
        compress=True,  # gzip and brotli at the edge for files of 1,000 bytes or more
        function_associations=on_viewer_request(function),
    )
