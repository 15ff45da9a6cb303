"""The cost estimate (tools/cost_estimate.py): its arithmetic on small hand-written templates priced with
round numbers (tests/fixtures/cost/prices.toml, 100 hours a month), and the refusal to price what
the table lacks. The estimate of the real environments is in tests/test_cost_of_environments.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from config.cost import EstimateConfig
from config.prices import PriceTable, load_price_table
from platform_constructs.assembly_metadata import PLANNED_CAPACITY_METADATA
from tools.cost_estimate import DAYS_PER_MONTH, CostError, EnvironmentEstimate, Line, StackInput, estimate_environment

PRICES = load_price_table(Path(__file__).parent / "fixtures" / "cost" / "prices.toml")
USAGE = EstimateConfig(
    requests_millions=2, data_out_gb=10, nat_gb=4, load_balancer_lcus=3, log_ingest_gb=6, log_archive_gb=3,
    bucket_stored_gb=5,
)  # fmt: skip
NIGHT = [  # the guide's schedule: every day off at 20:00, Monday to Friday on at 09:00
    {"ScheduledActionName": "NightStop", "Schedule": "cron(0 20 ? * * *)",
     "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 0}},
    {"ScheduledActionName": "MorningStart", "Schedule": "cron(0 9 ? * MON-FRI *)",
     "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 6}},
]  # fmt: skip
RUNNING_SHARE = 55 / 168


def estimate(
    resources: dict[str, Any], metadata: dict[str, Any] | None = None, prices: PriceTable = PRICES
) -> EnvironmentEstimate:
    stack = StackInput("ticketing-test-app", {"Resources": resources}, metadata or {})
    return estimate_environment("test", [stack], prices, USAGE)


def only_line(result: EnvironmentEstimate, service: str) -> Line:
    (line,) = [line for line in result.lines if line.service == service]
    return line


def tags(**values: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def fargate(
    *,
    cpu: str = "1024",
    memory: str = "2048",
    arch: str = "ARM64",
    base: int = 1,
    service_tags: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Cpu": cpu, "Memory": memory, "RuntimePlatform": {"CpuArchitecture": arch}}},
        "Svc": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": {"Ref": "Task"}, "DesiredCount": 0, "Tags": service_tags or [],
            "CapacityProviderStrategy": [
                {"CapacityProvider": "FARGATE", "Base": base, "Weight": 20},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 80}]}},
    }  # fmt: skip


def target(minimum: int, actions: list[Any]) -> dict[str, Any]:
    return {"Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
        "MinCapacity": minimum, "MaxCapacity": 6, "ScheduledActions": actions,
        "ResourceId": {"Fn::Join": ["", ["service/c/", {"Fn::GetAtt": ["Svc", "Name"]}]]}}}}  # fmt: skip


# --- Fargate --------------------------------------------------------------------------------------


def test_fargate_with_spot_above_a_base_and_the_night_schedule() -> None:
    """1 vCPU + 2 GB on ARM64 = 0.04 + 2 x 0.004 = 0.048 an hour. 3 tasks by day, 1 on demand as the
    base, 80 % of the other 2 on Spot (1.6 tasks at 30 %): 1.4 + 1.6 x 0.3 = 1.88 task-equivalents,
    for 55 of 168 hours."""
    line = only_line(estimate(fargate() | target(3, NIGHT)), "ECS Fargate")
    hours = 100 * RUNNING_SHARE
    assert line.monthly == pytest.approx(hours * 0.048 * 1.88)
    assert line.savings["spot"] == pytest.approx(hours * 0.048 * (3 - 1.88))
    assert line.savings["arm64"] == pytest.approx(hours * (0.06 - 0.048) * 1.88)  # X86_64: 0.05 + 2 x 0.005
    assert line.savings["night"] == pytest.approx(100 * 0.048 * 1.88 - line.monthly)
    assert "reservations" not in line.savings
    assert "3 tasks x 1 vCPU 2 GB ARM64" in line.detail
    assert "running 33 % of the week" in line.detail


def test_fargate_savings_plan_covers_the_tagged_on_demand_base() -> None:
    """2 tasks around the clock, base 1: 1 + 0.2 on demand, 0.8 on Spot; the 1-year plan takes 20 %
    off the base task: 1.2 + 0.8 x 0.3 - 0.2 = 1.24."""
    service_tags = tags(Commitment="compute-savings-plan", CommitmentTerm="1-year", CommitmentSize="1 tasks")
    line = only_line(estimate(fargate(service_tags=service_tags) | target(2, [])), "ECS Fargate")
    assert line.monthly == pytest.approx(100 * 0.048 * 1.24)
    assert line.savings["reservations"] == pytest.approx(100 * 0.048 * 0.2)
    assert "night" not in line.savings


def test_x86_tasks_save_nothing_by_arm64() -> None:
    line = only_line(estimate(fargate(arch="X86_64", base=0) | target(2, [])), "ECS Fargate")
    assert line.monthly == pytest.approx(100 * 0.06 * (2 * 0.2 + 2 * 0.8 * 0.3))
    assert "arm64" not in line.savings


def test_a_service_without_an_image_is_priced_at_its_planned_capacity() -> None:
    """No scalable target yet: the capacity recorded in the assembly for after the first image."""
    metadata = {
        "/Test/App/Svc/Service": [
            {"type": "aws:cdk:logicalId", "data": "Svc"},
            {"type": PLANNED_CAPACITY_METADATA, "data": {"min_tasks": 3, "max_tasks": 6, "scheduled_actions": [
                {"schedule": "cron(0 20 ? * * *)", "min_tasks": 0, "max_tasks": 0, "time_zone": "Asia/Seoul"},
                {"schedule": "cron(0 9 ? * MON-FRI *)", "min_tasks": 3, "max_tasks": 6, "time_zone": "Asia/Seoul"},
            ]}},
        ]
    }  # fmt: skip
    result = estimate(fargate(), metadata)
    line = only_line(result, "ECS Fargate")
    assert line.monthly == pytest.approx(100 * RUNNING_SHARE * 0.048 * 1.88)
    assert line.resource == "app/Svc/Service"
    assert any("app/Svc/Service" in note and "first image" in note for note in result.notes)


def test_a_service_without_an_image_or_a_plan_costs_its_desired_count() -> None:
    assert only_line(estimate(fargate()), "ECS Fargate").monthly == 0


# --- databases and caches -------------------------------------------------------------------------


def database() -> dict[str, Any]:
    return {
        "Primary": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "DBInstanceClass": "db.t4g.medium", "MultiAZ": True, "AllocatedStorage": "20", "StorageType": "gp3",
            "Tags": tags(Commitment="rds-reserved-instance", CommitmentTerm="1-year")}},
        "Replica": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "DBInstanceClass": "db.r7g.xlarge", "AllocatedStorage": 20, "StorageType": "gp3",
            "SourceDBInstanceIdentifier": {"Ref": "Primary"}}},
        "Proxy": {"Type": "AWS::RDS::DBProxy", "Properties": {}},
        "Targets": {"Type": "AWS::RDS::DBProxyTargetGroup", "Properties": {
            "DBProxyName": {"Ref": "Proxy"}, "DBInstanceIdentifiers": [{"Ref": "Primary"}]}},
        "Cache": {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
            "CacheNodeType": "cache.t4g.small", "NumCacheClusters": 3}},
    }  # fmt: skip


def test_database_instances_multi_az_reserved_and_a_replica_on_demand() -> None:
    lines = {line.resource: line for line in estimate(database()).lines}
    primary, replica = lines["app/Primary"], lines["app/Replica"]
    # Multi-AZ pays twice: 2 x 100 h x 0.06 reserved + 2 x 20 GB x 0.1
    assert primary.monthly == pytest.approx(12 + 4)
    assert primary.savings == pytest.approx({"reservations": 2 * 100 * (0.1 - 0.06)})
    assert replica.monthly == pytest.approx(100 * 0.6 + 20 * 0.1)
    assert replica.savings == {}
    assert "read replica" in replica.detail
    assert "reserved 1-year" in primary.detail


def test_the_proxy_is_priced_by_the_vcpus_behind_it_and_the_cache_by_its_nodes() -> None:
    lines = {line.resource: line for line in estimate(database()).lines}
    assert lines["app/Proxy"].monthly == pytest.approx(100 * 2 * 0.02)
    assert lines["app/Cache"].monthly == pytest.approx(100 * 3 * 0.05)


def test_a_reserved_cache_saves_against_on_demand() -> None:
    resources = database()
    resources["Cache"]["Properties"]["Tags"] = tags(CommitmentTerm="1-year")
    cache = {line.resource: line for line in estimate(resources).lines}["app/Cache"]
    assert cache.monthly == pytest.approx(100 * 3 * 0.03)
    assert cache.savings["reservations"] == pytest.approx(100 * 3 * 0.02)


# --- network, storage, monitoring, edge -----------------------------------------------------------


def test_network_hours_addresses_and_processed_bytes() -> None:
    resources = {
        "Nat1": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        "Nat2": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        "Ip": {"Type": "AWS::EC2::EIP", "Properties": {}},
        "Logs": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {
            "VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.ap-northeast-2.logs",
            "SubnetIds": ["a", "b", "c"]}},
        "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": "com.amazonaws.ap-northeast-2.s3"}},
        "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Scheme": "internet-facing", "Subnets": ["a", "b"]}},
    }  # fmt: skip
    lines = {line.resource: line.monthly for line in estimate(resources).lines}
    assert lines["app/Nat1"] == pytest.approx(100 * 0.05 + 4 / 2 * 0.05)  # the NAT bytes split between both
    assert lines["app/Ip"] == pytest.approx(100 * 0.005)
    assert lines["app/Logs"] == pytest.approx(100 * 3 * 0.01)
    assert "app/S3" not in lines  # gateway endpoints cost nothing
    assert lines["app/Alb"] == pytest.approx(100 * (0.02 + 3 * 0.01 + 2 * 0.005))


def test_log_bucket_lifecycle_against_keeping_everything_in_standard() -> None:
    """3 GB a month: 30 days STANDARD, 60 days STANDARD_IA, 275 days GLACIER, then gone."""
    rule = {
        "Status": "Enabled",
        "ExpirationInDays": 365,
        "Transitions": [
            {"StorageClass": "GLACIER", "TransitionInDays": 90},
            {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        ],
    }
    resources = {
        "Logs": {"Type": "AWS::S3::Bucket", "Properties": {"LifecycleConfiguration": {"Rules": [rule]}}},
        "Site": {"Type": "AWS::S3::Bucket", "Properties": {}},
    }  # fmt: skip
    lines = {line.resource: line for line in estimate(resources).lines}
    months = 3 / DAYS_PER_MONTH
    with_lifecycle = months * (30 * 0.02 + 60 * 0.01 + 275 * 0.004)
    assert lines["app/Logs"].monthly == pytest.approx(with_lifecycle)
    assert lines["app/Logs"].savings["lifecycle"] == pytest.approx(months * 365 * 0.02 - with_lifecycle)
    assert lines["app/Site"].monthly == pytest.approx(5 * 0.02)


def test_alarms_are_priced_per_metric_and_an_anomaly_band_counts_three() -> None:
    def stat(query_id: str) -> dict[str, Any]:
        return {"Id": query_id, "MetricStat": {"Metric": {"MetricName": "X", "Namespace": "N"}, "Stat": "Sum"}}

    resources = {
        "Plain": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "CPUUtilization"}},
        "Math": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
            stat("a"), stat("b"), {"Id": "rate", "Expression": "a / b"}]}},
        "Band": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Metrics": [
            stat("m"), {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)"}]}},
        "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
    }  # fmt: skip
    lines = {line.resource: line for line in estimate(resources).lines}
    assert lines["app/(alarms)"].monthly == pytest.approx((1 + 2 + 3) * 0.1)
    assert lines["app/(alarms)"].detail.startswith("3 alarms on 6 metrics")
    assert lines["app/Board"].monthly == 3.0


def test_edge_keys_secrets_zones_and_log_ingestion() -> None:
    resources = {
        "Cdn": {"Type": "AWS::CloudFront::Distribution", "Properties": {}},
        "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [{}, {}, {}]}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Zone": {"Type": "AWS::Route53::HostedZone", "Properties": {"VPCs": [{}]}},
        "Group1": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Group2": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {}},
    }
    result = estimate(resources)
    lines = {line.resource: line.monthly for line in result.lines}
    assert lines["app/Cdn"] == pytest.approx(10 * 0.1 + 2 * 1.0)
    assert lines["app/Acl"] == pytest.approx(5 + 3 * 1 + 2 * 0.6)
    assert lines["app/Key"] == 1.0
    assert lines["app/Secret"] == 0.4
    assert lines["app/Zone"] == 0.5
    assert lines["app/(log groups)"] == pytest.approx(6 * 0.5)
    assert result.usage_only == {"AWS::Lambda::Function": 1}
    assert result.total == pytest.approx(sum(lines.values()))


# --- what cannot be priced is an error naming it ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda r: r["Primary"]["Properties"].update(DBInstanceClass="db.x9.huge"),
         "app/Primary (AWS::RDS::DBInstance): no price for db.x9.huge in [rds.instances]"),
        (lambda r: r["Primary"]["Properties"].update(Tags=tags(CommitmentTerm="3-year")),
         "app/Primary (AWS::RDS::DBInstance): tagged CommitmentTerm 3-year, but [rds.instances] has no 3-year price"),
        (lambda r: r["Replica"]["Properties"].update(StorageType="io2"),
         "app/Replica (AWS::RDS::DBInstance): no price for io2 storage"),
        (lambda r: r["Replica"]["Properties"].pop("AllocatedStorage"),
         "app/Replica (AWS::RDS::DBInstance): AllocatedStorage is not set"),
        (lambda r: r["Cache"]["Properties"].update(CacheNodeType="cache.m9.huge"),
         "app/Cache (AWS::ElastiCache::ReplicationGroup): no price for cache.m9.huge in [elasticache.nodes]"),
        (lambda r: r.update(Thing={"Type": "AWS::Foo::Bar", "Properties": {}}),
         "app/Thing (AWS::Foo::Bar): no pricing rule for this type"),
    ],
)  # fmt: skip
def test_a_missing_price_is_an_error_naming_the_resource(change: Any, says: str) -> None:
    resources = database()
    change(resources)
    with pytest.raises(CostError) as error:
        estimate(resources)
    assert says in str(error.value)
    assert "ticketing-test-app" in str(error.value)


def test_every_unpriceable_resource_is_listed_at_once() -> None:
    resources = database()
    resources["Primary"]["Properties"]["DBInstanceClass"] = "db.x9.huge"
    resources["Cache"]["Properties"]["CacheNodeType"] = "cache.m9.huge"
    resources.update(
        fargate(arch="RISCV"), **target(2, [{"Schedule": "rate(1 hour)", "ScalableTargetAction": {"MinCapacity": 1}}])
    )
    with pytest.raises(CostError) as error:
        estimate(resources)
    named = [problem.split(" (")[0].split(" ")[-1] for problem in error.value.problems]
    assert named == ["app/Primary", "app/Proxy", "app/Cache", "app/Svc"]  # the proxy prices by the primary's class
    assert any("rate(1 hour)" in problem for problem in error.value.problems)


def test_a_missing_architecture_price_is_named() -> None:
    with pytest.raises(CostError, match=r"app/Svc \(AWS::ECS::Service\): no Fargate price for the RISCV"):
        estimate(fargate(arch="RISCV") | target(1, []))


# --- the price table itself -----------------------------------------------------------------------


def fixture_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (Path(__file__).parent / "fixtures" / "cost" / "prices.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "prices.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('on_demand = 0.1, reserved = { "1-year" = 0.06 }', 'on_demand = 0.1, reserved = { "1-year" = 0.1 }',
         "reserved 1-year (0.1) must be below on_demand (0.1)"),
        ('"db.t4g.medium" = { vcpus = 2, ', '"db.t4g.medium" = { ', "db.t4g.medium: vcpus is required"),
        ("nat_gb = 0.05", "nat_gb = 0", "network.nat_gb\n  Input should be greater than 0"),
        ("spot_discount_percent = 70", "spot_discount_percent = 100", "fargate.spot_discount_percent"),
        ('usage_only = ["AWS::Lambda::Function"]', 'usage_only = ["AWS::ECS::TaskDefinition"]',
         "AWS::ECS::TaskDefinition: in both free and usage_only"),
        ('as_of = "2026-01"', 'as_of = "January"', "as_of"),
    ],
)  # fmt: skip
def test_a_bad_price_table_is_refused_naming_the_key(tmp_path: Path, old: str, new: str, says: str) -> None:
    with pytest.raises(ValueError, match="validation error") as error:
        load_price_table(fixture_with(tmp_path, old, new))
    assert says in str(error.value)
