"""ElastiCache for Valkey or Redis OSS, split along its parts: the engine, the nodes, the parameter group,
authentication, the log groups and maintenance; ``RedisReplicationGroup`` composes them.

Import from here: the names below are the package's public surface.
"""

from __future__ import annotations

from platform_constructs.accepted_values import EVICTION_POLICIES
from platform_constructs.redis.auth import AUTH_TOKEN_LENGTH, AuthProps
from platform_constructs.redis.engine import DEFAULT_ENGINE_VERSIONS, ENGINE_VERSIONS, Engine, EngineProps
from platform_constructs.redis.group import RedisReplicationGroup
from platform_constructs.redis.log_groups import LogProps
from platform_constructs.redis.maintenance import MaintenanceProps
from platform_constructs.redis.nodes import ALLOWED_NODE_FAMILIES, MAX_REPLICAS_PER_NODE_GROUP, NodeProps

__all__ = [
    "ALLOWED_NODE_FAMILIES",
    "AUTH_TOKEN_LENGTH",
    "DEFAULT_ENGINE_VERSIONS",
    "ENGINE_VERSIONS",
    "EVICTION_POLICIES",
    "MAX_REPLICAS_PER_NODE_GROUP",
    "AuthProps",
    "Engine",
    "EngineProps",
    "LogProps",
    "MaintenanceProps",
    "NodeProps",
    "RedisReplicationGroup",
]
