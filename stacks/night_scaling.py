"""The night schedule of dev and staging as scheduled capacity changes (the guide: 20:00 off, 09:00 on).

Stopping sets min = max = 0: with only the desired count set to 0, target tracking would start
tasks again at the next alarm. Starting restores the service's own min and max, after which target
tracking takes over. Stopping runs every day, so a service started at a weekend (by hand, or by a
deploy that changes its scalable target, which resets min and max to the daytime values) is stopped
that evening; starting runs Monday to Friday unless the config keeps weekends running.
"""

from __future__ import annotations

from dataclasses import dataclass

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


DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


@dataclass(frozen=True)
class QuietWindow:
    """From `hour`:`minute` on each of `week_days`, for `duration_minutes`: the services are stopped
    (and, for the grace minutes at its end, still starting)."""

    week_days: tuple[str, ...]
    hour: int
    minute: int
    duration_minutes: int


def quiet_windows(night: NightScalingConfig | None, grace_minutes: int) -> list[QuietWindow]:
    """When the night schedule leaves the services stopped, as few recurring windows as there are lengths.

    Each window opens at a NightStop and lasts until the next MorningStart plus `grace_minutes`. A
    stop that falls while the services are already stopped (Saturday's and Sunday's, when weekends
    are stopped) opens no window of its own: the window of the stop before it covers it.
    """
    if night is None:
        return []
    stop_hour, stop_minute = clock_time(night.stop_at)
    start_hour, start_minute = clock_time(night.start_at)
    start_days = range(5) if night.weekends == "stopped" else range(7)
    starts = sorted(day * MINUTES_PER_DAY + start_hour * 60 + start_minute for day in start_days)

    def next_start(moment: int) -> int:
        base = moment - moment % MINUTES_PER_WEEK
        later = [start for start in starts if start > moment - base]
        return base + (later[0] if later else starts[0] + MINUTES_PER_WEEK)

    stops = [day * MINUTES_PER_DAY + stop_hour * 60 + stop_minute for day in range(7)]
    by_length: dict[int, list[str]] = {}
    for day, stop in enumerate(stops):
        previous = stops[day - 1] - (MINUTES_PER_WEEK if day == 0 else 0)
        if next_start(previous) == next_start(stop):
            continue  # no start since the previous stop: already stopped
        by_length.setdefault(next_start(stop) - stop + grace_minutes, []).append(DAYS[day])
    return [
        QuietWindow(week_days=tuple(days), hour=stop_hour, minute=stop_minute, duration_minutes=length)
        for length, days in sorted(by_length.items(), key=lambda item: DAYS.index(item[1][0]))
    ]
