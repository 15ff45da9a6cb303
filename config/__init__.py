"""Environment configuration: one TOML file per environment, one typed schema."""

from config.loader import CONFIG_DIR, ENVIRONMENT_NAMES, ConfigError, load_environment, load_environments
from config.schema import EnvironmentConfig, NetworkConfig

__all__ = [
    "CONFIG_DIR",
    "ENVIRONMENT_NAMES",
    "ConfigError",
    "EnvironmentConfig",
    "NetworkConfig",
    "load_environment",
    "load_environments",
]
