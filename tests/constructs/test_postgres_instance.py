"""The primary (``instance``), what it shares with the replicas (``instance_settings``) and its backups
(``backups``)."""

from __future__ import annotations

import json
from dataclasses import replace

from aws_cdk import App, aws_rds as rds

from platform_constructs.postgres import ReplicaProps
from tests.constructs.postgres_fixture import INSTANCE, PostgresApp, throwaway_database


def test_engine_version_and_graviton_classes(postgres: PostgresApp) -> None:
    primary = postgres.props(postgres.main.primary)
    assert (primary["Engine"], primary["EngineVersion"], primary["DBInstanceClass"]) == (
        "postgres",
        "17",
        "db.r7g.large",
    )
    # A major-only version lets RDS apply minor upgrades without the template drifting from what runs.
    assert primary["AutoMinorVersionUpgrade"] is True
    for replica in postgres.main.replicas:
        assert postgres.props(replica)["DBInstanceClass"] == "db.m7g.large"
    assert postgres.props(postgres.small.primary)["DBInstanceClass"] == "db.t4g.medium"
    postgres.template.has_resource_properties("AWS::RDS::DBParameterGroup", {"Family": "postgres17"})


def test_gp3_storage_with_autoscaling_ceiling(postgres: PostgresApp) -> None:
    for instance in (postgres.main.primary, *postgres.main.replicas):
        props = postgres.props(instance)
        assert (props["StorageType"], props["AllocatedStorage"], props["MaxAllocatedStorage"]) == ("gp3", "50", 200)
    small = postgres.props(postgres.small.primary)
    assert (small["StorageType"], small["AllocatedStorage"], small["MaxAllocatedStorage"]) == ("gp3", "20", 100)


def test_primary_storage_and_performance_insights_encrypted_with_the_key(postgres: PostgresApp) -> None:
    for primary in (postgres.main.primary, postgres.small.primary):
        props = postgres.props(primary)
        assert props["StorageEncrypted"] is True
        assert props["KmsKeyId"] == postgres.key_arn()
        assert props["EnablePerformanceInsights"] is True
        assert props["PerformanceInsightsKMSKeyId"] == postgres.key_arn()
        assert props["PerformanceInsightsRetentionPeriod"] == 7


def test_master_secret_encrypted_with_the_key_and_retained(postgres: PostgresApp) -> None:
    secrets = postgres.template.find_resources("AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    for secret in secrets.values():
        assert secret["Properties"]["KmsKeyId"] == postgres.key_arn()
        assert secret["Properties"]["GenerateSecretString"]["SecretStringTemplate"] == '{"username":"postgres"}'
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    username = postgres.props(postgres.main.primary)["MasterUsername"]
    assert ":SecretString:username::}}" in json.dumps(username)


def test_multi_az_primary_and_pinned_single_az_primary(postgres: PostgresApp) -> None:
    main = postgres.props(postgres.main.primary)
    assert main["MultiAZ"] is True
    assert "AvailabilityZone" not in main
    small = postgres.props(postgres.small.primary)
    assert (small["MultiAZ"], small["AvailabilityZone"]) == (False, "ap-northeast-2b")


def test_instance_identifiers_derived_from_the_path_or_given(postgres: PostgresApp) -> None:
    main = postgres.props(postgres.main.primary)["DBInstanceIdentifier"]
    assert main.startswith("postgrestest-postgres-")
    assert [postgres.props(r)["DBInstanceIdentifier"] for r in postgres.main.replicas] == [
        f"{main}-replica1",
        f"{main}-replica2",
    ]
    assert postgres.props(postgres.small.primary)["DBInstanceIdentifier"] == "events-db"


def test_backups_on_the_primary_and_none_on_replicas(postgres: PostgresApp) -> None:
    main = postgres.props(postgres.main.primary)
    assert (main["BackupRetentionPeriod"], main["DeleteAutomatedBackups"]) == (14, False)
    assert postgres.props(postgres.small.primary)["BackupRetentionPeriod"] == 7
    for replica in postgres.main.replicas:
        # RDS for PostgreSQL keeps no automated backups on read replicas.
        assert "BackupRetentionPeriod" not in postgres.props(replica)


def test_every_instance_protected_tagged_iam_auth_monitored_and_private(postgres: PostgresApp) -> None:
    monitoring_role = {"Fn::GetAtt": [postgres.id_of(postgres.main.monitoring_role), "Arn"]}
    assert postgres.props(postgres.main.primary)["DeletionProtection"] is True
    for instance in (postgres.main.primary, *postgres.main.replicas):
        props = postgres.props(instance)
        # Replicas hold no data of their own; a protected one could not be removed by lowering read_replicas.
        assert props["DeletionProtection"] is (instance is postgres.main.primary)
        assert props["CopyTagsToSnapshot"] is True
        assert props["EnableIAMDatabaseAuthentication"] is True
        assert props["MonitoringInterval"] == 60
        assert props["MonitoringRoleArn"] == monitoring_role
        assert props["AutoMinorVersionUpgrade"] is True
        assert props["PubliclyAccessible"] is False
        assert props["DBSubnetGroupName"] == {"Ref": postgres.id_of(postgres.main.subnet_group)}
    assert postgres.props(postgres.small.primary)["MonitoringInterval"] == 15


def test_ports(postgres: PostgresApp) -> None:
    assert postgres.props(postgres.main.primary)["Port"] == "5432"
    assert postgres.props(postgres.small.primary)["Port"] == "6543"
    assert (postgres.main.reader_port, postgres.small.reader_port) == (5432, 5432)  # Small reads via the proxy


def test_backup_plan_selects_only_the_primary(postgres: PostgresApp) -> None:
    assert postgres.main.backup_selection is None
    assert postgres.small.backup_selection is not None
    postgres.template.has_resource_properties(
        "AWS::Backup::BackupSelection",
        {
            "BackupSelection": {
                "Resources": [
                    {
                        "Fn::Join": [
                            "",
                            [
                                "arn:aws:rds:ap-northeast-2:111111111111:db:",
                                {"Ref": postgres.id_of(postgres.small.primary)},
                            ],
                        ]
                    }
                ]
            }
        },
    )


def test_a_pinned_minor_version_turns_minor_upgrades_off_and_says_why_on_every_instance() -> None:
    """A version with its minor (17.9) turns automatic minor upgrades off on the primary and every replica, or
    RDS would move them past what the template states; each instance acknowledges the rule with that reason."""
    pinned = replace(INSTANCE, engine_version=rds.PostgresEngineVersion.of("17.9", "17"))
    database = throwaway_database(App(), instance=pinned, replicas=ReplicaProps(count=1))
    assert database.auto_minor_version_upgrade is False
    for instance in (database.primary, *database.replicas):
        cfn = instance.node.default_child
        assert isinstance(cfn, rds.CfnDBInstance)
        assert cfn.auto_minor_version_upgrade is False
        acknowledged = {
            rule
            for entry in instance.node.metadata
            if entry.type == "aws:cdk:acknowledged-rules"
            for rule in entry.data
        }
        assert {
            "Annotation::NIST.800.53.R5-RDSAutomaticMinorVersionUpgradeEnabled",
            "Annotation::PCI.DSS.321-RDSAutomaticMinorVersionUpgradeEnabled",
        } <= acknowledged
