"""The night mute rules built for any stack: one per quiet window, at most 100 alarms each, none in prod."""

from __future__ import annotations

import pytest
from aws_cdk import App, Duration, Stack, assertions, aws_cloudwatch as cloudwatch

from config import load_environment
from stacks.night_mute import MAX_MUTED_ALARMS, night_mute_rules


def alarms(stack: Stack, count: int) -> list[cloudwatch.Alarm]:
    metric = cloudwatch.Metric(namespace="Test", metric_name="Errors", period=Duration.minutes(5), statistic="Sum")
    return [
        cloudwatch.Alarm(stack, f"Alarm{index}", metric=metric, threshold=1, evaluation_periods=1)
        for index in range(count)
    ]


def test_dev_mutes_every_given_alarm_in_each_of_its_windows() -> None:
    config = load_environment("dev")
    stack = Stack(App(), "Muted", env={"account": config.account, "region": config.region})
    rules = night_mute_rules(stack, config, alarms(stack, MAX_MUTED_ALARMS))
    assert [rule.node.id for rule in rules] == ["NightMuteMonTueWedThu", "NightMuteFri"]
    resources = assertions.Template.from_stack(stack).find_resources("AWS::CloudWatch::AlarmMuteRule")
    assert len(resources) == 2
    for resource in resources.values():
        assert len(resource["Properties"]["MuteTargets"]["AlarmNames"]) == MAX_MUTED_ALARMS


def test_more_alarms_than_a_rule_holds_are_refused_by_name() -> None:
    config = load_environment("dev")
    stack = Stack(App(), "Muted", env={"account": config.account, "region": config.region})
    with pytest.raises(ValueError, match=r"^a mute rule targets at most 100 alarms, got 101$"):
        night_mute_rules(stack, config, alarms(stack, MAX_MUTED_ALARMS + 1))


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_nothing_to_mute_makes_no_rule(environment: str) -> None:
    """prod has no night schedule; an empty list of alarms needs no rule (a rule without targets mutes nothing)."""
    config = load_environment(environment)
    stack = Stack(App(), "Muted", env={"account": config.account, "region": config.region})
    given = alarms(stack, 1) if environment == "prod" else []
    assert night_mute_rules(stack, config, given) == []
    assert assertions.Template.from_stack(stack).find_resources("AWS::CloudWatch::AlarmMuteRule") == {}
