"""An AWS WAF web ACL for a CloudFront distribution: managed rule groups, per-IP rate limits, its logs.

Rules, in the order WAF evaluates them (priority 0 upwards):

1. AWS managed rule groups, in the order given (default: IP reputation, common, known bad inputs, SQLi).
2. Each `PathRateLimit`: requests with one method to one path, per client IP (e.g. POST to a login
   path). The path is compared as a service routes it: URL-decoded, normalised and lower-cased, so
   `/api/auth/%6Cogin` and `/api//auth/./LOGIN` count as the same path.
3. The `request_rate_limit`: every request, per client IP. It comes after the path limits, so a client
   blocked by it has still had each of its requests counted by them.

Anything no rule blocks is allowed. WAF logs every request to a CloudWatch log group encrypted with
the caller's key, with the headers in `redacted_headers` left out.

Construct paths. `CloudFrontWebAcl` is a plain class, not a `Construct`: it creates `WebAcl`,
`WafLogs` and `WafLogging` directly in the scope it is given. CloudFormation logical IDs are
computed from construct paths, so a construct level of its own would have given the web ACL, its
log group (which has a fixed name) and its logging configuration new IDs, and a deploy would
have replaced them; created in the caller's scope they keep their IDs and paths. The cost is one
web ACL per scope (a stack has one: CloudFront takes one web ACL per distribution).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, aws_kms as kms, aws_logs as logs, aws_wafv2 as wafv2
from constructs import Construct

from platform_constructs.accepted_values import WAF_RATE_LIMIT_REQUESTS, WAF_RATE_WINDOWS_SECONDS
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn

#: AWS managed rule groups on every request unless the caller chooses others, in this order.
DEFAULT_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
#: Request headers left out of the logs unless the caller chooses others: credentials and sessions.
DEFAULT_REDACTED_HEADERS = ("authorization", "cookie")
#: WAF only logs to a log group whose name starts with this.
LOG_GROUP_PREFIX = "aws-waf-logs-"
#: How a path is read before it is compared: as the service will (decoded, normalised, any case).
PATH_TRANSFORMS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")
#: The name (and CloudWatch metric name) of the rule on every request.
REQUEST_RATE_RULE = "RateLimit"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_RULE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_URI_PATH = wafv2.CfnWebACL.FieldToMatchProperty(uri_path={})
_METHOD = wafv2.CfnWebACL.FieldToMatchProperty(method={})


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests from one client IP in `window_seconds`; WAF blocks the IP beyond that."""

    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        WAF_RATE_LIMIT_REQUESTS.check("rate limit", self.limit)
        if self.window_seconds not in WAF_RATE_WINDOWS_SECONDS:
            raise ValueError(
                f"rate limit window: AWS WAF evaluates over {', '.join(map(str, WAF_RATE_WINDOWS_SECONDS))} seconds, "
                f"got {self.window_seconds}"
            )


@dataclass(frozen=True)
class PathRateLimit:
    """`rate` applied to the requests with `method` to exactly `path` (after decoding and lower-casing).

    `rule_name` names the WAF rule and its CloudWatch metric.
    """

    rule_name: str
    path: str
    rate: RateLimit
    method: str = "POST"

    def __post_init__(self) -> None:
        if not _RULE_NAME.fullmatch(self.rule_name):
            raise ValueError(f"path rate limit rule name {self.rule_name!r}: 1 to 128 of A-Z a-z 0-9 _ -")
        if not self.path.startswith("/") or "*" in self.path or "?" in self.path:
            raise ValueError(
                f"path rate limit {self.rule_name}: a path without wildcards, e.g. /api/auth/login, got {self.path!r}"
            )
        if self.method not in HTTP_METHODS:
            raise ValueError(
                f"path rate limit {self.rule_name}: method one of {', '.join(HTTP_METHODS)}, got {self.method!r}"
            )


