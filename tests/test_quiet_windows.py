"""The mute windows derived from the night schedule cover exactly the minutes the services are stopped.

A week is simulated minute by minute from the schedule's own rules (NightStop every day, MorningStart
Monday to Friday or every day) and compared with the windows, for any stop time, start time,
weekend choice and morning grace.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from config.compute import NightScalingConfig
from stacks.night_scaling import DAYS, MINUTES_PER_DAY, MINUTES_PER_WEEK, quiet_windows

clock = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda hm: f"{hm[0]:02d}:{hm[1]:02d}")


def simulate(night: NightScalingConfig, grace: int) -> list[bool]:
    """Per minute of the second of two weeks: stopped, or within `grace` minutes after a start."""
    stop = int(night.stop_at[:2]) * 60 + int(night.stop_at[3:])
    start = int(night.start_at[:2]) * 60 + int(night.start_at[3:])
    start_days = range(5) if night.weekends == "stopped" else range(7)
    stopped, last_start = False, -(10**9)
    expected = []
    for minute in range(2 * MINUTES_PER_WEEK):
        day, clock_minute = divmod(minute % MINUTES_PER_WEEK, MINUTES_PER_DAY)
        if clock_minute == stop:
            stopped = True
        if clock_minute == start and day in start_days and stopped:
            stopped, last_start = False, minute
        if minute >= MINUTES_PER_WEEK:
            expected.append(stopped or minute - last_start < grace)
    return expected


def muted(night: NightScalingConfig, grace: int) -> list[bool]:
    covered = [False] * MINUTES_PER_WEEK
    for window in quiet_windows(night, grace):
        for day in window.week_days:
            begin = DAYS.index(day) * MINUTES_PER_DAY + window.hour * 60 + window.minute
            for minute in range(begin, begin + window.duration_minutes):
                covered[minute % MINUTES_PER_WEEK] = True
    return covered


@settings(max_examples=60, deadline=None)
@given(stop=clock, start=clock, weekends=st.sampled_from(["stopped", "running"]), grace=st.integers(0, 120))
def test_muted_exactly_while_stopped_or_starting(stop: str, start: str, weekends: str, grace: int) -> None:
    if stop == start:
        return  # the schema refuses it
    night = NightScalingConfig(stop_at=stop, start_at=start, weekends=weekends)  # type: ignore[arg-type]
    expected, actual = simulate(night, grace), muted(night, grace)
    wrong = [minute for minute in range(MINUTES_PER_WEEK) if expected[minute] != actual[minute]]
    assert not wrong, (
        f"first wrong minute: {DAYS[wrong[0] // MINUTES_PER_DAY]} "
        f"{wrong[0] % MINUTES_PER_DAY // 60:02d}:{wrong[0] % 60:02d}, muted={actual[wrong[0]]}"
    )


def test_no_windows_without_a_night_schedule() -> None:
    assert quiet_windows(None, 15) == []


def test_the_guides_schedule_gives_two_windows() -> None:
    windows = quiet_windows(NightScalingConfig(), 15)
    assert [(w.week_days, w.hour, w.minute, w.duration_minutes) for w in windows] == [
        (("MON", "TUE", "WED", "THU"), 20, 0, 13 * 60 + 15),
        (("FRI",), 20, 0, (2 * 24 + 13) * 60 + 15),
    ]
