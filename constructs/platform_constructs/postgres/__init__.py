"""RDS for PostgreSQL, split along its parts: the primary, read replicas and the reader name, the proxy,
credential rotation, backups, the parameter group and the log groups; ``PostgresDatabase`` composes them.

Import from here: the names below are the package's public surface.
"""

from __future__ import annotations

from platform_constructs.postgres.backups import BackupProps
from platform_constructs.postgres.database import PostgresDatabase
from platform_constructs.postgres.engine import (
    DEFAULT_ENGINE_VERSION,
    FUNCTION_ARCHITECTURE,
    FUNCTION_RUNTIME,
    GRAVITON_FAMILIES,
    LOG_EXPORTS,
    PROXY_PORT,
    postgres_versions,
)
from platform_constructs.postgres.instance import InstanceProps
from platform_constructs.postgres.instance_settings import MonitoringProps, StorageProps
from platform_constructs.postgres.log_groups import LogProps
from platform_constructs.postgres.parameters import ParameterProps
from platform_constructs.postgres.proxy import ProxyProps
from platform_constructs.postgres.reader import ReaderProps
from platform_constructs.postgres.replicas import ReplicaProps
from platform_constructs.postgres.rotation import RotationProps

#: The construct's earlier name, which suggested an Aurora cluster; it is one RDS instance with replicas.
PostgresCluster = PostgresDatabase

__all__ = [
    "DEFAULT_ENGINE_VERSION",
    "FUNCTION_ARCHITECTURE",
    "FUNCTION_RUNTIME",
    "GRAVITON_FAMILIES",
    "LOG_EXPORTS",
    "PROXY_PORT",
    "BackupProps",
    "InstanceProps",
    "LogProps",
    "MonitoringProps",
    "ParameterProps",
    "PostgresCluster",
    "PostgresDatabase",
    "ProxyProps",
    "ReaderProps",
    "ReplicaProps",
    "RotationProps",
    "StorageProps",
    "postgres_versions",
]
