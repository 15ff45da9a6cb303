"""Log retention in days: each day count `accepted_values` lists is the aws-cdk-lib member that renders it."""

from __future__ import annotations

import re

import pytest
from aws_cdk import App, Stack, assertions, aws_logs as logs

from platform_constructs.accepted_values import LOG_RETENTION_DAYS
from platform_constructs.log_retention import retention_from_days


def test_the_accepted_days_are_the_ones_cloudwatch_logs_offers() -> None:
    """Pinned: a change here is a change in what CloudWatch Logs (and so every config file) accepts."""
    assert LOG_RETENTION_DAYS == (
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
    )  # fmt: skip


def test_every_accepted_day_count_renders_as_that_many_days() -> None:
    """The members are paired with the days by position: a template shows a pair out of order."""
    stack = Stack(App(), "Retention")
    for days in LOG_RETENTION_DAYS:
        logs.LogGroup(stack, f"Kept{days}Days", retention=retention_from_days(days))
    groups = assertions.Template.from_stack(stack).find_resources("AWS::Logs::LogGroup")
    rendered = {logical_id: group["Properties"]["RetentionInDays"] for logical_id, group in groups.items()}
    assert {int(re.sub(r"^Kept(\d+)Days.*$", r"\1", logical_id)): days for logical_id, days in rendered.items()} == {
        days: days for days in LOG_RETENTION_DAYS
    }


@pytest.mark.parametrize("days", [0, 2, 366, 3654])
def test_other_day_counts_are_refused_naming_the_allowed_ones(days: int) -> None:
    with pytest.raises(
        ValueError, match=rf"log retention: {days} days is not a CloudWatch Logs retention; allowed: \[1, 3"
    ):
        retention_from_days(days)
