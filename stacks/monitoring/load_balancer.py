"""The ALB's alarms: the guide's HighErrorRate and HighLatency, its own 5XX, unhealthy targets per routed service."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import LoadBalancerMetrics, TargetGroupMetrics
from platform_constructs.naming import pascal_case
from platform_constructs.severity import Severity

GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


def load_balancer_alarms(
    config: EnvironmentConfig, load_balancer: str, target_groups: Mapping[str, str]
) -> list[AlarmSpec]:
    limits = config.observability.load_balancer
    alb = LoadBalancerMetrics(load_balancer)
    specs = [
        AlarmSpec(
            "HighErrorRate",
            "high-error-rate",
            alb.target_5xx(),
            threshold=limits.error_count,
            comparison=GT,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            severity=Severity.CRITICAL,
            runbook=f"More than {limits.error_count} 5XX answers from the services in 5 minutes. Open the "
            "dashboard's error-rate and per-service graphs to see which service, then its logs "
            "(ECS console, the service's Logs tab) for the stack traces; a deploy in the last hour is the first "
            "suspect (the circuit breaker rolls back failed tasks, not bad code). No requests means no errors.",
        ),
        AlarmSpec(
            "HighLatency",
            "high-latency",
            alb.response_time("p95"),
            threshold=limits.latency_p95_ms / 1000,
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"p95 response time above {limits.latency_p95_ms} ms for 10 minutes. Check the dashboard: "
            "database connections and replica lag (slow queries: Performance Insights, the weekly maintenance "
            "report), cache hit rate and memory, services' CPU at their max_tasks. No requests means no latency.",
        ),
        AlarmSpec(
            "LoadBalancer5xx",
            "load-balancer-5xx",
            alb.elb_5xx(),
            threshold=limits.elb_error_count,
            comparison=GT,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            severity=Severity.CRITICAL,
            # With no target (the services stopped at night) the load balancer answers 503.
            muted_at_night=True,
            runbook=f"The load balancer itself answered more than {limits.elb_error_count} requests with 5XX "
            "in 5 minutes: 503 when a target group has no healthy target (tasks stopped, crashing or failing "
            "their health checks: see <service>-unhealthy-targets and tasks-below-desired), 502/504 when a "
            "target reset the connection or did not answer within the idle timeout. The ALB's access logs (the "
            "access-log bucket) give the elb_status_code and target per request. Muted while the night "
            "schedule stops the services (no target: 503 by design).",
        ),
    ]
    minutes = limits.unhealthy_target_minutes
    for name, target_group in target_groups.items():
        specs.append(
            AlarmSpec(
                f"{pascal_case(name)}UnhealthyTargets",
                f"{name}-unhealthy-targets",
                TargetGroupMetrics(load_balancer, target_group).unhealthy_hosts(),
                threshold=1,
                comparison=GE,
                evaluation_periods=minutes,
                datapoints_to_alarm=minutes,
                missing_data=NOT_BREACHING,
                severity=Severity.WARNING,
                runbook=f"A target of {name}'s target group has failed its health checks for {minutes} minutes "
                "(ECS replaces such tasks; one that keeps failing is a bad release, a dependency it cannot reach, or "
                "a health check path that does not answer 200). The target group's Targets tab gives the reason per "
                "target; the service's logs say why. Stopped services at night have no targets, which counts as none "
                "unhealthy, so this alarm is never muted and sees a morning start whose tasks fail their checks.",
            )
        )
    return specs
