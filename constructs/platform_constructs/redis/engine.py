"""The engine: Valkey or Redis OSS, the versions this library supports with their parameter-group family, and
the eviction policy the parameter group pins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Engine = Literal["valkey", "redis"]

#: Engine versions CloudFormation (cfn-lint 1.58) accepts for replication groups that this construct
#: supports, with their parameter-group family. Redis OSS below 7.0 is excluded: TransitEncryptionMode
#: needs 7.0.5+. Valkey 9.x is left out until its parameter-group family is confirmed.
ENGINE_VERSIONS: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8", "8.2": "valkey8"},
    "redis": {"7.0": "redis7", "7.1": "redis7"},
}

#: Version used when ``EngineProps.version`` is not given.
DEFAULT_ENGINE_VERSIONS: dict[str, str] = {"valkey": "8.0", "redis": "7.1"}

#: Every ``maxmemory-policy`` value Valkey and Redis OSS 7 know.
EVICTION_POLICIES: tuple[str, ...] = (
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
)


@dataclass(frozen=True)
class EngineProps:
    """Which engine runs, and how it evicts (checked when the props are made).

    :param engine: ``valkey`` (default) or ``redis`` (Redis OSS).
    :param version: one of ``ENGINE_VERSIONS[engine]`` (default: ``8.0`` for valkey, ``7.1`` for redis).
        Minor versions follow automatically.
    :param maxmemory_policy: eviction policy, one of ``EVICTION_POLICIES`` (default volatile-lru: only keys
        with a TTL are evicted).
    """

    engine: Engine = "valkey"
    version: str | None = None
    maxmemory_policy: str = "volatile-lru"

    def __post_init__(self) -> None:
        if self.engine not in ENGINE_VERSIONS:
            raise ValueError(f"EngineProps.engine: must be one of {sorted(ENGINE_VERSIONS)}, got {self.engine!r}")
        if self.resolved_version not in ENGINE_VERSIONS[self.engine]:
            raise ValueError(
                f"EngineProps.version: {self.resolved_version!r} is not supported for {self.engine}; "
                f"allowed: {list(ENGINE_VERSIONS[self.engine])}"
            )
        if self.maxmemory_policy not in EVICTION_POLICIES:
            raise ValueError(
                f"EngineProps.maxmemory_policy: {self.maxmemory_policy!r} is not one of {list(EVICTION_POLICIES)}"
            )

    @property
    def resolved_version(self) -> str:
        """``version``, or the engine's default."""
        return DEFAULT_ENGINE_VERSIONS[self.engine] if self.version is None else self.version

    @property
    def parameter_group_family(self) -> str:
        """``valkey8``, ``redis7``, ...: the family of the version's parameter groups."""
        return ENGINE_VERSIONS[self.engine][self.resolved_version]

    @property
    def label(self) -> str:
        """The engine's name as AWS writes it, for descriptions."""
        return "Valkey" if self.engine == "valkey" else "Redis OSS"
