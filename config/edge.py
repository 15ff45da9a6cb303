"""Config of the edge: the CloudFront distribution, its caching of the API, the WAF in front of it.

`[edge]` in each environment file. The distribution, its certificate and its web ACL live in
us-east-1 whatever the environment's region is (CloudFront's home region). The rules across `[edge]` and
the environment (a custom domain outside dev, the certificate's account) are in config/rules.py.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.compute import CERTIFICATE_ARN, LogLifecycleConfig
from config.fields import ConfigFieldError, Strict, bounded, key_path, raise_all
from config.path_patterns import overlap, pattern_problem
from platform_constructs.accepted_values import WAF_RATE_LIMIT_REQUESTS, WAF_RATE_WINDOWS_SECONDS
from platform_constructs.limits import Limit

#: CloudFront's own region: the certificate, the web ACL and the edge stack live there.
EDGE_REGION = "us-east-1"
#: Longest value CloudFront accepts for the Content-Security-Policy of a response headers policy.
MAX_CSP_LENGTH = 1783
#: Seconds a browser and the CDN keep index.html (hashed assets are kept a year). At least 1: with every
#: TTL at 0 the policy disables caching, and CloudFront then refuses the compression settings in its key.
INDEX_MAX_AGE_SECONDS = Limit(1, 3600, "seconds")

_DOMAIN = re.compile(r"^(\*\.)?((?!-)[a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
_QUERY_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class RateLimitConfig(Strict):
    """A per-IP rate-based WAF rule: at most `limit` requests in `window_seconds`."""

    limit: int = bounded(WAF_RATE_LIMIT_REQUESTS, "Requests per window and client IP.")
    window_seconds: int = Field(description="Evaluation window: 60, 120, 300 or 600 seconds.")

    @field_validator("window_seconds")
    @classmethod
    def _window(cls, value: int) -> int:
        if value not in WAF_RATE_WINDOWS_SECONDS:
            raise ValueError(
                f"AWS WAF evaluates rate limits over {', '.join(map(str, WAF_RATE_WINDOWS_SECONDS))} seconds"
            )
        return value


class LoginRateLimitConfig(RateLimitConfig):
    """The tighter limit on logins (the guide: 5 a minute; WAF's floor makes it 10 per 120 s)."""

    path: str = Field(default="/api/auth/login", description="The login path (POST requests to it are limited).")

    @field_validator("path")
    @classmethod
    def _login_path(cls, value: str) -> str:
        if not value.startswith("/api/") or "*" in value or "?" in value or pattern_problem(value):
            raise ValueError("a path below /api/ without wildcards, e.g. /api/auth/login")
        return value


class WafConfig(Strict):
    """AWS WAF on the distribution: managed rule groups, and these per-IP rate limits."""

    rate_limit: RateLimitConfig = Field(description="The limit on every request, per client IP.")
    login_rate_limit: LoginRateLimitConfig = Field(
        description="The limit on POST requests to the login path, per client IP."
    )


class CachedApiPath(Strict):
    """An API path CloudFront caches as its origin's Cache-Control says (the guide: max-age=300)."""

    path: str = Field(description="CloudFront path pattern below /api/, e.g. /api/events.")
    query_keys: tuple[str, ...] = Field(
        default=(),
        strict=False,
        max_length=10,
        description="Query string keys that are part of the cache key (at most 10).",
    )

    @field_validator("path")
    @classmethod
    def _api_path(cls, value: str) -> str:
        problem = pattern_problem(value)
        if problem or not value.startswith("/api/"):
            raise ValueError(problem or "a path pattern below /api/, e.g. /api/events")
        return value

    @field_validator("query_keys")
    @classmethod
    def _keys(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for key in value:
            if not _QUERY_KEY.fullmatch(key):
                raise ValueError(f"query key {key!r}: 1 to 128 of A-Z a-z 0-9 _ . -")
        if len(set(value)) != len(value):
            raise ValueError("query keys must not repeat")
        return value


class EdgeConfig(Strict):
    """The CloudFront distribution in front of the SPA bucket and the API."""

    domain_names: tuple[str, ...] = Field(
        default=(),
        strict=False,
        max_length=10,
        description="Custom domains of the distribution (at most 10); required outside dev, with certificate_arn.",
    )
    certificate_arn: str | None = Field(
        default=None, description="ACM certificate in us-east-1 covering domain_names; required with them."
    )
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = Field(
        description="Which edge locations serve viewers: PriceClass_200 serves Korea and Japan from nearby "
        "edges, PriceClass_100 does not."
    )
    content_security_policy: str = Field(description="The Content-Security-Policy header of every response.")
    index_max_age_seconds: int = bounded(
        INDEX_MAX_AGE_SECONDS, "How long browsers and the CDN keep index.html.", default=60
    )
    cached_api: tuple[CachedApiPath, ...] = Field(
        default=(),
        strict=False,
        max_length=10,
        description="API paths (at most 10) cached as their origin's Cache-Control says.",
    )
    waf: WafConfig = Field(description="The WAF web ACL's per-IP rate limits.")
    access_logs: LogLifecycleConfig = Field(
        default_factory=LogLifecycleConfig, description="Lifecycle of CloudFront's access logs (the guide's)."
    )

    @field_validator("domain_names")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _DOMAIN.fullmatch(name) or len(name) > 253:
                raise ValueError(f"{name!r}: a lower-case DNS name such as tickets.example.com (or *.example.com)")
        if len(set(value)) != len(value):
            raise ValueError("domain names must not repeat")
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = CERTIFICATE_ARN.fullmatch(value)
        if not match:
            raise ValueError("must be an ACM certificate ARN: arn:aws:acm:us-east-1:<account>:certificate/<uuid>")
        if match["region"] != EDGE_REGION:
            raise ValueError(f"CloudFront uses certificates from {EDGE_REGION} only; this one is in {match['region']}")
        return value

    @field_validator("content_security_policy")
    @classmethod
    def _csp(cls, value: str) -> str:
        if not value.strip() or len(value) > MAX_CSP_LENGTH or not all(" " <= c <= "~" for c in value):
            raise ValueError(
                f"1 to {MAX_CSP_LENGTH} printable ASCII characters on one line, e.g. \"default-src 'self'\""
            )
        return value

    @model_validator(mode="after")
    def _rules(self) -> EdgeConfig:
        problems = []
        if bool(self.domain_names) != bool(self.certificate_arn):
            problems.append(
                ConfigFieldError(
                    "edge.certificate_arn" if self.domain_names else "edge.domain_names",
                    self.certificate_arn if self.domain_names else list(self.domain_names),
                    "domain_names and certificate_arn go together: a custom domain needs its certificate",
                )
            )
        for index, cached in enumerate(self.cached_api):
            for earlier in self.cached_api[:index]:
                if overlap(cached.path, earlier.path):
                    problems.append(
                        ConfigFieldError(
                            key_path(("edge", "cached_api", index, "path")),
                            cached.path,
                            f"overlaps {earlier.path!r}: CloudFront would pick one behaviour by order",
                        )
                    )
        raise_all(problems)
        return self
