"""The database maintenance jobs' alarms: a crashed run, a run that reported problems, a job that stopped running.

Each alarm's state is the last run's outcome: missing data (no run in the period) keeps it, except
for the did-not-run alarm, for which no report at all is the failure.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import HOUR, FunctionMetrics, MaintenanceMetrics
from platform_constructs.naming import pascal_case
from platform_constructs.physical_names import LogGroup, log_group_name
from platform_constructs.severity import Severity
from stacks.database_access import METRICS_NAMESPACE

#: The maintenance function's Powertools service name (its metrics' `service` dimension).
MAINTENANCE_SERVICE = "database-maintenance"
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD


def maintenance_alarms(
    config: EnvironmentConfig, prefix: str, function_name: str, daily_tasks: Mapping[str, bool]
) -> list[AlarmSpec]:
    """`daily_tasks`: each scheduled task, and whether it runs daily (else weekly)."""
    log_group = log_group_name(config.name, LogGroup.DATABASE_MAINTENANCE)
    specs = [
        AlarmSpec(
            "MaintenanceErrors",
            "maintenance-errors",
            FunctionMetrics(function_name).errors(HOUR),
            threshold=1,
            comparison=GE,
            evaluation_periods=1,
            # The state holds until the next run: a failed run stays visible until one succeeds.
            missing_data=cloudwatch.TreatMissingData.IGNORE,
            severity=Severity.WARNING,
            runbook=f"A database maintenance run crashed (timeout, import error, unreachable database) before "
            f"reporting. Read {log_group}; the job runs again at its next schedule, and this alarm clears with the "
            "next run that ends without an error.",
        )
    ]
    for task, daily in sorted(daily_tasks.items()):
        metrics = MaintenanceMetrics(METRICS_NAMESPACE, MAINTENANCE_SERVICE, task)
        construct = pascal_case(task)
        periods = 1 if daily else 7
        specs += [
            AlarmSpec(
                f"Maintenance{construct}Problems",
                f"maintenance-{task}-problems",
                metrics.problems(),
                threshold=1,
                comparison=GE,
                evaluation_periods=1,
                # Holds until the next run reports: the state is the last run's outcome.
                missing_data=cloudwatch.TreatMissingData.IGNORE,
                severity=Severity.WARNING,
                runbook=f"The last {task} run reported problems (a table it could not vacuum, a partition it "
                f"could not create, a database it could not reach). Its structured log in {log_group} names each; "
                "the alarm clears when a run reports none.",
            ),
            AlarmSpec(
                f"Maintenance{construct}DidNotRun",
                f"maintenance-{task}-did-not-run",
                metrics.reports(),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                # No report at all is the failure this alarm exists for.
                missing_data=cloudwatch.TreatMissingData.BREACHING,
                severity=Severity.WARNING,
                runbook=f"The {task} job has not reported for {periods} day(s): its EventBridge Scheduler "
                "schedule is disabled or failing to invoke the function, or every run crashed (see "
                f"{prefix}-maintenance-errors). Check the schedule and {log_group}. Expected for the first "
                f"{'day' if daily else 'week'} after the first deploy, before the job has run once.",
            ),
        ]
    return specs
