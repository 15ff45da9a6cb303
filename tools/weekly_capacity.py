"""How many tasks a service runs over a week, from its scheduled capacity changes.

A scalable target's scheduled actions (and a service's planned capacity before its first image) set
the minimum task count at times given as cron expressions. `week_profile` turns them into the share
of a week spent at each minimum: the night schedule of dev and staging (stop every day at 20:00,
start Monday to Friday at 09:00) runs the daytime minimum 55 of 168 hours.

Only the cron forms an Application Auto Scaling weekly schedule uses are evaluated (a minute, an
hour, `*` or `?` for the day of month, month and year, and days of the week as `*`, names, numbers
and ranges); any other expression is an error that names it, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DAY_NAMES = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
#: Cron's day numbers: 1 is Sunday, 7 is Saturday.
_CRON_DAY_NUMBERS = {"1": "SUN", "2": "MON", "3": "TUE", "4": "WED", "5": "THU", "6": "FRI", "7": "SAT"}
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")


class ScheduleError(ValueError):
    """A schedule this module cannot evaluate; the message names it."""


@dataclass(frozen=True)
class CapacityChange:
    """At `minute_of_day` on each of `week_days` (0 is Monday), the minimum becomes `min_tasks`."""

    week_days: frozenset[int]
    minute_of_day: int
    min_tasks: int


def parse_weekly_cron(expression: str, min_tasks: int) -> CapacityChange:
    """The change a weekly `cron(M H ? * DAYS *)` expression makes; ScheduleError for any other form."""
    match = _CRON.match(expression.strip())
    if not match:
        raise ScheduleError(f"{expression!r}: not a cron(minute hour day month weekday year) expression")
    minute, hour, day_of_month, month, week_day, year = match.groups()
    if not (minute.isdigit() and hour.isdigit() and int(minute) < 60 and int(hour) < 24):
        raise ScheduleError(f"{expression!r}: only a single minute and hour are evaluated")
    if day_of_month not in ("*", "?") or month != "*" or year not in ("*", "?"):
        raise ScheduleError(f"{expression!r}: only weekly schedules (day of month, month and year * or ?)")
    return CapacityChange(_week_days(week_day, expression), int(hour) * 60 + int(minute), min_tasks)


def _week_days(field: str, expression: str) -> frozenset[int]:
    if field in ("*", "?"):
        return frozenset(range(7))
    days: set[int] = set()
    for part in field.upper().split(","):
        first, _, last = part.partition("-")
        start, end = _day(first, expression), _day(last or first, expression)
        span = (end - start) % 7
        days.update((start + offset) % 7 for offset in range(span + 1))
    return frozenset(days)


def _day(token: str, expression: str) -> int:
    name = _CRON_DAY_NUMBERS.get(token, token)
    if name not in DAY_NAMES:
        raise ScheduleError(f"{expression!r}: {token!r} is not a day of the week (MON-SUN or 1-7)")
    return DAY_NAMES.index(name)


def week_profile(min_tasks: int, changes: Sequence[CapacityChange]) -> dict[int, float]:
    """{task count: share of the week} for a service whose minimum is `min_tasks` until changed.

    With changes, the minimum at any moment is the one the latest change set (the week wraps: before
    Monday's first change, Sunday's last one holds), so `min_tasks` only matters without any.
    """
    moments = sorted(
        (day * MINUTES_PER_DAY + change.minute_of_day, index, change.min_tasks)
        for index, change in enumerate(changes)
        for day in change.week_days
    )
    if not moments:
        return {min_tasks: 1.0}
    profile: dict[int, float] = {}
    for position, (moment, _, tasks) in enumerate(moments):
        following = moments[position + 1][0] if position + 1 < len(moments) else moments[0][0] + MINUTES_PER_WEEK
        length = following - moment
        if length:
            profile[tasks] = profile.get(tasks, 0.0) + length / MINUTES_PER_WEEK
    return profile
