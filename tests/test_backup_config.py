"""`[backup]`: every rule, each a clear error naming the key, the value and what is allowed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from config import ConfigError
from config.backup import database_windows
from config.loader import validate_environment
from tests.test_config_validation import DELETE, with_change

LOCK = {"min_retention_days": 7, "max_retention_days": 400, "changeable_for_days": 3}


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [
        ("prod", "backup.copy_region", "ap-northeast-2", "backup.copy_region = 'ap-northeast-2': must differ from the main region ap-northeast-2"),
        ("prod", "backup.copy_region", "mars-north-1", "backup.copy_region = 'mars-north-1': not a region this repository knows; known: "),
        ("prod", "backup.vault_lock", DELETE, "backup.vault_lock = None: prod's vaults must be locked"),
        ("dev", "backup.vault_lock", LOCK, "dev is torn down and deployed again; a locked vault could never be emptied: remove it"),
        ("prod", "backup.vault_lock", LOCK | {"min_retention_days": 40}, "database.backup_retention_days = 35: the locked vaults keep recovery points 40 to 400 days (backup.vault_lock); a job outside that fails"),
        ("prod", "backup.vault_lock", LOCK | {"max_retention_days": 60}, "backup.daily_retention_days = 90: the locked vaults keep recovery points 7 to 60 days"),
        ("prod", "backup.vault_lock", LOCK | {"changeable_for_days": 1}, "backup.vault_lock.changeable_for_days = 1: must be 3 to 36500 days"),
        ("prod", "backup.vault_lock", LOCK | {"min_retention_days": 500}, "backup.vault_lock.min_retention_days = 500: must not exceed max_retention_days (400)"),
        ("staging", "backup.backup_account", {"account": "444444444444", "vault_name": "v1"}, "backup.backup_account = {table}: a separate backup account is for prod only"),
        ("prod", "backup.backup_account", {"account": "333333333333", "vault_name": "v1"}, "backup.backup_account.account = '333333333333': must be another account than the environment's own"),
        ("prod", "backup.backup_account", {"account": "4444", "vault_name": "v1"}, "backup.backup_account.account = '4444': must be the 12-digit account id"),
        ("prod", "backup.backup_account", {"account": "444444444444", "vault_name": "a b"}, "backup.backup_account.vault_name = 'a b': a backup vault name: 2 to 50 of A-Z a-z 0-9 _ . -"),
        ("prod", "backup.backup_account", {"account": "444444444444", "vault_name": "v1", "region": "ap-northeast-3"}, "backup.backup_account.region = 'ap-northeast-3': must be the environment's region ap-northeast-2: AWS Backup copies an RDS recovery point to another account or to another region, not both in one copy"),
        ("prod", "backup.drill.monthly", True, "backup.drill.monthly = true: the scheduled drill runs outside prod"),
        ("staging", "backup.drill.queries", [{"database": "ticketing_orders", "sql": "SELECT 1"}], "backup.drill.queries[0].database = 'ticketing_orders': not a database of a service; the services' databases: ticketing_auth, ticketing_bookings, ticketing_events, ticketing_inventory"),
        ("staging", "backup.drill.queries", [{"database": "ticketing_bookings", "sql": "DELETE FROM bookings"}], "backup.drill.queries[0].sql = 'DELETE FROM bookings': one SELECT (or WITH ... SELECT) statement, no ';' inside"),
        ("staging", "backup.drill.queries", [{"database": "ticketing_bookings", "sql": "SELECT 1; DROP TABLE bookings"}], "no ';' inside"),
        ("staging", "backup.drill.instance_class", "db.x9.huge", "backup.drill.instance_class = 'db.x9.huge': RDS for PostgreSQL does not offer this class in ap-northeast-2"),
        ("staging", "backup.drill.at", "25:00", "backup.drill.at = '25:00': must be a 24-hour time HH:MM"),
        ("staging", "backup.drill.day_of_month", 31, "backup.drill.day_of_month = 31: must be 1 to 28"),
        ("staging", "backup.daily_retention_days", 0, "backup.daily_retention_days = 0: must be 1 to 36500 days"),
        ("staging", "backup", DELETE, "backup: required"),
        ("prod", "database.restore_from", {"snapshot_arn": "arn:aws:rds:ap-northeast-3:333333333333:snapshot:s1", "identifier_suffix": "r1"}, "database.restore_from.snapshot_arn = 'arn:aws:rds:ap-northeast-3:333333333333:snapshot:s1': RDS restores only from a snapshot in the instance's region (ap-northeast-2); copy it there first"),
        ("prod", "database.restore_from", {"snapshot_arn": "snap-1", "identifier_suffix": "r1"}, "database.restore_from.snapshot_arn = 'snap-1': an RDS snapshot ARN, arn:aws:rds:<region>:<account>:snapshot:<name>"),
        ("prod", "database.restore_from", {"snapshot_arn": "arn:aws:rds:ap-northeast-2:333333333333:snapshot:s1", "identifier_suffix": "R_1"}, "database.restore_from.identifier_suffix = 'R_1': 1 to 8 lower-case letters and digits, e.g. r1"),
    ],
    ids=["same-region", "unknown-region", "prod-unlocked", "dev-locked", "lock-above-pitr", "lock-below-daily",
         "short-cooling-off", "min-above-max", "account-outside-prod", "own-account", "short-account",
         "bad-vault-name", "account-copy-cross-region", "prod-monthly", "unknown-database", "not-a-select", "two-statements", "unknown-class",
         "bad-time", "day-31", "zero-retention", "no-backup", "restore-other-region", "restore-not-an-arn",
         "restore-bad-suffix"],
)  # fmt: skip
def test_bad_backup_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    assert message in "\n".join(caught.value.problems)


def test_a_backup_account_in_the_environments_region_is_accepted_in_prod() -> None:
    data = with_change("prod", "backup.backup_account", {"account": "444444444444", "vault_name": "ticketing-prod",
                                                         "region": "ap-northeast-2"})  # fmt: skip
    config = validate_environment(data, source="prod.toml", expected_name="prod")
    assert config.backup.backup_account is not None


def minutes_of(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Seoul", "Asia/Kolkata"])  # whole, +9 and half-hour offsets
def test_rds_windows_end_well_before_the_daily_point_for_every_minute_of_the_day(time_zone: str) -> None:
    """AWS Backup cannot snapshot while RDS backs up or maintains the instance: for every daily point, RDS's
    backup window (daily, 30 min, never across midnight) ends at least 2.5 h before it and the maintenance
    window (Sundays, 30 min) at least 1.5 h before it, and the two never overlap."""
    offset = {"UTC": 0, "Asia/Seoul": 9 * 60, "Asia/Kolkata": 330}[time_zone]
    day = 24 * 60
    for local in range(day):
        daily_at = f"{local // 60:02d}:{local % 60:02d}"
        backup, maintenance = database_windows(daily_at, time_zone)
        point = (local - offset) % day  # minutes after midnight UTC
        start, end = (minutes_of(part) for part in backup.split("-"))
        assert end - start == 30, (daily_at, backup)  # also: end after start, so no midnight crossing
        assert 150 <= (point - end) % day <= 180, (daily_at, backup)
        days, clocks = zip(*(part.split(":", 1) for part in maintenance.split("-")), strict=True)
        m_start, m_end = (minutes_of(clock) for clock in clocks)
        assert (m_end - m_start) % day == 30, (daily_at, maintenance)
        assert (point - m_end) % day == 90, (daily_at, maintenance)
        maintained = {(m_start + minute) % day for minute in range(30)}
        assert not maintained & set(range(start, end)), (daily_at, backup, maintenance)
        assert days[0] in ("sat", "sun"), (daily_at, maintenance)


def test_the_committed_windows_come_before_the_daily_point() -> None:
    assert database_windows("03:00", "Asia/Seoul") == ("15:00-15:30", "sat:16:00-sat:16:30")


@pytest.mark.parametrize(("time_zone", "summer"), [("America/New_York", "2026-07-19"), ("Europe/Berlin", "2026-07-19"),
                                                  ("Australia/Sydney", "2026-07-19")])  # fmt: skip
def test_rds_windows_stay_before_the_point_when_the_clocks_change(time_zone: str, summer: str) -> None:
    """The windows are fixed in UTC from January's offset; in July the local point moves by an hour against
    them, and they must still end before it: the backup window at least 1.5 h, the maintenance window 30 min."""
    zone = ZoneInfo(time_zone)
    for local in range(0, 24 * 60, 5):
        daily_at = f"{local // 60:02d}:{local % 60:02d}"
        backup, maintenance = database_windows(daily_at, time_zone)
        point = datetime.fromisoformat(f"{summer}T{daily_at}").replace(tzinfo=zone).astimezone(UTC)
        point_minutes = point.hour * 60 + point.minute
        end = minutes_of(backup.split("-")[1])
        m_end = minutes_of(maintenance.split("-")[1].split(":", 1)[1])
        assert 90 <= (point_minutes - end) % (24 * 60) <= 240, (time_zone, daily_at, backup)
        assert 30 <= (point_minutes - m_end) % (24 * 60) <= 180, (time_zone, daily_at, maintenance)
