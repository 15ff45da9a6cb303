"""Every part's props refuse what RDS, RDS Proxy, PostgreSQL or this library would not accept, naming the
props class, the field, the rule and the value; the checks that need the VPC run when the database is built.

Props are checked when they are made, so most rows construct nothing but the props; none is synthesised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Duration, RemovalPolicy, aws_ec2 as ec2

from platform_constructs.postgres import (
    BackupProps,
    MonitoringProps,
    ParameterProps,
    ProxyProps,
    ReaderProps,
    ReplicaProps,
    RotationProps,
    StorageProps,
)
from tests.constructs.postgres_fixture import INSTANCE, throwaway_database


def _instance(**changes: Any) -> Callable[[], object]:
    return lambda: replace(INSTANCE, **changes)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            _instance(instance_type=ec2.InstanceType("r5.large")),
            "InstanceProps.instance_type: 'r5.large' is not a Graviton class; allowed families: t4g, m6g, m7g, "
            "m8g, r6g, r7g, r8g",
        ),
        (_instance(port=80), "InstanceProps.port: must be between 1150 and 65535, got 80"),
        (
            _instance(removal_policy=RemovalPolicy.DESTROY),
            "InstanceProps.removal_policy: must be SNAPSHOT or RETAIN for a database",
        ),
        (
            _instance(availability_zone="ap-northeast-2a"),
            "InstanceProps.availability_zone: a Multi-AZ primary cannot be pinned to one AZ; set multi_az=False",
        ),
        (_instance(database_name="postgres"), "InstanceProps.database_name: must be a letter then up to 62 letters"),
        (_instance(database_name="1tickets"), "got '1tickets'"),
        (_instance(admin_username="rdsadmin"), "InstanceProps.admin_username: must be a letter then up to 62 letters"),
        (_instance(identifier="Events"), "InstanceProps.identifier: must be 2 to 54 lower-case letters"),
        (_instance(identifier="a" * 55), "InstanceProps.identifier: must be 2 to 54"),
        (_instance(identifier="events--db"), "got 'events--db'"),
        (
            lambda: ReplicaProps(instance_type=ec2.InstanceType("m6i.xlarge")),
            "ReplicaProps.instance_type: 'm6i.xlarge' is not a Graviton class",
        ),
        (lambda: ReplicaProps(count=6), "ReplicaProps.count: must be between 0 and 5, got 6"),
        (lambda: ReplicaProps(count=-1), "ReplicaProps.count: must be between 0 and 5, got -1"),
        (
            lambda: BackupProps(retention_days=0),
            "BackupProps.retention_days: 0 turns off automated backups, which point-in-time recovery and read "
            "replicas require; allowed: 1 to 35 days, got 0",
        ),
        (lambda: BackupProps(retention_days=36), "BackupProps.retention_days: must be between 1 and 35 days, got 36"),
        (
            lambda: BackupProps(retention_days=None),
            "BackupProps.retention_days: None leaves the retention to the continuous backup of plan, but no plan "
            "was given; pass one, or 1 to 35 days",
        ),
        (
            lambda: StorageProps(allocated_gib=10),
            "StorageProps.allocated_gib: must be between 20 and 65536 GiB, got 10",
        ),
        (
            lambda: StorageProps(allocated_gib=100, max_allocated_gib=100),
            "StorageProps.max_allocated_gib: must be at least 10% above allocated_gib (110 for 100) "
            "and at most 65536 GiB, got 100",
        ),
        (
            lambda: StorageProps(allocated_gib=100, max_allocated_gib=50),
            "(110 for 100) and at most 65536 GiB, got 50",
        ),
        (
            lambda: ProxyProps(max_connections_percent=0),
            "ProxyProps.max_connections_percent: must be between 1 and 100, got 0",
        ),
        (
            lambda: ProxyProps(max_connections_percent=101),
            "ProxyProps.max_connections_percent: must be between 1 and 100, got 101",
        ),
        (
            lambda: ProxyProps(max_connections_percent=40, max_idle_connections_percent=50),
            "ProxyProps.max_idle_connections_percent: must be between 0 and 40 (max_connections_percent), got 50",
        ),
        (
            lambda: ProxyProps(borrow_timeout=Duration.seconds(0)),
            "ProxyProps.borrow_timeout: must be between 1 and 3600 seconds, got 0",
        ),
        (lambda: ProxyProps(name_prefix="Events-Proxy"), "ProxyProps.name_prefix: must be 2 to 54 lower-case letters"),
        (lambda: ProxyProps(name_prefix="events-"), "got 'events-'"),
        (lambda: ProxyProps(iam_users=["rds_superuser"]), "ProxyProps.iam_users: must be a letter then up to 62"),
        (
            lambda: MonitoringProps(interval=Duration.seconds(0)),
            "MonitoringProps.interval: must be one of [1, 5, 10, 15, 30, 60] seconds, got 0",
        ),
        (
            lambda: RotationProps(interval=Duration.hours(12)),
            "RotationProps.interval: must be between 1 and 365 days, got 0.5",
        ),
        (
            lambda: RotationProps(interval=Duration.days(400)),
            "RotationProps.interval: must be between 1 and 365 days, got 400",
        ),
        (
            lambda: ParameterProps(slow_query_threshold_ms=-1),
            "ParameterProps.slow_query_threshold_ms: must be between 0 and 3600000 ms, got -1",
        ),
        (
            lambda: ParameterProps(idle_in_transaction_timeout_ms=0),
            "ParameterProps.idle_in_transaction_timeout_ms: must be between 1000 and 3600000 ms, got 0",
        ),
        (lambda: ReaderProps(name="Reader_1"), "ReaderProps.name: must be one DNS label"),
    ],
    ids=lambda value: "" if callable(value) else re.sub(r"\W+", "-", value.split(":")[0]),
)
def test_invalid_props_are_rejected(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"instance": replace(INSTANCE, multi_az=False, availability_zone="ap-northeast-2d")},
            "InstanceProps.availability_zone: 'ap-northeast-2d' has no subnet in `subnets`",
        ),
        (
            {"replicas": ReplicaProps(count=1, availability_zones=["us-east-1a"])},
            "ReplicaProps.availability_zones: 'us-east-1a' has no subnet in `subnets`; allowed: ['ap-northeast-2a', ",
        ),
        (
            {"replicas": ReplicaProps(count=1, availability_zones=[])},
            "ReplicaProps.availability_zones: need at least one AZ to place the replicas in, got []",
        ),
    ],
    ids=["primary-zone-without-subnet", "replica-zone-without-subnet", "no-replica-zones"],
)
def test_zones_without_a_subnet_are_rejected(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        throwaway_database(App(), **props)
