"""Tasks over a week from scheduled capacity changes (tools/weekly_capacity.py), against hand figures
and, for any set of weekly changes, against a minute-by-minute walk through the week."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tools.weekly_capacity import (
    DAY_NAMES,
    MINUTES_PER_DAY,
    MINUTES_PER_WEEK,
    CapacityChange,
    ScheduleError,
    parse_weekly_cron,
    week_profile,
)

EVERY_DAY = frozenset(range(7))
WEEKDAYS = frozenset(range(5))


@pytest.mark.parametrize(
    ("expression", "days", "minute_of_day"),
    [
        ("cron(0 20 ? * * *)", EVERY_DAY, 20 * 60),
        ("cron(30 9 ? * MON-FRI *)", WEEKDAYS, 9 * 60 + 30),
        ("cron(0 9 * * ? *)", EVERY_DAY, 9 * 60),
        ("cron(15 7 ? * SAT,SUN *)", frozenset({5, 6}), 7 * 60 + 15),
        ("cron(0 0 ? * FRI-MON *)", frozenset({4, 5, 6, 0}), 0),  # a range across the week's end
        ("cron(0 6 ? * 2-6 *)", WEEKDAYS, 6 * 60),  # cron numbers: 1 is Sunday
        ("cron(0 6 ? * 1 *)", frozenset({6}), 6 * 60),
    ],
)
def test_weekly_cron_forms(expression: str, days: frozenset[int], minute_of_day: int) -> None:
    assert parse_weekly_cron(expression, 2) == CapacityChange(days, minute_of_day, 2)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("rate(1 hour)", "not a cron"),
        ("cron(0 20 1 * ? *)", "only weekly schedules"),
        ("cron(0 20 ? 1 * *)", "only weekly schedules"),
        ("cron(0/5 20 ? * * *)", "single minute and hour"),
        ("cron(0 24 ? * * *)", "single minute and hour"),
        ("cron(0 20 ? * WEEKDAY *)", "'WEEKDAY' is not a day of the week"),
    ],
)
def test_other_schedules_are_refused_naming_the_expression(expression: str, says: str) -> None:
    with pytest.raises(ScheduleError, match=r"not a cron|only weekly|single minute|not a day") as error:
        parse_weekly_cron(expression, 1)
    assert says in str(error.value)
    assert expression in str(error.value)


def test_the_guides_night_schedule_runs_55_of_168_hours() -> None:
    """Stop every day at 20:00, start Monday to Friday at 09:00: 5 days x 11 hours."""
    changes = [parse_weekly_cron("cron(0 20 ? * * *)", 0), parse_weekly_cron("cron(0 9 ? * MON-FRI *)", 2)]
    assert week_profile(2, changes) == pytest.approx({2: 55 / 168, 0: 113 / 168})


def test_weekends_running_run_77_hours() -> None:
    changes = [parse_weekly_cron("cron(0 20 ? * * *)", 0), parse_weekly_cron("cron(0 9 ? * * *)", 3)]
    assert week_profile(3, changes) == pytest.approx({3: 77 / 168, 0: 91 / 168})


def test_without_changes_the_minimum_holds_all_week() -> None:
    assert week_profile(4, []) == {4: 1.0}


def walk(changes: list[CapacityChange]) -> dict[int, float]:
    """The same profile, the slow way: at each minute, the latest change before it (the week wraps)."""
    moments = sorted(
        (day * MINUTES_PER_DAY + c.minute_of_day, i, c.min_tasks) for i, c in enumerate(changes) for day in c.week_days
    )
    counts: dict[int, int] = {}
    for minute in range(0, MINUTES_PER_WEEK, 5):
        before = [m for m in moments if m[0] <= minute]
        tasks = (before or moments)[-1][2]
        counts[tasks] = counts.get(tasks, 0) + 1
    return {tasks: count / (MINUTES_PER_WEEK / 5) for tasks, count in counts.items()}


changes_strategy = st.lists(
    st.builds(
        CapacityChange,
        week_days=st.frozensets(st.integers(0, 6), min_size=1),
        minute_of_day=st.integers(0, MINUTES_PER_DAY // 5 - 1).map(lambda m: m * 5),
        min_tasks=st.integers(0, 4),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(changes=changes_strategy)
def test_any_weekly_changes_agree_with_a_walk_through_the_week(changes: list[CapacityChange]) -> None:
    profile = week_profile(9, changes)
    assert sum(profile.values()) == pytest.approx(1.0)
    expected = walk(changes)
    assert {k: v for k, v in profile.items() if v > 1e-12} == pytest.approx(expected)


@given(days=st.frozensets(st.sampled_from(DAY_NAMES), min_size=1), hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_any_list_of_day_names_parses_to_those_days(days: frozenset[str], hour: int, minute: int) -> None:
    expression = f"cron({minute} {hour} ? * {','.join(sorted(days))} *)"
    change = parse_weekly_cron(expression, 1)
    assert change.week_days == frozenset(DAY_NAMES.index(day) for day in days)
    assert change.minute_of_day == hour * 60 + minute
