"""The environment's dashboard: requests and errors at the ALB, bookings and seats, services, database, cache.

Graphs draw one-minute periods (the alarms judge longer ones) of the same metric factories the
alarms use.
"""

from __future__ import annotations

from aws_cdk import Duration, aws_cloudwatch as cloudwatch
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.metrics import (
    HOUR,
    MINUTE,
    BackupVaultMetrics,
    BookingMetrics,
    CacheNodeMetrics,
    DatabaseMetrics,
    LoadBalancerMetrics,
    ProxyMetrics,
    SeatMetrics,
    ServiceMetrics,
    TargetGroupMetrics,
)
from platform_constructs.physical_names import backup_vault_name, copy_vault_name
from stacks.monitoring.watched import WatchedResources


def _graph(title: str, left: list[cloudwatch.IMetric], unit: str = "") -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        left=left,
        width=8,
        height=6,
        left_y_axis=cloudwatch.YAxisProps(label=unit, show_units=False, min=0),
    )


def monitoring_dashboard(
    scope: Construct, config: EnvironmentConfig, name: str, watched: WatchedResources
) -> cloudwatch.Dashboard:
    """The dashboard `name`, as construct "Dashboard" of `scope`."""
    alb = LoadBalancerMetrics(watched.load_balancer)
    requests, errors = alb.requests(MINUTE), alb.target_5xx(MINUTE)
    bookings = BookingMetrics(config.observability.bookings.namespace)
    seats = config.observability.seats
    services = [ServiceMetrics(watched.cluster_name, service) for service in config.services]
    instances = [DatabaseMetrics(instance) for instance in watched.instances]
    replicas = instances[1:]
    nodes = [(f"node {member:03d}", CacheNodeMetrics(node)) for member, node in enumerate(watched.cache_nodes, 1)]
    backups = BackupVaultMetrics(backup_vault_name(config.name))
    copies = BackupVaultMetrics(copy_vault_name(config.name))

    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=name, default_interval=Duration.hours(3))
    dashboard.add_widgets(
        cloudwatch.TextWidget(
            markdown=f"# ticketing {config.name}\nRequests and errors at the ALB; bookings and seats as the "
            "services publish them (README: metric contract); CloudFront and WAF are in us-east-1's console.",
            width=24,
            height=2,
        )
    )
    dashboard.add_widgets(
        _graph("Requests per second", [cloudwatch.MathExpression(
            expression="requests / PERIOD(requests)", using_metrics={"requests": requests},
            label="requests/s", period=MINUTE)], "req/s"),
        _graph("Error rate (target 5XX)", [cloudwatch.MathExpression(
            expression="100 * FILL(errors, 0) / requests", using_metrics={"errors": errors, "requests": requests},
            label="5XX %", period=MINUTE)], "%"),
        _graph("Response time", [alb.response_time(stat, MINUTE, label=stat) for stat in ("p50", "p95", "p99")],
               "seconds"),
    )  # fmt: skip
    dashboard.add_widgets(
        _graph("5XX count (load balancer, targets)", [
            alb.elb_5xx(MINUTE, label="load balancer"),
            alb.target_5xx(MINUTE, label="targets"),
        ], "responses"),
        _graph("Unhealthy targets", [
            TargetGroupMetrics(watched.load_balancer, group).unhealthy_hosts(MINUTE, label=service)
            for service, group in watched.target_groups.items()
        ], "targets"),
        _graph("Backup and copy jobs completed (per hour)", [
            backups.backup_jobs_completed(HOUR, label="backup jobs completed"),
            copies.copy_jobs_completed(HOUR, label=f"copied to {config.backup.copy_region}"),
        ], "count"),
    )  # fmt: skip
    dashboard.add_widgets(
        _graph("Booking success rate", [bookings.success_rate(1, MINUTE)], "%"),
        _graph("Booking latency", [bookings.latency(stat, MINUTE, label=stat) for stat in ("p50", "p95", "p99")],
               "ms"),
        _graph("Available seats (minimum)", [
            SeatMetrics(seats.namespace, seats.metric, seats.dimensions).available(MINUTE, label=seats.metric)
        ], "seats"),
    )  # fmt: skip
    dashboard.add_widgets(
        _graph("Service CPU", [s.cpu(MINUTE, label=s.service_name) for s in services], "%"),
        _graph("Service memory", [s.memory(MINUTE, label=s.service_name) for s in services], "%"),
        _graph("Running tasks", [s.running_tasks(MINUTE, label=s.service_name) for s in services], "tasks"),
    )
    dashboard.add_widgets(
        _graph("Database connections", [
            *(i.connections(MINUTE, label=i.instance_identifier) for i in instances),
            ProxyMetrics(watched.proxy_name).client_connections(MINUTE, label="proxy clients"),
        ], "connections"),
        _graph("Replica lag", [r.replica_lag(MINUTE, label=r.instance_identifier) for r in replicas], "seconds"),
        _graph("Database CPU", [i.cpu(MINUTE, label=i.instance_identifier) for i in instances], "%"),
    )  # fmt: skip
    dashboard.add_widgets(
        _graph("Cache memory", [n.memory(MINUTE, label=label) for label, n in nodes], "%"),
        _graph("Cache hit rate", [n.hit_rate(MINUTE, label=label) for label, n in nodes], "%"),
        _graph("Cache evictions", [n.evictions(MINUTE, label=label) for label, n in nodes], "keys"),
    )
    return dashboard
