"""The cache, origin request and response headers policies of `SpaDistribution`'s behaviours.

- Static files (`static_cache_policy`): the key is the URI alone, gzip and brotli variants cached
  apart, kept a fixed time whatever the bucket says.
- Cached API paths (`api_cache_policy`, `api_request_policy`): cached as the origin's Cache-Control
  says, keyed by the listed query keys and the Authorization header, so an authenticated response is
  never served to anyone else.
- Every response (`response_headers_policy`): HSTS with preload, nosniff, DENY framing, a strict
  referrer policy and the caller's Content-Security-Policy; optionally a Cache-Control and a
  `Vary: Accept` of its own.

Each factory creates its policy in the scope it is given, under an id made of a literal suffix
and the name the caller gives (`<name>CachePolicy`, `ApiCachePolicy<index>`, `<name>HeadersPolicy`),
so the policies keep the logical IDs and paths they have when created in place. `comment_prefix`
starts every policy's comment (e.g. "ticketing prod"), which names its owner in the console.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, aws_cloudfront as cloudfront
from constructs import Construct

#: Two years, with subdomains and preload: what the HSTS preload list asks for.
HSTS_MAX_AGE = Duration.days(730)
#: The longest TTL a cached API response is kept, whatever its Cache-Control says.
API_MAX_TTL = Duration.days(1)


def static_cache_policy(
    scope: Construct, name: str, max_age: Duration, *, comment_prefix: str
) -> cloudfront.CachePolicy:
    """`<name>CachePolicy`: files from the SPA bucket, keyed by the URI alone, kept `max_age`."""
    return cloudfront.CachePolicy(
        scope,
        f"{name}CachePolicy",
        comment=f"{comment_prefix}: {name.lower()} from the SPA bucket",
        min_ttl=Duration.seconds(0),
        default_ttl=max_age,
        max_ttl=max_age,
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
        header_behavior=cloudfront.CacheHeaderBehavior.none(),
        query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
        cookie_behavior=cloudfront.CacheCookieBehavior.none(),
    )


def api_cache_policy(
    scope: Construct, index: int, query_keys: Sequence[str], *, comment_prefix: str
) -> cloudfront.CachePolicy:
    """`ApiCachePolicy<index>`: cached as the origin says (min TTL 0: `no-store` and `private` are
    honoured, nothing is cached without a Cache-Control), keyed by `query_keys` and Authorization."""
    return cloudfront.CachePolicy(
        scope,
        f"ApiCachePolicy{index}",
        comment=f"{comment_prefix}: a public API path, as its Cache-Control says",
        min_ttl=Duration.seconds(0),
        default_ttl=Duration.seconds(0),
        max_ttl=API_MAX_TTL,
        enable_accept_encoding_gzip=True,
        enable_accept_encoding_brotli=True,
        header_behavior=cloudfront.CacheHeaderBehavior.allow_list("Authorization"),
        query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*query_keys)
        if query_keys
        else cloudfront.CacheQueryStringBehavior.none(),
        cookie_behavior=cloudfront.CacheCookieBehavior.none(),
    )


def api_request_policy(scope: Construct, *, comment_prefix: str) -> cloudfront.OriginRequestPolicy:
    """`ApiRequestPolicy`: what reaches the origin on a cached API path beyond the cache key: every
    viewer header but Host (a POST or DELETE there needs its headers), no cookie and no other query
    string, so a GET's response can depend on nothing the key does not hold."""
    return cloudfront.OriginRequestPolicy(
        scope,
        "ApiRequestPolicy",
        comment=f"{comment_prefix}: a cached API path: viewer headers but Host, nothing else",
        header_behavior=cloudfront.OriginRequestHeaderBehavior.deny_list("Host"),
        query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
        cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
    )


def response_headers_policy(
    scope: Construct,
    name: str,
    *,
    content_security_policy: str,
    comment_prefix: str,
    cache_control: str | None = None,
    vary_accept: bool = False,
) -> cloudfront.ResponseHeadersPolicy:
    """`<name>HeadersPolicy`: the security headers, each overriding the origin's.

    :param cache_control: a Cache-Control every response gets instead of the origin's. Default: the origin's.
    :param vary_accept: add `Vary: Accept`, for caches after CloudFront when the response depends on the
        Accept header. Default: no Vary of its own.
    """
    custom = []
    if cache_control is not None:
        custom.append(cloudfront.ResponseCustomHeader(header="Cache-Control", value=cache_control, override=True))
    if vary_accept:
        custom.append(cloudfront.ResponseCustomHeader(header="Vary", value="Accept", override=True))
    return cloudfront.ResponseHeadersPolicy(
        scope,
        f"{name}HeadersPolicy",
        comment=f"{comment_prefix}: security headers" + (f", {cache_control}" if cache_control else ""),
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
                content_security_policy=content_security_policy, override=True
            ),
        ),
        custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(custom_headers=custom) if custom else None,
    )
