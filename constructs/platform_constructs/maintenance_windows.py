"""ElastiCache snapshot and maintenance windows: parsing them and checking that they do not overlap.

A snapshot window is daily (``hh24:mi-hh24:mi``), a maintenance window weekly
(``ddd:hh24:mi-ddd:hh24:mi``), both in UTC. Errors name the replication group's parameters
(``snapshot_window``, ``preferred_maintenance_window``), the rule and the value given.
"""

from __future__ import annotations

import re

_DAILY_WINDOW_PATTERN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_WEEKLY_WINDOW_PATTERN = re.compile(
    r"^(sun|mon|tue|wed|thu|fri|sat):(\d{2}):(\d{2})-(sun|mon|tue|wed|thu|fri|sat):(\d{2}):(\d{2})$"
)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY


def validate_windows(snapshot_window: str, maintenance_window: str) -> None:
    """Raise ValueError unless both windows are well formed, long enough and do not overlap."""
    snapshot = parse_snapshot_window(snapshot_window)
    maintenance = parse_maintenance_window(maintenance_window)
    if _minutes(*snapshot, _MINUTES_PER_DAY, _MINUTES_PER_DAY) & _minutes(
        *maintenance, _MINUTES_PER_WEEK, _MINUTES_PER_WEEK
    ):
        raise ValueError(
            f"preferred_maintenance_window: {maintenance_window!r} overlaps the daily "
            f"snapshot_window {snapshot_window!r}"
        )


def parse_snapshot_window(window: str) -> tuple[int, int]:
    """Start and end of a daily window as minutes after midnight UTC; at least 60 minutes long."""
    match = _DAILY_WINDOW_PATTERN.fullmatch(window)
    if match is None:
        raise ValueError(f"snapshot_window: expected 'hh24:mi-hh24:mi' in UTC, e.g. '17:00-18:00', got {window!r}")
    start = _clock_minutes("snapshot_window", window, match[1], match[2])
    end = _clock_minutes("snapshot_window", window, match[3], match[4])
    if _span(start, end, _MINUTES_PER_DAY) < 60:
        raise ValueError(f"snapshot_window: must last at least 60 minutes, got {window!r}")
    return start, end


def parse_maintenance_window(window: str) -> tuple[int, int]:
    """Start and end of a weekly window as minutes after Sunday 00:00 UTC; 60 minutes to 24 hours long."""
    match = _WEEKLY_WINDOW_PATTERN.fullmatch(window.lower())
    if match is None:
        raise ValueError(
            "preferred_maintenance_window: expected 'ddd:hh24:mi-ddd:hh24:mi' in UTC, "
            f"e.g. 'sun:19:00-sun:20:00', got {window!r}"
        )
    start = _WEEKDAYS.index(match[1]) * _MINUTES_PER_DAY + _clock_minutes(
        "preferred_maintenance_window", window, match[2], match[3]
    )
    end = _WEEKDAYS.index(match[4]) * _MINUTES_PER_DAY + _clock_minutes(
        "preferred_maintenance_window", window, match[5], match[6]
    )
    if not 60 <= _span(start, end, _MINUTES_PER_WEEK) <= _MINUTES_PER_DAY:
        raise ValueError(f"preferred_maintenance_window: must last 60 minutes to 24 hours, got {window!r}")
    return start, end


def _clock_minutes(parameter: str, window: str, hours: str, minutes: str) -> int:
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        raise ValueError(f"{parameter}: {hours}:{minutes} in {window!r} is not a 24-hour UTC time")
    return hour * 60 + minute


def _span(start: int, end: int, period: int) -> int:
    """Length of [start, end) on a clock of `period` minutes, wrapping past the end."""
    return (end - start) % period


def _minutes(start: int, end: int, period: int, repeat_every: int) -> set[int]:
    """Minutes of the week covered by [start, end) on a `period` clock, repeated every `repeat_every`."""
    length = _span(start, end, period)
    return {
        (offset + start + minute) % _MINUTES_PER_WEEK
        for offset in range(0, _MINUTES_PER_WEEK, repeat_every)
        for minute in range(length)
    }
