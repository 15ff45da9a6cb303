"""Time zones in config: IANA names only, with the closest one suggested for a typo."""

from __future__ import annotations

import difflib
import functools
import zoneinfo


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str) -> str:
    """`value` if it is an IANA time zone, else ValueError with the closest name."""
    if value not in _time_zones():
        close = difflib.get_close_matches(value, sorted(_time_zones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"not an IANA time zone such as Asia/Seoul or UTC{hint}")
    return value
