"""Every part's props refuse what ElastiCache or this library would not accept, naming the props class, the
field, the rule and the value; the subnets are checked when the group is built.

Props are checked when they are made, so most rows construct nothing but the props; none is synthesised.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aws_cdk import Stack, aws_ec2 as ec2, aws_logs as logs, aws_secretsmanager as secretsmanager

from platform_constructs.redis import AuthProps, EngineProps, LogProps, MaintenanceProps, NodeProps
from tests.constructs.cache_fixture import throwaway_group


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: NodeProps(node_type="cache.m5.large"),
            "NodeProps.node_type: family 'm5' of 'cache.m5.large' is not allowed; allowed families",
            id="x86-family",
        ),
        pytest.param(lambda: NodeProps(node_type="cache.t3.micro"), "family 't3'", id="previous-burstable"),
        pytest.param(
            lambda: NodeProps(node_type="r7g.large"),
            "NodeProps.node_type: expected 'cache.<family>.<size>'",
            id="no-cache-prefix",
        ),
        pytest.param(
            lambda: NodeProps(node_type="cache.r7g.huge"),
            "NodeProps.node_type: expected 'cache.<family>.<size>'",
            id="bad-size",
        ),
        pytest.param(
            lambda: NodeProps(node_type="cache.r7g.large", replicas_per_node_group=0),
            "NodeProps.replicas_per_node_group: must be at least 1 (automatic failover promotes a replica), got 0",
            id="replicas-0",
        ),
        pytest.param(
            lambda: NodeProps(node_type="cache.r7g.large", replicas_per_node_group=6),
            "NodeProps.replicas_per_node_group: ElastiCache allows at most 5 replicas per node group, got 6",
            id="replicas-6",
        ),
        pytest.param(
            lambda: NodeProps(node_type="cache.r7g.large", port=80),
            "NodeProps.port: must be between 1024 and 65535, got 80",
            id="privileged-port",
        ),
        pytest.param(
            lambda: NodeProps(node_type="cache.r7g.large", port=70000),
            "NodeProps.port: must be between 1024 and 65535, got 70000",
            id="port-too-high",
        ),
        pytest.param(
            lambda: EngineProps(maxmemory_policy="lru"),
            "EngineProps.maxmemory_policy: 'lru' is not one of ['volatile-lru'",
            id="bad-eviction",
        ),
        pytest.param(
            lambda: EngineProps(maxmemory_policy="allkeys-lrm"),
            "EngineProps.maxmemory_policy: 'allkeys-lrm' is not one of",
            id="unknown-eviction",
        ),
        pytest.param(
            lambda: EngineProps(engine="memcached"),  # type: ignore[arg-type]
            "EngineProps.engine: must be one of ['redis', 'valkey'], got 'memcached'",
            id="bad-engine",
        ),
        pytest.param(
            lambda: EngineProps(engine="redis", version="6.2"),
            "EngineProps.version: '6.2' is not supported for redis; allowed: ['7.0', '7.1']",
            id="old-redis",
        ),
        pytest.param(
            lambda: EngineProps(version="7.1"),
            "EngineProps.version: '7.1' is not supported for valkey; allowed: ['7.2', '8.0', '8.1', '8.2']",
            id="redis-version-on-valkey",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_retention_days=0),
            "MaintenanceProps.snapshot_retention_days: must be between 1 and 35 days, got 0",
            id="retention-0",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_retention_days=36),
            "MaintenanceProps.snapshot_retention_days: must be between 1 and 35 days, got 36",
            id="retention-36",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_window="1700-1800"),
            "MaintenanceProps.snapshot_window: expected 'hh24:mi-hh24:mi' in UTC",
            id="snapshot-format",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_window="17:00-17:30"),
            "MaintenanceProps.snapshot_window: must last at least 60 minutes, got '17:00-17:30'",
            id="snapshot-short",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_window="25:00-26:30"),
            "MaintenanceProps.snapshot_window: 25:00 in '25:00-26:30' is not a 24-hour UTC time",
            id="snapshot-hour",
        ),
        pytest.param(
            lambda: MaintenanceProps(preferred_maintenance_window="sunday 03:00"),
            "MaintenanceProps.preferred_maintenance_window: expected 'ddd:hh24:mi-ddd:hh24:mi' in UTC",
            id="maintenance-format",
        ),
        pytest.param(
            lambda: MaintenanceProps(preferred_maintenance_window="sun:19:00-sun:19:30"),
            "MaintenanceProps.preferred_maintenance_window: must last 60 minutes to 24 hours",
            id="maintenance-short",
        ),
        pytest.param(
            lambda: MaintenanceProps(preferred_maintenance_window="sun:17:30-sun:18:30"),
            "MaintenanceProps.preferred_maintenance_window: 'sun:17:30-sun:18:30' overlaps the daily "
            "snapshot_window '17:00-18:00'",
            id="maintenance-overlaps-snapshot",
        ),
        pytest.param(
            lambda: MaintenanceProps(snapshot_window="23:30-00:30", preferred_maintenance_window="sat:23:45-sun:00:45"),
            "overlaps the daily snapshot_window '23:30-00:30'",
            id="overlap-across-midnight-and-week-end",
        ),
        pytest.param(
            lambda: LogProps(retention=logs.RetentionDays.INFINITE),
            "LogProps.retention: must be a finite retention, got INFINITE",
            id="infinite-logs",
        ),
        pytest.param(
            lambda: AuthProps(secret_json_field="token"),
            "AuthProps.secret_json_field: only valid with secret",
            id="json-field-without-secret",
        ),
        pytest.param(
            lambda: AuthProps(iam_users={"Svc": ["a:"]}),
            "AuthProps.iam_users: user id 'Svc' must be 1 to 40 lower-case letters",
            id="user-id-case",
        ),
        pytest.param(
            lambda: AuthProps(iam_users={"svc--a": ["a:"]}),
            "AuthProps.iam_users: user id 'svc--a'",
            id="user-id-double-hyphen",
        ),
        pytest.param(
            lambda: AuthProps(iam_users={"svc-a": []}),
            "AuthProps.iam_users: 'svc-a' needs at least one key prefix",
            id="user-without-prefix",
        ),
    ],
)
def test_invalid_props_are_rejected(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_given_secret_and_iam_users_are_not_both_accepted() -> None:
    secret = secretsmanager.Secret.from_secret_name_v2(Stack(), "Token", "cache-token")
    with pytest.raises(ValueError, match=re.escape("AuthProps.secret: not used with iam_users")):
        AuthProps(secret=secret, iam_users={"svc-a": ["a:"]})


def test_multi_az_needs_subnets_in_two_zones() -> None:
    one_zone = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, availability_zones=["ap-northeast-2a"])
    with pytest.raises(
        ValueError,
        match=re.escape("NodeProps.multi_az: needs subnets in at least 2 availability zones, got ['ap-northeast-2a']"),
    ):
        throwaway_group(subnets=one_zone)
