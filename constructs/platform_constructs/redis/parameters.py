"""The group's parameter group: the engine version's family with ``maxmemory-policy`` pinned and cluster mode
off."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_elasticache as elasticache
from constructs import Construct

from platform_constructs.redis.engine import EngineProps


def create_parameter_group(
    scope: Construct, engine: EngineProps, removal_policy: RemovalPolicy
) -> elasticache.CfnParameterGroup:
    """``ParameterGroup``, kept while the replication group that uses it is kept (`removal_policy`)."""
    family = engine.parameter_group_family
    parameter_group = elasticache.CfnParameterGroup(
        scope,
        "ParameterGroup",
        cache_parameter_group_family=family,
        # No engine version or policy here: changing a parameter group's description replaces it.
        description=f"{family} parameters of the replication group {scope.node.path}",
        properties={"maxmemory-policy": engine.maxmemory_policy, "cluster-enabled": "no"},
    )
    parameter_group.apply_removal_policy(removal_policy)
    return parameter_group