@dataclass(frozen=True)
class WebAclLogging:
    """Where WAF logs every request: a log group created with these settings, encrypted with `encryption_key`.

    The key's policy gets a statement letting CloudWatch Logs of the stack's region use it for this
    log group alone (`allow_cloudwatch_logs`).
    """

    log_group_name: str
    retention: logs.RetentionDays
    encryption_key: kms.IKey
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    redacted_headers: tuple[str, ...] = DEFAULT_REDACTED_HEADERS

    def __post_init__(self) -> None:
        if not self.log_group_name.startswith(LOG_GROUP_PREFIX):
            raise ValueError(f"WAF log group name: must start with {LOG_GROUP_PREFIX}, got {self.log_group_name!r}")
        if len(set(self.redacted_headers)) != len(self.redacted_headers):
            raise ValueError(f"WAF redacted headers: each once, got {list(self.redacted_headers)}")


class CloudFrontWebAcl:
    """Exposes ``web_acl`` (the `AWS::WAFv2::WebACL`), ``arn``, ``log_group`` and ``logging_configuration``.

    :param metric_name: the web ACL's own CloudWatch metric name (each rule's is its name).
    :param request_rate_limit: every request, per client IP; evaluated last, as the rule `REQUEST_RATE_RULE`.
    :param path_rate_limits: tighter limits on single paths, evaluated before `request_rate_limit`.
        Default: none.
    :param managed_rule_groups: AWS managed rule groups by name, evaluated first, in this order.
        Default: `DEFAULT_MANAGED_RULE_GROUPS`.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        metric_name: str,
        description: str,
        request_rate_limit: RateLimit,
        logging: WebAclLogging,
        path_rate_limits: Sequence[PathRateLimit] = (),
        managed_rule_groups: Sequence[str] = DEFAULT_MANAGED_RULE_GROUPS,
    ) -> None:
        rule_names = [*managed_rule_groups, *(limit.rule_name for limit in path_rate_limits), REQUEST_RATE_RULE]
        if len(set(rule_names)) != len(rule_names):
            raise ValueError(f"web ACL rules: each name once, got {rule_names}")
        rules = [_managed_rule(group, priority) for priority, group in enumerate(managed_rule_groups)]
        rules += [
            _path_rate_rule(limit, len(managed_rule_groups) + index) for index, limit in enumerate(path_rate_limits)
        ]
        rules.append(_rate_rule(REQUEST_RATE_RULE, len(rules), request_rate_limit))
        self.web_acl = wafv2.CfnWebACL(
            scope,
            "WebAcl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(metric_name),
            description=description,
        )
        self.arn = self.web_acl.attr_arn
        self._create_logging(scope, logging)

    def _create_logging(self, scope: Construct, logging: WebAclLogging) -> None:
        # The destination is the log group's ARN without the ":*" that aws-cdk-lib's `log_group_arn`
        # attribute appends: WAF refuses it.
        destination = log_group_arn(scope, logging.log_group_name)
        key = logging.encryption_key
        # The key-policy statement is added here rather than by `encrypted_log_group`: its id derives from
        # the key (as in the deployed key policy), where that factory's would derive from the scope.
        allow_cloudwatch_logs(key, key, log_group_arns=[destination])
        self.log_group = encrypted_log_group(
            scope,
            "WafLogs",
            log_group_name=logging.log_group_name,
            retention=logging.retention,
            encryption_key=key,
            removal_policy=logging.removal_policy,
            admit_in_key_policy=False,  # admitted above
        )
        self.logging_configuration = wafv2.CfnLoggingConfiguration(
            scope,
            "WafLogging",
            resource_arn=self.arn,
            log_destination_configs=[destination],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in logging.redacted_headers
            ],
        )
        # referred to by name, not by a token: say that WAF needs the group to exist first
        self.logging_configuration.node.add_dependency(self.log_group)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


def _managed_rule(group: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    """The AWS managed rule group `group`, its own actions kept (override: none)."""
    return wafv2.CfnWebACL.RuleProperty(
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


def _path_rate_rule(limit: PathRateLimit, priority: int) -> wafv2.CfnWebACL.RuleProperty:
    return _rate_rule(
        limit.rule_name,
        priority,
        limit.rate,
        scope_down=wafv2.CfnWebACL.StatementProperty(
            and_statement=wafv2.CfnWebACL.AndStatementProperty(
                statements=[
                    # compared after the path is lower-cased, so the value is lower-cased too
                    _byte_match(_URI_PATH, limit.path.lower(), PATH_TRANSFORMS),
                    _byte_match(_METHOD, limit.method, ("NONE",)),
                ]
            )
        ),
    )


def _rate_rule(
    name: str,
    priority: int,
    limit: RateLimit,
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
