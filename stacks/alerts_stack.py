"""Alerts stack: the alarm topics of the environment's main region (critical pages, warning mails).

Deployed before every stack whose alarms notify them; those address the topics by their fixed ARNs
(`platform_constructs.alarm_topics.topic_arn`), so no export ties a stack to this one. The edge
stack makes its own pair in us-east-1, where CloudFront's and WAF's alarms must live.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, aws_budgets as budgets
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_topics import AlarmTopics, Severity
from platform_constructs.log_retention import retention_from_days
from stacks.commitment_report import CommitmentReport
from stacks.platform_stack import PlatformStack

#: The cost-allocation tag the budget filters by (set on every resource by platform_stage.py).
ENVIRONMENT_TAG = "Environment"


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
    """Exposes ``topics`` (AlarmTopics), ``prefix``, ``budget`` and ``commitment_report``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.prefix = alerts_prefix(config.name)
        self.topics = alarm_topics(self, config, self.prefix)
        self.budget = self._budget()
        self.commitment_report = CommitmentReport(
            self,
            "CommitmentReport",
            config=config,
            topic=self.topics.topics[Severity.WARNING],
            key=self.topics.key,
        )

    def _budget(self) -> budgets.CfnBudget:
        """The environment's monthly cost budget, by its `Environment` cost-allocation tag.

        No name: a budget's name and its notifications are create-only, so changing a threshold
        replaces the budget, which a fixed name would make fail (the new one's name is taken).
        The tag must be activated as a cost-allocation tag in the payer account (README: Cost).
        """
        cost = self.config.cost
        self.topics.allow_budgets(Severity.WARNING)
        warning = self.topics.topics[Severity.WARNING]
        return budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=cost.monthly_budget_usd, unit="USD"),
                filter_expression=budgets.CfnBudget.ExpressionProperty(
                    tags=budgets.CfnBudget.TagValuesProperty(
                        key=ENVIRONMENT_TAG, values=[self.config.name], match_options=["EQUALS"]
                    )
                ),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[
                        budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=warning.topic_arn)
                    ],
                )
                for kind, percent in cost.notifications()
            ],
        )


def alerts_prefix(environment: str) -> str:
    """Names of the main region's topics and alarms: `ticketing-<env>`."""
    return f"ticketing-{environment}"
