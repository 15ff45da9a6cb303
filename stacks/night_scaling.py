"""The night schedule of dev and staging as scheduled capacity changes (the guide: 20:00 off, 09:00 on).

Stopping sets min = max = 0: with only the desired count set to 0, target tracking would start
tasks again at the next alarm. Starting restores the service's own min and max, after which target
tracking takes over. Stopping runs every day, so a service started at a weekend (by hand, or by a
deploy that changes its scalable target, which resets min and max to the daytime values) is stopped
that evening; starting runs Monday to Friday unless the config keeps weekends running.
"""

from __future__ import annotations

from config.compute import NightScalingConfig, Sizing
from config.fields import clock_time
from platform_constructs.fargate_service import ScheduledCapacity

WEEKDAYS = "MON-FRI"
EVERY_DAY = "*"


def night_schedules(night: NightScalingConfig | None, sizing: Sizing) -> list[ScheduledCapacity]:
    """The stop and start actions of one service; none when `night` is None (prod)."""
    if night is None:
        return []
    stop_hour, stop_minute = clock_time(night.stop_at)
    start_hour, start_minute = clock_time(night.start_at)
    return [
        ScheduledCapacity(
            name="NightStop",
            hour=stop_hour,
            minute=stop_minute,
            week_days=EVERY_DAY,
            time_zone=night.time_zone,
            min_tasks=0,
            max_tasks=0,
        ),
        ScheduledCapacity(
            name="MorningStart",
            hour=start_hour,
            minute=start_minute,
            week_days=WEEKDAYS if night.weekends == "stopped" else EVERY_DAY,
            time_zone=night.time_zone,
            min_tasks=sizing.min_tasks,
            max_tasks=sizing.max_tasks,
        ),
    ]
