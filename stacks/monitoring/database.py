"""PostgreSQL's alarms, per instance (the replicas' lag too), and RDS Proxy's pool."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_cloudwatch as cloudwatch

from config.instance_memory import GIB, max_connections_of, memory_gib
from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import DatabaseMetrics, ProxyMetrics
from platform_constructs.naming import pascal_case
from platform_constructs.physical_names import environment_prefix
from platform_constructs.severity import Severity

GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


def instance_alarms(config: EnvironmentConfig, prefix: str, instance: str, *, replica: bool) -> list[AlarmSpec]:
    """`instance`'s alarms: thresholds in the metrics' units, worked out from its class and storage."""
    limits = config.observability.database
    instance_class = config.database.replica_instance_class if replica else config.database.instance_class
    memory = memory_gib(instance_class)
    if memory is None:  # the schema admits only the families instance_memory knows
        raise ValueError(f"{instance_class}: no memory size known for this instance class")
    max_connections = max_connections_of(memory)
    metrics = DatabaseMetrics(instance)
    role = "replica" if replica else "primary"
    storage_bytes = config.database.allocated_storage_gib * GIB * limits.free_storage_percent // 100
    # (kind, slug, metric, threshold, comparison, periods, severity, runbook)
    checks: list[tuple[str, str, cloudwatch.IMetric, float, cloudwatch.ComparisonOperator, int, Severity, str]] = [
        ("Cpu", "cpu", metrics.cpu(), limits.cpu_percent, GT, 3, Severity.WARNING,
         f"{instance} ({role}) above {limits.cpu_percent}% CPU for 15 minutes. Performance Insights' top SQL "
         "first; then the weekly maintenance report (slowest statements, unused indexes)."),
        ("FreeableMemory", "freeable-memory", metrics.freeable_memory(),
         memory * GIB * limits.freeable_memory_percent // 100, LT, 3, Severity.WARNING,
         f"{instance} ({role}) has less than {limits.freeable_memory_percent}% of its {memory} GiB free "
         "for 15 minutes: too many connections (each holds memory) or large sorts. Check connections and "
         "Performance Insights; a larger class is the remedy if it persists."),
        ("FreeStorage", "free-storage", metrics.free_storage(), storage_bytes, LT, 1, Severity.CRITICAL,
         f"{instance} ({role}) has less than {limits.free_storage_percent}% of its allocated storage free "
         "and storage autoscaling has not caught up or has reached max_allocated_storage_gib. Raise "
         "database.max_allocated_storage_gib, look for bloat (VACUUM report) and old WAL (replication slots)."),
        ("Connections", "connections", metrics.connections(),
         max_connections * limits.connections_percent // 100, GT, 2, Severity.WARNING,
         f"{instance} ({role}) above {limits.connections_percent}% of its ~{max_connections} "
         "max_connections for 10 minutes. Check the services' pool settings ([database.pool] times "
         "tasks) and RDS Proxy's client connections; idle-in-transaction sessions end after the "
         "configured timeout."),
        ("ReadLatency", "read-latency", metrics.read_latency(), limits.read_latency_ms / 1000, GT, 3,
         Severity.WARNING,
         f"{instance} ({role}) disk reads slower than {limits.read_latency_ms} ms for 15 minutes: the working "
         "set no longer fits in memory or the volume is throttled (gp3 IOPS/throughput)."),
        ("WriteLatency", "write-latency", metrics.write_latency(), limits.write_latency_ms / 1000, GT, 3,
         Severity.WARNING,
         f"{instance} ({role}) disk writes slower than {limits.write_latency_ms} ms for 15 minutes: check "
         "write IOPS against the volume's limits and long-running bulk writes."),
    ]  # fmt: skip
    if replica:
        checks.append(
            ("ReplicaLag", "replica-lag", metrics.replica_lag(), limits.replica_lag_seconds, GT, 5, Severity.WARNING,
             f"{instance} is more than {limits.replica_lag_seconds} s behind the primary for 5 minutes: reads "
             "from the replicas are stale. Check the replica's CPU and write latency, long queries on it "
             "(they delay replay) and the primary's write volume.")
        )  # fmt: skip
    construct = pascal_case(instance.removeprefix(f"{environment_prefix(config.name)}-"))
    return [
        AlarmSpec(
            f"{construct}{kind}",
            f"{instance.removeprefix(prefix + '-')}-{slug}",
            metric,
            threshold=threshold,
            comparison=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            missing_data=NOT_BREACHING,
            severity=severity,
            runbook=runbook,
        )
        for kind, slug, metric, threshold, comparison, periods, severity, runbook in checks
    ]


def proxy_alarms(config: EnvironmentConfig, proxy_name: str) -> list[AlarmSpec]:
    limits = config.observability.database
    proxy = ProxyMetrics(proxy_name)
    return [
        AlarmSpec(
            "ProxyConnections",
            "proxy-connections",
            proxy.connections_used_percent(),
            threshold=limits.proxy_connections_percent,
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"RDS Proxy holds more than {limits.proxy_connections_percent}% of the database connections "
            "it may open, for 10 minutes: clients will wait to borrow one. Check client connections per service and "
            "pinned sessions (DatabaseConnectionsCurrentlySessionPinned); raise database.proxy.max_connections_percent "
            "or the instance class.",
        ),
        AlarmSpec(
            "ProxyBorrowLatency",
            "proxy-borrow-latency",
            proxy.borrow_latency(),
            threshold=limits.proxy_borrow_latency_ms * 1000,  # the metric is in microseconds
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"Borrowing a connection from RDS Proxy takes over {limits.proxy_borrow_latency_ms} ms on "
            "average for 10 minutes: the pool is exhausted (see the proxy-connections alarm) or the database is slow "
            "to accept new connections. No clients means no data, which counts as fine.",
        ),
    ]


def database_alarms(
    config: EnvironmentConfig, prefix: str, instances: Sequence[str], proxy_name: str
) -> list[AlarmSpec]:
    """Every instance's (`instances`: the primary first, then the replicas) and the proxy's."""
    specs = [
        spec
        for index, instance in enumerate(instances)
        for spec in instance_alarms(config, prefix, instance, replica=index > 0)
    ]
    return specs + proxy_alarms(config, proxy_name)
