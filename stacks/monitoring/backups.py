"""Backups that stop without failing, and restore drills that fail.

A failed backup or copy job is an event (`events`); a backup that silently stops (the plan or its
selection gone, the instance replaced outside the selection, a schedule that never starts) is seen
only as the absence of completed jobs, and a recovery point that does not restore only by a drill.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import BackupVaultMetrics, StateMachineMetrics
from platform_constructs.physical_names import (
    LogGroup,
    backup_plan_name,
    backup_vault_name,
    copy_vault_name,
    drill_state_machine_name,
    log_group_name,
)
from platform_constructs.severity import Severity


def backup_freshness_alarms(config: EnvironmentConfig) -> list[AlarmSpec]:
    """No backup job completed into the backup vault (each makes a recovery point), no copy job completed into
    each copy vault, for `backups.recovery_point_hours` hours. The job counts are what AWS Backup documents as
    counts per period; its recovery-point metrics describe the points a vault holds by state, a number that need
    not fall to zero when backups stop. AWS Backup publishes the counts only when they are not zero, so an hour
    without one is missing data, and missing data is the breach. The copy jobs run in this region (the source's)
    and are counted by their destination vault's name, so the copy vault in the copy region is watched from here,
    beside the topics."""
    hours = config.observability.backups.recovery_point_hours
    backups, copies = backup_vault_name(config.name), copy_vault_name(config.name)
    vaults: list[tuple[str, str, cloudwatch.IMetric, str]] = [
        ("NoRecoveryPoint", "no-recovery-point", BackupVaultMetrics(backups).backup_jobs_completed(),
         f"No backup job of the database (each makes a recovery point) completed into "
         f"{backups} in {hours} hours, and no job failed (that would be backup-failures): "
         "the plan "
         f"{backup_plan_name(config.name)} no longer selects the primary (after a restore under a new identifier "
         "it selects the new one from its next run), the plan or its rule was changed or removed, or the job has "
         "not finished yet. Check AWS Backup's Jobs page for today's job and the plan's resource assignment. "
         "Expected on the first day after the first deploy, before the first daily point."),
        ("NoBackupCopy", "no-backup-copy", BackupVaultMetrics(copies).copy_jobs_completed(),
         f"No copy of a daily recovery point reached {copies} in "
         f"{config.backup.copy_region} in {hours} hours: either no point was made (see no-recovery-point) or the "
         "plan's copy action was removed or never starts. Check AWS Backup's Jobs page, Copy jobs tab, in this "
         "region. Expected on the first day after the first deploy."),
    ]  # fmt: skip
    account = config.backup.backup_account
    if account is not None:
        vaults.append(
            ("NoBackupAccountCopy", "no-backup-account-copy",
             BackupVaultMetrics(account.vault_name).copy_jobs_completed(),
             f"No copy of a daily recovery point reached the backup account's vault {account.vault_name} "
             f"({account.account}) in {hours} hours: the copy action, the vault's access policy or the "
             "organization's cross-account backup setting changed. Check AWS Backup's Copy jobs tab here.")
        )  # fmt: skip
    return [
        AlarmSpec(
            construct_id,
            slug,
            metric,
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=hours,
            datapoints_to_alarm=hours,
            # AWS Backup sends nothing for an hour without a point: that silence is what this alarm is for.
            missing_data=cloudwatch.TreatMissingData.BREACHING,
            severity=Severity.WARNING,
            runbook=runbook,
        )
        for construct_id, slug, metric, runbook in vaults
    ]


def restore_drill_alarm(config: EnvironmentConfig, state_machine_arn: str) -> AlarmSpec:
    """A restore drill that failed or timed out: its backups may not restore."""
    return AlarmSpec(
        "RestoreDrillFailed",
        "restore-drill-failed",
        StateMachineMetrics(state_machine_arn).failed_or_timed_out("Restore drills failed or timed out"),
        threshold=1,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        severity=Severity.WARNING,
        runbook=f"The restore drill {drill_state_machine_name(config.name)} failed: the newest daily "
        "recovery point may not restore, or its data failed a sanity query (backup.drill.queries). Open the "
        "execution in the Step Functions console: the failed step's error says which, and "
        f"{log_group_name(config.name, LogGroup.RESTORE_DRILL)} has the function's log. Its temporary instance was "
        "deleted by the clean-up step. Fix the cause and run make restore-drill again.",
    )
