"""Mute rules for the alarms that the night schedule itself trips, exactly while the services are stopped.

Outside prod every service stops at `night_scaling.stop_at` and starts at `start_at`. An alarm that
this stop makes fire (the load balancer answers with 503 when a target group has no target) is muted
for exactly the windows `night_scaling.quiet_windows` derives from the same schedule, in its time
zone, plus `observability.morning_grace_minutes` for the tasks to start and pass their health
checks. Prod has no night schedule and so no mute rule. The edge stack (us-east-1) and the
monitoring stack (main region) each mute their own alarms with these rules: a mute rule, like an
alarm, lives in one region.

A muted alarm still changes state, its actions (Auto Scaling's included) are suppressed, and one
still in ALARM when its mute ends does not notify again: mute only what the stop trips, never an
alarm whose actions scale something, and keep the alarms that see a failed morning start unmuted.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, TimeZone, aws_cloudwatch as cloudwatch
from constructs import Construct

from config.schema import EnvironmentConfig
from stacks.night_scaling import DAYS, quiet_windows

#: CloudWatch: a mute rule targets at most 100 alarms.
MAX_MUTED_ALARMS = 100


def night_mute_rules(
    scope: Construct, config: EnvironmentConfig, alarms: Sequence[cloudwatch.Alarm]
) -> list[cloudwatch.AlarmMuteRule]:
    """One rule per distinct quiet window (`NightMuteEvery`, or `NightMute<Days>`), each muting `alarms`."""
    night = config.compute.night_scaling
    windows = quiet_windows(night, config.observability.morning_grace_minutes)
    if night is None or not windows or not alarms:
        return []
    if len(alarms) > MAX_MUTED_ALARMS:
        raise ValueError(f"a mute rule targets at most {MAX_MUTED_ALARMS} alarms, got {len(alarms)}")
    rules = []
    for window in windows:
        days = "*" if len(window.week_days) == len(DAYS) else ",".join(window.week_days)
        name = "Every" if days == "*" else "".join(day.capitalize() for day in window.week_days)
        rules.append(
            cloudwatch.AlarmMuteRule(
                scope,
                f"NightMute{name}",
                alarms=list(alarms),
                schedule=cloudwatch.ScheduleExpression.cron(
                    minute=str(window.minute),
                    hour=str(window.hour),
                    week_day=days,
                    time_zone=TimeZone.of(night.time_zone),
                ),
                duration=Duration.minutes(window.duration_minutes),
                description=f"ticketing {config.name}: the services are stopped from {night.stop_at} "
                f"({', '.join(window.week_days)}) until the next start at {night.start_at} plus "
                f"{config.observability.morning_grace_minutes} minutes",
            )
        )
    return rules
