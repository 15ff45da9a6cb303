"""What the primary and every replica share: storage, monitoring, the subnet group and the parameter group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from aws_cdk import (
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_rds as rds,
)
from constructs import Construct

from platform_constructs import limits
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.postgres.engine import LOG_EXPORTS
from platform_constructs.service_principals import from_own_source

#: Enhanced Monitoring granularities RDS accepts, in seconds (0, "off", is not offered).
MONITORING_INTERVALS_S: tuple[int, ...] = (1, 5, 10, 15, 30, 60)
DEFAULT_MONITORING_INTERVAL = Duration.seconds(60)


@dataclass(frozen=True)
class StorageProps:
    """gp3 storage with autoscaling, the same on the primary and every replica.

    :param allocated_gib: initial storage, 20 to 65536 GiB (default: 20).
    :param max_allocated_gib: autoscaling ceiling; at least 10% above ``allocated_gib`` (RDS's minimum
        step), at most 65536 (default: 100).
    """

    allocated_gib: int = 20
    max_allocated_gib: int = 100

    def __post_init__(self) -> None:
        limits.ALLOCATED_STORAGE_GIB.check("StorageProps.allocated_gib", self.allocated_gib)
        min_ceiling = limits.min_storage_ceiling_gib(self.allocated_gib)
        highest = limits.ALLOCATED_STORAGE_GIB.high
        if not min_ceiling <= self.max_allocated_gib <= highest:
            raise ValueError(
                f"StorageProps.max_allocated_gib: must be at least 10% above allocated_gib "
                f"({min_ceiling} for {self.allocated_gib}) and at most {highest} GiB, got {self.max_allocated_gib}"
            )


@dataclass(frozen=True)
class MonitoringProps:
    """Enhanced Monitoring and Performance Insights of every instance.

    :param interval: Enhanced Monitoring interval, one of 1, 5, 10, 15, 30, 60 s (default: 60 s).
    :param performance_insights_retention: Performance Insights retention (default: 7 days, the free tier).
    """

    interval: Duration = DEFAULT_MONITORING_INTERVAL
    performance_insights_retention: rds.PerformanceInsightRetention = rds.PerformanceInsightRetention.DEFAULT

    def __post_init__(self) -> None:
        interval_s = int(self.interval.to_seconds())
        if interval_s not in MONITORING_INTERVALS_S:
            raise ValueError(
                f"MonitoringProps.interval: must be one of {list(MONITORING_INTERVALS_S)} seconds, got {interval_s}"
            )


class InstanceSettings(TypedDict):
    """Properties the primary and every replica share (keyword arguments of both RDS constructs)."""

    vpc: ec2.IVpc
    subnet_group: rds.ISubnetGroup
    port: int
    parameter_group: rds.IParameterGroup
    storage_type: rds.StorageType
    allocated_storage: int
    max_allocated_storage: int
    copy_tags_to_snapshot: bool
    iam_authentication: bool
    enable_performance_insights: bool
    performance_insight_encryption_key: kms.IKey
    performance_insight_retention: rds.PerformanceInsightRetention
    monitoring_interval: Duration
    monitoring_role: iam.IRole
    cloudwatch_logs_exports: list[str]
    auto_minor_version_upgrade: bool
    publicly_accessible: bool
    removal_policy: RemovalPolicy
    preferred_maintenance_window: str | None


def create_subnet_group(scope: Construct, vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> rds.SubnetGroup:
    """The subnets of the primary and its replicas, created in `scope` as ``SubnetGroup``."""
    return rds.SubnetGroup(
        scope,
        "SubnetGroup",
        vpc=vpc,
        vpc_subnets=subnets,
        description="Subnets of the PostgreSQL primary and its read replicas",
    )


def create_monitoring_role(scope: Construct) -> iam.Role:
    """One Enhanced Monitoring role for all instances (CDK would make one per instance), as ``MonitoringRole``."""
    role = iam.Role(
        scope,
        "MonitoringRole",
        # Enhanced Monitoring sends the account and the instance's ARN when it assumes the role (RDS's
        # "Protecting against the confused deputy problem"); one role serves every instance of this account.
        assumed_by=from_own_source(
            scope,
            "monitoring.rds.amazonaws.com",
            Stack.of(scope).format_arn(
                service="rds", resource="db", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
            ),
        ),
        description="Lets RDS Enhanced Monitoring publish OS metrics of the PostgreSQL instances",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonRDSEnhancedMonitoringRole")
        ],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]",
        reason=(
            "AmazonRDSEnhancedMonitoringRole is the AWS-maintained policy RDS documents for Enhanced "
            "Monitoring; it only allows writing to the RDSOSMetrics log group, and AWS updates it when "
            "the agent needs change, which a copied customer policy would miss."
        ),
    )
    return role


def instance_settings(
    *,
    vpc: ec2.IVpc,
    subnet_group: rds.ISubnetGroup,
    parameter_group: rds.IParameterGroup,
    monitoring_role: iam.IRole,
    encryption_key: kms.IKey,
    port: int,
    storage: StorageProps,
    monitoring: MonitoringProps,
    auto_minor_version_upgrade: bool,
    removal_policy: RemovalPolicy,
    maintenance_window: str | None,
) -> InstanceSettings:
    """Settings the primary and the replicas share: storage, monitoring, logs, access, removal."""
    return {
        "vpc": vpc,
        "subnet_group": subnet_group,
        "port": port,
        "parameter_group": parameter_group,
        "storage_type": rds.StorageType.GP3,
        "allocated_storage": storage.allocated_gib,
        "max_allocated_storage": storage.max_allocated_gib,
        "copy_tags_to_snapshot": True,
        "iam_authentication": True,
        "enable_performance_insights": True,
        "performance_insight_encryption_key": encryption_key,
        "performance_insight_retention": monitoring.performance_insights_retention,
        "monitoring_interval": Duration.seconds(int(monitoring.interval.to_seconds())),
        "monitoring_role": monitoring_role,
        "cloudwatch_logs_exports": list(LOG_EXPORTS),
        "auto_minor_version_upgrade": auto_minor_version_upgrade,
        "publicly_accessible": False,
        "removal_policy": removal_policy,
        "preferred_maintenance_window": maintenance_window,
    }
