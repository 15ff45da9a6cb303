"""The primary's backups: RDS automated backups, and AWS Backup when a plan is given (replicas hold no data
of their own, so only the primary is backed up)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_backup as backup, aws_iam as iam, aws_rds as rds
from constructs import Construct

from platform_constructs import limits
from platform_constructs.acknowledgments import acknowledge


@dataclass(frozen=True)
class BackupProps:
    """How the primary is backed up.

    :param retention_days: automated backups and point-in-time recovery, 1 to 35 days (default: 7). 0 is
        rejected: read replicas and point-in-time recovery need backups. None when ``plan`` has a
        continuous-backup rule that selects the primary: AWS Backup then owns the retention (it sets the
        rule's own), RDS refuses any other value from a template (InvalidParameterValue), so the primary gets
        no ``BackupRetentionPeriod``. A new primary then starts with CloudFormation's default of 1 day (enough
        for read replicas, whose source needs more than 0) until the rule first runs.
    :param plan: AWS Backup plan the primary is added to (default: none; the automated RDS backups above
        are then the only backups).
    :param role: the role AWS Backup selects the primary with (default: one of its own).
    :param window: RDS's daily backup window of the primary, ``hh24:mi-hh24:mi`` UTC (default: one RDS
        picks); keep it away from an AWS Backup plan's snapshots, which cannot run during it.
    """

    retention_days: int | None = 7
    plan: backup.IBackupPlan | None = None
    role: iam.IRole | None = None
    window: str | None = None

    def __post_init__(self) -> None:
        if self.retention_days is None:
            if self.plan is None:
                raise ValueError(
                    "BackupProps.retention_days: None leaves the retention to the continuous backup of plan, but "
                    "no plan was given; pass one, or 1 to 35 days"
                )
        elif self.retention_days == 0:
            raise ValueError(
                "BackupProps.retention_days: 0 turns off automated backups, which point-in-time recovery and "
                "read replicas require; allowed: 1 to 35 days, got 0"
            )
        else:
            limits.BACKUP_RETENTION_DAYS.check("BackupProps.retention_days", self.retention_days)


def add_to_backup_plan(
    scope: Construct, primary: rds.IDatabaseInstance, props: BackupProps
) -> backup.BackupSelection | None:
    """Select `primary` in the plan as ``BackupSelection``, or acknowledge why it is in none."""
    if props.plan is None:
        acknowledge(
            primary,
            "NIST.800.53.R5-RDSInBackupPlan",
            reason=(
                "No AWS Backup plan was passed: the primary is protected by RDS automated backups with "
                "point-in-time recovery for BackupProps.retention_days (at least 1 day), KMS-encrypted and kept "
                "after the instance is deleted, and by its SNAPSHOT or RETAIN removal policy; pass BackupProps.plan "
                "to add AWS Backup on top."
            ),
        )
        return None
    backup_selection = backup.BackupSelection(
        scope,
        "BackupSelection",
        backup_plan=props.plan,
        resources=[backup.BackupResource.from_rds_database_instance(primary)],
        role=props.role,
    )
    if props.role is None:
        acknowledge(
            backup_selection.node.find_child("Role"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            reason=(
                "AWSBackupServiceRolePolicyForBackup is the AWS-maintained policy AWS Backup documents for its "
                "backup role; it covers snapshotting every service a plan may select, and AWS updates it "
                "with the service, which a copied customer policy would miss."
            ),
        )
    return backup_selection
