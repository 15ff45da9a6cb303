"""Base class of every stack: knows its environment and never looks anything up in AWS."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from config.schema import EnvironmentConfig


class PlatformStack(Stack):
    """A Stack whose availability zones come from config rather than a context lookup.

    `Stack.availability_zones` would otherwise ask AWS (or emit placeholder zones such as
    ``dummy1a`` when there are no credentials).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        self._config_zones = list(config.availability_zones)
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

    @property
    def availability_zones(self) -> list[str]:
        return self._config_zones
