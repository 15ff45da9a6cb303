"""An alarm whose every choice is explicit: what to check first, how missing data counts, who hears.

aws-cdk-lib's `Alarm` defaults missing data to "missing" and adds no actions; an alarm that pages
someone at 3 a.m. must not rest on defaults. `page_alarm` requires each choice, names the alarm
(so runbooks, mute rules and tests can say which), and sends the recovery to the same topics.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch, aws_cloudwatch_actions as actions, aws_sns as sns
from constructs import Construct

#: CloudWatch: an alarm description holds at most 1024 characters; an alarm at most 5 actions per state.
MAX_DESCRIPTION = 1024
MAX_ACTIONS = 5


def page_alarm(
    scope: Construct,
    construct_id: str,
    *,
    alarm_name: str,
    metric: cloudwatch.IMetric,
    threshold: float | None = None,
    band_width: float | None = None,
    comparison: cloudwatch.ComparisonOperator,
    evaluation_periods: int,
    datapoints_to_alarm: int | None = None,
    missing_data: cloudwatch.TreatMissingData,
    topics: Sequence[sns.ITopic],
    check_first: str,
    extra_actions: Sequence[cloudwatch.IAlarmAction] = (),
) -> cloudwatch.Alarm:
    """An alarm notifying `topics` when it fires and when it recovers.

    :param threshold: a static threshold; or
    :param band_width: the width, in standard deviations, of the anomaly-detection band the metric is
        compared with (`comparison` is then one of the band comparisons).
    :param check_first: what the person who is paged looks at first; the alarm's description.
    :param extra_actions: further actions on ALARM only (scaling policies); never on OK.
    """
    if not check_first.strip():
        raise ValueError(f"{alarm_name}: check_first must say what to look at first")
    if len(check_first) > MAX_DESCRIPTION:
        raise ValueError(f"{alarm_name}: the description has {len(check_first)} characters, at most {MAX_DESCRIPTION}")
    if len(topics) + len(extra_actions) > MAX_ACTIONS:
        raise ValueError(f"{alarm_name}: at most {MAX_ACTIONS} actions per alarm state")
    if (threshold is None) == (band_width is None):
        raise ValueError(f"{alarm_name}: give either a threshold or an anomaly band width")
    common: dict[str, Any] = {
        "alarm_name": alarm_name,
        "alarm_description": check_first,
        "metric": metric,
        "comparison_operator": comparison,
        "evaluation_periods": evaluation_periods,
        "datapoints_to_alarm": datapoints_to_alarm,
        "treat_missing_data": missing_data,
        "actions_enabled": True,
    }
    alarm: cloudwatch.Alarm
    if band_width is not None:
        alarm = cloudwatch.AnomalyDetectionAlarm(scope, construct_id, std_devs=band_width, **common)
    elif threshold is not None:
        alarm = cloudwatch.Alarm(scope, construct_id, threshold=threshold, **common)
    notify = [actions.SnsAction(topic) for topic in topics]
    if notify or extra_actions:
        alarm.add_alarm_action(*notify, *extra_actions)
    if notify:
        alarm.add_ok_action(*notify)
    return alarm
