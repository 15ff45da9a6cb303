"""Application Load Balancer path patterns: what the ALB accepts, and whether two can match one path.

An ALB path pattern is case-sensitive, up to 128 characters, with `*` matching any run of
characters (including none) and `?` exactly one. Two services whose patterns can match the same
path would be routed by listener-rule priority, an order nobody chose, so the schema refuses any
pair that overlaps; `overlap` decides that exactly (not by comparing prefixes).
"""

from __future__ import annotations

import functools
import re

MAX_PATH_PATTERN_LENGTH = 128
#: Characters the ALB allows in a path pattern (its documentation's list; `&` as written).
_ALLOWED = re.compile(r"^/[A-Za-z0-9_\-.$/~\"'@:+&*?]*$")


def pattern_problem(pattern: str) -> str | None:
    """None for a valid pattern, else what is wrong and what is allowed."""
    if not pattern.startswith("/"):
        return "a path pattern starts with / (e.g. /api/*)"
    if len(pattern) > MAX_PATH_PATTERN_LENGTH:
        return f"at most {MAX_PATH_PATTERN_LENGTH} characters, got {len(pattern)}"
    if not _ALLOWED.fullmatch(pattern):
        return "allowed characters: A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & and the wildcards * and ?"
    return None


def overlap(first: str, second: str) -> bool:
    """True when some path matches both patterns (`*`: any characters, `?`: one character)."""

    @functools.cache
    def meet(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            # the star matches nothing more, or takes one more character of the other pattern
            return meet(i + 1, j) or (j < len(second) and meet(i, j + 1))
        if j < len(second) and second[j] == "*":
            return meet(i, j + 1) or (i < len(first) and meet(i + 1, j))
        if i == len(first) or j == len(second):
            return False
        a, b = first[i], second[j]
        return (a == b or a == "?" or b == "?") and meet(i + 1, j + 1)

    return meet(0, 0)


def matches(pattern: str, path: str) -> bool:
    """Whether the ALB would match `path` against `pattern` (for tests and tools)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path, flags=re.DOTALL) is not None
