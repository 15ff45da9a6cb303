"""The one typed schema every environment file is validated against.

Nothing here touches AWS or the CDK: a file is parsed, checked and turned into frozen
objects before any construct exists. Unknown keys, wrong types, out-of-range values and
contradictions between keys are all rejected here, so a bad file never half-builds an app.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
import unicodedata
import zoneinfo
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from config.aws_offerings import cache_node_types, deprecated_postgres_versions, postgres_instance_classes
from config.aws_regions import REGIONS, SOURCE as REGIONS_SOURCE, ZONES_BY_REGION
from config.backup import BackupConfig, backup_problems
from config.compute import ComputeConfig, LoadBalancerConfig
from config.cost import CostConfig
from config.edge import EdgeConfig
from config.fields import (
    ConfigFieldError,
    Strict as _Strict,
    bounded,
    clock_time,
    key_path,
    raise_all,
    visible,
)
from config.observability import ObservabilityConfig
from config.path_patterns import overlap, pattern_problem
from platform_constructs import limits
from platform_constructs.limits import Limit
from platform_constructs.log_retention import RETENTION_BY_DAYS
from platform_constructs.naming import pascal_case
from platform_constructs.origin_load_balancer import MAX_HEADER_VALUES, MAX_RULE_CONDITION_VALUES
from platform_constructs.postgres import (
    DEFAULT_ENGINE_VERSION as DEFAULT_POSTGRES_VERSION,
    GRAVITON_FAMILIES as DB_INSTANCE_FAMILIES,
    postgres_versions,
)
from platform_constructs.redis import (
    ALLOWED_NODE_FAMILIES as CACHE_NODE_FAMILIES,
    ENGINE_VERSIONS as CACHE_ENGINE_VERSION_FAMILIES,
    EVICTION_POLICIES,
)
from platform_constructs.tag_rules import required_tag_problems

EnvironmentName = Literal["dev", "staging", "prod"]

#: Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = tuple(sorted(RETENTION_BY_DAYS))

#: PostgreSQL major version used when config names none: that of the construct's default.
DEFAULT_POSTGRES_MAJOR: str = DEFAULT_POSTGRES_VERSION.postgres_major_version
#: Cache engine versions per engine, from the construct.
CACHE_ENGINE_VERSIONS: dict[str, tuple[str, ...]] = {e: tuple(v) for e, v in CACHE_ENGINE_VERSION_FAMILIES.items()}

#: Tags the code sets itself (on every resource; the Commitment* tags on steady-state resources); config
#: may not override them.
RESERVED_TAG_KEYS = frozenset({"Project", "Environment", "ManagedBy", "Commitment", "CommitmentTerm", "CommitmentSize"})
#: Tags every environment file must provide.
REQUIRED_TAG_KEYS = ("CostCenter", "Owner")
#: AWS's limit of tags per resource, counting every tag on it.
MAX_TAGS_PER_RESOURCE = 50
#: Tags aws-cdk-lib adds to some resources itself: Name, aws-cdk:subnet-name and aws-cdk:subnet-type on
#: subnets (tests/test_tags.py checks that no resource carries more tags than this allows for).
CDK_ADDED_TAGS = 3
#: Most tags the app sets on one resource: the three on every resource, the three Commitment* tags and
#: the protection tag (a database instance carries all seven); aws-cdk-lib's three go on subnets only,
#: which carry no commitment or protection tag.
APP_TAGS_PER_RESOURCE = max(len(RESERVED_TAG_KEYS) + 1, 3 + CDK_ADDED_TAGS)
#: Tags an environment file may set: what is left of AWS's 50 after the app's own.
MAX_CONFIG_TAGS = MAX_TAGS_PER_RESOURCE - APP_TAGS_PER_RESOURCE
#: Tag key and value lengths AWS accepts (values: this platform also refuses empty ones).
TAG_KEY_LENGTH = Limit(1, 128, "characters")
TAG_VALUE_LENGTH = Limit(1, 256, "characters")
#: Besides letters, digits and spaces, the only characters AWS allows in tags.
TAG_PUNCTUATION = "_.:/=+-@"

#: RDS for PostgreSQL's default max_connections never exceeds 5000, whatever the instance class.
POOL_CONNECTIONS = Limit(1, 5000, "connections")
POOL_OVERFLOW = Limit(0, POOL_CONNECTIONS.high, "connections")
POOL_TIMEOUT_SECONDS = Limit(1, 3600, "seconds")
POOL_RECYCLE_SECONDS = Limit(60, 86_400, "seconds")
#: ElastiCache keeps snapshots 1 to 35 days; NIST 800-53 R5 (ElastiCacheRedisClusterAutomaticBackup) asks for 15.
CACHE_SNAPSHOT_RETENTION_DAYS = Limit(
    limits.NIST_MIN_CACHE_SNAPSHOT_RETENTION_DAYS, limits.CACHE_SNAPSHOT_RETENTION_DAYS.high, "days"
)

#: Subnet sizes per tier. Private subnets are large because every Fargate task takes an IP.
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_MASK = 20
ISOLATED_SUBNET_MASK = 24

AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]


class NetworkConfig(_Strict):
    vpc_cidr: str = Field(description="IPv4 CIDR of the VPC, inside an RFC 1918 private range.")
    nat_gateways: int = Field(
        ge=1,
        description="NAT gateways: 1 to one per availability zone; one per zone in prod.",
        json_schema_extra={"allowed": "1 to one per availability zone"},
    )
    flow_log_retention_days: int = Field(description="Days VPC flow logs are kept in CloudWatch Logs.")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_is_private_block(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(
                f"must be an IPv4 network such as 10.20.0.0/16 with no host bits set ({visible(str(error))})"
            ) from None
        if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
            raise ValueError(
                f"prefix length must be /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX} (anything smaller than "
                f"/{MAX_VPC_PREFIX} has no room for two zones of subnets), got /{network.prefixlen}"
            )
        private_blocks = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        if not any(network.subnet_of(block) for block in private_blocks):
            raise ValueError("must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return check_retention(value)


def _check_class(value: str, pattern: re.Pattern[str], families: tuple[str, ...], example: str) -> str:
    match = pattern.fullmatch(value)
    if not match:
        raise ValueError(f"must look like {example}")
    if match["family"] not in families:
        raise ValueError(f"unknown or non-Graviton instance family {match['family']!r}; allowed: {list(families)}")
    return value


_DB_CLASS = re.compile(r"^db\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|[0-9]*xlarge)$")
_CACHE_NODE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|[0-9]*xlarge)$")


class ProxyConfig(_Strict):
    """RDS Proxy in front of the writer."""

    borrow_timeout_seconds: int = bounded(
        limits.PROXY_BORROW_TIMEOUT_SECONDS, "Wait for a pooled connection (seed: 30)."
    )
    max_connections_percent: int = bounded(
        limits.PROXY_MAX_CONNECTIONS_PERCENT, "Share of max_connections the proxy may open."
    )
    max_idle_connections_percent: int = bounded(
        limits.PROXY_MAX_IDLE_CONNECTIONS_PERCENT, "Share kept open while idle; at most max_connections_percent."
    )

    @model_validator(mode="after")
    def _idle_within_max(self) -> ProxyConfig:
        if self.max_idle_connections_percent > self.max_connections_percent:
            raise ConfigFieldError(
                "database.proxy.max_idle_connections_percent",
                self.max_idle_connections_percent,
                f"must be 0 to max_connections_percent ({self.max_connections_percent})",
            )
        return self


class PoolConfig(_Strict):
    """Client-side pool settings handed to every service (seed: SQLAlchemy QueuePool)."""

    min_connections: int = bounded(POOL_CONNECTIONS, "Seed: 10.")
    max_connections: int = bounded(POOL_CONNECTIONS, "Seed: 50.")
    pool_size: int = bounded(POOL_CONNECTIONS, "Persistent connections per process (seed: 20).")
    max_overflow: int = bounded(POOL_OVERFLOW, "Extra connections under load (seed: 10).")
    pool_timeout_seconds: int = bounded(POOL_TIMEOUT_SECONDS, "Wait for a free connection (seed: 30).")
    pool_recycle_seconds: int = bounded(POOL_RECYCLE_SECONDS, "Reconnect after this long (seed: 3600).")
    pre_ping: bool = Field(description="Check a connection before use (seed: true).")

    @model_validator(mode="after")
    def _sizes_are_consistent(self) -> PoolConfig:
        problems = []
        if self.min_connections > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "database.pool.min_connections",
                    self.min_connections,
                    f"must be 1 to max_connections ({self.max_connections})",
                )
            )
        if self.pool_size > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "database.pool.pool_size", self.pool_size, f"must be 1 to max_connections ({self.max_connections})"
                )
            )
        elif self.pool_size + self.max_overflow > self.max_connections:
            problems.append(
                ConfigFieldError(
                    "database.pool.max_overflow",
                    self.max_overflow,
                    f"must be 0 to {self.max_connections - self.pool_size}: pool_size + max_overflow "
                    f"({self.pool_size} + {self.max_overflow}) must not exceed max_connections "
                    f"({self.max_connections})",
                )
            )
        raise_all(problems)
        return self


_SNAPSHOT_ARN = re.compile(r"^arn:aws:rds:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):snapshot:[A-Za-z0-9:-]{1,255}$")
_RESTORE_SUFFIX = re.compile(r"^[a-z0-9]{1,8}$")


class RestoreSource(_Strict):
    """Restore the primary from a snapshot (README: Recovery): a reviewed change that replaces it."""

    snapshot_arn: str = Field(description="arn:aws:rds:<region>:<account>:snapshot:<name>, in the main region.")
    identifier_suffix: str = Field(
        description="The restored primary is ticketing-<env>-postgres-<suffix>: a name the old one does not hold."
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


class DatabaseConfig(_Strict):
    """PostgreSQL primary, read replicas and RDS Proxy."""

    extensions: tuple[str, ...] = Field(
        default=("pg_stat_statements", "pg_trgm", "pg_bigm"),
        strict=False,
        max_length=30,
        description="Extensions the bootstrap creates in every service database (missing ones are reported).",
    )

    instance_class: str = Field(description="Primary instance class, e.g. db.r7g.large (Graviton only).")
    replica_instance_class: str = Field(description="Read-replica instance class.")
    read_replicas: int = bounded(limits.READ_REPLICAS, "Read replicas; prod needs at least 2.")
    multi_az: bool = Field(description="Standby in a second AZ; required in prod.")
    allocated_storage_gib: int = bounded(limits.ALLOCATED_STORAGE_GIB, "Initial gp3 storage.")
    max_allocated_storage_gib: int = Field(
        le=limits.ALLOCATED_STORAGE_GIB.high,
        description="Storage autoscaling ceiling: at least 10% above allocated_storage_gib, at most 65536.",
        json_schema_extra={"allowed": "10% above allocated_storage_gib to 65536 GiB"},
    )
    backup_retention_days: int = bounded(
        limits.BACKUP_RETENTION_DAYS, "Automated backups (0, off, would break read replicas and point-in-time restore)."
    )
    deletion_protection: bool = Field(description="RDS deletion protection; required in prod.")
    slow_query_threshold_ms: int = bounded(limits.LOG_DURATION_THRESHOLD_MS, "log_min_duration_statement.")
    idle_in_transaction_timeout_ms: int = bounded(
        limits.IDLE_IN_TRANSACTION_TIMEOUT_MS, "idle_in_transaction_session_timeout."
    )
    credential_rotation_days: int = bounded(limits.CREDENTIAL_ROTATION_DAYS, "Master secret rotation schedule.")
    log_retention_days: int = Field(description="PostgreSQL log export retention.")
    engine_version: str = Field(
        default=DEFAULT_POSTGRES_MAJOR,
        description="PostgreSQL major version ('17': RDS applies minor upgrades) or a pinned minor ('17.9').",
    )
    allow_major_version_upgrade: bool = Field(
        default=False, description="Set true for the deploy that moves engine_version to a new major version."
    )
    proxy: ProxyConfig
    pool: PoolConfig
    restore_from: RestoreSource | None = None

    @field_validator("instance_class", "replica_instance_class")
    @classmethod
    def _graviton_class(cls, value: str) -> str:
        return _check_class(value, _DB_CLASS, DB_INSTANCE_FAMILIES, "db.r7g.large")

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return check_retention(value)

    @field_validator("extensions")
    @classmethod
    def _extension_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,62}", name):
                raise ValueError(f"extension '{visible(name)}': lower-case letters, digits, _ and -, a letter first")
        return value

    @field_validator("engine_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        known = postgres_versions()
        majors = sorted({v for v in known if "." not in v}, key=int)
        if value not in known:
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
                "database.allocated_storage_gib",
                self.allocated_storage_gib,
                f"must be {limits.ALLOCATED_STORAGE_GIB.low} to {largest}: storage autoscaling needs a ceiling "
                f"10% above it, and the ceiling can be at most {highest} GiB",
            )
        if self.max_allocated_storage_gib < ceiling:
            raise ConfigFieldError(
                "database.max_allocated_storage_gib",
                self.max_allocated_storage_gib,
                f"must be {ceiling} to {limits.ALLOCATED_STORAGE_GIB.high}: storage autoscaling needs a ceiling at "
                f"least 10% above allocated_storage_gib ({self.allocated_storage_gib})",
            )
        return self


class CacheConfig(_Strict):
    """ElastiCache (Valkey or Redis OSS) replication group."""

    engine: Literal["valkey", "redis"]
    node_type: str = Field(description="e.g. cache.r7g.large (Graviton only).")
    replicas: int = bounded(limits.CACHE_REPLICAS, "Replicas of the primary.")
    multi_az: bool = Field(description="Automatic failover to a replica in another AZ; required in prod.")
    maxmemory_policy: str = Field(description="Eviction policy, e.g. volatile-lru.")
    snapshot_retention_days: int = bounded(CACHE_SNAPSHOT_RETENTION_DAYS, "Daily snapshots kept.")
    log_retention_days: int = Field(description="Slow-log and engine-log retention.")
    engine_version: str | None = Field(
        default=None, description="Engine version, e.g. '8.0' (default: the construct's for the engine)."
    )

    @field_validator("node_type")
    @classmethod
    def _graviton_node(cls, value: str) -> str:
        return _check_class(value, _CACHE_NODE, CACHE_NODE_FAMILIES, "cache.r7g.large")

    @field_validator("maxmemory_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in EVICTION_POLICIES:
            raise ValueError(f"unknown eviction policy; allowed: {', '.join(EVICTION_POLICIES)}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return check_retention(value)

    @model_validator(mode="after")
    def _version_of_engine(self) -> CacheConfig:
        allowed = CACHE_ENGINE_VERSIONS[self.engine]
        if self.engine_version is not None and self.engine_version not in allowed:
            raise ConfigFieldError(
                "cache.engine_version", self.engine_version, f"{self.engine} versions allowed: {', '.join(allowed)}"
            )
        return self


_SERVICE_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,19}(?<!-)$")
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
#: One maintenance statement may run at most as long as a Lambda function may (15 minutes).
MAINTENANCE_STATEMENT_TIMEOUT_SECONDS = Limit(10, 900, "seconds")
#: Partitions are named `<table>_yYYYYmMM` and PostgreSQL names hold 63 bytes.
MAX_PARTITIONED_TABLE_NAME = 63 - len("_yYYYYmMM")


class PartitionedTableConfig(_Strict):
    """A table partitioned by month on a date or timestamp column (created by the service's migrations)."""

    table: TableName
    column: ColumnName
    months_ahead: int = bounded(PARTITION_MONTHS_AHEAD, "Monthly partitions created ahead of today.", default=3)

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


class ServiceConfig(_Strict):
    """What one service owns in the data tier."""

    database: str | None = Field(default=None, description="Logical database the service owns; none by default.")
    cache_key_prefixes: tuple[str, ...] = Field(
        default=(), strict=False, max_length=20, description="Key prefixes its cache user may use."
    )
    vacuum_tables: tuple[TableName, ...] = Field(default=(), strict=False, max_length=50)
    partitioned_tables: tuple[PartitionedTableConfig, ...] = Field(default=(), strict=False, max_length=20)
    # --- the container (the services tier) ---
    port: int = bounded(CONTAINER_PORT, "Port the container listens on (non-root: 1024 or above).", default=8000)
    health_check_path: str | None = Field(
        default=None, description="Path the ALB checks (default: load_balancer.health_check_path)."
    )
    paths: tuple[str, ...] = Field(
        default=(),
        strict=False,
        max_length=20,
        description="ALB path patterns routed to this service; none: reached only by other services.",
    )
    cpu: int = Field(default=256, description="Task CPU units (1024 = 1 vCPU); per environment in [compute.services].")
    memory_mib: int = Field(default=512, description="Task memory in MiB; per environment in [compute.services].")
    architecture: Literal["arm64", "x86_64"] = Field(default="arm64", description="CPU architecture of the image.")
    read_only_root_filesystem: bool = Field(default=True, description="Writable only /tmp (a task volume).")
    user: str = Field(default="1000:1000", description="uid[:gid] the container runs as; never root.")
    environment: dict[str, str] = Field(default_factory=dict, description="Plain settings; never secrets.")
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
            raise ValueError("vacuum_tables and partitioned_tables need the service's own database: set database")
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

    def platform_variable_problems(self, name: str) -> list[ConfigFieldError]:
        """Variables the platform sets itself (from the data tier) may not come from config."""
        problems = []
        for section, variables in (("environment", self.environment), ("secrets", self.secrets)):
            for variable in variables:
                if variable in PLATFORM_VARIABLES or variable.startswith(PLATFORM_VARIABLE_PREFIXES):
                    hint = (
                        "the platform sets it from the data tier"
                        if self.database is not None or not variable.startswith(("DATABASE_", "DB_"))
                        else f"{name} has no database: set services.{name}.database to give it one, and the "
                        "platform sets DATABASE_* itself"
                    )
                    problems.append(
                        ConfigFieldError(
                            key_path(("services", name, section, variable)),
                            variables[variable],
                            f"reserved ({', '.join(p + '*' for p in PLATFORM_VARIABLE_PREFIXES)}, "
                            f"{', '.join(sorted(PLATFORM_VARIABLES))}): {hint}",
                        )
                    )
        return problems

    def namespace(self, name: str) -> str:
        """The CloudWatch namespace the service publishes to: config's, else Ticketing/<CamelName>."""
        return self.metric_namespace or "Ticketing/" + pascal_case(name)


class ServicesConfig(_Strict):
    """config/services.toml: the platform's services, shared by every environment."""

    services: dict[str, ServiceConfig] = Field(min_length=1, max_length=20)

    @field_validator("services")
    @classmethod
    def _names_and_databases(cls, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        problems = []
        owners: dict[str, str] = {}
        for name, service in services.items():
            if not _SERVICE_NAME.fullmatch(name):
                problems.append(
                    ConfigFieldError(
                        key_path(("services", name)),
                        "{table}",
                        "a service name is 1 to 20 lower-case letters, digits and single hyphens, a letter first "
                        "(it becomes part of role, user and resource names)",
                    )
                )
            if service.database is not None:
                earlier = owners.setdefault(service.database, name)
                if earlier != name:
                    problems.append(
                        ConfigFieldError(
                            key_path(("services", name, "database")),
                            service.database,
                            f"already owned by {earlier}: each database belongs to one service",
                        )
                    )
            problems.extend(service.platform_variable_problems(name))
        problems.extend(_path_problems(services))
        rules = sum(-(-len(s.paths) // PATHS_PER_LISTENER_RULE) for s in services.values())
        if rules > MAX_LISTENER_RULES:
            problems.append(
                ConfigFieldError(
                    "services",
                    "{table}",
                    f"the path patterns need {rules} listener rules ({PATHS_PER_LISTENER_RULE} patterns per rule next "
                    f"to the origin header's values) and an ALB holds {MAX_LISTENER_RULES}: use fewer, wider patterns",
                )
            )
        raise_all(problems)
        return services


def _path_problems(services: dict[str, ServiceConfig]) -> list[ConfigFieldError]:
    """Every pair of path patterns that could match one request path, within or across services."""
    problems = []
    routes = [(name, index, pattern) for name, s in services.items() for index, pattern in enumerate(s.paths)]
    for position, (name, index, pattern) in enumerate(routes):
        for other, _, other_pattern in routes[:position]:
            if not overlap(pattern, other_pattern):
                continue
            if pattern == other_pattern:
                why = "is listed twice" if other == name else f"is also {other}'s: two services on one path"
            else:
                why = (
                    f"overlaps {other_pattern!r} of {other if other != name else 'the same service'}: "
                    "some path matches both"
                )
                if other != name:
                    why += ", so the listener rule order would pick the service; make them disjoint"
            problems.append(ConfigFieldError(key_path(("services", name, "paths", index)), pattern, why))
    return problems


#: The longest a maintenance run may take: a Lambda function's limit, less a minute for the report.
MAINTENANCE_RUN_SECONDS = 900 - 60


def maintenance_problems(config: EnvironmentConfig) -> list[str]:
    """Rules between an environment's maintenance settings and the shared services (attached later)."""
    timeout = config.maintenance.statement_timeout_seconds
    problems = []
    for name, service in config.services.items():
        worst = len(service.vacuum_tables) * timeout
        if worst > MAINTENANCE_RUN_SECONDS:
            most = max(MAINTENANCE_RUN_SECONDS // timeout, 0)
            problems.append(
                f"services.{name}.vacuum_tables: {len(service.vacuum_tables)} tables at "
                f"maintenance.statement_timeout_seconds = {timeout} could take {worst} s, and one run may take "
                f"{MAINTENANCE_RUN_SECONDS} s: list at most {most} tables or lower the timeout"
            )
    return problems


def cache_user(environment: str, service: str) -> str:
    """The ElastiCache user (id and name) of a service: `ticketing-<env>-<service>`."""
    return f"ticketing-{environment}-{service}"


def database_role(service: str) -> str:
    """The PostgreSQL login role of a service: `svc_` and its name with `_` for `-`."""
    return "svc_" + service.replace("-", "_")


class MaintenanceConfig(_Strict):
    """When the database maintenance jobs run (the guide: 03:00 every day)."""

    time_zone: str = Field(default="Asia/Seoul", description="IANA time zone of the schedules.")
    daily_at: str = Field(default="03:00", description="HH:MM the daily VACUUM (ANALYZE) and partition jobs start.")
    statement_timeout_seconds: int = bounded(
        MAINTENANCE_STATEMENT_TIMEOUT_SECONDS, "Longest single maintenance statement.", default=600
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


#: Reserved concurrency a function may be given: 0 is no reservation (the account's unreserved pool), never
#: "throttle every call" as Lambda's own 0 would be; this library caps it at 1000.
RESERVED_CONCURRENCY = Limit(0, 1000, "concurrent executions, 0 for none")


class ReservedConcurrencyConfig(_Strict):
    """Lambda reserved concurrency per function (README: Data tier, "Reserved concurrency").

    A reservation takes that many executions from the account's quota for good, and Lambda keeps 100 of the
    quota unreserved: in an account whose quota is still 10 or 50, any reservation fails the deploy. Reserve
    only what a reservation protects; 0 is none.
    """

    database_maintenance: int = bounded(
        RESERVED_CONCURRENCY,
        "The maintenance jobs (one VACUUM per database, the partitions, the weekly report) start at the same "
        "minute; 1 runs them one after another on the primary (Lambda queues the others for up to six hours).",
        default=1,
    )
    database_bootstrap: int = bounded(
        RESERVED_CONCURRENCY, "The bootstrap: CloudFormation runs it once per deploy of the data stack.", default=0
    )
    secret_rotation: int = bounded(
        RESERVED_CONCURRENCY,
        "The master-password rotation: Secrets Manager already runs one rotation of a secret at a time.",
        default=0,
    )
    restore_drill: int = bounded(
        RESERVED_CONCURRENCY, "The restore drill's steps, started one at a time by its state machine.", default=0
    )
    commitment_coverage: int = bounded(
        RESERVED_CONCURRENCY, "The weekly commitment coverage report (a two-minute run).", default=0
    )
    unused_resources: int = bounded(RESERVED_CONCURRENCY, "The weekly unused-resource finder.", default=0)

    def of(self, function: str) -> int | None:
        """The reservation of `function` (a field name) for a construct: None when there is none."""
        if function not in type(self).model_fields:
            raise KeyError(
                f"reserved_concurrency.{function}: no such function; known: {', '.join(type(self).model_fields)}"
            )
        value: int = getattr(self, function)
        return value or None


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(value: str) -> str:
    """`value` if it is an IANA time zone, else ValueError with the closest name."""
    if value not in _time_zones():
        close = difflib.get_close_matches(value, sorted(_time_zones()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"not an IANA time zone such as Asia/Seoul or UTC{hint}")
    return value


class EnvironmentConfig(_Strict):
    """Everything that differs between dev, staging and prod."""

    name: EnvironmentName
    account: AccountId = Field(description="12-digit AWS account id the environment deploys into.")
    region: str = Field(description="Main AWS region, e.g. ap-northeast-2.")
    availability_zones: tuple[str, ...] = Field(
        min_length=2,
        max_length=6,
        strict=False,  # TOML arrays arrive as lists
        description="AZ names, given explicitly so synthesis never looks them up.",
        json_schema_extra={"allowed": "a list of 2 to 6 zone names of the region"},
    )
    network: NetworkConfig
    database: DatabaseConfig
    cache: CacheConfig
    tags: dict[str, str] = Field(description="Cost-allocation tags; CostCenter and Owner are required.")
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    reserved_concurrency: ReservedConcurrencyConfig = Field(default_factory=ReservedConcurrencyConfig)
    compute: ComputeConfig
    load_balancer: LoadBalancerConfig
    edge: EdgeConfig
    observability: ObservabilityConfig
    cost: CostConfig
    backup: BackupConfig
    images: dict[str, str] = Field(
        default_factory=dict,
        description="Per service: an image tag of its ECR repository, or a full image reference; "
        "a service with none is created with zero tasks.",
    )
    #: From config/services.toml, attached by the loader (shared by every environment).
    services: dict[str, ServiceConfig] = Field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def is_disposable(self) -> bool:
        """dev is torn down and deployed again: its log groups go with it, its stacks have no
        termination protection. Every other environment keeps them."""
        return self.name == "dev"

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in ZONES_BY_REGION:
            close = difflib.get_close_matches(value, REGIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"not an AWS region code in config/aws_regions.py ({REGIONS_SOURCE}); {hint}"
                "e.g. ap-northeast-2, us-east-1, eu-central-1"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags_are_valid(cls, tags: dict[str, str]) -> dict[str, str]:
        problems: list[ConfigFieldError] = []
        seen: dict[str, str] = {}
        for key, value in tags.items():
            try:
                _check_tag(key, value)
            except ValueError as error:
                problems.append(ConfigFieldError(key_path(("tags", key)), value, str(error)))
                continue
            earlier = seen.setdefault(key.lower(), key)
            if earlier != key:
                problems.append(
                    ConfigFieldError(
                        key_path(("tags", key)),
                        value,
                        f"same key as {visible(earlier)!s} except for case; IAM treats tag keys case-insensitively "
                        "and refuses both on one role: keep one",
                    )
                )
        raise_all(problems)
        missing = [key for key in REQUIRED_TAG_KEYS if key not in tags]
        if missing:
            raise ValueError(f"missing required tag(s) {missing}; every environment sets {list(REQUIRED_TAG_KEYS)}")
        if len(tags) > MAX_CONFIG_TAGS:
            raise ValueError(
                f"at most {MAX_CONFIG_TAGS} tags, got {len(tags)}: AWS allows {MAX_TAGS_PER_RESOURCE} per resource and "
                f"the app adds up to {MAX_TAGS_PER_RESOURCE - MAX_CONFIG_TAGS} of its own "
                f"({', '.join(sorted(RESERVED_TAG_KEYS))}, and Name plus two aws-cdk: tags on subnets)"
            )
        return tags

    @model_validator(mode="after")
    def _cross_key_rules(self) -> EnvironmentConfig:
        """Rules that combine keys; every one that fails is reported."""
        raise_all(
            [
                *self._zone_problems(),
                *self._instance_class_problems(),
                *self._network_problems(),
                *self._production_problems(),
                *self._protection_tag_problems(),
                *self._restore_problems(),
                *backup_problems(self),
            ]
        )
        return self

    def _zone_problems(self) -> list[ConfigFieldError]:
        zones = self.availability_zones
        known = ZONES_BY_REGION[self.region]
        problems = [
            ConfigFieldError(
                key_path(("availability_zones", index)),
                zone,
                f"not an availability zone of {self.region}; its zones are {', '.join(known)}",
            )
            for index, zone in enumerate(zones)
            if zone not in known
        ]
        if len(set(zones)) != len(zones):
            problems.append(ConfigFieldError("availability_zones", list(zones), "zones must not repeat"))
        return problems

    def _instance_class_problems(self) -> list[ConfigFieldError]:
        problems = []
        for key, value, offered, kind in (
            ("database.instance_class", self.database.instance_class, postgres_instance_classes, "RDS for PostgreSQL"),
            ("database.replica_instance_class", self.database.replica_instance_class, postgres_instance_classes,
             "RDS for PostgreSQL"),
            ("cache.node_type", self.cache.node_type, cache_node_types, "ElastiCache"),
            ("backup.drill.instance_class", self.backup.drill.instance_class, postgres_instance_classes,
             "RDS for PostgreSQL"),
        ):  # fmt: skip
            available = offered(self.region)
            if available and value not in available:
                family = value.rsplit(".", 1)[0] + "."
                sizes = sorted(c.removeprefix(family) for c in available if c.startswith(family))
                problems.append(
                    ConfigFieldError(
                        key,
                        value,
                        f"{kind} does not offer this class in {self.region}; "
                        + (f"sizes of {family[:-1]} there: {', '.join(sizes)}" if sizes else "no size of that family")
                        + " (list from cfn-lint's AWS data)",
                    )
                )
        return problems

    def _network_problems(self) -> list[ConfigFieldError]:
        problems = []
        zones = self.availability_zones
        nat = self.network.nat_gateways
        if nat > len(zones):
            problems.append(
                ConfigFieldError(
                    "network.nat_gateways",
                    nat,
                    f"must be 1 to {len(zones)}: at least one, at most one per availability zone",
                )
            )
        elif self.is_production and nat != len(zones):
            problems.append(
                ConfigFieldError(
                    "network.nat_gateways",
                    nat,
                    f"prod needs one NAT gateway per availability zone ({len(zones)}) so one AZ failing "
                    "does not cut the others off",
                )
            )
        network = ipaddress.IPv4Network(self.network.vpc_cidr)
        needed = subnet_space_needed(len(zones))
        if needed > network.num_addresses:
            largest_prefix = max(p for p in range(MIN_VPC_PREFIX, 33) if 2 ** (32 - p) >= needed)
            problems.append(
                ConfigFieldError(
                    "network.vpc_cidr",
                    self.network.vpc_cidr,
                    f"too small for {len(zones)} zones of public /{PUBLIC_SUBNET_MASK}, private /{PRIVATE_SUBNET_MASK} "
                    f"and isolated /{ISOLATED_SUBNET_MASK} subnets as they are laid out ({needed} addresses needed, "
                    f"{network.num_addresses} available): use /{MIN_VPC_PREFIX} to /{largest_prefix}",
                )
            )
        return problems

    def _restore_problems(self) -> list[ConfigFieldError]:
        source = self.database.restore_from
        if source is None or source.region == self.region:
            return []
        return [
            ConfigFieldError(
                "database.restore_from.snapshot_arn",
                source.snapshot_arn,
                f"RDS restores only from a snapshot in the instance's region ({self.region}); copy it there first "
                "(aws rds copy-db-snapshot, or an AWS Backup copy job)",
            )
        ]

    def _protection_tag_problems(self) -> list[ConfigFieldError]:
        key = self.cost.unused.protection_tag
        if key in self.tags:
            return [
                ConfigFieldError(
                    key_path(("tags", key)),
                    self.tags[key],
                    f"{key} is cost.unused.protection_tag: on every resource it would keep the finder from "
                    "deleting anything; tag only what must stay",
                )
            ]
        return []

    def _production_problems(self) -> list[ConfigFieldError]:
        if self.is_disposable and self.cost.commitment_term != "none":
            return [
                ConfigFieldError(
                    "cost.commitment_term",
                    self.cost.commitment_term,
                    f'{self.name} is torn down and deployed again: a reservation would be paid for unused; set "none"',
                )
            ]
        if not self.is_production:
            return []
        problems = [
            ConfigFieldError(key, value, "prod must survive the loss of an availability zone: set true")
            for key, value in (("database.multi_az", self.database.multi_az), ("cache.multi_az", self.cache.multi_az))
            if not value
        ]
        if not self.database.deletion_protection:
            problems.append(
                ConfigFieldError(
                    "database.deletion_protection", False, "prod databases must have deletion protection: set true"
                )
            )
        if self.database.read_replicas < 2:
            problems.append(
                ConfigFieldError(
                    "database.read_replicas",
                    self.database.read_replicas,
                    "prod needs at least 2 read replicas, in different availability zones",
                )
            )
        return problems


def subnet_space_needed(zones: int) -> int:
    """Addresses from the VPC's start to the end of its last subnet, as aws-cdk-lib lays the tiers out.

    Each tier (public, private, isolated) takes one subnet per zone, in that order, and every subnet
    starts at a multiple of its own size: the /20 private tier is aligned to 4096 after the /24s.
    """
    end = 0
    for mask in (PUBLIC_SUBNET_MASK, PRIVATE_SUBNET_MASK, ISOLATED_SUBNET_MASK):
        size = 2 ** (32 - mask)
        for _ in range(zones):
            end = -(-end // size) * size + size  # align up to the subnet's size, then take it
    return end


#: VPC prefix lengths: /16 is the largest VPC AWS allows; the smallest must hold two zones of subnets.
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = max(p for p in range(16, 29) if 2 ** (32 - p) >= subnet_space_needed(2))


def check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"must be one of the retention periods CloudWatch Logs accepts (days): "
            f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}"
        )
    return value


def _tag_character_problem(text: str) -> str | None:
    for char in text:
        if char in TAG_PUNCTUATION or unicodedata.category(char)[0] in "LN" or unicodedata.category(char) == "Zs":
            continue
        name = unicodedata.name(char, "a control character") if not char.isprintable() else repr(char)
        return (
            f"character {ascii(char)[1:-1]} ({name}) is not allowed: tags may hold letters, digits, spaces and "
            f"{' '.join(TAG_PUNCTUATION)}"
        )
    return None


def _check_tag(key: str, value: str) -> None:
    reserved = {k.lower(): k for k in RESERVED_TAG_KEYS}
    if key.lower() in reserved:
        raise ValueError(
            f"the key is set by the app itself ({reserved[key.lower()]}; IAM compares tag keys without case): "
            f"remove it (reserved: {', '.join(sorted(RESERVED_TAG_KEYS))})"
        )
    for part, text, length in (("key", key, TAG_KEY_LENGTH), ("value", value, TAG_VALUE_LENGTH)):
        if text.lower().startswith("aws:"):
            raise ValueError(f"the aws: prefix is reserved by AWS in tag {part}s")
        if len(text) not in length:
            raise ValueError(f"a tag {part} is {length.describe()} long, got {len(text)}")
        problem = _tag_character_problem(text)
        if problem:
            raise ValueError(f"{part} '{visible(text)}': {problem}")
    narrower = required_tag_problems(key, value)
    if narrower:
        raise ValueError(
            f"{'; '.join(narrower)} (CloudFormation's schema for that type); every configured tag goes on "
            "every resource that is billed, so it must fit each of them"
        )
