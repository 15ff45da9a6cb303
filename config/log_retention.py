"""Log retention in config: only the periods CloudWatch Logs accepts, so no construct refuses one later."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from platform_constructs.accepted_values import LOG_RETENTION_DAYS as _ACCEPTED

#: Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = tuple(sorted(_ACCEPTED))


def retention_days(description: str) -> Any:
    """A required Field of days a log group keeps its events, one of CloudWatch Logs' periods."""
    return Field(
        description=f"{description} In days, one of CloudWatch Logs' retention periods "
        f"({', '.join(str(d) for d in LOG_RETENTION_DAYS)}).",
        json_schema_extra={"allowed": "one of CloudWatch Logs' retention periods, in days"},
    )


def check_retention(value: int) -> int:
    """`value` if CloudWatch Logs accepts it as a retention in days, else ValueError listing those it accepts."""
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"must be one of the retention periods CloudWatch Logs accepts (days): "
            f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}"
        )
    return value
