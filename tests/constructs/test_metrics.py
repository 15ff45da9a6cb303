"""The metric factories: each fixes namespace, name, dimensions and statistic; the caller, the period.

Beside the unit checks, a scan of the source: outside the factories, no module spells an AWS metric
namespace, so a metric is defined in one place (the stacks' templates are pinned by their tests).
"""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk import Duration, aws_cloudwatch as cloudwatch

from platform_constructs import metrics
from platform_constructs.metrics import (
    DatabaseMetrics,
    LoadBalancerMetrics,
    ProxyMetrics,
    ServiceMetrics,
    TargetGroupMetrics,
)

ROOT = Path(__file__).resolve().parents[2]
#: A quoted AWS metric namespace ("AWS/RDS", "ECS/ContainerInsights").
NAMESPACE = re.compile(r"""["'](AWS|ECS)/[A-Za-z0-9]+["']""")


def dimensions(metric: cloudwatch.Metric) -> dict[str, str]:
    return dict(metric.dimensions or {})


def test_a_database_metric_is_the_instances_with_its_statistic() -> None:
    cpu = DatabaseMetrics("ticketing-prod-postgres").cpu()
    assert (cpu.namespace, cpu.metric_name, cpu.statistic) == ("AWS/RDS", "CPUUtilization", "Average")
    assert dimensions(cpu) == {"DBInstanceIdentifier": "ticketing-prod-postgres"}
    assert cpu.period.to_seconds() == 300
    storage = DatabaseMetrics("db").free_storage(Duration.minutes(1), label="db")
    assert (storage.statistic, storage.period.to_seconds(), storage.label) == ("Minimum", 60, "db")


def test_a_target_group_metric_carries_both_load_balancer_dimensions_in_order() -> None:
    metric = TargetGroupMetrics("app/alb/1", "targetgroup/api/2").unhealthy_hosts()
    assert list(dimensions(metric)) == ["LoadBalancer", "TargetGroup"]
    assert metric.namespace == LoadBalancerMetrics("app/alb/1").requests().namespace


def test_a_services_task_shortfall_is_zero_when_both_counts_are_missing() -> None:
    shortfall = ServiceMetrics("ticketing-dev", "bookings").tasks_below_desired()
    assert shortfall.expression == "FILL(desired, 0) - FILL(running, 0)"
    desired = shortfall.using_metrics["desired"]
    assert isinstance(desired, cloudwatch.Metric)
    assert (desired.namespace, desired.metric_name) == ("ECS/ContainerInsights", "DesiredTaskCount")
    assert dimensions(desired) == {"ClusterName": "ticketing-dev", "ServiceName": "bookings"}


def test_the_proxy_pool_use_is_a_percentage_of_what_it_may_open() -> None:
    used = ProxyMetrics("proxy").connections_used_percent()
    assert used.expression == "100 * used / allowed"
    allowed = used.using_metrics["allowed"]
    assert isinstance(allowed, cloudwatch.Metric)
    assert (allowed.metric_name, allowed.statistic, dimensions(allowed)) == (
        "MaxDatabaseConnectionsAllowed",
        "Sum",
        {"ProxyName": "proxy"},
    )


def test_no_module_but_the_factories_spells_an_aws_metric_namespace() -> None:
    factories = Path(metrics.__file__).resolve().relative_to(ROOT).as_posix()
    spelled = sorted(
        path.relative_to(ROOT).as_posix()
        for directory in ("stacks", "constructs")
        for path in (ROOT / directory).rglob("*.py")
        if NAMESPACE.search(path.read_text(encoding="utf-8"))
    )
    assert spelled == [factories]
