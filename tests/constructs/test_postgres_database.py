"""PostgresDatabase as a whole: the compliance packs, the acknowledgments it makes, its construct ids, the
security groups between its parts, IAM login where clients connect, metrics and cfn-lint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import aws_ec2 as ec2
from cfnlint.api import ManualArgs, lint
from constructs import IConstruct

from platform_constructs.postgres import PostgresDatabase
from tests.constructs.postgres_fixture import (
    DB_INSTANCE,
    STACK,
    PostgresApp,
)


def test_synth_passes_every_compliance_pack(postgres: PostgresApp) -> None:
    postgres.template.resource_count_is(DB_INSTANCE, 4)
    postgres.template.resource_count_is("AWS::RDS::DBProxy", 2)
    postgres.template.resource_count_is("AWS::RDS::DBParameterGroup", 2)
    postgres.template.resource_count_is("AWS::Route53::HostedZone", 1)
    postgres.template.resource_count_is("AWS::Route53::RecordSet", 3)
    postgres.template.resource_count_is("AWS::SecretsManager::RotationSchedule", 2)


def test_construct_acknowledges_only_what_its_design_causes(postgres: PostgresApp) -> None:
    metadata = json.loads((postgres.assembly_dir / f"{STACK}.metadata.json").read_text())
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


def test_construct_ids_are_the_contract(postgres: PostgresApp) -> None:
    assert postgres.main.primary.node.id == "Primary"
    assert postgres.main.primary.node.default_child is not None
    assert postgres.main.primary.node.default_child.node.id == "Resource"
    assert [replica.node.id for replica in postgres.main.replicas] == ["Replica1", "Replica2"]
    assert postgres.small.replicas == []


def test_removal_policies_of_stateful_resources(postgres: PostgresApp) -> None:
    def policies(construct: IConstruct) -> tuple[str, str]:
        resource = postgres.resource(construct)
        return resource["DeletionPolicy"], resource["UpdateReplacePolicy"]

    assert policies(postgres.main.primary) == ("Snapshot", "Snapshot")
    for replica in postgres.main.replicas:
        # RDS keeps no snapshot of a deleted replica anyway; Delete says so and lets a removal succeed.
        assert policies(replica) == ("Delete", "Delete")
    assert policies(postgres.small.primary) == ("Retain", "Retain")
    for resource in postgres.template.find_resources(DB_INSTANCE).values():
        if "SourceDBInstanceIdentifier" not in resource["Properties"]:
            assert resource["DeletionPolicy"] in ("Snapshot", "Retain")


def test_endpoints_are_attributes(postgres: PostgresApp) -> None:
    resolve = postgres.stack.resolve
    assert resolve(postgres.main.proxy_endpoint) == {"Fn::GetAtt": [postgres.id_of(postgres.main.proxy), "Endpoint"]}
    assert resolve(postgres.main.writer_endpoint_address) == {
        "Fn::GetAtt": [postgres.id_of(postgres.main.primary), "Endpoint.Address"]
    }


def _ingress(postgres: PostgresApp) -> list[dict[str, Any]]:
    rules = [r["Properties"] for r in postgres.template.find_resources("AWS::EC2::SecurityGroupIngress").values()]
    for group in postgres.template.find_resources("AWS::EC2::SecurityGroup").values():
        rules.extend(
            {**rule, "GroupId": None} for rule in group["Properties"].get("SecurityGroupIngress", [])
        )  # inline rules
    return rules


def test_no_ingress_from_anywhere(postgres: PostgresApp) -> None:
    for rule in _ingress(postgres):
        assert rule.get("CidrIp") not in ("0.0.0.0/0",), rule
        assert rule.get("CidrIpv6") not in ("::/0",), rule


@pytest.mark.parametrize("cluster", ["main", "small"])
def test_each_group_admits_only_its_callers(postgres: PostgresApp, cluster: str) -> None:
    db: PostgresDatabase = getattr(postgres, cluster)
    port = 5432 if cluster == "main" else 6543

    def sources(group: ec2.ISecurityGroup) -> set[tuple[str, int, int]]:
        return {
            (rule["SourceSecurityGroupId"]["Fn::GetAtt"][0], rule["FromPort"], rule["ToPort"])
            for rule in _ingress(postgres)
            if rule["GroupId"] == postgres.sg_id(group)
        }

    # The primary: only the proxy and the rotation function, never the services directly.
    assert sources(db.security_group) == {
        (postgres.id_of(db.proxy_security_group), port, port),
        (postgres.id_of(db.rotation_security_group), port, port),
    }
    # allow_from opened the proxy (always 5432) and the replicas (the instances' port).
    assert sources(db.proxy_security_group) == {(postgres.id_of(postgres.client_sg), 5432, 5432)}
    assert sources(db.reader_security_group) == {(postgres.id_of(postgres.client_sg), port, port)}
    assert sources(db.rotation_security_group) == set()


def test_security_groups_deny_outbound_except_what_is_needed(postgres: PostgresApp) -> None:
    groups = postgres.template.find_resources("AWS::EC2::SecurityGroup")
    for group in (postgres.main.security_group, postgres.main.reader_security_group):
        assert groups[postgres.id_of(group)]["Properties"]["SecurityGroupEgress"] == [
            {
                "CidrIp": "255.255.255.255/32",
                "Description": "Disallow all traffic",
                "FromPort": 252,
                "IpProtocol": "icmp",
                "ToPort": 86,
            }
        ]
    rotation = groups[postgres.id_of(postgres.main.rotation_security_group)]["Properties"]["SecurityGroupEgress"]
    assert rotation == [
        {
            "CidrIp": {"Fn::GetAtt": [postgres.id_of(postgres.vpc), "CidrBlock"]},
            "Description": "Secrets Manager endpoint in the VPC",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    egress = [r["Properties"] for r in postgres.template.find_resources("AWS::EC2::SecurityGroupEgress").values()]
    proxy_egress = [r for r in egress if r["GroupId"] == postgres.sg_id(postgres.main.proxy_security_group)]
    assert proxy_egress == [
        {
            "Description": "Allow connections to the database Instance from the Proxy",
            "DestinationSecurityGroupId": postgres.sg_id(postgres.main.security_group),
            "FromPort": 5432,
            "GroupId": postgres.sg_id(postgres.main.proxy_security_group),
            "IpProtocol": "tcp",
            "ToPort": 5432,
        }
    ]
    for rule in egress:
        assert isinstance(rule["FromPort"], int), rule  # no GetAtt ports left for rule checks to trip on


def test_grant_connect_covers_every_instance_and_the_iam_proxy(postgres: PostgresApp) -> None:
    (policy,) = postgres.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": postgres.id_of(postgres.app_role)}]}}
    ).values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "rds-db:connect"
    resources = json.dumps(statement["Resource"])
    # main's proxy logs in with the secret: clients connect to the primary and replicas with IAM.
    for instance in (postgres.main.primary, *postgres.main.replicas):
        assert json.dumps({"Fn::GetAtt": [postgres.id_of(instance), "DbiResourceId"]}) in resources
    assert postgres.id_of(postgres.main.proxy) not in resources
    # small's proxy is IAM end to end: clients go through it, never to its primary directly.
    assert postgres.id_of(postgres.small.proxy) in resources
    assert json.dumps({"Fn::GetAtt": [postgres.id_of(postgres.small.primary), "DbiResourceId"]}) not in resources
    assert len(statement["Resource"]) == 4


def test_grant_connect_refuses_a_user_the_proxy_cannot_log_in_as(postgres: PostgresApp) -> None:
    with pytest.raises(ValueError, match=r"grant_connect: 'other' is not one of ProxyProps.iam_users \['app'\]"):
        postgres.small.grant_connect(postgres.app_role, "other")


def test_metric_helpers(postgres: PostgresApp) -> None:
    resolve = postgres.stack.resolve
    primary_id = {"Ref": postgres.id_of(postgres.main.primary)}
    for metric, name in (
        (postgres.main.metric_cpu_utilization(), "CPUUtilization"),
        (postgres.main.metric_database_connections(), "DatabaseConnections"),
        (postgres.main.metric_free_storage_space(), "FreeStorageSpace"),
    ):
        assert (metric.namespace, metric.metric_name) == ("AWS/RDS", name)
        assert resolve(metric.dimensions) == {"DBInstanceIdentifier": primary_id}
    lags = postgres.main.metric_replica_lag()
    assert [resolve(m.dimensions) for m in lags] == [
        {"DBInstanceIdentifier": {"Ref": postgres.id_of(replica)}} for replica in postgres.main.replicas
    ]
    assert all((m.metric_name, m.statistic, m.period.to_seconds()) == ("ReplicaLag", "Maximum", 60) for m in lags)
    assert postgres.small.metric_replica_lag() == []


def test_cfn_lint_finds_no_error_and_every_stateful_resource_has_policies(postgres: PostgresApp) -> None:
    template = (postgres.assembly_dir / f"{STACK}.template.json").read_text()
    matches = lint(template, config=ManualArgs(regions=["ap-northeast-2"], include_checks=["I"]))
    findings = {(m.rule.id, str(m.path[1]) if len(m.path) > 1 else "") for m in matches}
    assert not [f for f in findings if f[0].startswith("E")], findings
    assert not [f for f in findings if f[0] == "I3011"], findings
    # Only literal zones (fixture subnets, replicas, the pinned primary) and Fn::Join style hints remain.
    # W3691: cfn-lint's version data knows only full versions, so the major-only "17" reads as deprecated.
    assert {rule for rule, _ in findings} <= {"W3010", "I1022", "W3691"}, findings
    zoned = {resource for rule, resource in findings if rule == "W3010"}
    assert zoned >= {
        postgres.id_of(postgres.main.replicas[0]),
        postgres.id_of(postgres.main.replicas[1]),
        postgres.id_of(postgres.small.primary),
    }


def test_every_part_creates_its_resources_directly_in_the_database(postgres: PostgresApp) -> None:
    """The parts (instance, replicas, reader, proxy, rotation, ...) are modules, not constructs: each creates
    its resources in the database itself under the ids they have always had, so the construct paths, and the
    logical IDs computed from them, do not depend on how the code is split. A part that became a construct
    level of its own would move every resource below it (and CloudFormation would replace them)."""
    shared = {
        "SecurityGroup",
        "ReaderSecurityGroup",
        "ProxySecurityGroup",
        "RotationSecurityGroup",
        "ParameterGroup",
        "SubnetGroup",
        "MasterSecret",
        "MonitoringRole",
        "PrimaryPostgresqlLogs",
        "PrimaryUpgradeLogs",
        "Primary",
        "ProxyRole",
        "ImmutableRoleProxyRole",
        "Proxy",
    }
    replicas = {f"Replica{i}{suffix}" for i in (1, 2) for suffix in ("", "PostgresqlLogs", "UpgradeLogs")}
    assert {child.node.id for child in postgres.main.node.children} == shared | replicas | {
        "ProxySecretPolicy",
        "ProxySecret",
        "ReadEndpointZone",
        "ReaderReplica1Record",
        "ReaderReplica2Record",
    }
    assert {child.node.id for child in postgres.small.node.children} == shared | {
        "ProxyConnectPolicy",
        "ReaderProxyRecord",
        "BackupSelection",
    }
