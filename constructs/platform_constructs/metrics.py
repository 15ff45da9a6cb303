"""CloudWatch metrics by the identifier of what they describe: the one place a namespace is spelled.

In the manner of cdk-monitoring-constructs' metric factories: `DatabaseMetrics("ticketing-prod-postgres").cpu()`
is AWS/RDS CPUUtilization of that instance, averaged. Each factory fixes the namespace, the metric's
name, its dimensions (names and order) and the statistic that suits it; the caller chooses only the
period (alarms judge 5-minute or hourly periods, the dashboard draws minutes) and, for graphs, a label.
The identifiers may be tokens (a name read from SSM at deploy time): a factory only places them.

Metrics of a construct that aws-cdk-lib already offers (a topic's, a queue's) are here too, by name,
so that an alarm can be described without the construct (the alarm reference page renders them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, aws_cloudwatch as cloudwatch

MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
HOUR = Duration.hours(1)
DAY = Duration.days(1)


def metric(
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, str],
    statistic: str,
    period: Duration,
    label: str | None = None,
) -> cloudwatch.Metric:
    """One metric, every field given: what each factory below returns."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map=dict(dimensions),
        statistic=statistic,
        period=period,
        label=label,
    )


@dataclass(frozen=True)
class LoadBalancerMetrics:
    """An Application Load Balancer, by its full name (`app/<name>/<id>`, the `LoadBalancer` dimension)."""

    full_name: str
    NAMESPACE = "AWS/ApplicationELB"

    def _metric(self, name: str, statistic: str, period: Duration, label: str | None) -> cloudwatch.Metric:
        return metric(self.NAMESPACE, name, {"LoadBalancer": self.full_name}, statistic, period, label)

    def requests(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("RequestCount", "Sum", period, label)

    def target_5xx(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """5XX answers of the targets (the services)."""
        return self._metric("HTTPCode_Target_5XX_Count", "Sum", period, label)

    def elb_5xx(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """5XX answers of the load balancer itself (no healthy target, a target that reset or timed out)."""
        return self._metric("HTTPCode_ELB_5XX_Count", "Sum", period, label)

    def response_time(
        self, statistic: str, period: Duration = FIVE_MINUTES, label: str | None = None
    ) -> cloudwatch.Metric:
        """Seconds from the request leaving the load balancer to the target's answer; `statistic` a percentile."""
        return self._metric("TargetResponseTime", statistic, period, label)


@dataclass(frozen=True)
class TargetGroupMetrics:
    """A target group of a load balancer, by both full names (the two dimensions its metrics need)."""

    load_balancer: str
    full_name: str

    def unhealthy_hosts(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        dimensions = {"LoadBalancer": self.load_balancer, "TargetGroup": self.full_name}
        return metric(LoadBalancerMetrics.NAMESPACE, "UnHealthyHostCount", dimensions, "Maximum", period, label)


@dataclass(frozen=True)
class ServiceMetrics:
    """An ECS service, by its cluster's and its own name: utilisation (AWS/ECS) and task counts (Container
    Insights, which sends nothing for a service with no running task)."""

    cluster_name: str
    service_name: str
    CONTAINER_INSIGHTS = "ECS/ContainerInsights"

    @property
    def _dimensions(self) -> dict[str, str]:
        return {"ClusterName": self.cluster_name, "ServiceName": self.service_name}

    def cpu(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return metric("AWS/ECS", "CPUUtilization", self._dimensions, "Average", period, label)

    def memory(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return metric("AWS/ECS", "MemoryUtilization", self._dimensions, "Average", period, label)

    def running_tasks(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return metric(self.CONTAINER_INSIGHTS, "RunningTaskCount", self._dimensions, "Average", period, label)

    def desired_tasks(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return metric(self.CONTAINER_INSIGHTS, "DesiredTaskCount", self._dimensions, "Average", period, label)

    def tasks_below_desired(self) -> cloudwatch.MathExpression:
        """Desired minus running tasks, 0 when both are missing (a stopped service at night is no shortfall)."""
        return cloudwatch.MathExpression(
            expression="FILL(desired, 0) - FILL(running, 0)",
            using_metrics={"desired": self.desired_tasks(), "running": self.running_tasks()},
            period=MINUTE,
            label=f"{self.service_name} tasks short of desired",
        )


@dataclass(frozen=True)
class DatabaseMetrics:
    """An RDS instance, by its identifier (the `DBInstanceIdentifier` dimension)."""

    instance_identifier: str
    NAMESPACE = "AWS/RDS"

    def _metric(self, name: str, statistic: str, period: Duration, label: str | None) -> cloudwatch.Metric:
        return metric(self.NAMESPACE, name, {"DBInstanceIdentifier": self.instance_identifier}, statistic, period,
                      label)  # fmt: skip

    def cpu(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("CPUUtilization", "Average", period, label)

    def freeable_memory(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Bytes."""
        return self._metric("FreeableMemory", "Average", period, label)

    def free_storage(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Bytes, the lowest in the period."""
        return self._metric("FreeStorageSpace", "Minimum", period, label)

    def connections(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("DatabaseConnections", "Maximum", period, label)

    def read_latency(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Seconds per disk read."""
        return self._metric("ReadLatency", "Average", period, label)

    def write_latency(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Seconds per disk write."""
        return self._metric("WriteLatency", "Average", period, label)

    def replica_lag(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        """Seconds a replica is behind its primary (a primary sends none)."""
        return self._metric("ReplicaLag", "Maximum", period, label)


@dataclass(frozen=True)
class ProxyMetrics:
    """An RDS Proxy, by its name (the `ProxyName` dimension)."""

    proxy_name: str

    def _metric(self, name: str, statistic: str, period: Duration, label: str | None) -> cloudwatch.Metric:
        return metric(DatabaseMetrics.NAMESPACE, name, {"ProxyName": self.proxy_name}, statistic, period, label)

    def database_connections(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Connections the proxy holds open to the database."""
        return self._metric("DatabaseConnections", "Sum", period, label)

    def max_database_connections(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Connections the proxy may open (its max_connections_percent of the database's)."""
        return self._metric("MaxDatabaseConnectionsAllowed", "Sum", period, label)

    def borrow_latency(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Microseconds a client waits to borrow a connection."""
        return self._metric("DatabaseConnectionsBorrowLatency", "Average", period, label)

    def client_connections(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("ClientConnections", "Sum", period, label)

    def connections_used_percent(self) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression="100 * used / allowed",
            using_metrics={"used": self.database_connections(), "allowed": self.max_database_connections()},
            period=FIVE_MINUTES,
            label="Proxy connections used (%)",
        )


@dataclass(frozen=True)
class CacheNodeMetrics:
    """An ElastiCache node, by its cache cluster id (`<replication group>-<member, 3 digits>`)."""

    cache_cluster_id: str
    NAMESPACE = "AWS/ElastiCache"

    def _metric(self, name: str, statistic: str, period: Duration, label: str | None) -> cloudwatch.Metric:
        return metric(self.NAMESPACE, name, {"CacheClusterId": self.cache_cluster_id}, statistic, period, label)

    def engine_cpu(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """The Redis engine's one thread, in percent."""
        return self._metric("EngineCPUUtilization", "Average", period, label)

    def memory(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("DatabaseMemoryUsagePercentage", "Maximum", period, label)

    def evictions(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("Evictions", "Sum", period, label)

    def connections(self, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("CurrConnections", "Maximum", period, label)

    def replication_lag(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        """Seconds a replica is behind the primary (a primary sends none)."""
        return self._metric("ReplicationLag", "Maximum", period, label)

    def hit_rate(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("CacheHitRate", "Average", period, label)


@dataclass(frozen=True)
class DistributionMetrics:
    """A CloudFront distribution, by its id (its metrics are in us-east-1, `Region=Global`)."""

    distribution_id: str

    def _metric(self, name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        dimensions = {"DistributionId": self.distribution_id, "Region": "Global"}
        return metric("AWS/CloudFront", name, dimensions, statistic, period)

    def requests(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return self._metric("Requests", "Sum", period)

    def error_rate_5xx(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        """Percent of responses that were 5xx."""
        return self._metric("5xxErrorRate", "Average", period)

    def judged_error_rate(self, min_requests: int, period: Duration = FIVE_MINUTES) -> cloudwatch.MathExpression:
        """The 5xx rate, or 0 while there are fewer than `min_requests` requests (too few to judge)."""
        return cloudwatch.MathExpression(
            expression=f"IF(FILL(requests, 0) >= {min_requests}, FILL(rate, 0), 0)",
            using_metrics={"requests": self.requests(period), "rate": self.error_rate_5xx(period)},
            period=period,
            label="CloudFront 5xx rate (%), judged from enough requests",
        )


@dataclass(frozen=True)
class WebAclMetrics:
    """A WAF web ACL, by its name (the `WebACL` dimension); `rule` "ALL" is every rule together."""

    web_acl_name: str
    rule: str = "ALL"

    def blocked_requests(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        dimensions = {"WebACL": self.web_acl_name, "Rule": self.rule}
        return metric("AWS/WAFV2", "BlockedRequests", dimensions, "Sum", period)


@dataclass(frozen=True)
class BackupVaultMetrics:
    """AWS Backup's job counts by the vault they completed into (published only when not zero)."""

    vault_name: str

    def _metric(self, name: str, period: Duration, label: str | None) -> cloudwatch.Metric:
        return metric("AWS/Backup", name, {"BackupVaultName": self.vault_name}, "Sum", period, label)

    def backup_jobs_completed(self, period: Duration = HOUR, label: str | None = None) -> cloudwatch.Metric:
        return self._metric("NumberOfBackupJobsCompleted", period, label)

    def copy_jobs_completed(self, period: Duration = HOUR, label: str | None = None) -> cloudwatch.Metric:
        """Copy jobs counted by their destination vault (they run in the source's region)."""
        return self._metric("NumberOfCopyJobsCompleted", period, label)


@dataclass(frozen=True)
class StateMachineMetrics:
    """A Step Functions state machine, by its ARN."""

    state_machine_arn: str

    def _metric(self, name: str, period: Duration) -> cloudwatch.Metric:
        return metric("AWS/States", name, {"StateMachineArn": self.state_machine_arn}, "Sum", period)

    def executions_failed(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return self._metric("ExecutionsFailed", period)

    def executions_timed_out(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return self._metric("ExecutionsTimedOut", period)

    def failed_or_timed_out(self, label: str) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression="failed + timedout",
            using_metrics={"failed": self.executions_failed(), "timedout": self.executions_timed_out()},
            label=label,
            period=FIVE_MINUTES,
        )


@dataclass(frozen=True)
class EventRuleMetrics:
    """An EventBridge rule, by its name."""

    rule_name: str

    def matched_events(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return metric("AWS/Events", "MatchedEvents", {"RuleName": self.rule_name}, "Sum", period)


@dataclass(frozen=True)
class FunctionMetrics:
    """A Lambda function, by its name."""

    function_name: str

    def errors(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        """Invocations that ended in an error (a crash or timeout, not a problem the function reported)."""
        return metric("AWS/Lambda", "Errors", {"FunctionName": self.function_name}, "Sum", period)


@dataclass(frozen=True)
class TopicMetrics:
    """An SNS topic, by its name."""

    topic_name: str

    def notifications_failed(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return metric("AWS/SNS", "NumberOfNotificationsFailed", {"TopicName": self.topic_name}, "Sum", period)


@dataclass(frozen=True)
class QueueMetrics:
    """An SQS queue, by its name."""

    queue_name: str

    def visible_messages(self, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        return metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": self.queue_name}, "Maximum",
                      period)  # fmt: skip


@dataclass(frozen=True)
class BookingMetrics:
    """What the bookings service publishes under its own namespace (config observability.bookings)."""

    namespace: str

    def attempts(self, status: str, period: Duration = FIVE_MINUTES) -> cloudwatch.Metric:
        """Booking attempts that ended in `status` ("success" or "failure")."""
        return metric(self.namespace, "BookingAttempts", {"Status": status}, "Sum", period)

    def latency(self, statistic: str, period: Duration = FIVE_MINUTES, label: str | None = None) -> cloudwatch.Metric:
        """Milliseconds per booking; `statistic` a percentile."""
        return metric(self.namespace, "BookingLatency", {}, statistic, period, label)

    def success_rate(self, min_attempts: int, period: Duration = FIVE_MINUTES) -> cloudwatch.MathExpression:
        """Successful attempts in percent, or 100 while there are fewer than `min_attempts` (too few to judge)."""
        return cloudwatch.MathExpression(
            expression=f"IF(FILL(success, 0) + FILL(failure, 0) >= {min_attempts}, "
            "100 * FILL(success, 0) / (FILL(success, 0) + FILL(failure, 0)), 100)",
            using_metrics={status: self.attempts(status, period) for status in ("success", "failure")},
            period=period,
            label="Booking success rate (%)",
        )


@dataclass(frozen=True)
class SeatMetrics:
    """The available-seats metric a service publishes, as config names it (observability.seats)."""

    namespace: str
    metric_name: str
    dimensions: Mapping[str, str]

    def available(self, period: Duration = MINUTE, label: str | None = None) -> cloudwatch.Metric:
        """The fewest seats left in the period."""
        return metric(self.namespace, self.metric_name, self.dimensions, "Minimum", period, label)


@dataclass(frozen=True)
class MaintenanceMetrics:
    """What a database maintenance task reports (Powertools metrics: `service` and `Task` dimensions)."""

    namespace: str
    service: str
    task: str

    def _metric(self, statistic: str, period: Duration) -> cloudwatch.Metric:
        dimensions = {"service": self.service, "Task": self.task}
        return metric(self.namespace, "MaintenanceProblems", dimensions, statistic, period)

    def problems(self, period: Duration = HOUR) -> cloudwatch.Metric:
        """The most problems a run of the task reported."""
        return self._metric("Maximum", period)

    def reports(self, period: Duration = DAY) -> cloudwatch.Metric:
        """How many runs reported (each reports once, problems or not)."""
        return self._metric("SampleCount", period)
