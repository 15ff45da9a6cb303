"""The cache's alarms, per node: every node is watched, as roles swap after a failover."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import CacheNodeMetrics
from platform_constructs.severity import Severity


def cache_node_alarms(config: EnvironmentConfig, member: int, node: str) -> list[AlarmSpec]:
    """The alarms of cache node `member` (1-based), whose cache cluster id is `node`."""
    limits = config.observability.cache
    metrics = CacheNodeMetrics(node)
    label = f"cache node {member:03d}"
    checks: list[tuple[str, str, cloudwatch.IMetric, float, int, str]] = [
        ("EngineCpu", "engine-cpu", metrics.engine_cpu(), limits.engine_cpu_percent, 3,
         f"The {label}'s engine thread above {limits.engine_cpu_percent}% for 15 minutes: slow commands "
         "(SLOWLOG, the slow-log group), hot keys, or too few shards for the load."),
        ("Memory", "memory", metrics.memory(), limits.memory_percent, 2,
         f"The {label} uses over {limits.memory_percent}% of its memory for 10 minutes: keys without TTL or "
         "TTLs too long; volatile-lru then evicts. Check evictions and the hit rate; a larger node helps."),
        ("Evictions", "evictions", metrics.evictions(), limits.evictions, 1,
         f"The {label} evicted more than {limits.evictions} keys in 5 minutes: memory is full and the hit rate "
         "falls (more load on PostgreSQL). Check memory use and the key TTLs."),
        ("Connections", "connections", metrics.connections(), limits.connections, 2,
         f"The {label} has over {limits.connections} client connections for 10 minutes: a service leaks "
         "connections or runs far more tasks than planned. Check running tasks per service."),
        ("ReplicationLag", "replication-lag", metrics.replication_lag(), limits.replication_lag_seconds, 5,
         f"The {label}, as a replica, is more than {limits.replication_lag_seconds} s behind the primary for 5 "
         "minutes: reads from it are stale. Check the primary's engine CPU and network. A primary sends no "
         "lag, which counts as fine (roles swap after a failover, so every node is watched)."),
    ]  # fmt: skip
    return [
        AlarmSpec(
            f"CacheNode{member}{kind}",
            f"cache-{member:03d}-{slug}",
            metric,
            threshold=threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=runbook,
        )
        for kind, slug, metric, threshold, periods, runbook in checks
    ]


def cache_alarms(config: EnvironmentConfig, nodes: Sequence[str]) -> list[AlarmSpec]:
    return [spec for member, node in enumerate(nodes, start=1) for spec in cache_node_alarms(config, member, node)]
