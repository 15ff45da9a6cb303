"""Environment configuration: one TOML file per environment, one typed schema.

The names below load on first use, so that a tool importing only `config.prices` or `config.cost`
(the cost report) does not build every section's model. Nothing in this package imports aws-cdk-lib
(tests/test_config_imports.py checks it): validating a file never starts Node.js.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.environment import EnvironmentConfig as EnvironmentConfig
    from config.loader import (
        CONFIG_DIR as CONFIG_DIR,
        ENVIRONMENT_NAMES as ENVIRONMENT_NAMES,
        ConfigError as ConfigError,
        load_environment as load_environment,
        load_environments as load_environments,
    )
    from config.network import NetworkConfig as NetworkConfig

_HOME = {
    "CONFIG_DIR": "config.loader",
    "ENVIRONMENT_NAMES": "config.loader",
    "ConfigError": "config.loader",
    "load_environment": "config.loader",
    "load_environments": "config.loader",
    "EnvironmentConfig": "config.environment",
    "NetworkConfig": "config.network",
}

__all__ = [
    "CONFIG_DIR",
    "ENVIRONMENT_NAMES",
    "ConfigError",
    "EnvironmentConfig",
    "NetworkConfig",
    "load_environment",
    "load_environments",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'config' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
