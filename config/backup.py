"""Config of backups out of the region and the restore drill: `[backup]`.

- The primary database gets AWS Backup on top of RDS's own automated backups: continuous backup for
  point-in-time recovery (kept `database.backup_retention_days`; AWS Backup then owns the instance's
  retention, which the template therefore leaves out: docs/tiers/backup.md, "Who owns the backup retention") and a
  daily recovery point kept `daily_retention_days`, copied to a vault in `copy_region` under a key
  of that region (kept `copy_retention_days`) and, in prod optionally, to a vault of a separate
  backup account.
- `vault_lock`: a minimum and maximum retention no one can shorten once `changeable_for_days` have
  passed (AWS Backup Vault Lock in compliance mode). Required in prod, refused in dev.
- `[backup.drill]`: the restore drill restores the newest daily recovery point into a temporary
  instance, runs `queries`, records how long it took and how old the point was, and deletes the
  instance. It runs monthly outside prod (`monthly`), and on demand with `make restore-drill`.

The rules across `[backup]`, `[database]` and the environment (the copy region, the lock against the
retentions, prod's lock and drill, the drill's databases) are in config/rules.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from config.aws_regions import REGIONS
from config.fields import Strict, bounded, clock_time
from platform_constructs.limits import Limit

#: AWS Backup lifecycle: at most 100 years.
RETENTION_DAYS = Limit(1, 36_500, "days")
#: Vault Lock's cooling-off period: AWS requires at least 3 days.
CHANGEABLE_FOR_DAYS = Limit(3, 36_500, "days")
DAY_OF_MONTH = Limit(1, 28, "")  # 28: every month has the day
WAIT_MINUTES = Limit(30, 1440, "minutes")
MIN_ROWS = Limit(0, 10**12, "rows")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_VAULT_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,50}$")
_DATABASE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SELECT = re.compile(r"^\s*(select|with)\b[^;]*;?\s*$", re.IGNORECASE | re.DOTALL)


class VaultLock(Strict):
    """AWS Backup Vault Lock on both vaults (compliance mode)."""

    min_retention_days: int = bounded(RETENTION_DAYS, "No recovery point may be kept shorter.")
    max_retention_days: int = bounded(RETENTION_DAYS, "No recovery point may be kept longer.")
    changeable_for_days: int = bounded(
        CHANGEABLE_FOR_DAYS, "Days after the lock is set in which it can still be removed; then it is immutable."
    )


class BackupAccount(Strict):
    """A vault in a separate AWS account that receives a copy of every daily recovery point."""

    account: str = Field(description="12-digit id of the backup account.")
    vault_name: str = Field(description="Its vault (created in that account first; docs/tiers/backup.md).")
    region: str | None = Field(
        default=None,
        description="The vault's region: the environment's own (AWS Backup copies an RDS point to another "
        "account or to another region, never both at once); default the environment's region.",
    )

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        if not _ACCOUNT.fullmatch(value):
            raise ValueError("must be the 12-digit account id, digits 0-9 only, in quotes")
        return value

    @field_validator("vault_name")
    @classmethod
    def _vault(cls, value: str) -> str:
        if not _VAULT_NAME.fullmatch(value):
            raise ValueError("a backup vault name: 2 to 50 of A-Z a-z 0-9 _ . -")
        return value


class DrillQuery(Strict):
    """One sanity check of the restored data: a SELECT returning one number, at least `min_rows`."""

    database: str = Field(description="A service's database, e.g. ticketing_bookings.")
    sql: str = Field(description="One SELECT (run in a read-only transaction) returning a single number.")
    min_rows: int = bounded(MIN_ROWS, "The least the number may be for the check to pass.", default=0)

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        if not _DATABASE.fullmatch(value):
            raise ValueError("a PostgreSQL database name: lower-case letters, digits and _, not starting with a digit")
        return value

    @field_validator("sql")
    @classmethod
    def _select(cls, value: str) -> str:
        if not _SELECT.fullmatch(value):
            raise ValueError("one SELECT (or WITH ... SELECT) statement, no ';' inside")
        return value


class DrillConfig(Strict):
    monthly: bool = Field(default=True, description="Run the drill monthly (not allowed in prod).")
    day_of_month: int = bounded(DAY_OF_MONTH, "Day of the month of the scheduled run.", default=1)
    at: str = Field(default="10:00", description="HH:MM (24-hour, maintenance.time_zone) of the scheduled run.")
    instance_class: str = Field(
        default="db.t4g.medium", description="Instance class the drill restores into, e.g. db.t4g.medium."
    )
    max_wait_minutes: int = bounded(WAIT_MINUTES, "How long the restore may take before the drill fails.", default=180)
    queries: tuple[DrillQuery, ...] = Field(
        default=(), strict=False, description="Sanity checks of the restored data, each a SELECT returning one number."
    )

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        clock_time(value)
        return value


class BackupConfig(Strict):
    """AWS Backup for the primary database, copies out of the region, the vault lock and the drill."""

    copy_region: str = Field(description="The region that holds the copies, e.g. ap-northeast-3.")
    daily_at: str = Field(
        default="03:00",
        description="HH:MM (24-hour, maintenance.time_zone) of the daily recovery point; RDS's backup and "
        "maintenance windows are placed before it.",
    )
    daily_retention_days: int = bounded(RETENTION_DAYS, "Days each daily recovery point is kept.")
    copy_retention_days: int = bounded(RETENTION_DAYS, "Days each copy in copy_region is kept.")
    vault_lock: VaultLock | None = Field(
        default=None, description="AWS Backup Vault Lock on both vaults; required in prod, refused in dev."
    )
    backup_account: BackupAccount | None = Field(
        default=None, description="A vault in a separate account that receives a copy of every daily point (prod)."
    )
    drill: DrillConfig = Field(
        default_factory=DrillConfig, description="The restore drill: when it runs, on what, and what it checks."
    )

    @field_validator("copy_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in REGIONS:
            raise ValueError(f"not a region this repository knows; known: {', '.join(REGIONS)}")
        return value

    @field_validator("daily_at")
    @classmethod
    def _daily(cls, value: str) -> str:
        clock_time(value)
        return value


#: RDS takes its own daily snapshot in the backup window, and AWS Backup cannot snapshot an instance while
#: RDS is backing it up or maintaining it: both windows end well before the daily recovery point. The
#: windows are fixed in UTC from the zone's offset in January; where the offset changes during the year, they
#: shift by that hour against local time (an hour closer to the point in a northern summer, further in a
#: southern winter), still before it and never overlapping.
BACKUP_WINDOW_LEAD = timedelta(hours=3)
MAINTENANCE_WINDOW_LEAD = timedelta(hours=2)
WINDOW_LENGTH = timedelta(minutes=30)
_SUNDAY = datetime(2026, 1, 18)  # a Sunday in January: where the weekly window is anchored
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def database_windows(daily_at: str, time_zone: str) -> tuple[str, str]:
    """(RDS backup window, RDS maintenance window) in UTC, both before the daily recovery point at `daily_at`
    (`time_zone`): the backup window daily 3 h before it, the maintenance window on Sundays 2 h before it.
    A backup window would not cross midnight UTC: it then ends at 23:59 instead."""
    hour, minute = clock_time(daily_at)
    point = _SUNDAY.replace(hour=hour, minute=minute, tzinfo=ZoneInfo(time_zone))
    backup = (point - BACKUP_WINDOW_LEAD).astimezone(UTC)
    if (backup + WINDOW_LENGTH).date() != backup.date():
        backup = backup.replace(hour=23, minute=29)
    maintenance = (point - MAINTENANCE_WINDOW_LEAD).astimezone(UTC)

    def weekly(moment: datetime) -> str:
        return f"{_WEEKDAYS[moment.weekday()]}:{moment:%H:%M}"

    return (
        f"{backup:%H:%M}-{backup + WINDOW_LENGTH:%H:%M}",
        f"{weekly(maintenance)}-{weekly(maintenance + WINDOW_LENGTH)}",
    )
