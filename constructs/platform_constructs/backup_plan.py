"""An AWS Backup plan for a database: point-in-time recovery plus daily recovery points copied away.

Two rules into one vault:

- `PointInTime`: continuous backup (point-in-time recovery, to any second of the last
  `point_in_time_days`, at most 35); its rule runs two hours after the daily one. AWS Backup then
  manages the instance's automated backups and owns their retention: RDS then refuses any other
  retention from a template, so pass `backup_retention_days=None` to `PostgresCluster` for an instance
  this rule selects.
- `Daily`: a snapshot every day at `daily_at` (`time_zone`), kept `daily_retention`, and copied to
  each of `copies` (a vault of another region, or of another account in the same region: AWS Backup
  copies an RDS point across one of the two, not both), kept there as long as each copy says.

The plan's role (also the one restores pass, the restore drill's) may use the copy vaults' keys by
their aliases. Select resources into the plan with
`BackupSelection(..., role=plan.role)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, TimeZone, aws_backup as backup, aws_events as events, aws_iam as iam
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge

#: AWS Backup keeps continuous backups at most this long.
MAX_POINT_IN_TIME_DAYS = 35
#: Hours after the daily point at which the continuous-backup rule runs (never in the same window).
POINT_IN_TIME_OFFSET_HOURS = 2
BACKUP_POLICY = "service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY = "service-role/AWSBackupServiceRolePolicyForRestores"


@dataclass(frozen=True)
class CopyDestination:
    """A vault (by ARN) that receives a copy of every daily recovery point, kept `delete_after`."""

    vault_arn: str
    delete_after: Duration
    #: Lets the plan's role use the destination vault's key (same account): a statement by alias.
    key_statement: iam.PolicyStatement | None = None


class DatabaseBackupPlan(Construct):
    """Exposes ``plan`` and ``role``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        plan_name: str,
        vault: backup.IBackupVault,
        point_in_time_days: int,
        daily_retention: Duration,
        daily_at: tuple[int, int],
        time_zone: str,
        copies: Sequence[CopyDestination] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= point_in_time_days <= MAX_POINT_IN_TIME_DAYS:
            raise ValueError(f"{plan_name}: point_in_time_days must be 1 to {MAX_POINT_IN_TIME_DAYS}")
        # No fixed name: IAM names are global to the account, and the same stack may be deployed in a second
        # region (docs/runbooks/lost-region.md).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description=f"AWS Backup for {plan_name}: backups, copies and restores",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in (BACKUP_POLICY, RESTORE_POLICY)
            ],
        )
        statements = [copy.key_statement for copy in copies if copy.key_statement is not None]
        if statements:
            copy_keys = iam.ManagedPolicy(self, "CopyKeys", roles=[self.role], statements=statements,
                                          description=f"{plan_name}: use the copy vaults' keys")  # fmt: skip
            wildcards = sorted({r for s in statements for r in s.resources if r.endswith("key/*")})
            acknowledge(
                copy_keys,
                *(f"AwsSolutions-IAM5[Resource::{resource}]" for resource in wildcards),
                reason=(
                    "A key in another region or stack is named by its alias, not its ARN (that would need a "
                    "cross-region reference): the statement covers the account's keys of that region only where "
                    "kms:ResourceAliases is the copy vault's key alias, so it grants exactly that one key."
                ),
            )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{BACKUP_POLICY}]",
            f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{RESTORE_POLICY}]",
            reason=(
                "The AWS-maintained policies AWS Backup documents for its backup and restore role; they cover "
                "snapshotting, copying and restoring every service a plan may select, and AWS updates them with "
                "the service, which a copied customer policy would miss."
            ),
        )
        hour, minute = daily_at
        schedule = events.Schedule.cron(hour=str(hour), minute=str(minute))
        # Continuous backup's own run (its upkeep; it makes no snapshot) two hours later: AWS Backup resolves
        # rules whose windows overlap by running only the one with the longer retention.
        sync = events.Schedule.cron(hour=str((hour + POINT_IN_TIME_OFFSET_HOURS) % 24), minute=str(minute))
        zone = TimeZone.of(time_zone)
        self.plan = backup.BackupPlan(self, "Plan", backup_plan_name=plan_name, backup_vault=vault)
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="PointInTime",
                enable_continuous_backup=True,
                delete_after=Duration.days(point_in_time_days),
                schedule_expression=sync,
                schedule_expression_timezone=zone,
            )
        )
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="Daily",
                delete_after=daily_retention,
                schedule_expression=schedule,
                schedule_expression_timezone=zone,
                start_window=Duration.hours(1),
                completion_window=Duration.hours(8),
                copy_actions=[
                    backup.BackupPlanCopyActionProps(
                        destination_backup_vault=backup.BackupVault.from_backup_vault_arn(
                            self, f"Destination{index}", copy.vault_arn
                        ),
                        delete_after=copy.delete_after,
                    )
                    for index, copy in enumerate(copies)
                ],
            )
        )
