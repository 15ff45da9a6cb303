"""PostgresCluster: one synthesised stack under every compliance pack, plus a table of bad inputs.

The module builds one App with two clusters in one VPC and synthesises it once with the AwsSolutions,
NIST 800-53 R5, PCI DSS 3.2.1 and Serverless packs registered: any open finding fails the fixture.

- ``Postgres``: the defaults (Multi-AZ, port 5432, SNAPSHOT) with two read replicas on Graviton.
- ``Small``: no replicas, a single-AZ primary pinned to one zone, port 6543, IAM auth at the proxy,
  an AWS Backup plan, RETAIN, an explicit identifier, and the first cluster's reader zone.

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
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    aws_backup as backup,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
)
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint
from constructs import Construct, IConstruct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.postgres import PostgresCluster
from platform_constructs.zoned_stack import ZonedStack
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ZONES = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]
ENV = Environment(account="111111111111", region="ap-northeast-2")
DB_INSTANCE = "AWS::RDS::DBInstance"
STACK = "PostgresTest"


def _vpc(scope: Construct) -> ec2.Vpc:
    """Three isolated subnets, nothing else: the fixture network, never deployed."""
    return ec2.Vpc(
        scope,
        "Vpc",
        availability_zones=ZONES,
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
        ],
    )


def _cluster(scope: Construct, **overrides: Any) -> PostgresCluster:
    """A valid cluster in a fresh throwaway stack, with `overrides` applied (never synthesised)."""
    stack = ZonedStack(scope, f"Throwaway{len(scope.node.children)}", availability_zones=ZONES, env=ENV)
    props: dict[str, Any] = {
        "vpc": _vpc(stack),
        "database_name": "ticketing",
        "instance_type": ec2.InstanceType("r7g.large"),
        "encryption_key": kms.Key(stack, "Key"),
    }
    props.update(overrides)
    return PostgresCluster(stack, "Postgres", **props)


@dataclass
class Built:
    stack: Stack
    template: Template
    main: PostgresCluster
    small: PostgresCluster
    key: kms.Key
    vpc: ec2.Vpc
    client_sg: ec2.SecurityGroup
    app_role: iam.Role
    plan: backup.BackupPlan
    assembly_dir: Path
    template_json: dict[str, Any]

    def id_of(self, construct: IConstruct) -> str:
        """Logical ID of `construct` if it is an L1, else of its default child."""
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        assert isinstance(element, CfnElement), construct
        return self.stack.get_logical_id(element)

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.template_json["Resources"][self.id_of(construct)]
        return resource

    def props(self, construct: IConstruct) -> dict[str, Any]:
        props: dict[str, Any] = self.resource(construct)["Properties"]
        return props

    def sg_id(self, group: ec2.ISecurityGroup) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.id_of(group), "GroupId"]}


@pytest.fixture(scope="module")
def built() -> Built:
    # cdk.json's feature flags, so the template is what `cdk synth` would produce.
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    stack = ZonedStack(app, STACK, availability_zones=ZONES, env=ENV)
    vpc = _vpc(stack)
    acknowledge(
        vpc,
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "PCI.DSS.321-VPCFlowLogsEnabled",
        "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
        "CloudFormation-Validate::W3010",
        reason=(
            "Test fixture VPC of the PostgresCluster unit tests; it is synthesised offline and never "
            "deployed, so it carries no traffic to log or restrict. The real VPC is PrivateNetwork."
        ),
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
    plan = backup.BackupPlan.daily35_day_retention(stack, "BackupPlan")

    main = PostgresCluster(
        stack,
        "Postgres",
        vpc=vpc,
        database_name="ticketing",
        instance_type=ec2.InstanceType("r7g.large"),
        replica_instance_type=ec2.InstanceType("m7g.large"),
        encryption_key=key,
        read_replicas=2,
        allocated_storage_gib=50,
        max_allocated_storage_gib=200,
        backup_retention_days=14,
        slow_query_threshold_ms=500,
        idle_in_transaction_timeout_ms=60_000,
        log_retention=logs.RetentionDays.ONE_YEAR,
    )
    small = PostgresCluster(
        stack,
        "Small",
        vpc=vpc,
        database_name="events",
        instance_type=ec2.InstanceType("t4g.medium"),
        encryption_key=key,
        multi_az=False,
        availability_zone="ap-northeast-2b",
        port=6543,
        instance_identifier="events-db",
        removal_policy=RemovalPolicy.RETAIN,
        backup_plan=plan,
        proxy_iam_users=["app"],
        proxy_borrow_timeout=Duration.seconds(10),
        proxy_max_connections_percent=75,
        proxy_max_idle_connections_percent=25,
        monitoring_interval=Duration.seconds(15),
        credential_rotation=Duration.days(7),
        log_retention=logs.RetentionDays.ONE_MONTH,
        read_endpoint_zone=main.read_endpoint_zone,
        read_endpoint_name="events-reader",
    )
    # The caller's decision, acknowledged where the caller makes it (as a dev stack would).
    acknowledge(
        small.primary,
        "AwsSolutions-RDS3",
        "NIST.800.53.R5-RDSMultiAZSupport",
        reason=(
            "Test fixture of a single-AZ primary pinned to one zone, which is what the reader and AZ "
            "placement tests need; it is never deployed."
        ),
    )

    client_sg = ec2.SecurityGroup(stack, "ClientSg", vpc=vpc, allow_all_outbound=False, description="A service")
    main.allow_from(client_sg)
    small.allow_from(client_sg)
    app_role = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    main.grant_connect(app_role, "app")
    small.grant_connect(app_role, "app")
    acknowledge(
        app_role,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
        reason=(
            "Test fixture role that only proves grant_connect writes the right rds-db:connect statements; "
            "the platform's task roles are built by the services stack."
        ),
    )

    assembly = app.synth()  # runs all four packs: raises ValidationFailed on any open finding
    template = Template.from_stack(stack)
    return Built(
        stack,
        template,
        main,
        small,
        key,
        vpc,
        client_sg,
        app_role,
        plan,
        Path(assembly.directory),
        dict(template.to_json()),
    )


def _key_arn(built: Built) -> dict[str, Any]:
    return {"Fn::GetAtt": [built.id_of(built.key), "Arn"]}


# --- the synthesised stack ------------------------------------------------------------------------


def test_synth_passes_every_compliance_pack(built: Built) -> None:
    built.template.resource_count_is(DB_INSTANCE, 4)
    built.template.resource_count_is("AWS::RDS::DBProxy", 2)
    built.template.resource_count_is("AWS::RDS::DBParameterGroup", 2)
    built.template.resource_count_is("AWS::Route53::HostedZone", 1)
    built.template.resource_count_is("AWS::Route53::RecordSet", 3)
    built.template.resource_count_is("AWS::SecretsManager::RotationSchedule", 2)


def test_construct_acknowledges_only_what_its_design_causes(built: Built) -> None:
    metadata = json.loads((built.assembly_dir / f"{STACK}.metadata.json").read_text())
    acknowledged = {
        (path.removeprefix(f"/{STACK}/"), rule.removeprefix("Annotation::"))
        for path, entries in metadata.items()
        if path.startswith((f"/{STACK}/Postgres", f"/{STACK}/Small"))
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for rule in entry["data"]
    }
    per_replica = {
        "CloudFormation-Validate::W3010",
        "AwsSolutions-RDS11",
        "AwsSolutions-RDS2",
        "NIST.800.53.R5-RDSStorageEncrypted",
        "PCI.DSS.321-RDSStorageEncrypted",
        "AwsSolutions-RDS3",
        "NIST.800.53.R5-RDSMultiAZSupport",
        "NIST.800.53.R5-RDSInBackupPlan",
        "AwsSolutions-RDS10",  # replicas are never deletion-protected: removing one must succeed
        "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
    }
    managed = "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{}]"
    monitoring = managed.format("AmazonRDSEnhancedMonitoringRole")
    backup_role = managed.format("AWSBackupServiceRolePolicyForBackup")
    assert acknowledged == {
        ("Postgres/MonitoringRole", monitoring),
        ("Postgres/Primary", "AwsSolutions-RDS11"),  # port 5432 kept
        ("Postgres/Primary", "NIST.800.53.R5-RDSInBackupPlan"),  # no backup_plan passed
        *{(f"Postgres/Replica{i}", rule) for i in (1, 2) for rule in per_replica},
        ("Small/MonitoringRole", monitoring),
        ("Small/Primary", "CloudFormation-Validate::W3010"),  # pinned by the caller
        ("Small/Primary", "AwsSolutions-RDS3"),  # the test's own acknowledgment
        ("Small/Primary", "NIST.800.53.R5-RDSMultiAZSupport"),  # the test's own acknowledgment
        ("Small/BackupSelection/Role", backup_role),
    }
    reasons = [
        reason
        for entries in metadata.values()
        for entry in entries
        if entry["type"] == "aws:cdk:acknowledged-rules"
        for reason in entry["data"].values()
    ]
    assert all(len(reason) >= 60 for reason in reasons)  # the bar tests/test_compliance.py sets


def test_construct_ids_are_the_contract(built: Built) -> None:
    assert built.main.primary.node.id == "Primary"
    assert built.main.primary.node.default_child is not None
    assert built.main.primary.node.default_child.node.id == "Resource"
    assert [replica.node.id for replica in built.main.replicas] == ["Replica1", "Replica2"]
    assert built.small.replicas == []


def test_engine_version_and_graviton_classes(built: Built) -> None:
    primary = built.props(built.main.primary)
    assert (primary["Engine"], primary["EngineVersion"], primary["DBInstanceClass"]) == (
        "postgres",
        "17",
        "db.r7g.large",
    )
    # A major-only version lets RDS apply minor upgrades without the template drifting from what runs.
    assert primary["AutoMinorVersionUpgrade"] is True
    for replica in built.main.replicas:
        assert built.props(replica)["DBInstanceClass"] == "db.m7g.large"
    assert built.props(built.small.primary)["DBInstanceClass"] == "db.t4g.medium"
    built.template.has_resource_properties("AWS::RDS::DBParameterGroup", {"Family": "postgres17"})


def test_gp3_storage_with_autoscaling_ceiling(built: Built) -> None:
    for instance in (built.main.primary, *built.main.replicas):
        props = built.props(instance)
        assert (props["StorageType"], props["AllocatedStorage"], props["MaxAllocatedStorage"]) == ("gp3", "50", 200)
    small = built.props(built.small.primary)
    assert (small["StorageType"], small["AllocatedStorage"], small["MaxAllocatedStorage"]) == ("gp3", "20", 100)


def test_primary_storage_and_performance_insights_encrypted_with_the_key(built: Built) -> None:
    for primary in (built.main.primary, built.small.primary):
        props = built.props(primary)
        assert props["StorageEncrypted"] is True
        assert props["KmsKeyId"] == _key_arn(built)
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == _key_arn(built)
        assert props["PerformanceInsightsRetentionPeriod"] == 7


def test_replicas_inherit_storage_encryption_and_encrypt_performance_insights(built: Built) -> None:
    for replica in built.main.replicas:
        props = built.props(replica)
        # Same-region replicas are encrypted with the source's key; CloudFormation rejects StorageEncrypted.
        assert "StorageEncrypted" not in props
        assert "KmsKeyId" not in props
        assert props["SourceDBInstanceIdentifier"] == {
            "Fn::Join": ["", ["arn:aws:rds:ap-northeast-2:111111111111:db:", {"Ref": built.id_of(built.main.primary)}]]
        }
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == _key_arn(built)


def test_master_secret_encrypted_with_the_key_and_retained(built: Built) -> None:
    secrets = built.template.find_resources("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == _key_arn(built)
        assert secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"] == '{"username":"postgres"}'
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    username = built.props(built.main.primary)["MasterUsername"]
    assert ":SecretString:username::}}" in json.dumps(username)


def test_multi_az_primary_and_pinned_single_az_primary(built: Built) -> None:
    main = built.props(built.main.primary)
    assert main["MultiAZ"] is True
    assert "AvailabilityZone" not in main
    small = built.props(built.small.primary)
    assert (small["MultiAZ"], small["AvailabilityZone"]) == (False, "ap-northeast-2b")


def test_two_replicas_in_different_zones(built: Built) -> None:
    zones = [built.props(replica)["AvailabilityZone"] for replica in built.main.replicas]
    assert zones == ["ap-northeast-2a", "ap-northeast-2b"]
    assert len(set(zones)) == len(zones)
    assert built.main.replica_availability_zones == zones
    for replica in built.main.replicas:
        assert built.props(replica)["MultiAZ"] is False


def test_replicas_and_proxy_are_created_one_after_another(built: Built) -> None:
    """RDS refuses concurrent operations on a primary that is still creating a replica."""
    first, second = built.main.replicas
    assert built.id_of(first) in built.resource(second)["DependsOn"]
    assert built.id_of(second) in built.resource(built.main.proxy)["DependsOn"]
    assert built.id_of(second) not in built.resource(first).get("DependsOn", [])


def test_parameter_group_values_shared_by_primary_and_replicas(built: Built) -> None:
    group = built.props(built.main.parameter_group)
    assert group["Parameters"] == {
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.track": "all",
        "log_min_duration_statement": "500",
        "log_autovacuum_min_duration": "1000",
        "idle_in_transaction_session_timeout": "60000",
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_parameter_max_length": "0",
        "log_parameter_max_length_on_error": "0",
    }
    ref = {"Ref": built.id_of(built.main.parameter_group)}
    for instance in (built.main.primary, *built.main.replicas):
        assert built.props(instance)["DBParameterGroupName"] == ref


def test_log_exports_go_to_encrypted_log_groups_created_first(built: Built) -> None:
    instances = (built.main.primary, *built.main.replicas)
    for instance, owner in zip(instances, ("Primary", "Replica1", "Replica2"), strict=True):
        resource = built.resource(instance)
        assert resource["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        identifier = resource["Properties"]["DBInstanceIdentifier"]
        groups = [built.main.log_groups[f"{owner}/postgresql"], built.main.log_groups[f"{owner}/upgrade"]]
        assert {built.id_of(group) for group in groups} <= set(resource["DependsOn"])
        for group, log_type in zip(groups, ("postgresql", "upgrade"), strict=True):
            group_resource = built.resource(group)
            assert group_resource["Properties"] == {
                "LogGroupName": f"/aws/rds/instance/{identifier}/{log_type}",
                "KmsKeyId": _key_arn(built),
                "RetentionInDays": 365,
            }
            assert (group_resource["DeletionPolicy"], group_resource["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert built.props(built.small.log_groups["Primary/postgresql"])["RetentionInDays"] == 30


def test_instance_identifiers_derived_from_the_path_or_given(built: Built) -> None:
    main = built.props(built.main.primary)["DBInstanceIdentifier"]
    assert main.startswith("postgrestest-postgres-")
    assert [built.props(r)["DBInstanceIdentifier"] for r in built.main.replicas] == [
        f"{main}-replica1",
        f"{main}-replica2",
    ]
    assert built.props(built.small.primary)["DBInstanceIdentifier"] == "events-db"


def test_key_policy_lets_regional_logs_use_the_key_for_exactly_these_groups(built: Built) -> None:
    statements = built.props(built.key)["KeyPolicy"]["Statement"]
    logs_statements = [s for s in statements if s.get("Principal") == {"Service": "logs.ap-northeast-2.amazonaws.com"}]
    assert len(logs_statements) == 2  # one per cluster, each naming exactly its own log groups
    arns_by_cluster = sorted(
        (s["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] for s in logs_statements), key=len
    )
    prefix = "arn:aws:logs:ap-northeast-2:111111111111:log-group:/aws/rds/instance/"
    assert arns_by_cluster[0] == [f"{prefix}events-db/postgresql", f"{prefix}events-db/upgrade"]
    identifier = built.props(built.main.primary)["DBInstanceIdentifier"]
    assert arns_by_cluster[1] == [
        f"{prefix}{name}/{log_type}"
        for name in (identifier, f"{identifier}-replica1", f"{identifier}-replica2")
        for log_type in ("postgresql", "upgrade")
    ]


def test_backups_on_the_primary_and_none_on_replicas(built: Built) -> None:
    main = built.props(built.main.primary)
    assert (main["BackupRetentionPeriod"], main["DeleteAutomatedBackups"]) == (14, False)
    assert built.props(built.small.primary)["BackupRetentionPeriod"] == 7
    for replica in built.main.replicas:
        # RDS for PostgreSQL keeps no automated backups on read replicas.
        assert "BackupRetentionPeriod" not in built.props(replica)


def test_every_instance_protected_tagged_iam_auth_monitored_and_private(built: Built) -> None:
    monitoring_role = {"Fn::GetAtt": [built.id_of(built.main.monitoring_role), "Arn"]}
    assert built.props(built.main.primary)["DeletionProtection"] is True
    for instance in (built.main.primary, *built.main.replicas):
        props = built.props(instance)
        # Replicas hold no data of their own; a protected one could not be removed by lowering read_replicas.
        assert props["DeletionProtection"] is (instance is built.main.primary)
        assert props["CopyTagsToSnapshot"] is True
        assert props["EnableIAMDatabaseAuthentication"] is True
        assert props["MonitoringInterval"] == 60
        assert props["MonitoringRoleArn"] == monitoring_role
        assert props["AutoMinorVersionUpgrade"] is True
        assert props["PubliclyAccessible"] is False
        assert props["DBSubnetGroupName"] == {"Ref": built.id_of(built.main.subnet_group)}
    assert built.props(built.small.primary)["MonitoringInterval"] == 15


def test_ports(built: Built) -> None:
    assert built.props(built.main.primary)["Port"] == "5432"
    assert built.props(built.small.primary)["Port"] == "6543"
    assert (built.main.reader_port, built.small.reader_port) == (5432, 5432)  # Small reads via the proxy


def test_proxy_requires_tls_and_pools_connections(built: Built) -> None:
    proxy = built.props(built.main.proxy)
    assert proxy["RequireTLS"] is True
    assert proxy["DebugLogging"] is False
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["Auth"][0]["AuthScheme"] == "SECRETS"
    assert proxy["Auth"][0]["IAMAuth"] == "DISABLED"
    assert proxy["VpcSecurityGroupIds"] == [built.sg_id(built.main.proxy_security_group)]
    # The name changes with the proxy's subnets (create-only), so a replacement never collides with itself.
    assert re.fullmatch(
        re.escape(built.props(built.main.primary)["DBInstanceIdentifier"]) + r"-proxy-[0-9a-f]{8}", proxy["DBProxyName"]
    )
    built.template.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "DBProxyName": {"Ref": built.id_of(built.main.proxy)},
            "DBInstanceIdentifiers": [{"Ref": built.id_of(built.main.primary)}],
            "ConnectionPoolConfigurationInfo": {
                "ConnectionBorrowTimeout": 30,
                "MaxConnectionsPercent": 90,
                "MaxIdleConnectionsPercent": 50,
            },
        },
    )
    built.template.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "DBProxyName": {"Ref": built.id_of(built.small.proxy)},
            "ConnectionPoolConfigurationInfo": {
                "ConnectionBorrowTimeout": 10,
                "MaxConnectionsPercent": 75,
                "MaxIdleConnectionsPercent": 25,
            },
        },
    )
    # End-to-end IAM: clients authenticate with IAM tokens by default, and no secret is configured.
    assert built.props(built.small.proxy)["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in built.props(built.small.proxy)


def test_proxy_waits_for_its_secret_policy(built: Built) -> None:
    """Without the dependency CloudFormation may start the proxy before it may read the secret."""
    assert built.main.proxy_policy is not None
    policy_id = built.id_of(built.main.proxy_policy)
    assert policy_id in built.resource(built.main.proxy)["DependsOn"]


def test_proxy_reads_the_secret_through_a_managed_policy(built: Built) -> None:
    assert built.props(built.main.proxy)["RoleArn"] == {"Fn::GetAtt": [built.id_of(built.main.proxy_role), "Arn"]}
    built.template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": built.id_of(built.main.proxy_role)}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                        "Effect": "Allow",
                        "Resource": {"Ref": built.id_of(built.main.secret)},
                    },
                    {
                        "Action": "kms:Decrypt",
                        "Effect": "Allow",
                        "Resource": _key_arn(built),
                        "Condition": {
                            "StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com"}
                        },
                    },
                ]
            },
        },
    )
    roles = built.template.find_resources("AWS::IAM::Policy")
    assert all(
        {"Ref": built.id_of(built.main.proxy_role)} not in policy["Properties"]["Roles"] for policy in roles.values()
    )


def test_hosted_rotation_in_the_vpc_on_schedule(built: Built) -> None:
    assert "AWS::SecretsManager-2024-09-16" in built.template_json["Transform"]
    rotation = built.props(built.main.rotation_schedule)
    assert rotation["SecretId"] == {"Ref": built.id_of(built.main.secret)}
    assert rotation["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    hosted = rotation["HostedRotationLambda"]
    assert hosted["RotationType"] == "PostgreSQLSingleUser"
    assert hosted["KmsKeyArn"] == _key_arn(built)
    assert hosted["VpcSecurityGroupIds"] == built.sg_id(built.main.rotation_security_group)
    assert built.props(built.small.rotation_schedule)["RotationRules"] == {"ScheduleExpression": "rate(7 days)"}
    built.template.resource_count_is("AWS::Lambda::Function", 0)  # created by the transform at deploy time


def test_removal_policies_of_stateful_resources(built: Built) -> None:
    def policies(construct: IConstruct) -> tuple[str, str]:
        resource = built.resource(construct)
        return resource["DeletionPolicy"], resource["UpdateReplacePolicy"]

    assert policies(built.main.primary) == ("Snapshot", "Snapshot")
    for replica in built.main.replicas:
        # RDS keeps no snapshot of a deleted replica anyway; Delete says so and lets a removal succeed.
        assert policies(replica) == ("Delete", "Delete")
    assert policies(built.small.primary) == ("Retain", "Retain")
    for resource in built.template.find_resources(DB_INSTANCE).values():
        if "SourceDBInstanceIdentifier" not in resource["Properties"]:
            assert resource["DeletionPolicy"] in ("Snapshot", "Retain")


def test_reader_name_is_a_weighted_cname_per_replica(built: Built) -> None:
    zone = built.main.read_endpoint_zone
    built.template.has_resource_properties(
        "AWS::Route53::HostedZone",
        {"Name": "db.internal.", "VPCs": [{"VPCId": {"Ref": built.id_of(built.vpc)}, "VPCRegion": "ap-northeast-2"}]},
    )
    for index, (record, replica) in enumerate(zip(built.main.reader_records, built.main.replicas, strict=True), 1):
        assert built.props(record) == {
            "HostedZoneId": {"Ref": built.id_of(zone)},
            "Name": "reader.db.internal.",
            "Type": "CNAME",
            "TTL": "30",
            "Weight": 1,
            "SetIdentifier": f"replica{index}",
            "ResourceRecords": [{"Fn::GetAtt": [built.id_of(replica), "Endpoint.Address"]}],
            "Comment": f"Reader name -> Replica{index}",
        }
    assert built.stack.resolve(built.main.reader_endpoint_hostname) == "reader.db.internal"


def test_reader_name_without_replicas_points_at_the_proxy(built: Built) -> None:
    (record,) = built.small.reader_records
    props = built.props(record)
    assert props["Name"] == "events-reader.db.internal."
    assert props["HostedZoneId"] == {"Ref": built.id_of(built.main.read_endpoint_zone)}
    assert (props["Weight"], props["SetIdentifier"]) == (1, "proxy")
    assert props["ResourceRecords"] == [{"Fn::GetAtt": [built.id_of(built.small.proxy), "Endpoint"]}]


def test_endpoints_are_attributes(built: Built) -> None:
    resolve = built.stack.resolve
    assert resolve(built.main.proxy_endpoint) == {"Fn::GetAtt": [built.id_of(built.main.proxy), "Endpoint"]}
    assert resolve(built.main.writer_endpoint_address) == {
        "Fn::GetAtt": [built.id_of(built.main.primary), "Endpoint.Address"]
    }


def _ingress(built: Built) -> list[dict[str, Any]]:
    rules = [r["Properties"] for r in built.template.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    for group in built.template.find_resources("AWS::EC2::SecurityGroup").values():
        rules.extend(
            {**rule, "GroupId": None} for rule in group["Properties"].get("SecurityGroupIngress", [])
        )  # inline rules
    return rules


def test_no_ingress_from_anywhere(built: Built) -> None:
    for rule in _ingress(built):
        assert rule.get("CidrIp") not in ("0.0.0.0/0",), rule
        assert rule.get("CidrIpv6") not in ("::/0",), rule


@pytest.mark.parametrize("cluster", ["main", "small"])
def test_each_group_admits_only_its_callers(built: Built, cluster: str) -> None:
    db: PostgresCluster = getattr(built, cluster)
    port = 5432 if cluster == "main" else 6543

    def sources(group: ec2.ISecurityGroup) -> set[tuple[str, int, int]]:
        return {
            (rule["SourceSecurityGroupId"]["Fn::GetAtt"][0], rule["FromPort"], rule["ToPort"])
            for rule in _ingress(built)
            if rule["GroupId"] == built.sg_id(group)
        }

    # The primary: only the proxy and the rotation function, never the services directly.
    assert sources(db.security_group) == {
        (built.id_of(db.proxy_security_group), port, port),
        (built.id_of(db.rotation_security_group), port, port),
    }
    # allow_from opened the proxy (always 5432) and the replicas (the instances' port).
    assert sources(db.proxy_security_group) == {(built.id_of(built.client_sg), 5432, 5432)}
    assert sources(db.reader_security_group) == {(built.id_of(built.client_sg), port, port)}
    assert sources(db.rotation_security_group) == set()


def test_security_groups_deny_outbound_except_what_is_needed(built: Built) -> None:
    groups = built.template.find_resources("AWS::EC2::SecurityGroup")
    for group in (built.main.security_group, built.main.reader_security_group):
        assert groups[built.id_of(group)]["Properties"]["SecurityGroupEgress"] == [
            {
                "CidrIp": "255.255.255.255/32",
                "Description": "Disallow all traffic",
                "FromPort": 252,
                "IpProtocol": "icmp",
                "ToPort": 86,
            }
        ]
    rotation = groups[built.id_of(built.main.rotation_security_group)]["Properties"]["SecurityGroupEgress"]
    assert rotation == [
        {
            "CidrIp": {"Fn::GetAtt": [built.id_of(built.vpc), "CidrBlock"]},
            "Description": "Secrets Manager endpoint in the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    egress = [r["Properties"] for r in built.template.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    proxy_egress = [r for r in egress if r["GroupId"] == built.sg_id(built.main.proxy_security_group)]
    assert proxy_egress == [
        {
            "Description": "Allow connections to the database Instance from the Proxy",
            "DestinationSecurityGroupId": built.sg_id(built.main.security_group),
            "FromPort": 5432,
            "GroupId": built.sg_id(built.main.proxy_security_group),
            "IpProtocol": "tcp",
            "ToPort": 5432,
        }
    ]
    for rule in egress:
        assert isinstance(rule["FromPort"], int), rule  # no GetAtt ports left for rule checks to trip on


def test_grant_connect_covers_every_instance_and_the_iam_proxy(built: Built) -> None:
    (policy,) = built.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": built.id_of(built.app_role)}]}}
    ).values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    resources = json.dumps(statement["Resource"])
    # main's proxy logs in with the secret: clients connect to the primary and replicas with IAM.
    for instance in (built.main.primary, *built.main.replicas):
        assert json.dumps({"Fn::GetAtt": [built.id_of(instance), "DbiResourceId"]}) in resources
    assert built.id_of(built.main.proxy) not in resources
    # small's proxy is IAM end to end: clients go through it, never to its primary directly.
    assert built.id_of(built.small.proxy) in resources
    assert json.dumps({"Fn::GetAtt": [built.id_of(built.small.primary), "DbiResourceId"]}) not in resources
    assert len(statement["Resource"]) == 4


def test_end_to_end_iam_proxy_holds_no_secret_and_may_log_in_as_its_users(built: Built) -> None:
    proxy = built.props(built.small.proxy)
    assert proxy["DefaultAuthScheme"] == "IAM_AUTH"
    assert all("SecretArn" not in auth for auth in proxy.get("Auth", [])), proxy.get("Auth")
    assert built.small.proxy_policy is not None
    statement = built.resource(built.small.proxy_policy)["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == "rds-db:connect"
    assert json.dumps({"Fn::GetAtt": [built.id_of(built.small.primary), "DbiResourceId"]}) in json.dumps(
        statement["Resource"]
    )
    assert json.dumps(statement["Resource"]).endswith('/app"]]}')
    assert built.id_of(built.small.proxy_policy) in built.resource(built.small.proxy)["DependsOn"]


def test_grant_connect_refuses_a_user_the_proxy_cannot_log_in_as(built: Built) -> None:
    with pytest.raises(ValueError, match=r"grant_connect: 'other' is not one of proxy_iam_users \['app'\]"):
        built.small.grant_connect(built.app_role, "other")


def test_backup_plan_selects_only_the_primary(built: Built) -> None:
    assert built.main.backup_selection is None
    assert built.small.backup_selection is not None
    built.template.has_resource_properties(
        "AWS::Backup::BackupSelection",
        {
            "BackupSelection": {
                "Resources": [
                    {
                        "Fn::Join": [
                            "",
                            ["arn:aws:rds:ap-northeast-2:111111111111:db:", {"Ref": built.id_of(built.small.primary)}],
                        ]
                    }
                ]
            }
        },
    )


def test_metric_helpers(built: Built) -> None:
    resolve = built.stack.resolve
    primary_id = {"Ref": built.id_of(built.main.primary)}
    for metric, name in (
        (built.main.metric_cpu_utilization(), "CPUUtilization"),
        (built.main.metric_database_connections(), "DatabaseConnections"),
        (built.main.metric_free_storage_space(), "FreeStorageSpace"),
    ):
        assert (metric.namespace, metric.metric_name) == ("AWS/RDS", name)
        assert resolve(metric.dimensions) == {"DBInstanceIdentifier": primary_id}
    lags = built.main.metric_replica_lag()
    assert [resolve(m.dimensions) for m in lags] == [
        {"DBInstanceIdentifier": {"Ref": built.id_of(replica)}} for replica in built.main.replicas
    ]
    assert all((m.metric_name, m.statistic, m.period.to_seconds()) == ("ReplicaLag", "Maximum", 60) for m in lags)
    assert built.small.metric_replica_lag() == []


def test_cfn_lint_finds_no_error_and_every_stateful_resource_has_policies(built: Built) -> None:
    template = (built.assembly_dir / f"{STACK}.template.json").read_text()
    matches = lint(template, config=ManualArgs(regions=["ap-northeast-2"], include_checks=["I"]))
    findings = {(m.rule.id, str(m.path[1]) if len(m.path) > 1 else "") for m in matches}
    assert not [f for f in findings if f[0].startswith("E")], findings
    assert not [f for f in findings if f[0] == "I3011"], findings
    # Only literal zones (fixture subnets, replicas, the pinned primary) and Fn::Join style hints remain.
    # W3691: cfn-lint's version data knows only full versions, so the major-only "17" reads as deprecated.
    assert {rule for rule, _ in findings} <= {"W3010", "I1022", "W3691"}, findings
    zoned = {resource for rule, resource in findings if rule == "W3010"}
    assert zoned >= {
        built.id_of(built.main.replicas[0]),
        built.id_of(built.main.replicas[1]),
        built.id_of(built.small.primary),
    }


# --- placement, without synthesis -----------------------------------------------------------------


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
    assert PostgresCluster.place_replicas(count, zones, primary_availability_zone=primary) == expected


def test_replicas_avoid_the_pinned_primary_zone() -> None:
    app = App()
    db = _cluster(app, multi_az=False, availability_zone="ap-northeast-2c", read_replicas=2)
    assert db.replica_availability_zones == ["ap-northeast-2a", "ap-northeast-2b"]
    db = _cluster(
        app,
        multi_az=False,
        availability_zone="ap-northeast-2a",
        read_replicas=3,
        replica_availability_zones=["ap-northeast-2a", "ap-northeast-2c"],
    )
    assert db.replica_availability_zones == ["ap-northeast-2c"] * 3


# --- invalid input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"instance_type": ec2.InstanceType("r5.large")},
            "instance_type: 'r5.large' is not a Graviton class; allowed families: t4g, m6g, m7g, m8g, r6g, r7g, r8g",
        ),
        (
            {"replica_instance_type": ec2.InstanceType("m6i.xlarge")},
            "replica_instance_type: 'm6i.xlarge' is not a Graviton class",
        ),
        ({"read_replicas": 6}, "read_replicas: must be between 0 and 5, got 6"),
        ({"read_replicas": -1}, "read_replicas: must be between 0 and 5, got -1"),
        (
            {"backup_retention_days": 0, "read_replicas": 2},
            "backup_retention_days: 0 turns off automated backups, which point-in-time recovery and read replicas "
            "require; allowed: 1 to 35 days, got 0",
        ),
        ({"backup_retention_days": 0}, "backup_retention_days: 0 turns off automated backups"),
        ({"backup_retention_days": 36}, "backup_retention_days: must be between 1 and 35 days, got 36"),
        ({"allocated_storage_gib": 10}, "allocated_storage_gib: must be between 20 and 65536 GiB, got 10"),
        (
            {"allocated_storage_gib": 100, "max_allocated_storage_gib": 100},
            "max_allocated_storage_gib: must be at least 10% above allocated_storage_gib (110 for 100) "
            "and at most 65536 GiB, got 100",
        ),
        (
            {"allocated_storage_gib": 100, "max_allocated_storage_gib": 50},
            "(110 for 100) and at most 65536 GiB, got 50",
        ),
        ({"proxy_max_connections_percent": 0}, "proxy_max_connections_percent: must be between 1 and 100, got 0"),
        ({"proxy_max_connections_percent": 101}, "proxy_max_connections_percent: must be between 1 and 100, got 101"),
        (
            {"proxy_max_connections_percent": 40, "proxy_max_idle_connections_percent": 50},
            "proxy_max_idle_connections_percent: must be between 0 and 40 (proxy_max_connections_percent), got 50",
        ),
        (
            {"proxy_borrow_timeout": Duration.seconds(0)},
            "proxy_borrow_timeout: must be between 1 and 3600 seconds, got 0",
        ),
        (
            {"monitoring_interval": Duration.seconds(0)},
            "monitoring_interval: must be one of [1, 5, 10, 15, 30, 60] seconds, got 0",
        ),
        ({"credential_rotation": Duration.hours(12)}, "credential_rotation: must be between 1 and 365 days, got 0.5"),
        ({"credential_rotation": Duration.days(400)}, "credential_rotation: must be between 1 and 365 days, got 400"),
        ({"port": 80}, "port: must be between 1150 and 65535, got 80"),
        ({"slow_query_threshold_ms": -1}, "slow_query_threshold_ms: must be between 0 and 3600000 ms, got -1"),
        (
            {"idle_in_transaction_timeout_ms": 0},
            "idle_in_transaction_timeout_ms: must be between 1000 and 3600000 ms, got 0",
        ),
        ({"removal_policy": RemovalPolicy.DESTROY}, "removal_policy: must be SNAPSHOT or RETAIN for a database"),
        (
            {"availability_zone": "ap-northeast-2a"},
            "availability_zone: a Multi-AZ primary cannot be pinned to one AZ; set multi_az=False",
        ),
        (
            {"multi_az": False, "availability_zone": "ap-northeast-2d"},
            "availability_zone: 'ap-northeast-2d' has no subnet in `subnets`",
        ),
        (
            {"read_replicas": 1, "replica_availability_zones": ["us-east-1a"]},
            "replica_availability_zones: 'us-east-1a' has no subnet in `subnets`; allowed: ['ap-northeast-2a', ",
        ),
        (
            {"read_replicas": 1, "replica_availability_zones": []},
            "replica_availability_zones: need at least one AZ to place the replicas in, got []",
        ),
        ({"database_name": "postgres"}, "database_name: must be a letter then up to 62 letters"),
        ({"database_name": "1tickets"}, "got '1tickets'"),
        ({"admin_username": "rdsadmin"}, "admin_username: must be a letter then up to 62 letters"),
        ({"read_endpoint_name": "Reader_1"}, "read_endpoint_name: must be one DNS label"),
        ({"instance_identifier": "Events"}, "instance_identifier: must be 2 to 54 lower-case letters"),
        ({"instance_identifier": "a" * 55}, "instance_identifier: must be 2 to 54"),
        ({"instance_identifier": "events--db"}, "got 'events--db'"),
        (
            {"backup_retention_days": None},
            "backup_retention_days: None leaves the retention to the continuous backup of backup_plan, but no "
            "backup_plan was given; pass one, or 1 to 35 days",
        ),
        ({"proxy_name_prefix": "Events-Proxy"}, "proxy_name_prefix: must be 2 to 54 lower-case letters"),
        ({"proxy_name_prefix": "events-"}, "got 'events-'"),
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else "",
)
def test_invalid_parameters_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _cluster(App(), **overrides)


def test_a_continuous_backup_plan_owns_the_retention_and_a_restore_keeps_the_proxy_name() -> None:
    """With backup_retention_days=None the primary states no retention (AWS Backup's continuous rule owns it;
    RDS refuses another value from the template); a restored primary under a new identifier keeps the proxy's
    name when the caller passes the original one as proxy_name_prefix."""
    names = []
    for identifier, snapshot in (("orders-db", None), ("orders-db-r1", "arn:aws:rds:ap-northeast-2:1:snapshot:s")):
        stack = ZonedStack(App(), "Restore", availability_zones=ZONES, env=ENV)
        cluster = PostgresCluster(
            stack,
            "Postgres",
            vpc=_vpc(stack),
            database_name="orders",
            instance_type=ec2.InstanceType("r7g.large"),
            encryption_key=kms.Key(stack, "Key"),
            backup_plan=backup.BackupPlan(
                stack,
                "Plan",
                backup_plan_rules=[backup.BackupPlanRule(enable_continuous_backup=True, delete_after=Duration.days(7))],
            ),
            backup_retention_days=None,
            instance_identifier=identifier,
            snapshot_identifier=snapshot,
            proxy_name_prefix="orders-db",
        )
        primary = Template.from_stack(stack).find_resources("AWS::RDS::DBInstance")
        (props,) = [r["Properties"] for r in primary.values()]
        assert props["DBInstanceIdentifier"] == identifier
        assert "BackupRetentionPeriod" not in props
        names.append(cluster.proxy_name)
    assert names[0] == names[1]
    assert re.fullmatch(r"orders-db-proxy-[0-9a-f]{8}", names[0])


def test_a_long_proxy_prefix_is_cut_without_leaving_a_double_hyphen() -> None:
    """RDS refuses a proxy name with two hyphens in a row or over 60 characters: the cut prefix loses a
    trailing hyphen."""
    stack = ZonedStack(App(), "LongProxy", availability_zones=ZONES, env=ENV)
    vpc = _vpc(stack)
    prefix = "a" * 44 + "-" + "b" * 9  # 54 characters, a hyphen where the cut falls
    name = PostgresCluster._proxy_name(prefix, vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
    assert "--" not in name
    assert len(name) <= 60
    assert re.fullmatch(r"a{44}-proxy-[0-9a-f]{8}", name)
