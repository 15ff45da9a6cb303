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
def _all_calls() -> tuple[tuple[str, ast.Call, dict[str, float]], ...]:
    """Every call of every test file, with where it is and the file's module-level numeric constants."""
    found: list[tuple[str, ast.Call, dict[str, float]]] = []
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        constants = {
            target.id: float(node.value.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, (int, float)) and not isinstance(node.value.value, bool)
            for target in node.targets
            if isinstance(target, ast.Name)
        }  # fmt: skip
        found.extend(
            (f"{path.relative_to(TESTS.parent)}:{node.lineno}", node, constants)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
        )
    return tuple(found)


def calls() -> Iterator[tuple[str, ast.Call]]:
    """Every call in every test file, with where it is (the files are parsed once per session)."""
    for where, call, _ in _all_calls():
        yield where, call


def seconds(value: ast.expr, constants: dict[str, float]) -> float | None:
    """The number `value` stands for: a literal, a module-level constant of its file, or sums and products of
    those; None when it cannot be read without running the code."""
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)) and not isinstance(value.value, bool):
        return float(value.value)
    if isinstance(value, ast.Name):
        return constants.get(value.id)
    if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Mult)):
        left, right = seconds(value.left, constants), seconds(value.right, constants)
        if left is None or right is None:
            return None
        return left + right if isinstance(value.op, ast.Add) else left * right
    return None


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
    for where, call, constants in _all_calls():
        owner, function = called_name(call)
        value = keyword(call, "timeout")
        if owner != "subprocess" or function not in SUBPROCESS_CALLS or value is None:
            continue
        bounded.append(where)
        bound = seconds(value, constants)
        if bound is None:
            too_short.append(f"{where}: {ast.unparse(value)} (a literal or a module constant, so it can be read)")
        elif bound < MIN_SUBPROCESS_TIMEOUT_SECONDS:
            too_short.append(f"{where}: {bound:g} s")
    assert len(bounded) >= 5  # the check sees the suite's subprocesses
    assert too_short == [], f"at least {MIN_SUBPROCESS_TIMEOUT_SECONDS} s, or the bound measures the machine"


def test_no_test_sleeps_to_wait_for_something() -> None:
    sleeps = [where for where, call in calls() if called_name(call) == ("time", "sleep")]
    assert sleeps == [], f"wait for the condition itself, with a bound and a message: {sleeps}"


def test_a_bound_is_read_from_literals_and_module_constants_only() -> None:
    constants = {"WAIT": 600.0}
    read = [seconds(ast.parse(text, mode="eval").body, constants) for text in ("900", "WAIT + 30", "WAIT * 2", "limit")]
    assert read == [900.0, 630.0, 1200.0, None]
