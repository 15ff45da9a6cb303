"""Alerts stack: the alarm topics of the environment's main region (critical pages, warning mails).

Deployed before every stack whose alarms notify them; those address the topics by their fixed ARNs
(`platform_constructs.alarm_topics.topic_arn`), so no export ties a stack to this one. The edge
stack makes its own pair in us-east-1, where CloudFront's and WAF's alarms must live.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_topics import AlarmTopics, Severity
from platform_constructs.log_retention import retention_from_days
from platform_constructs.physical_names import environment_prefix
from stacks.platform_stack import PlatformStack


def alarm_topics(scope: Construct, config: EnvironmentConfig, prefix: str) -> AlarmTopics:
    """The environment's topic pair named `prefix`-critical / -warning, in `scope`'s region."""
    return AlarmTopics(
        scope,
        "AlarmTopics",
        prefix=prefix,
        pager_url=config.observability.pagerduty_url,
        warning_emails=config.observability.warning_emails,
        log_retention=retention_from_days(config.compute.log_retention_days),
        # SNS fixes the log group's name: a retained group would make the stack fail when deployed again.
        log_removal_policy=RemovalPolicy.DESTROY,
    )


class AlertsStack(PlatformStack):
    """Exposes ``topics`` (AlarmTopics) and ``prefix``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.prefix = environment_prefix(config.name)
        self.topics = alarm_topics(self, config, self.prefix)
        # The cost stack's budget alerts the warning topic.
        self.topics.allow_budgets(Severity.WARNING)
