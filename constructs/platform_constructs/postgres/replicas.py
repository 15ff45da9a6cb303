"""Read replicas: single-AZ copies of the primary spread over the zones, and the findings they accept.

RDS for PostgreSQL keeps no automated backups on read replicas (aws-cdk-lib rejects ``backup_retention`` on
them), so a promoted replica gets its backup retention when it is promoted. A same-region replica is always
encrypted with its source's key; CloudFormation takes no ``StorageEncrypted`` next to
``SourceDBInstanceIdentifier``, so the replicas leave it out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Token, aws_ec2 as ec2, aws_logs as logs, aws_rds as rds
from constructs import Construct

from platform_constructs import limits
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.postgres.engine import LOG_EXPORTS, check_instance_type
from platform_constructs.postgres.instance import InstanceProps, acknowledge_pinned_minor
from platform_constructs.postgres.instance_settings import InstanceSettings
from platform_constructs.zoned_stack import select_subnets

#: Read replicas the construct allows (RDS for PostgreSQL itself allows 15 per source).
MAX_READ_REPLICAS = limits.READ_REPLICAS.high


@dataclass(frozen=True)
class ReplicaProps:
    """How many read replicas, of which class, in which zones.

    :param count: 0 to 5 (default: no replicas; the reader name then points at the proxy).
    :param instance_type: the replicas' class (default: the primary's); Graviton families only.
    :param availability_zones: AZs to place replicas in, round-robin (default: the AZs of the subnets). When
        the primary is single-AZ with a fixed ``availability_zone``, that AZ is skipped while another one is
        available, so one AZ outage cannot take the writer and a replica together. With Multi-AZ the
        primary's AZ is not fixed and is not skipped.
    """

    count: int = 0
    instance_type: ec2.InstanceType | None = None
    availability_zones: Sequence[str] | None = None

    def __post_init__(self) -> None:
        limits.READ_REPLICAS.check("ReplicaProps.count", self.count)
        if self.instance_type is not None:
            check_instance_type("ReplicaProps.instance_type", self.instance_type)


def replica_identifiers(primary_identifier: str, count: int) -> list[str]:
    """``<primary>-replica1`` ... ``-replicaN``: the replicas' DB identifiers (their metrics' dimension)."""
    return [f"{primary_identifier}-replica{i}" for i in range(1, count + 1)]


def place_replicas(count: int, zones: Sequence[str], *, primary_availability_zone: str | None) -> list[str]:
    """AZ of each replica: round-robin over `zones`, skipping the primary's AZ when it is fixed."""
    candidates = [zone for zone in zones if zone != primary_availability_zone] or list(zones)
    return [candidates[i % len(candidates)] for i in range(count)]


def replica_zones(
    vpc: ec2.IVpc, subnets: ec2.SubnetSelection, props: ReplicaProps, primary: InstanceProps
) -> list[str]:
    """AZ of each replica; every AZ given (and the primary's) must have a subnet in `subnets`."""
    subnet_azs = [az for az in select_subnets(vpc, subnets).availability_zones if not Token.is_unresolved(az)]
    zones = list(props.availability_zones) if props.availability_zones is not None else subnet_azs
    if props.count and not zones:
        raise ValueError("ReplicaProps.availability_zones: need at least one AZ to place the replicas in, got []")
    for zone in zones:
        if subnet_azs and zone not in subnet_azs:
            raise ValueError(
                f"ReplicaProps.availability_zones: {zone!r} has no subnet in `subnets`; allowed: {subnet_azs}"
            )
    if primary.availability_zone is not None and subnet_azs and primary.availability_zone not in subnet_azs:
        raise ValueError(
            f"InstanceProps.availability_zone: {primary.availability_zone!r} has no subnet in `subnets`; "
            f"allowed: {subnet_azs}"
        )
    return place_replicas(
        props.count, zones, primary_availability_zone=None if primary.multi_az else primary.availability_zone
    )


