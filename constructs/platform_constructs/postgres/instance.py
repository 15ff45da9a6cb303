"""The primary instance: the writer, its master secret, and the findings its design accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy, aws_ec2 as ec2, aws_kms as kms, aws_logs as logs, aws_rds as rds
from constructs import Construct

from platform_constructs import limits
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.postgres.backups import BackupProps
from platform_constructs.postgres.engine import (
    DEFAULT_ENGINE_VERSION,
    LOG_EXPORTS,
    RESERVED_DATABASE_NAMES,
    RESERVED_USERNAMES,
    check_identifier,
    check_instance_type,
    check_pg_name,
    follows_minor_versions,
)
from platform_constructs.postgres.instance_settings import InstanceSettings


@dataclass(frozen=True)
class InstanceProps:
    """The primary: what it is, where it runs, how it is protected (each checked when the props are made).

    :param database_name: database created on the primary (a PostgreSQL identifier).
    :param instance_type: the primary's class; Graviton families only (see ``GRAVITON_FAMILIES``).
    :param engine_version: PostgreSQL version (default: ``DEFAULT_ENGINE_VERSION``, ``17``: the major only,
        so RDS applies minor upgrades). A pinned minor such as 17.9 turns automatic minor upgrades off, so RDS
        never moves the instance past what the template says (acknowledged with that reason).
    :param admin_username: master user stored in the secret (default: ``postgres``).
    :param identifier: the primary's DB identifier; replicas get ``-replicaN`` appended (default: derived
        from the construct path, lower-cased, like CDK-generated names).
    :param snapshot_identifier: restore the primary from this snapshot (an ARN: a recovery point of AWS
        Backup, a copy of one, or a manual snapshot) instead of creating it empty. Setting or changing it
        replaces the primary, so give it a new ``identifier`` at the same time (the old one's name is still
        taken while CloudFormation creates the new one). The master password stays the one in the secret:
        CloudFormation sets it on the restored instance.
    :param multi_az: synchronous standby in a second AZ with automatic failover (default: on).
    :param availability_zone: fixed AZ of a single-AZ primary (default: RDS chooses); not allowed together
        with ``multi_az``.
    :param port: the instances' port, 1150 to 65535 (default: 5432, PostgreSQL's; the proxy listens on 5432
        whatever this is).
    :param deletion_protection: RDS deletion protection on the primary (default: on). Read replicas never
        have it: they hold no data of their own, and removing one must delete it cleanly.
    :param allow_major_version_upgrade: let a change of ``engine_version`` to a new major version upgrade the
        instances in place (default: off, so a major upgrade is always an explicit, reviewed change). The
        parameter group follows the engine's family, so a major upgrade also replaces it.
    :param removal_policy: SNAPSHOT or RETAIN (default: SNAPSHOT: a final snapshot when the stack or the
        instance is deleted). The master secret and the log groups are always RETAINed: a snapshot is useless
        without its credentials, and the logs are audit records.
    :param maintenance_window: the weekly maintenance window of every instance, ``ddd:hh24:mi-ddd:hh24:mi``
        UTC (default: one RDS picks); it must not overlap the backup window.
    """

    database_name: str
    instance_type: ec2.InstanceType
    engine_version: rds.PostgresEngineVersion = DEFAULT_ENGINE_VERSION
    admin_username: str = "postgres"
    identifier: str | None = None
    snapshot_identifier: str | None = None
    multi_az: bool = True
    availability_zone: str | None = None
    port: int = 5432
    deletion_protection: bool = True
    allow_major_version_upgrade: bool = False
    removal_policy: RemovalPolicy = RemovalPolicy.SNAPSHOT
    maintenance_window: str | None = None

    def __post_init__(self) -> None:
        check_instance_type("InstanceProps.instance_type", self.instance_type)
        check_pg_name("InstanceProps.database_name", self.database_name, RESERVED_DATABASE_NAMES)
        check_pg_name("InstanceProps.admin_username", self.admin_username, RESERVED_USERNAMES)
        if self.identifier is not None:
            check_identifier("InstanceProps.identifier", self.identifier, derived=True)
        limits.DATABASE_PORT.check("InstanceProps.port", self.port)
        if self.removal_policy not in (RemovalPolicy.SNAPSHOT, RemovalPolicy.RETAIN):
            raise ValueError(
                f"InstanceProps.removal_policy: must be SNAPSHOT or RETAIN for a database, got {self.removal_policy}"
            )
        if self.availability_zone is not None and self.multi_az:
            raise ValueError(
                f"InstanceProps.availability_zone: a Multi-AZ primary cannot be pinned to one AZ; "
                f"set multi_az=False to use {self.availability_zone!r}"
            )


def create_master_secret(scope: Construct, props: InstanceProps, encryption_key: kms.IKey) -> rds.DatabaseSecret:
    """The master user's generated credentials as ``MasterSecret``, always retained (a snapshot needs them)."""
    master_secret = rds.DatabaseSecret(
        scope, "MasterSecret", username=props.admin_username, encryption_key=encryption_key
    )
    master_secret.apply_removal_policy(RemovalPolicy.RETAIN)
    return master_secret


