"""One line per check: its outcome, what it found, and for a failure what to do."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    MANUAL = "manual"


@dataclass(frozen=True)
class Check:
    """One check's result. `where` is the account/region or resource it looked at."""

    name: str
    where: str
    outcome: Outcome
    detail: str
    remedy: str = ""

    def line(self) -> str:
        text = f"{self.outcome.value:<6}  {self.name} [{self.where}]: {self.detail}"
        if self.remedy:
            text += f" -> {self.remedy}"
        return text


def passed(name: str, where: str, detail: str) -> Check:
    return Check(name, where, Outcome.PASS, detail)


def failed(name: str, where: str, detail: str, remedy: str) -> Check:
    return Check(name, where, Outcome.FAIL, detail, remedy)


def manual(name: str, where: str, detail: str, remedy: str) -> Check:
    return Check(name, where, Outcome.MANUAL, detail, remedy)


def exit_status(checks: Iterable[Check]) -> int:
    """1 when any check failed, else 0 (manual steps do not fail the run: they are printed)."""
    return 1 if any(check.outcome is Outcome.FAIL for check in checks) else 0


def summary(checks: Iterable[Check]) -> str:
    counts = {outcome: 0 for outcome in Outcome}
    for check in checks:
        counts[check.outcome] += 1
    return ", ".join(f"{counts[o]} {o.value}" for o in Outcome)
