"""The engine: Valkey or Redis OSS, the versions this library supports with their parameter-group family, and
the eviction policy the parameter group pins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from platform_constructs.accepted_values import CACHE_ENGINE_VERSIONS, EVICTION_POLICIES

Engine = Literal["valkey", "redis"]

#: Engine versions this construct supports, with their parameter-group family (see ``accepted_values``).
ENGINE_VERSIONS: dict[str, dict[str, str]] = CACHE_ENGINE_VERSIONS

#: Version used when ``EngineProps.version`` is not given.
DEFAULT_ENGINE_VERSIONS: dict[str, str] = {"valkey": "8.0", "redis": "7.1"}


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
