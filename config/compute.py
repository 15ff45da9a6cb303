"""Config of the services tier: Fargate capacity and scaling, the night schedule, the load balancer.

`ComputeConfig` (`[compute]`), `LoadBalancerConfig` (`[load_balancer]`) and `images` live in each
environment file; the shape of each service (port, paths, size, ...) lives in config/services.toml
(`ServiceConfig` in config/services.py). The rules that need both, and prod's rules, are in
config/rules.py; `effective_sizing` gives a service's size in an environment from both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, Protocol

from pydantic import Field, field_validator, model_validator

from config.cloudfront_prefix_lists import CLOUDFRONT_ORIGIN_PREFIX_LISTS, PREFIX_LIST_COMMAND
from config.fields import ConfigFieldError, Strict, bounded, clock_time
from config.log_retention import check_retention, retention_days
from config.services import ServiceConfig
from config.time_zones import check_time_zone
from platform_constructs.limits import Limit

PERCENT = Limit(0, 100, "%")
#: Tasks per service: this platform's ceiling (ECS allows far more; raise it here deliberately).
TASKS = Limit(0, 100, "tasks")
COOLDOWN_SECONDS = Limit(0, 3600, "seconds")
#: Target tracking targets below 10% or above 95% would keep a service scaling all the time.
TARGET_PERCENT = Limit(10, 95, "%")
#: ECS deployment bounds: the minimum healthy share may be 0-100, the maximum 100-200 (this
#: platform's ceiling; ECS allows more).
MINIMUM_HEALTHY_PERCENT = Limit(0, 100, "%")
MAXIMUM_PERCENT = Limit(100, 200, "%")
#: ALB target-group health checks.
HEALTH_CHECK_INTERVAL_SECONDS = Limit(5, 300, "seconds")
HEALTH_CHECK_TIMEOUT_SECONDS = Limit(2, 120, "seconds")
HEALTH_CHECK_THRESHOLD = Limit(2, 10, "checks")
DEREGISTRATION_DELAY_SECONDS = Limit(0, 3600, "seconds")
IDLE_TIMEOUT_SECONDS = Limit(1, 4000, "seconds")
LIFECYCLE_DAYS = Limit(1, 3650, "days")


class ScalingConfig(Strict):
    """Target tracking per service (the guide: CPU 70%, memory 80%, in 300 s, out 60 s)."""

    cpu_target_percent: int = bounded(TARGET_PERCENT, "Average CPU the service is kept at.", default=70)
    memory_target_percent: int = bounded(TARGET_PERCENT, "Average memory the service is kept at.", default=80)
    scale_in_cooldown_seconds: int = bounded(
        COOLDOWN_SECONDS, "Seconds target tracking waits after scaling in before it scales in again.", default=300
    )
    scale_out_cooldown_seconds: int = bounded(
        COOLDOWN_SECONDS, "Seconds target tracking waits after scaling out before it scales out again.", default=60
    )


class DeploymentConfig(Strict):
    """How a new task definition rolls out; the circuit breaker (with rollback) is always on."""

    minimum_healthy_percent: int = bounded(
        MINIMUM_HEALTHY_PERCENT,
        "Share of the desired tasks kept running and healthy during a deployment; prod: 100.",
        default=100,
    )
    maximum_percent: int = bounded(
        MAXIMUM_PERCENT, "Most tasks running during a deployment, as a share of the desired count.", default=200
    )

    @model_validator(mode="after")
    def _room_to_roll(self) -> DeploymentConfig:
        if self.minimum_healthy_percent == 100 and self.maximum_percent == 100:
            raise ConfigFieldError(
                "maximum_percent",
                self.maximum_percent,
                "with minimum_healthy_percent = 100 ECS can neither stop an old task nor start a new one: "
                "raise maximum_percent above 100 (e.g. 200)",
                relative=True,
            )
        return self


class NightScalingConfig(Strict):
    """Outside prod: every service goes to zero tasks at `stop_at` and comes back at `start_at`.

    The guide stops dev and staging at 20:00 and starts them at 09:00. Stopping happens every day
    (so a service deployed on a Saturday morning is stopped that evening); starting happens
    Monday to Friday when `weekends = "stopped"` (nothing runs from Friday evening to Monday
    morning), every day when `weekends = "running"`.
    """

    time_zone: str = Field(default="Asia/Seoul", description="IANA time zone of stop_at and start_at.")
    stop_at: str = Field(default="20:00", description="HH:MM (24-hour, time_zone) every service goes to zero tasks.")
    start_at: str = Field(
        default="09:00", description="HH:MM (24-hour, time_zone) services return to their min/max tasks."
    )
    weekends: Literal["stopped", "running"] = Field(
        default="stopped", description="stopped: start Monday to Friday only; running: start every day."
    )

    @field_validator("stop_at", "start_at")
    @classmethod
    def _clock(cls, value: str) -> str:
        clock_time(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_time_zone(value)

    @model_validator(mode="after")
    def _distinct_times(self) -> NightScalingConfig:
        if self.stop_at == self.start_at:
            raise ConfigFieldError(
                "start_at", self.start_at, "must differ from stop_at, or nothing ever runs", relative=True
            )
        return self


class ServiceSizing(Strict):
    """Per environment and service: what differs from the shared services.toml and [compute]."""

    cpu: int | None = Field(
        default=None,
        description="Task CPU units (1024 = 1 vCPU) instead of services.toml's; with memory_mib, a pair Fargate "
        "offers.",
    )
    memory_mib: int | None = Field(
        default=None, description="Task memory in MiB instead of services.toml's; with cpu, a pair Fargate offers."
    )
    min_tasks: int | None = bounded(
        TASKS, "Fewest tasks target tracking keeps, instead of [compute]'s min_tasks.", default=None
    )
    max_tasks: int | None = bounded(
        TASKS, "Most tasks target tracking starts, instead of [compute]'s max_tasks.", default=None
    )


class ComputeConfig(Strict):
    """ECS Fargate capacity, scaling and deployments of every service in one environment."""

    spot_percent: int = bounded(PERCENT, "Share of the tasks above the base that run on FARGATE_SPOT (guide: 80).")
    on_demand_base: int = bounded(TASKS, "Tasks per service always on FARGATE (on demand); prod: at least 1.")
    min_tasks: int = bounded(TASKS, "Fewest tasks per service by day (the guide's 2).")
    max_tasks: int = bounded(TASKS, "Most tasks per service.")
    log_retention_days: int = retention_days("How long container logs are kept in CloudWatch Logs.")
    scaling: ScalingConfig = Field(
        default_factory=ScalingConfig, description="Target tracking on CPU and memory, per service."
    )
    deployment: DeploymentConfig = Field(
        default_factory=DeploymentConfig, description="How a new task definition rolls out, per service."
    )
    night_scaling: NightScalingConfig | None = Field(
        default=None, description="Stop every service at night (not allowed in prod)."
    )
    services: dict[str, ServiceSizing] = Field(
        default_factory=dict,
        description="Per service: the cpu, memory and task bounds that differ in this environment from "
        "services.toml and [compute].",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return check_retention(value)


#: An ACM certificate ARN; `region` and `account` are checked against the environment.
CERTIFICATE_ARN = re.compile(
    r"^arn:aws:acm:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
_HOSTED_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PREFIX_LIST_ID = re.compile(r"^pl-[0-9a-f]{8,17}$")


def _domain_problem(name: str) -> str | None:
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        return "a lower-case DNS name such as origin.dev.tickets.example.com (labels of a-z, 0-9 and -)"
    return None


class HealthCheckConfig(Strict):
    """ALB target-group health checks (the guide: every 30 s)."""

    interval_seconds: int = bounded(
        HEALTH_CHECK_INTERVAL_SECONDS, "Seconds between two health checks of a target.", default=30
    )
    timeout_seconds: int = bounded(
        HEALTH_CHECK_TIMEOUT_SECONDS,
        "Seconds without an answer after which a check fails; less than interval_seconds.",
        default=5,
    )
    healthy_threshold: int = bounded(
        HEALTH_CHECK_THRESHOLD, "Checks in a row a target must pass to become healthy.", default=2
    )
    unhealthy_threshold: int = bounded(
        HEALTH_CHECK_THRESHOLD, "Checks in a row a target must fail to become unhealthy.", default=3
    )

    @model_validator(mode="after")
    def _timeout_below_interval(self) -> HealthCheckConfig:
        if self.timeout_seconds >= self.interval_seconds:
            raise ConfigFieldError(
                "timeout_seconds",
                self.timeout_seconds,
                f"must be less than interval_seconds ({self.interval_seconds})",
                relative=True,
            )
        return self


class LogLifecycleConfig(Strict):
    """S3 lifecycle of a log bucket (the guide's ArchiveOldLogs: IA at 30 days, Glacier at 90, gone at 365)."""

    infrequent_access_after_days: int = bounded(
        LIFECYCLE_DAYS, "Days after creation an object moves to STANDARD_IA (30 or more).", default=30
    )
    glacier_after_days: int = bounded(
        LIFECYCLE_DAYS,
        "Days after creation an object moves to GLACIER; after infrequent_access_after_days.",
        default=90,
    )
    expire_after_days: int = bounded(
        LIFECYCLE_DAYS, "Days after creation an object is deleted; after glacier_after_days.", default=365
    )

    @model_validator(mode="after")
    def _in_order(self) -> LogLifecycleConfig:
        # S3 moves objects to STANDARD_IA no sooner than 30 days after creation.
        if self.infrequent_access_after_days < 30:
            raise ConfigFieldError(
                "infrequent_access_after_days",
                self.infrequent_access_after_days,
                "S3 moves objects to STANDARD_IA 30 days after creation at the earliest: use 30 or more",
                relative=True,
            )
        order = (
            f"need infrequent_access_after_days ({self.infrequent_access_after_days}) < glacier_after_days "
            f"({self.glacier_after_days}) < expire_after_days ({self.expire_after_days})"
        )
        if self.glacier_after_days <= self.infrequent_access_after_days:
            raise ConfigFieldError("glacier_after_days", self.glacier_after_days, order, relative=True)
        if self.expire_after_days <= self.glacier_after_days:
            raise ConfigFieldError("expire_after_days", self.expire_after_days, order, relative=True)
        return self


class LoadBalancerConfig(Strict):
    """The ALB in front of the services, reachable only through CloudFront."""

    certificate_arn: str = Field(description="ACM certificate in the environment's region covering origin_domain_name.")
    origin_domain_name: str = Field(description="Host name CloudFront connects to (an alias of the ALB).")
    hosted_zone_id: str = Field(description="Route 53 public hosted zone holding origin_domain_name.")
    hosted_zone_name: str = Field(description="Domain name of hosted_zone_id, e.g. dev.tickets.example.com.")
    cloudfront_prefix_list_id: str | None = Field(
        default=None, description="CloudFront origin-facing prefix list of the region (default: the built-in table)."
    )
    health_check: HealthCheckConfig = Field(
        default_factory=HealthCheckConfig, description="How the target groups check each service's tasks."
    )
    health_check_path: str = Field(
        default="/health",
        description="Path the target groups check on every service that sets none of its own, e.g. /health.",
    )
    deregistration_delay_seconds: int = bounded(
        DEREGISTRATION_DELAY_SECONDS,
        "Seconds the ALB lets in-flight requests finish on a target being removed (connection draining).",
        default=60,
    )
    idle_timeout_seconds: int = bounded(
        IDLE_TIMEOUT_SECONDS, "Seconds a connection may stay idle before the ALB closes it.", default=60
    )
    accept_previous_origin_header: bool = Field(
        default=False, description="During a rotation of the origin header: also accept the previous value."
    )
    keep_former_origin_secret: bool = Field(
        default=False,
        description="While the origin header moves to the network stack's named secret: the services stack keeps "
        "its former secret and the listener accepts its value too (docs/runbooks/origin-header.md).",
    )
    access_logs: LogLifecycleConfig = Field(
        default_factory=LogLifecycleConfig, description="Lifecycle of the ALB's access logs in their S3 bucket."
    )

    @field_validator("certificate_arn")
    @classmethod
    def _arn(cls, value: str) -> str:
        if not CERTIFICATE_ARN.fullmatch(value):
            raise ValueError("must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<uuid>")
        return value

    @field_validator("hosted_zone_id")
    @classmethod
    def _zone_id(cls, value: str) -> str:
        if not _HOSTED_ZONE_ID.fullmatch(value):
            raise ValueError("must be a Route 53 hosted zone id: Z and upper-case letters or digits, e.g. Z0123ABC")
        return value

    @field_validator("origin_domain_name", "hosted_zone_name")
    @classmethod
    def _domain(cls, value: str) -> str:
        problem = _domain_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("cloudfront_prefix_list_id")
    @classmethod
    def _prefix_list(cls, value: str | None) -> str | None:
        if value is not None and not _PREFIX_LIST_ID.fullmatch(value):
            raise ValueError(f"must be a prefix list id such as pl-22a6434b; find yours with: {PREFIX_LIST_COMMAND}")
        return value

    @model_validator(mode="after")
    def _origin_in_zone(self) -> LoadBalancerConfig:
        if not self.origin_domain_name.endswith("." + self.hosted_zone_name):
            raise ConfigFieldError(
                "origin_domain_name",
                self.origin_domain_name,
                f"must be a name inside hosted_zone_name ({self.hosted_zone_name}): origin.{self.hosted_zone_name}",
                relative=True,
            )
        if self.accept_previous_origin_header and self.keep_former_origin_secret:
            raise ConfigFieldError(
                "accept_previous_origin_header",
                True,
                "false while keep_former_origin_secret is true: a listener rule holds two header values, and the "
                "move already uses both; finish the move (keep_former_origin_secret = false), then rotate",
                relative=True,
            )
        if not self.health_check_path.startswith("/"):
            raise ConfigFieldError(
                "health_check_path", self.health_check_path, "a path starting with /, e.g. /health", relative=True
            )
        return self

    def prefix_list_id(self, region: str) -> str:
        """CloudFront's origin-facing prefix list in `region`: config's, else the built-in table's."""
        return self.cloudfront_prefix_list_id or CLOUDFRONT_ORIGIN_PREFIX_LISTS[region]


#: An image in config: a tag of the service's own ECR repository, or a full image reference.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"
)


