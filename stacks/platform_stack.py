"""Base class of every stack: knows its environment and never looks anything up in AWS."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.zoned_stack import ZonedStack


class PlatformStack(ZonedStack):
    """A stack of one environment; its availability zones come from config, not a lookup."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, availability_zones=config.availability_zones, **kwargs)
        self.config = config
