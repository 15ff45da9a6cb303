"""Config of the alarms, their topics and the metrics the services publish: `[observability]`.

Every threshold has the guide's number (or, where the guide gives none, a conventional one) as its
default, so an environment file sets only what differs. The rules that need the services too are in
config/rules.py: a custom metric's namespace must be one a service may publish to (each task role may
write to its own namespace only), and the services to scale out must exist.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from config.fields import ConfigFieldError, Strict, bounded, key_path, raise_all
from platform_constructs.limits import Limit

SHARE_PERCENT = Limit(1, 100, "%")
MILLISECONDS = Limit(1, 600_000, "ms")
SECONDS = Limit(1, 86_400, "seconds")
COUNT = Limit(1, 1_000_000_000)
#: A CloudWatch alarm takes at most 5 actions per state: the warning topic and up to 4 scaling policies.
SCALE_OUT_SERVICES = 4
SCALE_OUT_TASKS = Limit(1, 20, "tasks")
MORNING_GRACE_MINUTES = Limit(0, 120, "minutes")
ANOMALY_BAND_WIDTH = Limit(1, 10, "standard deviations")
#: Minutes in a row a target group reports an unhealthy target (period 1 minute).
UNHEALTHY_MINUTES = Limit(2, 60, "minutes")
#: Hours without a recovery point: more than the plan's one day; CloudWatch evaluates at most 7 days
#: (evaluation periods x period), and more than one day only with periods of an hour or more.
#: At least a day plus the backup plan's start window (1 h) and completion window (8 h)
#: (platform_constructs/backup_plan.py) and the hour the count lands in: two daily jobs may complete that far
#: apart on healthy days. At most 7 days, CloudWatch's longest evaluation.
RECOVERY_POINT_HOURS = Limit(34, 168, "hours")
#: CloudWatch: at most 30 dimensions per metric; names up to 255 characters, values up to 1024.
MAX_DIMENSIONS = 30

_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[!-~]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")
_METRIC_NAME = re.compile(r"^[!-~]{1,255}$")
_DIMENSION_NAME = re.compile(r"^[!-9;-~][!-~]{0,254}$")  # printable, no space, not starting with ':'
_DIMENSION_VALUE = re.compile(r"^[ -~]{1,1024}$")


def _namespace(value: str) -> str:
    if not _NAMESPACE.fullmatch(value):
        raise ValueError("a CloudWatch namespace: 1 to 255 of A-Z a-z 0-9 . - _ / # :, e.g. Ticketing/Inventory")
    if value.startswith("AWS/"):
        raise ValueError("namespaces starting with AWS/ are reserved for AWS services")
    return value


#: A namespace custom metrics may be published to.
MetricNamespace = Annotated[str, AfterValidator(_namespace)]


class LoadBalancerAlarms(Strict):
    """The guide's HighErrorRate and HighLatency on the ALB."""

    error_count: int = bounded(COUNT, "Target 5XX responses in 5 minutes above which the critical topic is paged.",
                               default=10)  # fmt: skip
    latency_p95_ms: int = bounded(MILLISECONDS, "p95 TargetResponseTime above which the warning topic hears.",
                                  default=500)  # fmt: skip
    elb_error_count: int = bounded(COUNT, "5XX answers the load balancer itself gave (no healthy target, a target "
                                   "that timed out or reset) in 5 minutes above which the critical topic is paged.",
                                   default=10)  # fmt: skip
    unhealthy_target_minutes: int = bounded(UNHEALTHY_MINUTES, "Minutes in a row with an unhealthy target in a "
                                            "service's target group before the warning topic hears.",
                                            default=5)  # fmt: skip


class BackupAlarms(Strict):
    """Backups that silently stop: no new recovery point, no completed copy."""

    recovery_point_hours: int = bounded(
        RECOVERY_POINT_HOURS,
        "Hours without a new daily recovery point in the backup vault (or a completed copy into a copy vault) "
        "before the warning topic hears; the plan makes one a day, and a job may start up to 1 h and finish up to "
        "8 h after its time, so this is at least a day plus those windows and an hour.",
        default=34,
    )


