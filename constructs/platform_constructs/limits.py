"""Numeric limits the constructs enforce: one home for each, imported by whoever checks it.

Most are AWS's own (RDS, RDS Proxy, ElastiCache, PostgreSQL parameter ranges); a few are this
library's choices, marked as such. The environment-config schema imports the same objects, so a
value the schema accepts is never refused later by a construct with another bound.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """An inclusive integer range with its unit, e.g. ``Limit(1, 35, "days")``."""

    low: int
    high: int
    unit: str = ""

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high

    def describe(self) -> str:
        """``1 to 35 days``: the words an error message uses."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.low} to {self.high}{unit}"

    def check(self, name: str, value: int) -> int:
        """`value`, or ValueError naming `name`, the allowed range and the value."""
        if value not in self:
            unit = f" {self.unit}" if self.unit else ""
            raise ValueError(f"{name}: must be between {self.low} and {self.high}{unit}, got {value}")
        return value


# --- RDS for PostgreSQL -------------------------------------------------------------------------
#: Read replicas per primary: this library's ceiling (RDS for PostgreSQL itself allows 15).
READ_REPLICAS = Limit(0, 5)
#: gp3 storage RDS accepts for PostgreSQL.
ALLOCATED_STORAGE_GIB = Limit(20, 65536, "GiB")
#: Automated backups; 0 (off) is refused by this library: replicas and point-in-time recovery need them.
BACKUP_RETENTION_DAYS = Limit(1, 35, "days")
#: Ports RDS for PostgreSQL accepts.
DATABASE_PORT = Limit(1150, 65535)
#: `log_min_duration_statement` and `log_autovacuum_min_duration`, in ms (this library caps them at an hour).
LOG_DURATION_THRESHOLD_MS = Limit(0, 3_600_000, "ms")
#: `idle_in_transaction_session_timeout`, in ms: at least a second, at most an hour (this library's choice).
IDLE_IN_TRANSACTION_TIMEOUT_MS = Limit(1000, 3_600_000, "ms")
#: Rotation schedule of the master secret: this library's choice (Secrets Manager itself allows up to 1000 days).
CREDENTIAL_ROTATION_DAYS = Limit(1, 365, "days")


def min_storage_ceiling_gib(allocated_storage_gib: int) -> int:
    """Smallest storage-autoscaling ceiling RDS accepts: 10% above the allocated storage, rounded up."""
    return -(-allocated_storage_gib * 11 // 10)  # ceil(110%) in integers: no float rounding


# --- RDS Proxy ----------------------------------------------------------------------------------
PROXY_BORROW_TIMEOUT_SECONDS = Limit(1, 3600, "seconds")
#: Shares of the instance's max_connections, in percent.
PROXY_MAX_CONNECTIONS_PERCENT = Limit(1, 100)
#: The upper bound is really the proxy's max_connections_percent.
PROXY_MAX_IDLE_CONNECTIONS_PERCENT = Limit(0, 100)

# --- ElastiCache (Valkey / Redis OSS, cluster mode disabled) ------------------------------------
#: Replicas per node group: ElastiCache allows 5; automatic failover needs at least 1.
CACHE_REPLICAS = Limit(1, 5)
#: Daily snapshots kept: ElastiCache allows 1 to 35.
CACHE_SNAPSHOT_RETENTION_DAYS = Limit(1, 35, "days")
#: NIST 800-53 R5 (ElastiCacheRedisClusterAutomaticBackup) asks for at least 15 days of snapshots.
NIST_MIN_CACHE_SNAPSHOT_RETENTION_DAYS = 15
CACHE_PORT = Limit(1024, 65535)
