"""Each ECS service's alarms: CPU and memory near their limit, and fewer tasks running than desired."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import ServiceMetrics
from platform_constructs.naming import pascal_case
from platform_constructs.severity import Severity

NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


def service_alarms(config: EnvironmentConfig, cluster_name: str, name: str) -> list[AlarmSpec]:
    limits = config.observability.services
    metrics = ServiceMetrics(cluster_name, name)
    construct = pascal_case(name)
    specs = [
        AlarmSpec(
            f"{construct}{kind}",
            f"{name}-{kind.lower()}",
            metric,
            threshold=threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=10,
            datapoints_to_alarm=10,
            missing_data=NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"{name} has used over {threshold}% of its {kind.lower()} for 10 minutes although target "
            f"tracking adds tasks above its target: it is probably at max_tasks (compute) or a task is stuck. "
            "Compare running tasks with max_tasks on the dashboard; raise max_tasks or the task size. A service "
            "with no running task (at night) sends no data, which counts as fine.",
        )
        for kind, metric, threshold in (
            ("Cpu", metrics.cpu(), limits.cpu_percent),
            ("Memory", metrics.memory(), limits.memory_percent),
        )
    ]
    minutes = limits.missing_task_minutes
    specs.append(
        AlarmSpec(
            f"{construct}TasksBelowDesired",
            f"{name}-tasks-below-desired",
            metrics.tasks_below_desired(),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            missing_data=NOT_BREACHING,
            severity=Severity.CRITICAL,
            runbook=f"{name} has run fewer tasks than desired for {minutes} minutes: tasks fail to start or "
            "keep stopping (a Spot reclaim is replaced within minutes). Read the service's events in the ECS "
            "console and the stopped tasks' reasons; check its image tag ([images]) and its secrets. At night "
            "both counts are zero, which is no shortfall.",
        )
    )
    return specs
