"""Config of the platform's services: config/services.toml, shared by every environment.

Each `[services.<name>]` table says what one service owns in the data tier (its database, cache key
prefixes, maintenance jobs) and how its container runs (port, paths, size, user, settings, secrets).
The rules across services (names, one owner per database, path patterns that overlap, listener rules)
and those across a service and an environment are in config/rules.py.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from config.fields import ConfigFieldError, Strict, bounded, visible
from config.path_patterns import pattern_problem
from platform_constructs.accepted_values import MAX_HEADER_VALUES, MAX_RULE_CONDITION_VALUES
from platform_constructs.limits import Limit
from platform_constructs.naming import pascal_case

#: A service name: it becomes part of role, user and resource names.
SERVICE_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,19}(?<!-)$")
_PG_IDENTIFIER = r"^[a-z_][a-z0-9_]{0,62}$"
_RESERVED_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})
#: What a cache key prefix may hold: printable ASCII without spaces or glob characters (the app adds `*`).
_KEY_PREFIX = re.compile(r"^[!-~]{1,100}$")
#: Tables of the maintenance jobs: `table` or `schema.table`, unquoted PostgreSQL identifiers.
TableName = Annotated[str, StringConstraints(pattern=r"^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$")]
ColumnName = Annotated[str, StringConstraints(pattern=_PG_IDENTIFIER)]
#: An ALB rule holds 5 condition values; the origin header takes up to 2 of them (during a rotation).
PATHS_PER_LISTENER_RULE = MAX_RULE_CONDITION_VALUES - MAX_HEADER_VALUES
#: Rules per ALB listener (the default quota, the listener's default action not counted).
MAX_LISTENER_RULES = 100
#: Container ports: unprivileged (a non-root process cannot listen below 1024).
CONTAINER_PORT = Limit(1024, 65535)
_CONTAINER_USER = re.compile(r"^[0-9]{1,10}(:[0-9]{1,10})?$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_SECRET_REFERENCE = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,400}(:[A-Za-z0-9_.-]{1,100})?$")
_METRIC_NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")
#: Container variables the services stack sets from the data tier and the platform; config may not set them.
PLATFORM_VARIABLE_PREFIXES = ("DATABASE_", "DB_", "REDIS_")
PLATFORM_VARIABLES = frozenset({"AWS_REGION", "SERVICE_NAME", "ENVIRONMENT", "METRIC_NAMESPACE"})
#: Months of partitions the job keeps ahead.
PARTITION_MONTHS_AHEAD = Limit(1, 24, "months")
#: Partitions are named `<table>_yYYYYmMM` and PostgreSQL names hold 63 bytes.
MAX_PARTITIONED_TABLE_NAME = 63 - len("_yYYYYmMM")


class PartitionedTableConfig(Strict):
    """A table partitioned by month on a date or timestamp column (created by the service's migrations)."""

    table: TableName = Field(
        description="The partitioned table: `table` or `schema.table`, unquoted lower-case PostgreSQL names; at most "
        f"{MAX_PARTITIONED_TABLE_NAME} characters, so that its partitions' names fit."
    )
    column: ColumnName = Field(description="The date or timestamp column the table is partitioned by.")
    months_ahead: int = bounded(
        PARTITION_MONTHS_AHEAD, "Monthly partitions the job keeps created ahead of today.", default=3
    )

    @field_validator("table")
    @classmethod
    def _partition_names_fit(cls, value: str) -> str:
        name = value.rpartition(".")[2]
        if len(name) > MAX_PARTITIONED_TABLE_NAME:
            raise ValueError(
                f"at most {MAX_PARTITIONED_TABLE_NAME} characters: partitions are named <table>_yYYYYmMM and "
                "PostgreSQL names hold 63"
            )
        return value


class ServiceConfig(Strict):
    """What one service owns in the data tier."""

    database: str | None = Field(
        default=None,
        description="PostgreSQL database the service owns (the bootstrap creates it with the service's "
        "role); default: none.",
    )
    cache_key_prefixes: tuple[str, ...] = Field(
        default=(),
        strict=False,
        max_length=20,
        description="Key prefixes its cache user may use (at most 20): every key that starts with one.",
    )
    vacuum_tables: tuple[TableName, ...] = Field(
        default=(),
        strict=False,
        max_length=50,
        description="Tables the daily VACUUM (ANALYZE) covers, `table` or `schema.table`; at most 50; needs database.",
    )
    partitioned_tables: tuple[PartitionedTableConfig, ...] = Field(
        default=(),
        strict=False,
        max_length=20,
        description="Tables partitioned by month whose partitions the daily job creates ahead; at most 20; "
        "needs database.",
    )
    # --- the container (the services tier) ---
    port: int = bounded(CONTAINER_PORT, "Port the container listens on (non-root: 1024 or above).", default=8000)
    health_check_path: str | None = Field(
        default=None, description="Path the ALB checks (default: load_balancer.health_check_path)."
    )
    paths: tuple[str, ...] = Field(
        default=(),
        strict=False,
        max_length=20,
        description="ALB path patterns below /api/ routed to this service (at most 20); none: reached only "
        "by other services.",
    )
    cpu: int = Field(default=256, description="Task CPU units (1024 = 1 vCPU); per environment in [compute.services].")
    memory_mib: int = Field(default=512, description="Task memory in MiB; per environment in [compute.services].")
    architecture: Literal["arm64", "x86_64"] = Field(
        default="arm64", description="CPU architecture of the image and the task: arm64 (Graviton) or x86_64."
    )
    read_only_root_filesystem: bool = Field(
        default=True, description="Mount the root filesystem read-only; only /tmp (a task volume) is writable."
    )
    user: str = Field(default="1000:1000", description="uid[:gid] the container runs as; never root.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Plain settings as container variables; never secrets, never the platform's own.",
    )
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Variable -> secret name below ticketing/<env>/<service>/ (optionally :json-key).",
    )
    metric_namespace: str | None = Field(
        default=None, description="The only CloudWatch namespace it may publish to (default: Ticketing/<Name>)."
    )

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str | None) -> str | None:
        if value is not None and (not re.fullmatch(_PG_IDENTIFIER, value) or value in _RESERVED_DATABASES):
            raise ValueError(
                "must be a PostgreSQL name of lower-case letters, digits and _ (a letter or _ first, at most 63), "
                f"not one of {', '.join(sorted(_RESERVED_DATABASES))}"
            )
        return value

    @field_validator("cache_key_prefixes")
    @classmethod
    def _prefixes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for prefix in value:
            if not _KEY_PREFIX.fullmatch(prefix) or any(c in prefix for c in "*?[]\\"):
                raise ValueError(
                    f"prefix '{visible(prefix)}': 1 to 100 printable ASCII characters without spaces or * ? [ ] \\ "
                    "(the cache user may use every key that starts with it)"
                )
        return value

    @model_validator(mode="after")
    def _jobs_need_a_database(self) -> ServiceConfig:
        if self.database is None and (self.vacuum_tables or self.partitioned_tables):
            raise ConfigFieldError(
                "database",
                None,
                "vacuum_tables and partitioned_tables need the service's own database: set it",
                relative=True,
            )
        return self

    @field_validator("paths")
    @classmethod
    def _path_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            problem = pattern_problem(pattern)
            if problem:
                raise ValueError(f"{pattern!r}: {problem}")
            if not (pattern == "/api" or pattern.startswith("/api/")):
                raise ValueError(
                    f"{pattern!r}: CloudFront sends only /api and /api/* to the load balancer (everything else is "
                    "the single-page app): use a pattern below /api/"
                )
        return value

    @field_validator("health_check_path")
    @classmethod
    def _health_path(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or pattern_problem(value) or "*" in value or "?" in value):
            raise ValueError("a path starting with /, without wildcards, e.g. /health")
        return value

    @field_validator("user")
    @classmethod
    def _not_root(cls, value: str) -> str:
        if not _CONTAINER_USER.fullmatch(value):
            raise ValueError("uid or uid:gid in digits, e.g. 1000:1000")
        if value.split(":")[0] == "0":
            raise ValueError("uid 0 is root: the services run as an unprivileged user, e.g. 1000:1000")
        return value

    @field_validator("environment")
    @classmethod
    def _plain_settings(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _VARIABLE.fullmatch(name):
                raise ValueError(f"{visible(name)!r}: a variable name is letters, digits and _, not a digit first")
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, secret in value.items():
            if not _VARIABLE.fullmatch(name):
                raise ValueError(f"{visible(name)!r}: a variable name is letters, digits and _, not a digit first")
            if not _SECRET_REFERENCE.fullmatch(secret):
                raise ValueError(
                    f"{name} = {visible(secret)!r}: a secret name of A-Z a-z 0-9 / _ + = . @ -, optionally "
                    "followed by :json-key"
                )
        return value

    @field_validator("metric_namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and (not _METRIC_NAMESPACE.fullmatch(value) or value.startswith("AWS/")):
            raise ValueError("1 to 255 of A-Z a-z 0-9 . - _ / # :, not starting with AWS/, e.g. Ticketing/Bookings")
        return value

    def namespace(self, name: str) -> str:
        """The CloudWatch namespace the service publishes to: config's, else Ticketing/<CamelName>."""
        return self.metric_namespace or "Ticketing/" + pascal_case(name)