def image_problem(value: str) -> str | None:
    """None for a usable image, else why not and what is allowed."""
    if "/" in value:
        if not _IMAGE_REFERENCE.fullmatch(value):
            return "an image reference is registry/repository:tag or registry/repository@sha256:<digest>"
        if value.endswith(":latest"):
            return "latest is a moving tag: a deploy would not notice a new image; give a version or a digest"
        return None
    if not _IMAGE_TAG.fullmatch(value):
        return "an image tag is 1 to 128 of A-Z a-z 0-9 _ . - (not starting with . or -)"
    if value == "latest":
        return "latest is a moving tag and the service repositories keep tags immutable: give a version, e.g. 1.4.2"
    return None


class Sizing(Strict):
    """One service's effective size and task bounds in one environment."""

    cpu: int
    memory_mib: int
    min_tasks: int
    max_tasks: int


class SizedEnvironment(Protocol):
    """What a service's effective size is read from: an environment's [compute] and the shared services."""

    @property
    def compute(self) -> ComputeConfig: ...

    @property
    def services(self) -> Mapping[str, ServiceConfig]: ...


def effective_sizing(config: SizedEnvironment, service: str) -> Sizing:
    """services.toml's size, [compute]'s task bounds, then [compute.services.<service>]'s overrides."""
    shared = config.services[service]
    override = config.compute.services.get(service, ServiceSizing())
    return Sizing(
        cpu=override.cpu if override.cpu is not None else shared.cpu,
        memory_mib=override.memory_mib if override.memory_mib is not None else shared.memory_mib,
        min_tasks=override.min_tasks if override.min_tasks is not None else config.compute.min_tasks,
        max_tasks=override.max_tasks if override.max_tasks is not None else config.compute.max_tasks,
    )
