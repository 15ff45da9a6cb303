"""The suite must pass on a busy machine: no test may measure the machine instead of the code.

The rules checked here over every test file: property tests run without Hypothesis's 200 ms deadline
(tests/conftest.py loads that profile) and none sets one back; a subprocess a test waits for has a
bound far above its idle run time, because the bound only stops a hung process; no test sleeps to
wait for something to happen. Tests that compare durations make them differ by orders of magnitude
(tests/lambda/test_database_maintenance.py's workload); PostgreSQL's fixtures wait up to
``pg_testing.SERVER_WAIT_SECONDS`` and name what they waited for.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, settings

TESTS = Path(__file__).resolve().parent
#: The least a test may give a subprocess: every one of them runs in well under a minute when idle.
MIN_SUBPROCESS_TIMEOUT_SECONDS = 600
SUBPROCESS_CALLS = frozenset({"run", "Popen", "check_output", "check_call", "call"})


@functools.cache
def _all_calls() -> tuple[tuple[str, ast.Call], ...]:
    found: list[tuple[str, ast.Call]] = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.extend(
            (f"{path.relative_to(TESTS.parent)}:{node.lineno}", node)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        )
    return tuple(found)


def calls() -> Iterator[tuple[str, ast.Call]]:
    """Every call in every test file, with where it is (the files are parsed once per session)."""
    yield from _all_calls()


def called_name(call: ast.Call) -> tuple[str, str]:
    """(module or object, function) of ``a.b(...)``, ("", name) of ``name(...)``."""
    if isinstance(call.func, ast.Attribute):
        owner = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
        return owner, call.func.attr
    return "", call.func.id if isinstance(call.func, ast.Name) else ""


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_property_tests_run_without_a_deadline_and_allow_slow_data() -> None:
    profile = settings.default
    assert profile is not None
    assert profile.deadline is None
    assert HealthCheck.too_slow in profile.suppress_health_check


def test_no_property_test_sets_a_deadline() -> None:
    offenders = [
        where
        for where, call in calls()
        if called_name(call)[1] == "settings"
        and (value := keyword(call, "deadline")) is not None
        and not (isinstance(value, ast.Constant) and value.value is None)
    ]
    assert offenders == [], f"a Hypothesis deadline fails on a busy machine; leave it to the profile: {offenders}"


def test_every_subprocess_bound_holds_on_a_busy_machine() -> None:
    bounded = []
    too_short = []
    for where, call in calls():
        owner, function = called_name(call)
        value = keyword(call, "timeout")
        if owner != "subprocess" or function not in SUBPROCESS_CALLS or value is None:
            continue
        bounded.append(where)
        literal = value.value if isinstance(value, ast.Constant) else None
        if isinstance(literal, (int, float)) and literal < MIN_SUBPROCESS_TIMEOUT_SECONDS:
            too_short.append(f"{where}: {literal} s")
    assert len(bounded) >= 5  # the check sees the suite's subprocesses
    assert too_short == [], f"at least {MIN_SUBPROCESS_TIMEOUT_SECONDS} s, or the bound measures the machine"


def test_no_test_sleeps_to_wait_for_something() -> None:
    sleeps = [where for where, call in calls() if called_name(call) == ("time", "sleep")]
    assert sleeps == [], f"wait for the condition itself, with a bound and a message: {sleeps}"
