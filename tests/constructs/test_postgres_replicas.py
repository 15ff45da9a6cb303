"""Read replicas (``replicas``): encryption, zones, and one at a time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aws_cdk import App

from platform_constructs.postgres import ReplicaProps
from platform_constructs.postgres.replicas import place_replicas
from tests.constructs.postgres_fixture import INSTANCE, ZONES, PostgresApp, throwaway_database


def test_replicas_inherit_storage_encryption_and_encrypt_performance_insights(postgres: PostgresApp) -> None:
    for replica in postgres.main.replicas:
        props = postgres.props(replica)
        # Same-region replicas are encrypted with the source's key; CloudFormation rejects StorageEncrypted.
        assert "StorageEncrypted" not in props
        assert "KmsKeyId" not in props
        assert props["SourceDBInstanceIdentifier"] == {
            "Fn::Join": [
                "",
                ["arn:aws:rds:ap-northeast-2:111111111111:db:", {"Ref": postgres.id_of(postgres.main.primary)}],
            ]
        }
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == postgres.key_arn()


def test_two_replicas_in_different_zones(postgres: PostgresApp) -> None:
    zones = [postgres.props(replica)["AvailabilityZone"] for replica in postgres.main.replicas]
    assert zones == ["ap-northeast-2a", "ap-northeast-2b"]
    assert len(set(zones)) == len(zones)
    assert postgres.main.replica_availability_zones == zones
    for replica in postgres.main.replicas:
        assert postgres.props(replica)["MultiAZ"] is False


def test_replicas_and_proxy_are_created_one_after_another(postgres: PostgresApp) -> None:
    """RDS refuses concurrent operations on a primary that is still creating a replica."""
    first, second = postgres.main.replicas
    assert postgres.id_of(first) in postgres.resource(second)["DependsOn"]
    assert postgres.id_of(second) in postgres.resource(postgres.main.proxy)["DependsOn"]
    assert postgres.id_of(second) not in postgres.resource(first).get("DependsOn", [])


@pytest.mark.parametrize(
    ("count", "zones", "primary", "expected"),
    [
        (0, ZONES, None, []),
        (2, ZONES, None, ["ap-northeast-2a", "ap-northeast-2b"]),
        (4, ZONES, None, [*ZONES, "ap-northeast-2a"]),
        (3, ZONES, "ap-northeast-2a", ["ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2b"]),
        (2, ["ap-northeast-2a"], "ap-northeast-2a", ["ap-northeast-2a", "ap-northeast-2a"]),  # nowhere else
    ],
)
def test_place_replicas_round_robin_skipping_a_pinned_primary(
    count: int, zones: list[str], primary: str | None, expected: list[str]
) -> None:
    assert place_replicas(count, zones, primary_availability_zone=primary) == expected


def test_replicas_avoid_the_pinned_primary_zone() -> None:
    app = App()
    pinned_c = replace(INSTANCE, multi_az=False, availability_zone="ap-northeast-2c")
    db = throwaway_database(app, instance=pinned_c, replicas=ReplicaProps(count=2))
    assert db.replica_availability_zones == ["ap-northeast-2a", "ap-northeast-2b"]
    pinned_a = replace(INSTANCE, multi_az=False, availability_zone="ap-northeast-2a")
    db = throwaway_database(
        app,
        instance=pinned_a,
        replicas=ReplicaProps(count=3, availability_zones=["ap-northeast-2a", "ap-northeast-2c"]),
    )
    assert db.replica_availability_zones == ["ap-northeast-2c"] * 3
