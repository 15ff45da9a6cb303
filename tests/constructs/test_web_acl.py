"""CloudFrontWebAcl: rules in order, the path limit as a service reads paths, logs, and a table of bad inputs.

The module builds one small App (a key and two web ACLs in two stacks: the defaults with a login
limit, and other managed groups without path limits) and synthesises it once with every compliance
pack registered: an open finding fails the fixture. Invalid inputs are refused before anything is
built, so their table needs no stack at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App, Environment, RemovalPolicy, Stack, aws_logs as logs

from config import edge as edge_config
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.web_acl import (
    DEFAULT_MANAGED_RULE_GROUPS,
    DEFAULT_REDACTED_HEADERS,
    CloudFrontWebAcl,
    PathRateLimit,
    RateLimit,
    WebAclLogging,
)
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ENV = Environment(account="111111111111", region="us-east-1")
LOGIN = PathRateLimit(rule_name="LoginRateLimit", path="/API/Auth/Login", rate=RateLimit(limit=10, window_seconds=120))


@dataclass
class Built:
    stack: Stack
    acl: CloudFrontWebAcl
    template: dict[str, Any]

    def resource(self, kind: str) -> dict[str, Any]:
        (found,) = [(k, r) for k, r in self.template["Resources"].items() if r["Type"] == kind]
        return {"LogicalId": found[0], **found[1]}

    def rules(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self.resource("AWS::WAFv2::WebACL")["Properties"]["Rules"]
        return sorted(rules, key=lambda rule: rule["Priority"])


def _build(app: App, stack_id: str, **kwargs: Any) -> tuple[Stack, CloudFrontWebAcl]:
    stack = Stack(app, stack_id, env=ENV)
    key = customer_managed_key(stack, "Key", description="the web ACL's logs")
    acl = CloudFrontWebAcl(
        stack,
        metric_name="edge-test",
        description="managed rules and per-IP rate limits",
        request_rate_limit=RateLimit(limit=2000, window_seconds=300),
        logging=WebAclLogging(
            log_group_name="aws-waf-logs-edge-test",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,
        ),
        **kwargs,
    )
    return stack, acl


@pytest.fixture(scope="module")
def built() -> dict[str, Built]:
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    stacks = {
        "Defaults": _build(app, "Defaults", path_rate_limits=[LOGIN]),
        "Chosen": _build(app, "Chosen", managed_rule_groups=["AWSManagedRulesAdminProtectionRuleSet"]),
    }
    assembly = app.synth()  # runs every pack: raises on any open finding
    return {
        name: Built(stack, acl, assembly.get_stack_by_name(stack.stack_name).template)
        for name, (stack, acl) in stacks.items()
    }


def test_resources_are_made_in_the_callers_scope_under_fixed_ids(built: dict[str, Built]) -> None:
    stack, acl = built["Defaults"].stack, built["Defaults"].acl
    # no construct level of its own: the paths, and so the logical IDs, are those of resources made in place
    assert [acl.web_acl.node.path, acl.log_group.node.path, acl.logging_configuration.node.path] == [
        "Defaults/WebAcl", "Defaults/WafLogs", "Defaults/WafLogging"
    ]  # fmt: skip
    assert stack.resolve(acl.web_acl.logical_id) == "WebAcl"
    assert stack.resolve(acl.logging_configuration.logical_id) == "WafLogging"
    assert built["Defaults"].resource("AWS::Logs::LogGroup")["LogicalId"].startswith("WafLogs")


def test_managed_groups_first_then_path_limits_then_every_request(built: dict[str, Built]) -> None:
    rules = built["Defaults"].rules()
    assert [rule["Name"] for rule in rules] == [*DEFAULT_MANAGED_RULE_GROUPS, "LoginRateLimit", "RateLimit"]
    assert [rule["Priority"] for rule in rules] == list(range(len(rules)))
    for rule in rules[: len(DEFAULT_MANAGED_RULE_GROUPS)]:
        assert rule["Statement"]["ManagedRuleGroupStatement"] == {"Name": rule["Name"], "VendorName": "AWS"}
        assert rule["OverrideAction"] == {"None": {}}  # the group's own actions
    for rule in rules:
        assert rule["VisibilityConfig"] == {
            "CloudWatchMetricsEnabled": True, "MetricName": rule["Name"], "SampledRequestsEnabled": True
        }  # fmt: skip
    properties = built["Defaults"].resource("AWS::WAFv2::WebACL")["Properties"]
    assert (properties["Scope"], properties["DefaultAction"]) == ("CLOUDFRONT", {"Allow": {}})
    assert properties["VisibilityConfig"]["MetricName"] == "edge-test"


def test_chosen_managed_groups_replace_the_defaults(built: dict[str, Built]) -> None:
    rules = built["Chosen"].rules()
    assert [(rule["Name"], rule["Priority"]) for rule in rules] == [
        ("AWSManagedRulesAdminProtectionRuleSet", 0), ("RateLimit", 1)
    ]  # fmt: skip


def test_every_request_limit_blocks_a_client_ip_over_its_window(built: dict[str, Built]) -> None:
    overall = built["Defaults"].rules()[-1]
    assert overall["Action"] == {"Block": {}}
    assert overall["Statement"]["RateBasedStatement"] == {
        "Limit": 2000, "EvaluationWindowSec": 300, "AggregateKeyType": "IP"
    }  # fmt: skip


def test_a_path_limit_counts_the_path_as_the_service_routes_it(built: dict[str, Built]) -> None:
    (login,) = [rule for rule in built["Defaults"].rules() if rule["Name"] == "LoginRateLimit"]
    assert login["Action"] == {"Block": {}}
    rate = login["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (10, 120, "IP")
    path, method = (s["ByteMatchStatement"] for s in rate["ScopeDownStatement"]["AndStatement"]["Statements"])
    # compared lower-cased, so the value is lower-cased too: /API/Auth/Login would otherwise never match
    assert (path["FieldToMatch"], path["SearchString"], path["PositionalConstraint"]) == (
        {"UriPath": {}}, "/api/auth/login", "EXACTLY"
    )  # fmt: skip
    assert [t["Type"] for t in sorted(path["TextTransformations"], key=lambda t: t["Priority"])] == [
        "URL_DECODE", "NORMALIZE_PATH", "LOWERCASE"
    ]  # fmt: skip
    assert (method["FieldToMatch"], method["SearchString"]) == ({"Method": {}}, "POST")
    assert method["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]


def test_logs_go_to_the_named_group_by_an_arn_waf_accepts(built: dict[str, Built]) -> None:
    b = built["Defaults"]
    logging = b.resource("AWS::WAFv2::LoggingConfiguration")
    group = b.resource("AWS::Logs::LogGroup")
    assert logging["DependsOn"] == [group["LogicalId"]]  # referred to by name: created first all the same
    (destination,) = logging["Properties"]["LogDestinationConfigs"]
    text = json.dumps(destination)
    assert ":log-group:aws-waf-logs-edge-test" in text
    assert not text.rstrip('"]}').endswith(":*")  # WAF refuses the streams' ARN
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": ["WebAcl", "Arn"]}
    redacted = [field["SingleHeader"]["Name"] for field in logging["Properties"]["RedactedFields"]]
    assert redacted == list(DEFAULT_REDACTED_HEADERS) == ["authorization", "cookie"]
    properties = group["Properties"]
    assert (properties["LogGroupName"], properties["RetentionInDays"]) == ("aws-waf-logs-edge-test", 30)
    assert "KmsKeyId" in properties
    assert group["DeletionPolicy"] == "Delete"


def test_the_key_admits_cloudwatch_logs_for_this_log_group_alone(built: dict[str, Built]) -> None:
    statements = built["Defaults"].resource("AWS::KMS::Key")["Properties"]["KeyPolicy"]["Statement"]
    (logs_statement,) = [s for s in statements if s.get("Principal") == {"Service": "logs.us-east-1.amazonaws.com"}]
    assert logs_statement["Sid"].startswith("CloudWatchLogsForDefaultsKey")  # its id follows the key
    (arn,) = logs_statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert arn == "arn:aws:logs:us-east-1:111111111111:log-group:aws-waf-logs-edge-test"


def _logging(**overrides: Any) -> WebAclLogging:
    stack = Stack(App(), "Throwaway", env=ENV)
    values: dict[str, Any] = {
        "log_group_name": "aws-waf-logs-x",
        "retention": logs.RetentionDays.ONE_MONTH,
        "encryption_key": customer_managed_key(stack, "Key", description="d"),
    }
    return WebAclLogging(**{**values, **overrides})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: RateLimit(limit=9, window_seconds=60),
            "rate limit: must be between 10 and 2000000000 requests, got 9",
        ),
        (lambda: RateLimit(limit=100, window_seconds=90), "evaluates over 60, 120, 300, 600 seconds, got 90"),
        (
            lambda: PathRateLimit(rule_name="Login Limit", path="/login", rate=RateLimit(10, 60)),
            "rule name 'Login Limit': 1 to 128 of A-Z a-z 0-9 _ -",
        ),
        (
            lambda: PathRateLimit(rule_name="Login", path="/api/auth/*", rate=RateLimit(10, 60)),
            "path rate limit Login: a path without wildcards, e.g. /api/auth/login, got '/api/auth/*'",
        ),
        (
            lambda: PathRateLimit(rule_name="Login", path="api/login", rate=RateLimit(10, 60)),
            "a path without wildcards, e.g. /api/auth/login, got 'api/login'",
        ),
        (
            lambda: PathRateLimit(rule_name="Login", path="/login", rate=RateLimit(10, 60), method="post"),
            "path rate limit Login: method one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, got 'post'",
        ),
        (lambda: _logging(log_group_name="waf-logs"), "WAF log group name: must start with aws-waf-logs-"),
        (lambda: _logging(redacted_headers=("cookie", "cookie")), "WAF redacted headers: each once"),
    ],
)
def test_invalid_inputs_are_refused_with_a_message_naming_them(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("limit", "window_seconds", "valid"),
    [
        (10, 60, True),
        (2_000_000_000, 600, True),
        (2000, 120, True),
        (9, 60, False),
        (2_000_000_001, 300, False),
        (100, 90, False),
        (100, 900, False),
    ],
)
def test_the_config_accepts_exactly_the_rate_limits_the_construct_does(
    limit: int, window_seconds: int, valid: bool
) -> None:
    """`[edge.waf]` is checked before any construct exists; both read `accepted_values`' WAF bounds."""

    def accepted(make: Any) -> bool:
        try:
            make()
        except ValueError:
            return False
        return True

    assert accepted(lambda: edge_config.RateLimitConfig(limit=limit, window_seconds=window_seconds)) is valid
    assert accepted(lambda: RateLimit(limit=limit, window_seconds=window_seconds)) is valid


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path_rate_limits": [PathRateLimit(rule_name="RateLimit", path="/login", rate=RateLimit(10, 60))]},
        {"path_rate_limits": [LOGIN, LOGIN]},
        {"managed_rule_groups": ["AWSManagedRulesSQLiRuleSet", "AWSManagedRulesSQLiRuleSet"]},
    ],
)
def test_rule_names_must_not_repeat(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="web ACL rules: each name once"):
        _build(App(), "Throwaway", **kwargs)
