"""RedisReplicationGroup as a whole: the compliance packs, its construct ids, one shard with failover, TLS and
encryption, removal policies, endpoints and metrics."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from constructs import IConstruct

from platform_constructs.redis import AuthProps
from tests.constructs.cache_fixture import (
    REPLICATION_GROUP,
    CacheApp,
    auth_secret_of,
    throwaway_group,
)


def test_synth_passes_every_compliance_pack(cache: CacheApp) -> None:
    # The fixture synthesised with all four packs; nothing else to do but count what was cache.
    cache.template.resource_count_is(REPLICATION_GROUP, 2)
    cache.template.resource_count_is("AWS::ElastiCache::SubnetGroup", 2)
    cache.template.resource_count_is("AWS::ElastiCache::ParameterGroup", 2)


def test_logical_id_of_replication_group_is_resource_child(cache: CacheApp) -> None:
    assert cache.valkey.replication_group.node.id == "Resource"
    assert cache.valkey.node.default_child is cache.valkey.replication_group


def test_cluster_mode_disabled_with_failover_and_multi_az(cache: CacheApp) -> None:
    cache.template.has_resource_properties(
        REPLICATION_GROUP,
        {
            "Engine": "valkey",
            "EngineVersion": "8.0",
            "CacheNodeType": "cache.r7g.large",
            "NumCacheClusters": 3,  # a primary and 2 replicas; changed in place, unlike ReplicasPerNodeGroup
            "AutomaticFailoverEnabled": True,
            "MultiAZEnabled": True,
            "AutoMinorVersionUpgrade": True,
            "Port": 6379,
            "CacheSubnetGroupName": {"Ref": cache.stack.get_logical_id(cache.valkey.subnet_group)},
            "SecurityGroupIds": [{"Fn::GetAtt": [cache.id_of(cache.valkey.security_group), "GroupId"]}],
            "ReplicasPerNodeGroup": Match.absent(),
            "NumNodeGroups": Match.absent(),
        },
    )


def test_tls_required_in_transit(cache: CacheApp) -> None:
    for group in (cache.valkey, cache.redis):
        props = cache.group(group)["Properties"]
        assert props["TransitEncryptionEnabled"] is True
        assert props["TransitEncryptionMode"] == "required"


def test_encrypted_at_rest_with_the_given_key(cache: CacheApp) -> None:
    props = cache.group(cache.valkey)["Properties"]
    assert props["AtRestEncryptionEnabled"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [cache.id_of(cache.key), "Arn"]}


def test_default_removal_policy_retains_group_secret_logs_and_what_the_group_uses(cache: CacheApp) -> None:
    retained = [
        cache.valkey.replication_group,
        auth_secret_of(cache.valkey),
        cache.valkey.slow_log_group,
        cache.valkey.engine_log_group,
        cache.valkey.subnet_group,
        cache.valkey.parameter_group,
        cache.valkey.security_group,
    ]
    resources = cache.template.to_json()["Resources"]
    for construct in retained:
        resource = resources[cache.id_of(construct)]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), construct


def test_snapshot_removal_policy_snapshots_group_and_keeps_logs(cache: CacheApp) -> None:
    resources = cache.template.to_json()["Resources"]

    def policies(construct: IConstruct) -> tuple[str, str]:
        resource = resources[cache.id_of(construct)]
        return resource["DeletionPolicy"], resource["UpdateReplacePolicy"]

    assert policies(cache.redis.replication_group) == ("Snapshot", "Snapshot")
    assert policies(cache.redis.slow_log_group) == ("Retain", "Retain")
    assert policies(cache.redis.engine_log_group) == ("Retain", "Retain")
    # The group is deleted (after its final snapshot), so what it used can go too.
    assert policies(cache.redis.subnet_group) == ("Delete", "Delete")
    assert policies(cache.redis.parameter_group) == ("Delete", "Delete")


def test_endpoints_are_attributes_of_the_group(cache: CacheApp) -> None:
    group_id = cache.id_of(cache.valkey.replication_group)
    resolve = cache.stack.resolve
    assert resolve(cache.valkey.primary_endpoint_address) == {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Address"]}
    assert resolve(cache.valkey.primary_endpoint_port) == {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Port"]}
    assert resolve(cache.valkey.reader_endpoint_address) == {"Fn::GetAtt": [group_id, "ReaderEndPoint.Address"]}


@pytest.mark.parametrize(
    ("helper", "metric_name", "statistic"),
    [
        ("metric_cpu_utilization", "CPUUtilization", "Average"),
        ("metric_engine_cpu_utilization", "EngineCPUUtilization", "Average"),
        ("metric_database_memory_usage_percentage", "DatabaseMemoryUsagePercentage", "Average"),
        ("metric_curr_connections", "CurrConnections", "Maximum"),
        ("metric_evictions", "Evictions", "Sum"),
    ],
)
def test_metric_helpers_use_the_member_cluster_dimension(
    cache: CacheApp, helper: str, metric_name: str, statistic: str
) -> None:
    metric = getattr(cache.valkey, helper)(member=3)
    group_id = cache.id_of(cache.valkey.replication_group)
    assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/ElastiCache", metric_name, statistic)
    assert cache.stack.resolve(metric.dimensions) == {"CacheClusterId": {"Fn::Join": ["", [{"Ref": group_id}, "-003"]]}}


def test_replication_lag_defaults_to_the_first_replica(cache: CacheApp) -> None:
    metric = cache.valkey.metric_replication_lag()
    group_id = cache.id_of(cache.valkey.replication_group)
    assert cache.stack.resolve(metric.dimensions) == {"CacheClusterId": {"Fn::Join": ["", [{"Ref": group_id}, "-002"]]}}


@pytest.mark.parametrize("member", [0, 4])
def test_metric_member_must_exist(cache: CacheApp, member: int) -> None:
    with pytest.raises(ValueError, match=rf"member: must be between 1 and 3, got {member}"):
        cache.valkey.metric_evictions(member=member)


def test_every_part_creates_its_resources_directly_in_the_group(cache: CacheApp) -> None:
    """The parts (nodes, parameters, auth, log groups) are modules, not constructs: each creates its resources in
    the group itself under the ids they have always had, so the construct paths, and the logical IDs computed
    from them, do not depend on how the code is split."""
    shared = {"SubnetGroup", "ParameterGroup", "SecurityGroup", "SlowLogGroup", "EngineLogGroup", "Resource"}
    assert {child.node.id for child in cache.valkey.node.children} == shared | {"AuthSecret"}
    assert {child.node.id for child in cache.redis.node.children} == shared  # the caller's secret
    with_users = throwaway_group(auth=AuthProps(iam_users={"svc-a": ["a:"]}))
    assert {child.node.id for child in with_users.node.children} == shared | {
        "DefaultUserSecret",
        "DefaultUser",
        "UserSvcA",
        "UserGroup",
    }
