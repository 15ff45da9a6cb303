"""The schema's names other packages import, in one place: the environment model and what stacks read.

Each section of an environment file has its own module (network.py, database.py, cache.py, services.py,
maintenance.py, reserved_concurrency.py, tags.py, compute.py, edge.py, observability.py, cost.py,
backup.py); environment.py composes them into `EnvironmentConfig`, and rules.py holds every rule that
reads more than one section. This module re-exports the names the stacks, tools and tests use, so they
need not know which section module defines each.
"""

from __future__ import annotations

from config.cache import CACHE_ENGINE_VERSIONS
from config.environment import EnvironmentConfig, EnvironmentName, ServicesConfig
from config.log_retention import LOG_RETENTION_DAYS, check_retention
from config.network import ISOLATED_SUBNET_MASK, PRIVATE_SUBNET_MASK, PUBLIC_SUBNET_MASK, NetworkConfig
from config.reserved_concurrency import ReservedConcurrencyConfig
from config.services import ServiceConfig
from config.tags import MAX_CONFIG_TAGS, MAX_TAGS_PER_RESOURCE, RESERVED_TAG_KEYS
from config.time_zones import check_time_zone
from platform_constructs.physical_names import cache_user, database_role

__all__ = [
    "CACHE_ENGINE_VERSIONS",
    "ISOLATED_SUBNET_MASK",
    "LOG_RETENTION_DAYS",
    "MAX_CONFIG_TAGS",
    "MAX_TAGS_PER_RESOURCE",
    "PRIVATE_SUBNET_MASK",
    "PUBLIC_SUBNET_MASK",
    "RESERVED_TAG_KEYS",
    "EnvironmentConfig",
    "EnvironmentName",
    "NetworkConfig",
    "ReservedConcurrencyConfig",
    "ServiceConfig",
    "ServicesConfig",
    "cache_user",
    "check_retention",
    "check_time_zone",
    "database_role",
]