class SeatAlarm(Strict):
    """The guide's LowAvailableSeats: notify, and scale out the services that sell the seats."""

    namespace: MetricNamespace = Field(
        default="Ticketing/Inventory", description="Namespace the inventory service publishes to."
    )
    metric: str = Field(default="AvailableSeats", description="Name of the available-seats metric.")
    dimensions: dict[str, str] = Field(
        default_factory=lambda: {"EventClass": "popular"},
        description="Dimensions the seat metric is published with (the guide: seats of popular events).",
    )
    threshold: int = bounded(COUNT, "Seats below which the alarm fires (the guide: 100).", default=100)
    scale_out_services: tuple[str, ...] = Field(
        default=("inventory", "bookings"),
        strict=False,
        max_length=SCALE_OUT_SERVICES,
        description="Services that get more tasks while seats are scarce (the guide: trigger auto-scaling).",
    )
    scale_out_tasks: int = bounded(SCALE_OUT_TASKS, "Tasks added per step (up to the service's max_tasks).",
                                   default=2)  # fmt: skip

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if not _METRIC_NAME.fullmatch(value):
            raise ValueError("a metric name: 1 to 255 printable ASCII characters without spaces")
        return value

    @field_validator("dimensions")
    @classmethod
    def _dimensions(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_DIMENSIONS:
            raise ValueError(f"CloudWatch allows at most {MAX_DIMENSIONS} dimensions per metric, got {len(value)}")
        problems = []
        for name, dimension_value in value.items():
            if not _DIMENSION_NAME.fullmatch(name):
                problems.append(
                    ConfigFieldError(
                        key_path(("observability", "seats", "dimensions", name)),
                        name,
                        "a dimension name is 1 to 255 printable ASCII characters, no spaces, not starting with ':'",
                    )
                )
            elif not _DIMENSION_VALUE.fullmatch(dimension_value):
                problems.append(
                    ConfigFieldError(
                        key_path(("observability", "seats", "dimensions", name)),
                        dimension_value,
                        "a dimension value is 1 to 1024 printable ASCII characters",
                    )
                )
        raise_all(problems)
        return value

    @field_validator("scale_out_services")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("services must not repeat")
        return value


class BookingAlarms(Strict):
    """The guide's booking metrics (`BookingAttempts` by `Status`, `BookingLatency`) and their alarms."""

    namespace: MetricNamespace = Field(
        default="Ticketing/Bookings", description="Namespace the bookings service publishes to."
    )
    min_success_percent: int = bounded(SHARE_PERCENT, "Share of successful attempts below which the critical "
                                       "topic is paged.", default=95)  # fmt: skip
    min_attempts: int = bounded(COUNT, "Attempts in 5 minutes below which the success rate is not judged (a few "
                                "failures among few attempts are noise).", default=20)  # fmt: skip
    latency_p95_ms: int = bounded(MILLISECONDS, "p95 BookingLatency above which the warning topic hears.",
                                  default=1000)  # fmt: skip


class ServiceAlarms(Strict):
    """Per ECS service (target tracking holds CPU at 70% and memory at 80%: these fire above that)."""

    cpu_percent: int = bounded(SHARE_PERCENT, "Average CPU over 10 minutes above which the alarm fires.", default=90)
    memory_percent: int = bounded(
        SHARE_PERCENT, "Average memory over 10 minutes above which the alarm fires.", default=90
    )
    missing_task_minutes: int = bounded(
        Limit(3, 60, "minutes"),
        "Minutes in a row with fewer running tasks than desired before the warning topic hears "
        "(a Spot reclaim is replaced within a few).",
        default=10,
    )


class DatabaseAlarms(Strict):
    """PostgreSQL instances (primary and replicas) and RDS Proxy."""

    cpu_percent: int = bounded(SHARE_PERCENT, "Average CPU over 15 minutes above which the alarm fires.", default=80)
    freeable_memory_percent: int = bounded(SHARE_PERCENT, "Freeable memory below this share of the class's "
                                           "memory.", default=10)  # fmt: skip
    free_storage_percent: int = bounded(SHARE_PERCENT, "Free storage below this share of the allocated storage "
                                        "(autoscaling adds at 10%; this fires when it has not).",
                                        default=5)  # fmt: skip
    connections_percent: int = bounded(SHARE_PERCENT, "Connections above this share of max_connections.",
                                       default=80)  # fmt: skip
    replica_lag_seconds: int = bounded(SECONDS, "ReplicaLag of a read replica above which the alarm fires.", default=30)
    read_latency_ms: int = bounded(MILLISECONDS, "Average ReadLatency above which the alarm fires.", default=20)
    write_latency_ms: int = bounded(MILLISECONDS, "Average WriteLatency above which the alarm fires.", default=20)
    proxy_connections_percent: int = bounded(SHARE_PERCENT, "Proxy's database connections above this share of "
                                             "what it may open.", default=90)  # fmt: skip
    proxy_borrow_latency_ms: int = bounded(MILLISECONDS, "Average time to borrow a connection from the proxy's pool "
                                           "above which the alarm fires.", default=50)  # fmt: skip


class CacheAlarms(Strict):
    """Every node of the cache's replication group."""

    engine_cpu_percent: int = bounded(
        SHARE_PERCENT, "EngineCPUUtilization (the engine's one thread) above which the alarm fires.", default=80
    )
    memory_percent: int = bounded(
        SHARE_PERCENT, "DatabaseMemoryUsagePercentage above which the alarm fires.", default=80
    )
    evictions: int = bounded(
        COUNT, "Keys evicted in 5 minutes (memory is full) above which the alarm fires.", default=1000
    )
    connections: int = bounded(
        COUNT,
        "Client connections to one node (each task's pool holds a few) above which the alarm fires.",
        default=1000,
    )
    replication_lag_seconds: int = bounded(
        SECONDS, "ReplicationLag of a replica node above which the alarm fires.", default=5
    )


class EdgeAlarms(Strict):
    """CloudFront and WAF (their metrics, alarms and a topic pair live in us-east-1)."""

    error_rate_percent: int = bounded(
        SHARE_PERCENT, "CloudFront 5xxErrorRate over 5 minutes above which the alarm fires.", default=5
    )
    min_requests: int = bounded(
        COUNT,
        "Requests in 5 minutes below which the 5xx rate is not judged (one error among a few requests at night is "
        "no outage); at least 100 / error_rate_percent, so that one error alone never crosses the rate.",
        default=100,
    )
    waf_blocked_band_width: int = bounded(
        ANOMALY_BAND_WIDTH,
        "Blocked requests above the anomaly band of this many standard deviations count as a spike.",
        default=3,
    )

    @model_validator(mode="after")
    def _one_error_is_no_outage(self) -> EdgeAlarms:
        least = math.ceil(100 / self.error_rate_percent)
        if self.min_requests < least:
            raise ConfigFieldError(
                key_path(("observability", "edge", "min_requests")),
                self.min_requests,
                f"must be at least {least} (100 / error_rate_percent {self.error_rate_percent}): with fewer "
                "requests a single 5xx answer is already above the rate and pages",
            )
        return self


class ObservabilityConfig(Strict):
    """Where alarms go and when they fire."""

    pagerduty_url: str = Field(
        description="HTTPS endpoint of the PagerDuty CloudWatch integration; the critical topic delivers to it."
    )
    warning_emails: tuple[str, ...] = Field(
        default=(), strict=False, max_length=10, description="E-mail addresses the warning topic mails (at most 10)."
    )
    morning_grace_minutes: int = bounded(
        MORNING_GRACE_MINUTES,
        "Outside prod: minutes after night_scaling.start_at during which alarms that the night's stopped "
        "services trip stay muted (tasks start and pass their health checks).",
        default=15,
    )
    load_balancer: LoadBalancerAlarms = Field(
        default_factory=LoadBalancerAlarms, description="Alarms on the ALB: errors, latency, unhealthy targets."
    )
    seats: SeatAlarm = Field(
        default_factory=SeatAlarm, description="The low-available-seats alarm and the scale-out it starts."
    )
    bookings: BookingAlarms = Field(
        default_factory=BookingAlarms, description="Alarms on the booking success rate and latency."
    )
    services: ServiceAlarms = Field(
        default_factory=ServiceAlarms, description="Alarms per ECS service: CPU, memory, missing tasks."
    )
    database: DatabaseAlarms = Field(
        default_factory=DatabaseAlarms, description="Alarms on the PostgreSQL instances and RDS Proxy."
    )
    cache: CacheAlarms = Field(default_factory=CacheAlarms, description="Alarms on every node of the cache.")
    edge: EdgeAlarms = Field(
        default_factory=EdgeAlarms, description="Alarms on CloudFront's error rate and WAF's blocked requests."
    )
    backups: BackupAlarms = Field(
        default_factory=BackupAlarms, description="Alarms on recovery points and copies that stop arriving."
    )

    @field_validator("pagerduty_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not _HTTPS_URL.fullmatch(value) or len(value) > 2048:
            raise ValueError(
                "an https:// URL without spaces, e.g. https://events.pagerduty.com/integration/<key>/enqueue "
                "(SNS delivers to HTTPS endpoints only over TLS)"
            )
        return value

    @field_validator("warning_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, email in enumerate(value):
            if not _EMAIL.fullmatch(email) or len(email) > 254:
                raise ConfigFieldError(
                    key_path(("observability", "warning_emails", index)), email, "an e-mail address, e.g. a@b.com"
                )
        if len({email.lower() for email in value}) != len(value):
            raise ValueError("addresses must not repeat")
        return value
