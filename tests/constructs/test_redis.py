"""RedisReplicationGroup: one synthesised stack under every compliance pack, plus a table of bad inputs.

The module builds one App with two replication groups (the defaults on Valkey, and Redis OSS with a
caller-supplied JSON secret, another port and SNAPSHOT) and synthesises it once with the AwsSolutions,
NIST 800-53 R5, PCI DSS 3.2.1 and Serverless packs registered: any open finding fails the fixture.
Invalid constructions each use a throwaway stack and are never synthesised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import (
    App,
    CfnElement,
    Environment,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
)
from aws_cdk.assertions import Match, Template
from constructs import Construct, IConstruct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.redis import RedisReplicationGroup
from platform_constructs.zoned_stack import ZonedStack
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ZONES = ["ap-northeast-2a", "ap-northeast-2b"]
ENV = Environment(account="111111111111", region="ap-northeast-2")
REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"


def _auth_secret(group: RedisReplicationGroup) -> secretsmanager.ISecret:
    """The AUTH secret of a group built with one (the fixtures that use a token)."""
    assert group.auth_secret is not None
    return group.auth_secret


def _vpc(scope: Construct) -> ec2.Vpc:
    """Two isolated subnets, nothing else: the fixture network, never deployed."""
    vpc = ec2.Vpc(
        scope,
        "Vpc",
        availability_zones=ZONES,
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
        ],
    )
    return vpc


def _key(scope: Construct) -> kms.Key:
    return kms.Key(scope, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)


@dataclass
class Built:
    stack: Stack
    template: Template
    valkey: RedisReplicationGroup
    redis: RedisReplicationGroup
    key: kms.Key
    client_sg: ec2.SecurityGroup
    external_secret: secretsmanager.Secret
    assembly_dir: Path

    def id_of(self, construct: IConstruct) -> str:
        """Logical ID of `construct` if it is an L1, else of its default child."""
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        assert isinstance(element, CfnElement), construct
        return self.stack.get_logical_id(element)


@pytest.fixture(scope="module")
def built() -> Built:
    # cdk.json's feature flags, so the template is what `cdk synth` would produce.
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    stack = ZonedStack(app, "RedisTest", availability_zones=ZONES, env=ENV)
    vpc = _vpc(stack)
    fixture_reason = (
        "Test fixture VPC of the RedisReplicationGroup unit tests; it is synthesised offline and never "
        "deployed, so it carries no traffic to log or restrict. The real VPC is PrivateNetwork."
    )
    acknowledge(
        vpc,
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "PCI.DSS.321-VPCFlowLogsEnabled",
        "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
        "CloudFormation-Validate::W3010",
        reason=fixture_reason,
    )
    key = _key(stack)

    valkey = RedisReplicationGroup(
        stack,
        "Cache",
        vpc=vpc,
        node_type="cache.r7g.large",
        encryption_key=key,
        log_retention=logs.RetentionDays.ONE_MONTH,
        replicas_per_node_group=2,
    )
    client_sg = ec2.SecurityGroup(stack, "ClientSg", vpc=vpc, allow_all_outbound=False, description="A client")
    valkey.connections.allow_default_port_from(client_sg)
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    valkey.grant_read_auth_secret(reader)
    acknowledge(
        reader,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
        reason=(
            "Test fixture role that only proves grant_read_auth_secret writes the right statements; "
            "the platform's task roles are built by the services stack."
        ),
    )

    external_secret = secretsmanager.Secret(
        stack,
        "ExternalSecret",
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"user": "app"}),
            generate_string_key="token",
            exclude_punctuation=True,
            password_length=48,
        ),
    )
    acknowledge(
        external_secret,
        "AwsSolutions-SMG4",
        "NIST.800.53.R5-SecretsManagerRotationEnabled",
        "PCI.DSS.321-SecretsManagerRotationEnabled",
        reason=(
            "Test fixture secret standing in for a caller-supplied AUTH secret; it is never deployed, "
            "and only shows that the token is read from its JSON field."
        ),
    )
    redis = RedisReplicationGroup(
        stack,
        "LegacyCache",
        vpc=vpc,
        node_type="cache.t4g.small",
        encryption_key=key,
        log_retention=logs.RetentionDays.ONE_WEEK,
        engine="redis",
        auth_secret=external_secret,
        auth_secret_json_field="token",
        maxmemory_policy="allkeys-lfu",
        snapshot_retention_days=35,
        snapshot_window="23:30-00:30",
        preferred_maintenance_window="mon:01:00-mon:02:00",
        port=6380,
        removal_policy=RemovalPolicy.SNAPSHOT,
    )

    assembly = app.synth()  # runs all four packs: raises ValidationFailed on any open finding
    return Built(
        stack, Template.from_stack(stack), valkey, redis, key, client_sg, external_secret, Path(assembly.directory)
    )


def _group(built: Built, group: RedisReplicationGroup) -> dict[str, Any]:
    resources = built.template.find_resources(REPLICATION_GROUP)
    return dict(resources[built.id_of(group.replication_group)])


# --- the synthesised stack ------------------------------------------------------------------------


def test_synth_passes_every_compliance_pack(built: Built) -> None:
    # The fixture synthesised with all four packs; nothing else to do but count what was built.
    built.template.resource_count_is(REPLICATION_GROUP, 2)
    built.template.resource_count_is("AWS::ElastiCache::SubnetGroup", 2)
    built.template.resource_count_is("AWS::ElastiCache::ParameterGroup", 2)


def test_construct_acknowledges_only_rotation_and_only_on_its_generated_secret(built: Built) -> None:
    metadata = json.loads((built.assembly_dir / "RedisTest.metadata.json").read_text())
    acknowledged = {
        (path, rule)
        for path, entries in metadata.items()
        if path.startswith(("/RedisTest/Cache", "/RedisTest/LegacyCache"))
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
    }
    assert acknowledged == {
        ("/RedisTest/Cache/AuthSecret", "Annotation::AwsSolutions-SMG4"),
        ("/RedisTest/Cache/AuthSecret", "Annotation::NIST.800.53.R5-SecretsManagerRotationEnabled"),
        ("/RedisTest/Cache/AuthSecret", "Annotation::PCI.DSS.321-SecretsManagerRotationEnabled"),
    }


def test_logical_id_of_replication_group_is_resource_child(built: Built) -> None:
    assert built.valkey.replication_group.node.id == "Resource"
    assert built.valkey.node.default_child is built.valkey.replication_group


def test_cluster_mode_disabled_with_failover_and_multi_az(built: Built) -> None:
    built.template.has_resource_properties(
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
            "CacheSubnetGroupName": {"Ref": built.stack.get_logical_id(built.valkey.subnet_group)},
            "SecurityGroupIds": [{"Fn::GetAtt": [built.id_of(built.valkey.security_group), "GroupId"]}],
            "ReplicasPerNodeGroup": Match.absent(),
            "NumNodeGroups": Match.absent(),
        },
    )


def test_tls_required_in_transit(built: Built) -> None:
    for group in (built.valkey, built.redis):
        props = _group(built, group)["Properties"]
        assert props["TransitEncryptionEnabled"] is True
        assert props["TransitEncryptionMode"] == "required"


def test_encrypted_at_rest_with_the_given_key(built: Built) -> None:
    props = _group(built, built.valkey)["Properties"]
    assert props["AtRestEncryptionEnabled"] is True
    assert props["KmsKeyId"] == {"Fn::GetAtt": [built.id_of(built.key), "Arn"]}


def test_auth_token_is_a_secrets_manager_dynamic_reference(built: Built) -> None:
    secret_id = built.id_of(_auth_secret(built.valkey))
    props = _group(built, built.valkey)["Properties"]
    assert props["AuthToken"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]]
    }


def test_auth_token_from_json_field_of_a_given_secret(built: Built) -> None:
    props = _group(built, built.redis)["Properties"]
    assert props["AuthToken"] == {
        "Fn::Join": [
            "",
            ["{{resolve:secretsmanager:", {"Ref": built.id_of(built.external_secret)}, ":SecretString:token::}}"],
        ]
    }
    assert _auth_secret(built.redis) is built.external_secret
    assert built.redis.secret_created is False


def test_generated_secret_is_a_64_char_token_encrypted_with_the_key(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "GenerateSecretString": {
                "PasswordLength": 64,
                "ExcludePunctuation": True,  # no @, ", / or any other character AUTH forbids
                "IncludeSpace": False,
                "SecretStringTemplate": Match.absent(),
            },
            "KmsKeyId": {"Fn::GetAtt": [built.id_of(built.key), "Arn"]},
        },
    )


def test_no_plaintext_secret_in_template(built: Built) -> None:
    for group in (built.valkey, built.redis):
        token = _group(built, group)["Properties"]["AuthToken"]
        assert isinstance(token, dict), "AuthToken must be a dynamic reference, not a literal"


def test_parameter_groups_pin_family_and_eviction_policy(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::ElastiCache::ParameterGroup",
        {
            "CacheParameterGroupFamily": "valkey8",
            "Properties": {"maxmemory-policy": "volatile-lru", "cluster-enabled": "no"},
        },
    )
    built.template.has_resource_properties(
        "AWS::ElastiCache::ParameterGroup",
        {
            "CacheParameterGroupFamily": "redis7",
            "Properties": {"maxmemory-policy": "allkeys-lfu", "cluster-enabled": "no"},
        },
    )
    props = _group(built, built.redis)["Properties"]
    assert props["CacheParameterGroupName"] == {"Ref": built.stack.get_logical_id(built.redis.parameter_group)}
    assert (props["Engine"], props["EngineVersion"], props["Port"]) == ("redis", "7.1", 6380)


def test_slow_and_engine_logs_delivered_to_their_log_groups(built: Built) -> None:
    props = _group(built, built.valkey)["Properties"]

    def delivery(log_type: str, log_group: logs.LogGroup) -> dict[str, Any]:
        return {
            "LogType": log_type,
            "LogFormat": "json",
            "DestinationType": "cloudwatch-logs",
            "DestinationDetails": {"CloudWatchLogsDetails": {"LogGroup": {"Ref": built.id_of(log_group)}}},
        }

    assert props["LogDeliveryConfigurations"] == [
        delivery("slow-log", built.valkey.slow_log_group),
        delivery("engine-log", built.valkey.engine_log_group),
    ]


def test_log_groups_encrypted_with_the_key_and_retained_for_the_given_time(built: Built) -> None:
    log_groups = built.template.find_resources("AWS::Logs::LogGroup")
    for group, days in ((built.valkey, 30), (built.redis, 7)):
        for log_group in (group.slow_log_group, group.engine_log_group):
            props = log_groups[built.id_of(log_group)]["Properties"]
            assert props["KmsKeyId"] == {"Fn::GetAtt": [built.id_of(built.key), "Arn"]}
            assert props["RetentionInDays"] == days
            assert props["LogGroupName"].startswith("/aws/elasticache/")


def test_key_policy_lets_regional_cloudwatch_logs_use_the_key_for_exactly_the_named_groups(built: Built) -> None:
    statements = built.template.find_resources("AWS::KMS::Key")[built.id_of(built.key)]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    logs_statements = [s for s in statements if s.get("Principal") == {"Service": "logs.ap-northeast-2.amazonaws.com"}]
    # One statement per replication group, naming its two log groups; never every log group of the account.
    assert len(logs_statements) == 2
    log_groups = built.template.find_resources("AWS::Logs::LogGroup")
    for group, statement in zip((built.valkey, built.redis), logs_statements, strict=True):
        names = [
            log_groups[built.id_of(g)]["Properties"]["LogGroupName"]
            for g in (group.slow_log_group, group.engine_log_group)
        ]
        arns = statement["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
        assert arns == [f"arn:aws:logs:ap-northeast-2:111111111111:log-group:{name}" for name in names]


def test_snapshots_and_maintenance_windows(built: Built) -> None:
    valkey = _group(built, built.valkey)["Properties"]
    assert (valkey["SnapshotRetentionLimit"], valkey["SnapshotWindow"], valkey["PreferredMaintenanceWindow"]) == (
        15,
        "17:00-18:00",
        "sun:19:00-sun:20:00",
    )
    redis = _group(built, built.redis)["Properties"]
    assert (redis["SnapshotRetentionLimit"], redis["SnapshotWindow"], redis["PreferredMaintenanceWindow"]) == (
        35,
        "23:30-00:30",
        "mon:01:00-mon:02:00",
    )


def test_default_removal_policy_retains_group_secret_logs_and_what_the_group_uses(built: Built) -> None:
    retained = [
        built.valkey.replication_group,
        _auth_secret(built.valkey),
        built.valkey.slow_log_group,
        built.valkey.engine_log_group,
        built.valkey.subnet_group,
        built.valkey.parameter_group,
        built.valkey.security_group,
    ]
    resources = built.template.to_json()["Resources"]
    for construct in retained:
        resource = resources[built.id_of(construct)]
        assert (resource["DeletionPolicy"], resource["UpdateReplacePolicy"]) == ("Retain", "Retain"), construct


def test_snapshot_removal_policy_snapshots_group_and_keeps_logs(built: Built) -> None:
    resources = built.template.to_json()["Resources"]

    def policies(construct: IConstruct) -> tuple[str, str]:
        resource = resources[built.id_of(construct)]
        return resource["DeletionPolicy"], resource["UpdateReplacePolicy"]

    assert policies(built.redis.replication_group) == ("Snapshot", "Snapshot")
    assert policies(built.redis.slow_log_group) == ("Retain", "Retain")
    assert policies(built.redis.engine_log_group) == ("Retain", "Retain")
    # The group is deleted (after its final snapshot), so what it used can go too.
    assert policies(built.redis.subnet_group) == ("Delete", "Delete")
    assert policies(built.redis.parameter_group) == ("Delete", "Delete")


def test_security_group_has_no_open_ingress_and_no_egress(built: Built) -> None:
    sg_id = built.id_of(built.valkey.security_group)
    props = built.template.find_resources("AWS::EC2::SecurityGroup")[sg_id]["Properties"]
    assert "SecurityGroupIngress" not in props
    # CDK's placeholder rule for "no egress at all".
    assert props["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    template = json.dumps(built.template.to_json())
    assert "0.0.0.0/0" not in template
    assert "::/0" not in template


def test_allow_default_port_from_opens_only_the_port_to_the_given_group(built: Built) -> None:
    sg_id = built.id_of(built.valkey.security_group)
    ingress = [
        resource["Properties"]
        for resource in built.template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if resource["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert len(ingress) == 1
    rule = ingress[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 6379, 6379)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [built.id_of(built.client_sg), "GroupId"]}
    assert "CidrIp" not in rule
    assert built.redis.connections.default_port is not None
    assert built.redis.connections.default_port.to_string() == "6380"


def test_subnet_group_uses_the_isolated_subnets(built: Built) -> None:
    vpc = built.stack.node.find_child("Vpc")
    assert isinstance(vpc, ec2.Vpc)
    expected = [{"Ref": built.id_of(subnet)} for subnet in vpc.isolated_subnets]
    built.template.has_resource_properties("AWS::ElastiCache::SubnetGroup", {"SubnetIds": expected})


def test_grant_read_auth_secret(built: Built) -> None:
    reader_id = built.id_of(built.stack.node.find_child("Reader"))
    built.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                        "Effect": "Allow",
                        "Resource": {"Ref": built.id_of(_auth_secret(built.valkey))},
                    }
                ],
                "Version": "2012-10-17",
            },
            "Roles": [{"Ref": reader_id}],
        },
    )
    # Decrypting goes through the key policy, and only via Secrets Manager.
    statements = built.template.find_resources("AWS::KMS::Key")[built.id_of(built.key)]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    assert {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com"}},
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::GetAtt": [reader_id, "Arn"]}},
        "Resource": "*",
    } in statements


def test_endpoints_are_attributes_of_the_group(built: Built) -> None:
    group_id = built.id_of(built.valkey.replication_group)
    resolve = built.stack.resolve
    assert resolve(built.valkey.primary_endpoint_address) == {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Address"]}
    assert resolve(built.valkey.primary_endpoint_port) == {"Fn::GetAtt": [group_id, "PrimaryEndPoint.Port"]}
    assert resolve(built.valkey.reader_endpoint_address) == {"Fn::GetAtt": [group_id, "ReaderEndPoint.Address"]}


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
    built: Built, helper: str, metric_name: str, statistic: str
) -> None:
    metric = getattr(built.valkey, helper)(member=3)
    group_id = built.id_of(built.valkey.replication_group)
    assert (metric.namespace, metric.metric_name, metric.statistic) == ("AWS/ElastiCache", metric_name, statistic)
    assert built.stack.resolve(metric.dimensions) == {"CacheClusterId": {"Fn::Join": ["", [{"Ref": group_id}, "-003"]]}}


def test_replication_lag_defaults_to_the_first_replica(built: Built) -> None:
    metric = built.valkey.metric_replication_lag()
    group_id = built.id_of(built.valkey.replication_group)
    assert built.stack.resolve(metric.dimensions) == {"CacheClusterId": {"Fn::Join": ["", [{"Ref": group_id}, "-002"]]}}


@pytest.mark.parametrize("member", [0, 4])
def test_metric_member_must_exist(built: Built, member: int) -> None:
    with pytest.raises(ValueError, match=rf"member: must be between 1 and 3, got {member}"):
        built.valkey.metric_evictions(member=member)


# --- invalid input --------------------------------------------------------------------------------


def _construct(**overrides: Any) -> RedisReplicationGroup:
    """Build one group with `overrides` in a throwaway stack (no synth)."""
    stack = ZonedStack(App(), "Throwaway", availability_zones=ZONES, env=ENV)
    vpc = _vpc(stack)
    params: dict[str, Any] = {
        "vpc": vpc,
        "node_type": "cache.r7g.large",
        "encryption_key": _key(stack),
        "log_retention": logs.RetentionDays.ONE_MONTH,
    }
    params.update(overrides)
    return RedisReplicationGroup(stack, "Cache", **params)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"node_type": "cache.m5.large"},
            "node_type: family 'm5' of 'cache.m5.large' is not allowed; allowed families",
            id="x86-family",
        ),
        pytest.param({"node_type": "cache.t3.micro"}, "family 't3'", id="previous-burstable"),
        pytest.param({"node_type": "r7g.large"}, "node_type: expected 'cache.<family>.<size>'", id="no-cache-prefix"),
        pytest.param({"node_type": "cache.r7g.huge"}, "node_type: expected 'cache.<family>.<size>'", id="bad-size"),
        pytest.param(
            {"replicas_per_node_group": 0},
            "replicas_per_node_group: must be at least 1 (automatic failover promotes a replica), got 0",
            id="replicas-0",
        ),
        pytest.param(
            {"replicas_per_node_group": 6},
            "replicas_per_node_group: ElastiCache allows at most 5 replicas per node group, got 6",
            id="replicas-6",
        ),
        pytest.param(
            {"maxmemory_policy": "lru"}, "maxmemory_policy: 'lru' is not one of ['volatile-lru'", id="bad-eviction"
        ),
        pytest.param(
            {"maxmemory_policy": "allkeys-lrm"}, "maxmemory_policy: 'allkeys-lrm' is not one of", id="unknown-eviction"
        ),
        pytest.param(
            {"snapshot_retention_days": 0},
            "snapshot_retention_days: must be between 1 and 35 days, got 0",
            id="retention-0",
        ),
        pytest.param(
            {"snapshot_retention_days": 36},
            "snapshot_retention_days: must be between 1 and 35 days, got 36",
            id="retention-36",
        ),
        pytest.param(
            {"engine": "memcached"}, "engine: must be one of ['redis', 'valkey'], got 'memcached'", id="bad-engine"
        ),
        pytest.param(
            {"engine": "redis", "engine_version": "6.2"},
            "engine_version: '6.2' is not supported for redis; allowed: ['7.0', '7.1']",
            id="old-redis",
        ),
        pytest.param(
            {"engine_version": "7.1"},
            "engine_version: '7.1' is not supported for valkey; allowed: ['7.2', '8.0', '8.1', '8.2']",
            id="redis-version-on-valkey",
        ),
        pytest.param({"port": 80}, "port: must be between 1024 and 65535, got 80", id="privileged-port"),
        pytest.param({"port": 70000}, "port: must be between 1024 and 65535, got 70000", id="port-too-high"),
        pytest.param(
            {"log_retention": logs.RetentionDays.INFINITE},
            "log_retention: must be a finite retention, got INFINITE",
            id="infinite-logs",
        ),
        pytest.param(
            {"auth_secret_json_field": "token"},
            "auth_secret_json_field: only valid with auth_secret",
            id="json-field-without-secret",
        ),
        pytest.param(
            {"snapshot_window": "1700-1800"}, "snapshot_window: expected 'hh24:mi-hh24:mi' in UTC", id="snapshot-format"
        ),
        pytest.param(
            {"snapshot_window": "17:00-17:30"},
            "snapshot_window: must last at least 60 minutes, got '17:00-17:30'",
            id="snapshot-short",
        ),
        pytest.param(
            {"snapshot_window": "25:00-26:30"},
            "snapshot_window: 25:00 in '25:00-26:30' is not a 24-hour UTC time",
            id="snapshot-hour",
        ),
        pytest.param(
            {"preferred_maintenance_window": "sunday 03:00"},
            "preferred_maintenance_window: expected 'ddd:hh24:mi-ddd:hh24:mi' in UTC",
            id="maintenance-format",
        ),
        pytest.param(
            {"preferred_maintenance_window": "sun:19:00-sun:19:30"},
            "preferred_maintenance_window: must last 60 minutes to 24 hours",
            id="maintenance-short",
        ),
        pytest.param(
            {"preferred_maintenance_window": "sun:17:30-sun:18:30"},
            "preferred_maintenance_window: 'sun:17:30-sun:18:30' overlaps the daily snapshot_window '17:00-18:00'",
            id="maintenance-overlaps-snapshot",
        ),
        pytest.param(
            {"snapshot_window": "23:30-00:30", "preferred_maintenance_window": "sat:23:45-sun:00:45"},
            "overlaps the daily snapshot_window '23:30-00:30'",
            id="overlap-across-midnight-and-week-end",
        ),
        pytest.param(
            {
                "subnets": ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, availability_zones=["ap-northeast-2a"]
                )
            },
            "multi_az: needs subnets in at least 2 availability zones, got ['ap-northeast-2a']",
            id="multi-az-in-one-zone",
        ),
    ],
)
def test_invalid_parameters_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _construct(**overrides)


def test_single_zone_is_fine_without_multi_az() -> None:
    group = _construct(
        multi_az=False,
        subnets=ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, availability_zones=["ap-northeast-2a"]
        ),
    )
    assert group.replication_group.multi_az_enabled is False


# --- IAM users ---------------------------------------------------------------------------------------
def test_iam_users_replace_the_auth_token_with_a_user_group() -> None:
    group = _construct(iam_users={"svc-events": ["event:", "events:list:"], "svc-auth": ["login:"]})
    template = Template.from_stack(Stack.of(group)).to_json()["Resources"]
    stack = Stack.of(group)
    props = template[stack.get_logical_id(group.replication_group)]["Properties"]
    assert "AuthToken" not in props
    assert group.auth_secret is None
    assert group.user_group is not None
    assert props["UserGroupIds"] == [{"Ref": stack.get_logical_id(group.user_group)}]
    users = {
        r["Properties"]["UserName"]: r["Properties"] for r in template.values() if r["Type"] == "AWS::ElastiCache::User"
    }
    assert sorted(users) == ["default", "svc-auth", "svc-events"]
    assert users["default"]["AccessString"] == "off -@all"
    assert users["default"]["AuthenticationMode"]["Type"] == "password"
    assert users["svc-events"]["UserId"] == "svc-events"
    assert users["svc-events"]["AuthenticationMode"] == {"Type": "iam"}
    assert users["svc-events"]["AccessString"].startswith("on ~event:* ~events:list:* -@all +@read +@write")
    assert "~login:*" not in users["svc-events"]["AccessString"]
    resources = json.dumps(stack.resolve(group.connect_resources("svc-auth")))
    assert ":user:svc-auth" in resources
    assert ":replicationgroup:" in resources


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ({"Svc": ["a:"]}, r"iam_users: user id 'Svc' must be 1 to 40 lower-case letters"),
        ({"svc--a": ["a:"]}, r"iam_users: user id 'svc--a'"),
        ({"svc-a": []}, r"iam_users: 'svc-a' needs at least one key prefix"),
    ],
)
def test_invalid_iam_users_are_rejected(users: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _construct(iam_users=users)


def test_connect_resources_refuses_an_unknown_user() -> None:
    group = _construct(iam_users={"svc-auth": ["login:"]})
    with pytest.raises(ValueError, match=r"'default' is not one of the IAM users"):
        group.connect_resources("default")


def test_a_users_logical_id_does_not_depend_on_the_others() -> None:
    """Adding a user must not move an existing one to another logical id (its user id is create-only)."""

    def logical_ids(users: dict[str, list[str]]) -> dict[str, str]:
        group = _construct(iam_users=users)
        stack = Stack.of(group)
        return {uid: stack.get_logical_id(user) for uid, user in group.users.items() if uid != "default"}

    before = logical_ids({"svc-b": ["b:"], "svc-c": ["c:"]})
    after = logical_ids({"svc-a": ["a:"], "svc-b": ["b:"], "svc-c": ["c:"]})
    assert after["svc-b"] == before["svc-b"]
    assert after["svc-c"] == before["svc-c"]