def create_replicas(
    scope: Construct,
    settings: InstanceSettings,
    *,
    source: rds.IDatabaseInstance,
    instance_type: ec2.InstanceType,
    identifiers: Sequence[str],
    zones: Sequence[str],
    security_group: ec2.ISecurityGroup,
    log_groups: dict[str, logs.LogGroup],
    engine_version: rds.PostgresEngineVersion,
) -> list[rds.DatabaseInstanceReadReplica]:
    """One single-AZ read replica per zone (``Replica1`` ...), created one after another."""
    replicas: list[rds.DatabaseInstanceReadReplica] = []
    # A replica is deleted with no snapshot when it is removed: it holds no data of its own.
    replica_settings: InstanceSettings = {**settings, "removal_policy": RemovalPolicy.DESTROY}
    for index, (zone, identifier) in enumerate(zip(zones, identifiers, strict=True), start=1):
        replica = rds.DatabaseInstanceReadReplica(
            scope,
            f"Replica{index}",
            source_database_instance=source,
            instance_type=instance_type,
            instance_identifier=identifier,
            availability_zone=zone,
            multi_az=False,
            security_groups=[security_group],
            deletion_protection=False,
            **replica_settings,
        )
        # A same-region replica is always encrypted with its source's key: CloudFormation
        # takes neither StorageEncrypted nor KmsKeyId together with SourceDBInstanceIdentifier.
        for key in LOG_EXPORTS:
            replica.node.add_dependency(log_groups[f"Replica{index}/{key}"])
        # One replica at a time: RDS refuses a new replica while its source is still busy
        # with the previous one (InvalidDBInstanceState), which CloudFormation reports as a
        # failure rather than waiting.
        if replicas:
            replica.node.add_dependency(replicas[-1])
        replicas.append(replica)
        if not settings["auto_minor_version_upgrade"]:
            acknowledge_pinned_minor(replica, engine_version)
        _acknowledge_replica_findings(replica)
    return replicas


def _acknowledge_replica_findings(replica: rds.DatabaseInstanceReadReplica) -> None:
    """Findings a read replica causes by design, accepted on that replica alone."""
    acknowledge(
        replica,
        "AwsSolutions-RDS10",
        "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
        reason=(
            "A read replica has no deletion protection on purpose: it holds no data of its own (the primary "
            "is protected and backed up), and lowering ReplicaProps.count must delete it cleanly; a protected "
            "replica would fail CloudFormation's delete and stay orphaned and billed."
        ),
    )
    acknowledge(
        replica,
        "CloudFormation-Validate::W3010",
        reason=(
            "The zone is written literally on purpose: replicas are spread over the caller's zones "
            "round-robin, away from a pinned primary, so one AZ outage cannot take every reader; the zones "
            "come from the caller, so synthesis never looks them up in an AWS account."
        ),
    )
    acknowledge(
        replica,
        "AwsSolutions-RDS11",
        reason=(
            "A read replica has no Engine property and inherits its port from the primary, so the rule "
            "cannot tell its port and always reports it. The replica listens on the primary's port, "
            "reachable only through the replicas' own security group, which admits explicitly allowed callers."
        ),
    )
    acknowledge(
        replica,
        "AwsSolutions-RDS2",
        "NIST.800.53.R5-RDSStorageEncrypted",
        "PCI.DSS.321-RDSStorageEncrypted",
        reason=(
            "The replica is encrypted: RDS always encrypts a same-region read replica with its source's "
            "KMS key, and the primary sets StorageEncrypted with encryption_key. CloudFormation does not "
            "accept StorageEncrypted together with SourceDBInstanceIdentifier, so the property is absent."
        ),
    )
    acknowledge(
        replica,
        "AwsSolutions-RDS3",
        "NIST.800.53.R5-RDSMultiAZSupport",
        reason=(
            "A read replica is a single-AZ copy on purpose: availability of reads comes from several "
            "replicas placed round-robin in different AZs behind one weighted DNS name, and the writer's "
            "own standby is governed by multi_az on the primary. A standby per replica would double its cost."
        ),
    )
    acknowledge(
        replica,
        "NIST.800.53.R5-RDSInBackupPlan",
        reason=(
            "A read replica holds no data of its own: it is a copy of the primary, which is what backups "
            "protect. RDS for PostgreSQL cannot keep automated backups on a read replica at all; a "
            "promoted replica gets its backup retention when it is promoted."
        ),
    )
