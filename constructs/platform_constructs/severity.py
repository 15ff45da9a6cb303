"""How urgent an alarm is, which is which topic it notifies (`alarm_topics`): one topic per severity."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"  # pages someone now
    WARNING = "warning"  # someone looks today
