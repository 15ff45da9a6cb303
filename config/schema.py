"""The one typed schema every environment file is validated against.

Nothing here touches AWS or the CDK: a file is parsed, checked and turned into frozen
objects before any construct exists. Unknown keys, wrong types, out-of-range values and
contradictions between keys are all rejected here, so a bad file never half-builds an app.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from platform_constructs.log_retention import RETENTION_BY_DAYS
from platform_constructs.postgres import GRAVITON_FAMILIES as DB_INSTANCE_FAMILIES, MAX_READ_REPLICAS
from platform_constructs.redis import (
    ALLOWED_NODE_FAMILIES as CACHE_NODE_FAMILIES,
    EVICTION_POLICIES,
    MAX_REPLICAS_PER_NODE_GROUP,
)

EnvironmentName = Literal["dev", "staging", "prod"]

#: Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = tuple(sorted(RETENTION_BY_DAYS))

#: Tags the code sets itself; config may not override them.
RESERVED_TAG_KEYS = frozenset({"Project", "Environment", "ManagedBy"})
#: Tags every environment file must provide.
REQUIRED_TAG_KEYS = ("CostCenter", "Owner")

#: Subnet sizes per tier. Private subnets are large because every Fargate task takes an IP.
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_MASK = 20
ISOLATED_SUBNET_MASK = 24

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]


class _Strict(BaseModel):
    """Frozen, no unknown keys, no silent type coercion (a "3" is not a 3)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NetworkConfig(_Strict):
    vpc_cidr: str = Field(description="IPv4 CIDR of the VPC, inside an RFC 1918 private range.")
    nat_gateways: int = Field(
        ge=1,
        description="NAT gateways: 1 in dev, one per availability zone in prod.",
    )
    flow_log_retention_days: int = Field(description="Days VPC flow logs are kept in CloudWatch Logs.")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_is_private_block(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"must be an IPv4 network such as 10.20.0.0/16 with no host bits set ({error})") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(f"prefix length must be between /16 and /20, got /{network.prefixlen}")
        private_blocks = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        if not any(network.subnet_of(block) for block in private_blocks):
            raise ValueError("must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return _check_retention(value)


_DB_CLASS = re.compile(r"^db\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$")
_CACHE_NODE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$")


def _check_class(value: str, pattern: re.Pattern[str], families: tuple[str, ...], example: str) -> str:
    match = pattern.match(value)
    if not match:
        raise ValueError(f"must look like {example}")
    if match["family"] not in families:
        raise ValueError(f"unknown or non-Graviton instance family {match['family']!r}; allowed: {list(families)}")
    return value


class ProxyConfig(_Strict):
    """RDS Proxy in front of the writer."""

    borrow_timeout_seconds: int = Field(ge=1, le=3600, description="Wait for a pooled connection (seed: 30).")
    max_connections_percent: int = Field(ge=1, le=100, description="Share of max_connections the proxy may open.")
    max_idle_connections_percent: int = Field(ge=0, le=100, description="Share kept open while idle.")

    @model_validator(mode="after")
    def _idle_within_max(self) -> ProxyConfig:
        if self.max_idle_connections_percent > self.max_connections_percent:
            raise ConfigFieldError(
                "database.proxy.max_idle_connections_percent",
                self.max_idle_connections_percent,
                f"must not exceed max_connections_percent ({self.max_connections_percent})",
            )
        return self


class PoolConfig(_Strict):
    """Client-side pool settings handed to every service (seed: SQLAlchemy QueuePool)."""

    min_connections: int = Field(ge=1, description="Seed: 10.")
    max_connections: int = Field(ge=1, description="Seed: 50.")
    pool_size: int = Field(ge=1, description="Persistent connections per process (seed: 20).")
    max_overflow: int = Field(ge=0, description="Extra connections under load (seed: 10).")
    pool_timeout_seconds: int = Field(ge=1, description="Wait for a free connection (seed: 30).")
    pool_recycle_seconds: int = Field(ge=60, description="Reconnect after this long (seed: 3600).")
    pre_ping: bool = Field(description="Check a connection before use (seed: true).")

    @model_validator(mode="after")
    def _sizes_are_consistent(self) -> PoolConfig:
        if self.min_connections > self.max_connections:
            raise ConfigFieldError(
                "database.pool.min_connections",
                self.min_connections,
                f"must not exceed max_connections ({self.max_connections})",
            )
        if self.pool_size + self.max_overflow > self.max_connections:
            raise ConfigFieldError(
                "database.pool.max_overflow",
                self.max_overflow,
                f"pool_size + max_overflow ({self.pool_size} + {self.max_overflow}) must not exceed "
                f"max_connections ({self.max_connections})",
            )
        return self


class DatabaseConfig(_Strict):
    """PostgreSQL primary, read replicas and RDS Proxy."""

    instance_class: str = Field(description="Primary instance class, e.g. db.r7g.large (Graviton only).")
    replica_instance_class: str = Field(description="Read-replica instance class.")
    read_replicas: int = Field(ge=0, description=f"Read replicas, 0-{MAX_READ_REPLICAS}; prod needs at least 2.")
    multi_az: bool = Field(description="Standby in a second AZ; required in prod.")
    allocated_storage_gib: int = Field(ge=20, le=65536, description="Initial gp3 storage.")
    max_allocated_storage_gib: int = Field(le=65536, description="Storage autoscaling ceiling.")
    backup_retention_days: int = Field(ge=0, le=35, description="Automated backups; replicas need at least 1.")
    deletion_protection: bool = Field(description="RDS deletion protection; required in prod.")
    slow_query_threshold_ms: int = Field(ge=0, description="log_min_duration_statement.")
    idle_in_transaction_timeout_ms: int = Field(ge=1000, description="idle_in_transaction_session_timeout.")
    credential_rotation_days: int = Field(ge=1, le=365, description="Master secret rotation schedule.")
    log_retention_days: int = Field(description="PostgreSQL log export retention.")
    proxy: ProxyConfig
    pool: PoolConfig

    @field_validator("instance_class", "replica_instance_class")
    @classmethod
    def _graviton_class(cls, value: str) -> str:
        return _check_class(value, _DB_CLASS, DB_INSTANCE_FAMILIES, "db.r7g.large")

    @field_validator("read_replicas")
    @classmethod
    def _replica_limit(cls, value: int) -> int:
        if value > MAX_READ_REPLICAS:
            raise ValueError(
                f"at most {MAX_READ_REPLICAS} read replicas per primary on this platform "
                "(RDS for PostgreSQL itself stops at 15); scale the instance class instead"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return _check_retention(value)

    @model_validator(mode="after")
    def _storage_and_backups(self) -> DatabaseConfig:
        ceiling = math.ceil(self.allocated_storage_gib * 1.1)
        if self.max_allocated_storage_gib < ceiling:
            raise ConfigFieldError(
                "database.max_allocated_storage_gib",
                self.max_allocated_storage_gib,
                f"storage autoscaling needs a ceiling at least 10% above allocated_storage_gib "
                f"({self.allocated_storage_gib}): {ceiling} or more",
            )
        if self.backup_retention_days == 0:
            raise ConfigFieldError(
                "database.backup_retention_days",
                0,
                "1-35: automated backups are what point-in-time restore and read replicas depend on",
            )
        return self


class CacheConfig(_Strict):
    """ElastiCache (Valkey or Redis OSS) replication group."""

    engine: Literal["valkey", "redis"]
    node_type: str = Field(description="e.g. cache.r7g.large (Graviton only).")
    replicas: int = Field(ge=1, description=f"Replicas of the primary, 1-{MAX_REPLICAS_PER_NODE_GROUP}.")
    multi_az: bool = Field(description="Automatic failover to a replica in another AZ; required in prod.")
    maxmemory_policy: str = Field(description="Eviction policy, e.g. volatile-lru.")
    snapshot_retention_days: int = Field(ge=1, le=35, description="Daily snapshots kept.")
    log_retention_days: int = Field(description="Slow-log and engine-log retention.")

    @field_validator("node_type")
    @classmethod
    def _graviton_node(cls, value: str) -> str:
        return _check_class(value, _CACHE_NODE, CACHE_NODE_FAMILIES, "cache.r7g.large")

    @field_validator("replicas")
    @classmethod
    def _replica_limit(cls, value: int) -> int:
        if value > MAX_REPLICAS_PER_NODE_GROUP:
            raise ValueError(f"ElastiCache allows at most {MAX_REPLICAS_PER_NODE_GROUP} replicas per shard")
        return value

    @field_validator("maxmemory_policy")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in EVICTION_POLICIES:
            raise ValueError(f"unknown eviction policy; allowed: {list(EVICTION_POLICIES)}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return _check_retention(value)


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
    )
    network: NetworkConfig
    database: DatabaseConfig
    cache: CacheConfig
    tags: dict[str, str] = Field(description="Cost-allocation tags; CostCenter and Owner are required.")

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @field_validator("region")
    @classmethod
    def _region_shape(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be an AWS region code such as ap-northeast-2 or us-east-1")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_are_valid(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if key in RESERVED_TAG_KEYS:
                raise ValueError(f"{key!r} is set by the app itself; remove it (reserved: {sorted(RESERVED_TAG_KEYS)})")
            if key.lower().startswith("aws:"):
                raise ValueError(f"{key!r}: the aws: prefix is reserved by AWS")
            if not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key):
                raise ValueError(f"{key!r}: a tag key is 1-128 letters, digits, spaces or _.:/=+-@")
            if not 1 <= len(value) <= 256 or not _TAG_TEXT.match(value):
                raise ValueError(f"{key}={value!r}: a tag value is 1-256 letters, digits, spaces or _.:/=+-@")
        missing = [key for key in REQUIRED_TAG_KEYS if key not in tags]
        if missing:
            raise ValueError(f"missing required tag(s) {missing}; every environment sets {list(REQUIRED_TAG_KEYS)}")
        return tags

    @model_validator(mode="after")
    def _zones_match_region_and_network(self) -> EnvironmentConfig:
        zones = self.availability_zones
        for zone in zones:
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1 and zone[-1].isalpha()):
                raise ConfigFieldError(
                    "availability_zones",
                    zone,
                    f"each zone must be the region {self.region!r} followed by one letter, e.g. {self.region}a",
                )
        if len(set(zones)) != len(zones):
            raise ConfigFieldError("availability_zones", list(zones), "zones must not repeat")

        nat = self.network.nat_gateways
        if nat > len(zones):
            raise ConfigFieldError("network.nat_gateways", nat, f"at most one per availability zone (1-{len(zones)})")
        if self.is_production and nat != len(zones):
            raise ConfigFieldError(
                "network.nat_gateways",
                nat,
                f"prod needs one NAT gateway per availability zone ({len(zones)}) so one AZ failing "
                "does not cut the others off",
            )

        if self.is_production:
            for key, value in (("database.multi_az", self.database.multi_az), ("cache.multi_az", self.cache.multi_az)):
                if not value:
                    raise ConfigFieldError(key, value, "prod must survive the loss of an availability zone: set true")
            if not self.database.deletion_protection:
                raise ConfigFieldError(
                    "database.deletion_protection", False, "prod databases must have deletion protection: set true"
                )
            if self.database.read_replicas < 2:
                raise ConfigFieldError(
                    "database.read_replicas",
                    self.database.read_replicas,
                    "prod needs at least 2 read replicas, in different availability zones",
                )

        per_zone = sum(2 ** (32 - mask) for mask in (PUBLIC_SUBNET_MASK, PRIVATE_SUBNET_MASK, ISOLATED_SUBNET_MASK))
        available = ipaddress.IPv4Network(self.network.vpc_cidr).num_addresses
        if per_zone * len(zones) > available:
            raise ConfigFieldError(
                "network.vpc_cidr",
                self.network.vpc_cidr,
                f"too small for {len(zones)} zones of public /{PUBLIC_SUBNET_MASK}, private /{PRIVATE_SUBNET_MASK} "
                f"and isolated /{ISOLATED_SUBNET_MASK} subnets ({per_zone * len(zones)} addresses needed, "
                f"{available} available)",
            )
        return self


class ConfigFieldError(ValueError):
    """A cross-field rule failed; carries the key path so the loader can name it."""

    def __init__(self, location: str, value: object, allowed: str) -> None:
        super().__init__(allowed)
        self.location = location
        self.value = value
        self.allowed = allowed


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of the retention periods CloudWatch Logs accepts: {list(LOG_RETENTION_DAYS)}")
    return value
