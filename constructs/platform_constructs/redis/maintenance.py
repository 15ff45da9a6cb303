"""Snapshots and maintenance: how long daily snapshots are kept, and the two windows that must not overlap."""

from __future__ import annotations

from dataclasses import dataclass

from platform_constructs import limits
from platform_constructs.maintenance_windows import validate_windows


@dataclass(frozen=True)
class MaintenanceProps:
    """Daily snapshots and the weekly maintenance window (checked when the props are made).

    :param snapshot_retention_days: days automatic snapshots are kept, 1 to 35 (default 15; below 15 fails
        NIST 800-53 R5).
    :param snapshot_window: daily snapshot window in UTC, ``hh24:mi-hh24:mi``, at least 60 minutes (default
        ``17:00-18:00`` UTC, 02:00-03:00 in Seoul).
    :param preferred_maintenance_window: weekly maintenance window in UTC, ``ddd:hh24:mi-ddd:hh24:mi``, 60
        minutes to 24 hours, not overlapping the snapshot window (default ``sun:19:00-sun:20:00`` UTC, Monday
        04:00-05:00 in Seoul). Minor engine versions are upgraded in it.
    """

    snapshot_retention_days: int = 15
    snapshot_window: str = "17:00-18:00"
    preferred_maintenance_window: str = "sun:19:00-sun:20:00"

    def __post_init__(self) -> None:
        limits.CACHE_SNAPSHOT_RETENTION_DAYS.check(
            "MaintenanceProps.snapshot_retention_days", self.snapshot_retention_days
        )
        try:
            validate_windows(self.snapshot_window, self.preferred_maintenance_window)
        except ValueError as error:  # the message starts with the field's name
            raise ValueError(f"MaintenanceProps.{error}") from error
