"""Bad [edge] config is refused with the key and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError
from config.loader import validate_environment
from tests.test_config_validation import DELETE, with_change

CERT = "arn:aws:acm:us-east-1:222222222222:certificate/00000000-0000-4000-8000-000000000001"

# (id, base file, dotted key, new value, message the error must contain)
INVALID_EDGE = [
    ("staging-without-domain", "staging", "edge.domain_names", [], "edge.domain_names = []: domain_names and certificate_arn go together: a custom domain needs its certificate"),
    ("prod-on-the-default-domain", "prod", "edge", {"price_class": "PriceClass_200", "content_security_policy": "default-src 'self'", "waf": {"rate_limit": {"limit": 2000, "window_seconds": 300}, "login_rate_limit": {"limit": 10, "window_seconds": 120}}}, "edge.domain_names = []: prod needs a custom domain with its certificate in us-east-1: with the default *.cloudfront.net certificate CloudFront accepts TLS 1.0"),
    ("certificate-outside-us-east-1", "staging", "edge.certificate_arn", CERT.replace("us-east-1", "ap-northeast-2"), "CloudFront uses certificates from us-east-1 only; this one is in ap-northeast-2"),
    ("certificate-of-another-account", "staging", "edge.certificate_arn", CERT.replace("222222222222", "999999999999"), "edge.certificate_arn = 'arn:aws:acm:us-east-1:999999999999:certificate/00000000-0000-4000-8000-00000...: the certificate is in account 999999999999; the distribution is in 222222222222"),
    ("domain-upper-case", "staging", "edge.domain_names", ["Tickets.example.com"], "edge.domain_names = ['Tickets.example.com']: 'Tickets.example.com': a lower-case DNS name"),
    ("domain-twice", "staging", "edge.domain_names", ["a.example.com", "a.example.com"], "domain names must not repeat"),
    ("price-class-typo", "dev", "edge.price_class", "PriceClass_300", "edge.price_class = 'PriceClass_300': must be one of 'PriceClass_100', 'PriceClass_200', 'PriceClass_All'"),
    ("csp-on-two-lines", "dev", "edge.content_security_policy", "default-src 'self';\nimg-src *", "edge.content_security_policy = \"default-src 'self';\\nimg-src *\": 1 to 1783 printable ASCII characters on one line"),
    ("csp-too-long", "dev", "edge.content_security_policy", "a" * 1784, "1 to 1783 printable ASCII characters"),
    ("rate-below-waf-floor", "dev", "edge.waf.rate_limit", {"limit": 5, "window_seconds": 60}, "edge.waf.rate_limit.limit = 5: must be 10 to 2000000000 requests"),
    ("rate-window-not-offered", "dev", "edge.waf.login_rate_limit", {"limit": 10, "window_seconds": 90}, "edge.waf.login_rate_limit.window_seconds = 90: AWS WAF evaluates rate limits over 60, 120, 300, 600 seconds"),
    ("login-path-outside-api", "dev", "edge.waf.login_rate_limit", {"limit": 10, "window_seconds": 120, "path": "/login"}, "edge.waf.login_rate_limit.path = '/login': a path below /api/ without wildcards"),
    ("cached-path-outside-api", "dev", "edge.cached_api", [{"path": "/events"}], "edge.cached_api[0].path = '/events': a path pattern below /api/"),
    ("cached-paths-overlap", "dev", "edge.cached_api", [{"path": "/api/events"}, {"path": "/api/ev*"}], "edge.cached_api[1].path = '/api/ev*': overlaps '/api/events'"),
    ("cached-query-key-twice", "dev", "edge.cached_api", [{"path": "/api/events", "query_keys": ["page", "page"]}], "query keys must not repeat"),
    ("index-kept-too-long", "dev", "edge.index_max_age_seconds", 86400, "edge.index_max_age_seconds = 86400: must be 1 to 3600 seconds"),
    ("logs-ia-too-early", "dev", "edge.access_logs", {"infrequent_access_after_days": 10}, "edge.access_logs.infrequent_access_after_days = 10: S3 moves objects to STANDARD_IA 30 days after creation at the earliest"),
    ("index-never-cached", "dev", "edge.index_max_age_seconds", 0, "edge.index_max_age_seconds = 0: must be 1 to 3600 seconds"),
    ("missing-waf", "dev", "edge.waf", DELETE, "edge.waf: required key is missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [case[1:] for case in INVALID_EDGE],
    ids=[case[0] for case in INVALID_EDGE],
)
def test_bad_edge_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    assert message in "\n".join(caught.value.problems)


def test_dev_may_run_on_the_default_domain() -> None:
    config = validate_environment(with_change("dev", "edge.domain_names", []), source="dev.toml", expected_name="dev")
    assert config.edge.domain_names == ()
    assert config.edge.certificate_arn is None
