"""The parameter group (``parameters``)."""

from __future__ import annotations

from tests.constructs.cache_fixture import (
    CacheApp,
)


def test_parameter_groups_pin_family_and_eviction_policy(cache: CacheApp) -> None:
    cache.template.has_resource_properties(
        "AWS::ElastiCache::ParameterGroup",
        {
            "CacheParameterGroupFamily": "valkey8",
            "Properties": {"maxmemory-policy": "volatile-lru", "cluster-enabled": "no"},
        },
    )
    cache.template.has_resource_properties(
        "AWS::ElastiCache::ParameterGroup",
        {
            "CacheParameterGroupFamily": "redis7",
            "Properties": {"maxmemory-policy": "allkeys-lfu", "cluster-enabled": "no"},
        },
    )
    props = cache.group(cache.redis)["Properties"]
    assert props["CacheParameterGroupName"] == {"Ref": cache.stack.get_logical_id(cache.redis.parameter_group)}
    assert (props["Engine"], props["EngineVersion"], props["Port"]) == ("redis", "7.1", 6380)
