"""Config of the PostgreSQL primary, its read replicas, RDS Proxy and the services' pools: `[database]`.

The rules inside one table (the pool's sizes, the proxy's shares, the storage ceiling) are checked here;
the rules that need another section (prod's Multi-AZ and replicas, the class the region offers, the
snapshot's region) are in config/rules.py.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from config.aws_offerings import deprecated_postgres_versions
from config.fields import ConfigFieldError, Strict, bounded, raise_all, visible
from config.instance_classes import DATABASE_CLASS, check_class
from config.log_retention import check_retention, retention_days
from platform_constructs import limits
from platform_constructs.accepted_values import (
    DEFAULT_POSTGRES_MAJOR,
    POSTGRES_INSTANCE_FAMILIES,
    POSTGRES_VERSIONS,
)
from platform_constructs.limits import Limit

#: RDS for PostgreSQL's default max_connections never exceeds 5000, whatever the instance class.
POOL_CONNECTIONS = Limit(1, 5000, "connections")
POOL_OVERFLOW = Limit(0, POOL_CONNECTIONS.high, "connections")
POOL_TIMEOUT_SECONDS = Limit(1, 3600, "seconds")
POOL_RECYCLE_SECONDS = Limit(60, 86_400, "seconds")

_SNAPSHOT_ARN = re.compile(r"^arn:aws:rds:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):snapshot:[A-Za-z0-9:-]{1,255}$")
_RESTORE_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")
_EXTENSION = re.compile(r"[a-z_][a-z0-9_-]{0,62}")


class ProxyConfig(Strict):
    """RDS Proxy in front of the writer."""

    borrow_timeout_seconds: int = bounded(
        limits.PROXY_BORROW_TIMEOUT_SECONDS,
        "How long a client waits for a pooled connection before the proxy gives up (seed: 30).",
    )
    max_connections_percent: int = bounded(
        limits.PROXY_MAX_CONNECTIONS_PERCENT, "Share of the database's max_connections the proxy may open, in %."
    )
    max_idle_connections_percent: int = bounded(
        limits.PROXY_MAX_IDLE_CONNECTIONS_PERCENT,
        "Share of max_connections the proxy keeps open while idle, in %; at most max_connections_percent.",
    )

    @model_validator(mode="after")
    def _idle_within_max(self) -> ProxyConfig:
        if self.max_idle_connections_percent > self.max_connections_percent:
            raise ConfigFieldError(
                "max_idle_connections_percent",
                self.max_idle_connections_percent,
                f"must be 0 to max_connections_percent ({self.max_connections_percent})",
                relative=True,
            )
        return self


class PoolConfig(Strict):
    """Client-side pool settings handed to every service (seed: SQLAlchemy QueuePool)."""

    min_connections: int = bounded(POOL_CONNECTIONS, "Fewest connections a service keeps to the database (seed: 10).")
    max_connections: int = bounded(POOL_CONNECTIONS, "Most connections a service may open in all (seed: 50).")
    pool_size: int = bounded(POOL_CONNECTIONS, "Persistent connections per process (seed: 20).")
    max_overflow: int = bounded(POOL_OVERFLOW, "Extra connections per process under load, above pool_size (seed: 10).")
    pool_timeout_seconds: int = bounded(
        POOL_TIMEOUT_SECONDS, "How long a request waits for a free connection before it fails (seed: 30)."
    )
    pool_recycle_seconds: int = bounded(
        POOL_RECYCLE_SECONDS, "Age after which a connection is closed and opened again (seed: 3600)."
    )
    pre_ping: bool = Field(description="Check a connection with a round trip before each use (seed: true).")

    @model_validator(mode="after")
    def _sizes_are_consistent(self) -> PoolConfig:
        problems = []
        if self.min_connections > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "min_connections",
                    self.min_connections,
                    f"must be 1 to max_connections ({self.max_connections})",
                    relative=True,
                )
            )
        if self.pool_size > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "pool_size", self.pool_size, f"must be 1 to max_connections ({self.max_connections})", relative=True
                )
            )
        elif self.pool_size + self.max_overflow > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "max_overflow",
                    self.max_overflow,
                    f"must be 0 to {self.max_connections - self.pool_size}: pool_size + max_overflow "
                    f"({self.pool_size} + {self.max_overflow}) must not exceed max_connections "
                    f"({self.max_connections})",
                    relative=True,
                )
            )
        raise_all(problems)
        return self


class RestoreSource(Strict):
    """Restore the primary from a snapshot (docs/runbooks/restore.md): a reviewed change that replaces it."""

    snapshot_arn: str = Field(
        description="The snapshot to restore: arn:aws:rds:<region>:<account>:snapshot:<name>, in the main region."
    )
    identifier_suffix: str = Field(
        description="1 to 8 lower-case letters and digits: the restored primary is "
        "ticketing-<env>-postgres-<suffix>, a name the old one does not hold."
    )

    @field_validator("snapshot_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not _SNAPSHOT_ARN.fullmatch(value):
            raise ValueError("an RDS snapshot ARN, arn:aws:rds:<region>:<account>:snapshot:<name>")
        return value

    @field_validator("identifier_suffix")
    @classmethod
    def _suffix(cls, value: str) -> str:
        if not _RESTORE_SUFFIX.fullmatch(value):
            raise ValueError("1 to 8 lower-case letters and digits, e.g. r1")
        return value

    @property
    def region(self) -> str:
        match = _SNAPSHOT_ARN.fullmatch(self.snapshot_arn)
        assert match is not None
        return match["region"]


class DatabaseConfig(Strict):
    """PostgreSQL primary, read replicas and RDS Proxy."""

    extensions: tuple[str, ...] = Field(
        default=("pg_stat_statements", "pg_trgm", "pg_bigm"),
        strict=False,
        max_length=30,
        description="PostgreSQL extensions the bootstrap creates in every service database (missing ones are "
        "reported); at most 30.",
    )

    instance_class: str = Field(
        description="Primary instance class, e.g. db.r7g.large (Graviton families only, and a size the region offers)."
    )
    replica_instance_class: str = Field(description="Read-replica instance class, e.g. db.r7g.large (Graviton only).")
    read_replicas: int = bounded(limits.READ_REPLICAS, "Read replicas of the primary; prod needs at least 2.")
    multi_az: bool = Field(description="Keep a synchronous standby in a second availability zone; required in prod.")
    allocated_storage_gib: int = bounded(limits.ALLOCATED_STORAGE_GIB, "Initial gp3 storage of the primary, in GiB.")
    max_allocated_storage_gib: int = Field(
        le=limits.ALLOCATED_STORAGE_GIB.high,
        description="Storage autoscaling ceiling in GiB: at least 10% above allocated_storage_gib, at most 65536.",
        json_schema_extra={"allowed": "10% above allocated_storage_gib to 65536 GiB"},
    )
    backup_retention_days: int = bounded(
        limits.BACKUP_RETENTION_DAYS,
        "Days RDS keeps automated backups (0, off, would break read replicas and point-in-time restore).",
    )
    deletion_protection: bool = Field(description="RDS deletion protection on the primary; required in prod.")
    slow_query_threshold_ms: int = bounded(
        limits.LOG_DURATION_THRESHOLD_MS,
        "log_min_duration_statement: statements running longer than this many milliseconds are logged.",
    )
    idle_in_transaction_timeout_ms: int = bounded(
        limits.IDLE_IN_TRANSACTION_TIMEOUT_MS,
        "idle_in_transaction_session_timeout: a session idle inside a transaction this many milliseconds is ended.",
    )
    credential_rotation_days: int = bounded(
        limits.CREDENTIAL_ROTATION_DAYS, "Days between rotations of the master secret's password."
    )
    log_retention_days: int = retention_days("How long the PostgreSQL log export is kept in CloudWatch Logs.")
    engine_version: str = Field(
        default=DEFAULT_POSTGRES_MAJOR,
        description="PostgreSQL major version ('17': RDS applies minor upgrades) or a pinned minor ('17.9').",
    )
    allow_major_version_upgrade: bool = Field(
        default=False, description="Set true for the deploy that moves engine_version to a new major version."
    )
    proxy: ProxyConfig = Field(description="RDS Proxy in front of the writer: its pool of database connections.")
    pool: PoolConfig = Field(description="The connection pool each service keeps (handed to it as settings).")
    restore_from: RestoreSource | None = Field(
        default=None, description="Restore the primary from this snapshot (replaces it); default: no restore."
    )

    @field_validator("instance_class", "replica_instance_class")
    @classmethod
    def _graviton_class(cls, value: str) -> str:
        return check_class(value, DATABASE_CLASS, POSTGRES_INSTANCE_FAMILIES, "db.r7g.large")

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return check_retention(value)

    @field_validator("extensions")
    @classmethod
    def _extension_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _EXTENSION.fullmatch(name):
                raise ValueError(f"extension '{visible(name)}': lower-case letters, digits, _ and -, a letter first")
        return value

    @field_validator("engine_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        majors = sorted({v for v in POSTGRES_VERSIONS if "." not in v}, key=int)
        if value not in POSTGRES_VERSIONS:
            raise ValueError(
                f"not a PostgreSQL version aws-cdk-lib offers; use a major version ({', '.join(majors)}) or one of its "
                f"minors, e.g. {majors[-1]}.1"
            )
        if value in deprecated_postgres_versions():
            raise ValueError(
                f"deprecated: RDS no longer creates instances on {value} (cfn-lint's AWS data); use the major version "
                f"only ({value.split('.')[0]}) or a newer minor"
            )
        return value

    @model_validator(mode="after")
    def _storage_ceiling(self) -> DatabaseConfig:
        ceiling = limits.min_storage_ceiling_gib(self.allocated_storage_gib)
        highest = limits.ALLOCATED_STORAGE_GIB.high
        if ceiling > highest:
            largest = max(
                g for g in range(highest * 10 // 11 - 2, highest + 1) if limits.min_storage_ceiling_gib(g) <= highest
            )
            raise ConfigFieldError(
                "allocated_storage_gib",
                self.allocated_storage_gib,
                f"must be {limits.ALLOCATED_STORAGE_GIB.low} to {largest}: storage autoscaling needs a ceiling "
                f"10% above it, and the ceiling can be at most {highest} GiB",
                relative=True,
            )
        if self.max_allocated_storage_gib < ceiling:
            raise ConfigFieldError(
                "max_allocated_storage_gib",
                self.max_allocated_storage_gib,
                f"must be {ceiling} to {limits.ALLOCATED_STORAGE_GIB.high}: storage autoscaling needs a ceiling at "
                f"least 10% above allocated_storage_gib ({self.allocated_storage_gib})",
                relative=True,
            )
        return self
