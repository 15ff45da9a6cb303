"""Config of when the database maintenance jobs run: `[maintenance]`.

The jobs themselves (which tables, which partitions) are per service, in config/services.toml; that a
run over a service's tables fits in one function run is a rule across both (config/rules.py).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from config.fields import Strict, bounded, clock_time
from config.time_zones import check_time_zone
from platform_constructs.limits import Limit

#: One maintenance statement may run at most as long as a Lambda function may (15 minutes).
MAINTENANCE_STATEMENT_TIMEOUT_SECONDS = Limit(10, 900, "seconds")
#: The longest a maintenance run may take: a Lambda function's limit, less a minute for the report.
MAINTENANCE_RUN_SECONDS = 900 - 60


class MaintenanceConfig(Strict):
    """When the database maintenance jobs run (the guide: 03:00 every day)."""

    time_zone: str = Field(
        default="Asia/Seoul", description="IANA time zone of daily_at and of the other daily schedules."
    )
    daily_at: str = Field(
        default="03:00", description="HH:MM (24-hour, time_zone) the daily VACUUM (ANALYZE) and partition jobs start."
    )
    statement_timeout_seconds: int = bounded(
        MAINTENANCE_STATEMENT_TIMEOUT_SECONDS,
        "Longest a single maintenance statement may run before PostgreSQL cancels it.",
        default=600,
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("daily_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        clock_time(value)
        return value