def create_primary(
    scope: Construct,
    props: InstanceProps,
    settings: InstanceSettings,
    *,
    identifier: str,
    security_group: ec2.ISecurityGroup,
    master_secret: rds.DatabaseSecret,
    encryption_key: kms.IKey,
    backups: BackupProps,
    log_groups: dict[str, logs.LogGroup],
) -> rds.DatabaseInstance | rds.DatabaseInstanceFromSnapshot:
    """The writer as ``Primary``: encrypted storage, automated backups kept after deletion, created after its log
    groups; empty, or restored from ``props.snapshot_identifier``."""
    common: dict[str, Any] = {
        "engine": rds.DatabaseInstanceEngine.postgres(version=props.engine_version),
        "instance_type": props.instance_type,
        "instance_identifier": identifier,
        "multi_az": props.multi_az,
        "availability_zone": props.availability_zone,
        "security_groups": [security_group],
        # None: AWS Backup's continuous rule owns the retention, and RDS refuses any value but the current
        # one from the template; absent, CloudFormation leaves a deployed instance's retention as it is.
        "backup_retention": None if backups.retention_days is None else Duration.days(backups.retention_days),
        "delete_automated_backups": False,
        "deletion_protection": props.deletion_protection,
        "allow_major_version_upgrade": props.allow_major_version_upgrade,
        "preferred_backup_window": backups.window,
        **settings,
    }
    primary: rds.DatabaseInstance | rds.DatabaseInstanceFromSnapshot
    if props.snapshot_identifier is None:
        primary = rds.DatabaseInstance(
            scope,
            "Primary",
            credentials=rds.Credentials.from_secret(master_secret),
            database_name=props.database_name,
            storage_encrypted=True,
            storage_encryption_key=encryption_key,
            **common,
        )
    else:
        primary = rds.DatabaseInstanceFromSnapshot(
            scope,
            "Primary",
            snapshot_identifier=props.snapshot_identifier,
            credentials=rds.SnapshotCredentials.from_secret(master_secret),
            **common,
        )
        acknowledge(
            primary,
            "AwsSolutions-RDS2",
            "NIST.800.53.R5-RDSStorageEncrypted",
            "PCI.DSS.321-RDSStorageEncrypted",
            reason=(
                "The primary is restored from a snapshot, and a restored instance is encrypted exactly as its "
                "snapshot is (every snapshot of this library's instances and every AWS Backup copy is "
                "KMS-encrypted); CloudFormation accepts neither StorageEncrypted nor KmsKeyId together with "
                "DBSnapshotIdentifier, so the property is absent."
            ),
        )
    for key in LOG_EXPORTS:
        primary.node.add_dependency(log_groups[f"Primary/{key}"])
    _acknowledge_primary_findings(primary, props)
    return primary


def acknowledge_pinned_minor(instance: rds.IDatabaseInstance, engine_version: rds.PostgresEngineVersion) -> None:
    """Automatic minor upgrades are off on `instance` because the version names a minor: say why."""
    acknowledge(
        instance,
        "NIST.800.53.R5-RDSAutomaticMinorVersionUpgradeEnabled",
        "PCI.DSS.321-RDSAutomaticMinorVersionUpgradeEnabled",
        reason=(
            f"The engine version is pinned to the minor version {engine_version.postgres_full_version} "
            "on purpose, so automatic minor upgrades are off: RDS would otherwise move the instance past "
            "the version the template states, and the next deploy would try to go back. Minor upgrades "
            "are made by changing engine_version in a reviewed change."
        ),
    )


def _acknowledge_primary_findings(primary: rds.IDatabaseInstance, props: InstanceProps) -> None:
    """Findings the primary's design causes on purpose, accepted on the primary alone."""
    if not follows_minor_versions(props.engine_version):
        acknowledge_pinned_minor(primary, props.engine_version)
    if props.port == 5432:
        acknowledge(
            primary,
            "AwsSolutions-RDS11",
            reason=(
                "PostgreSQL keeps its default port 5432: RDS Proxy for PostgreSQL only listens on 5432, so "
                "every writer uses it anyway, and a different port hides nothing from a scanner inside "
                "the VPC. Access is limited by security groups that admit only the proxy, the rotation "
                "function and explicitly allowed services."
            ),
        )
    if props.availability_zone is not None:
        acknowledge(
            primary,
            "CloudFormation-Validate::W3010",
            reason=(
                "The caller pinned this single-AZ primary to one zone (availability_zone) on purpose, so the "
                "read replicas can be placed in other zones; the zone comes from the caller, so synthesis "
                "never looks it up in an AWS account."
            ),
        )
