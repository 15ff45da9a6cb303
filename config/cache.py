"""Config of the ElastiCache (Valkey or Redis OSS) replication group: `[cache]`.

Whether the region offers the node type, and prod's Multi-AZ, are rules across sections (config/rules.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.fields import ConfigFieldError, Strict, bounded
from config.instance_classes import CACHE_NODE_TYPE, check_class
from config.log_retention import check_retention, retention_days
from platform_constructs import limits
from platform_constructs.accepted_values import (
    CACHE_ENGINE_VERSIONS as _VERSION_FAMILIES,
    CACHE_NODE_FAMILIES,
    EVICTION_POLICIES,
)
from platform_constructs.limits import Limit

#: Cache engine versions per engine, as the construct accepts them.
CACHE_ENGINE_VERSIONS: dict[str, tuple[str, ...]] = {e: tuple(v) for e, v in _VERSION_FAMILIES.items()}
#: ElastiCache keeps snapshots 1 to 35 days; NIST 800-53 R5 (ElastiCacheRedisClusterAutomaticBackup) asks for 15.
CACHE_SNAPSHOT_RETENTION_DAYS = Limit(
    limits.NIST_MIN_CACHE_SNAPSHOT_RETENTION_DAYS, limits.CACHE_SNAPSHOT_RETENTION_DAYS.high, "days"
)


class CacheConfig(Strict):
    """ElastiCache (Valkey or Redis OSS) replication group."""

    engine: Literal["valkey", "redis"] = Field(description="The cache engine: valkey or redis (Redis OSS).")
    node_type: str = Field(
        description="Node type, e.g. cache.r7g.large (Graviton families only, and a size the region offers)."
    )
    replicas: int = bounded(limits.CACHE_REPLICAS, "Read replicas of the primary node (failover promotes one).")
    multi_az: bool = Field(description="Automatic failover to a replica in another AZ; required in prod.")
    maxmemory_policy: str = Field(
        description=f"Eviction policy when memory is full: one of {', '.join(EVICTION_POLICIES)}."
    )
    snapshot_retention_days: int = bounded(CACHE_SNAPSHOT_RETENTION_DAYS, "Days each daily snapshot is kept.")
    log_retention_days: int = retention_days("How long the slow log and the engine log are kept in CloudWatch Logs.")
    engine_version: str | None = Field(
        default=None,
        description="Engine version, e.g. '8.0' ("
        + "; ".join(f"{e}: {', '.join(v)}" for e, v in CACHE_ENGINE_VERSIONS.items())
        + "); default: the construct's for the engine.",
    )

    @field_validator("node_type")
    @classmethod
    def _graviton_node(cls, value: str) -> str:
        return check_class(value, CACHE_NODE_TYPE, CACHE_NODE_FAMILIES, "cache.r7g.large")

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
                "engine_version",
                self.engine_version,
                f"{self.engine} versions allowed: {', '.join(allowed)}",
                relative=True,
            )
        return self
