"""Monitoring stack: the main region's alarms and the environment's dashboard.

Deployed last in its region. It holds no reference to another stack's resources: what it watches has
a name fixed by config (the cluster, the services, the database instances, the proxy) or a name
another stack publishes in SSM (the ALB, the cache group, the maintenance function), read as a
CloudFormation parameter at each deploy. So each watched stack deploys, and is replaced, on its
own. The seat alarm lives in the services stack (its step policies act on the scalable targets
there); CloudFront's and WAF's alarms live in the edge stack (us-east-1).

Outside prod the night schedule stops every service; the one alarm here that the stop trips (the load
balancer's own 5XX: with no target it answers 503) is muted exactly while the services are stopped
(`stacks/night_mute.py`); every other alarm here treats the stopped services as no breach.

Every alarm states what to check first, treats missing data deliberately and notifies its topic
when it fires and when it recovers. The choices and the reasons are in the README (Observability).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Duration,
    Fn,
    RemovalPolicy,
    aws_cloudwatch as cloudwatch,
    aws_events as events,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_sns as sns,
    aws_ssm as ssm,
)
from constructs import Construct

from config.instance_memory import GIB, max_connections_of, memory_gib
from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.alarm_topics import Severity, topic_arn
from platform_constructs.alarms import page_alarm
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.log_retention import retention_from_days
from platform_constructs.naming import pascal_case
from stacks.alerts_stack import alerts_prefix
from stacks.backup_vault_stack import backup_vault_name, copy_vault_name
from stacks.data_parameters import DataParameter, parameter_name
from stacks.data_stack import DataStack
from stacks.database_access import METRICS_NAMESPACE as MAINTENANCE_NAMESPACE
from stacks.night_mute import night_mute_rules
from stacks.platform_stack import PlatformStack
from stacks.restore_drill import drill_state_machine_arn, drill_state_machine_name
from stacks.services_stack import load_balancer_parameter_name, target_group_parameter_name

MINUTE = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
HOUR = Duration.hours(1)
DAY = Duration.days(1)
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
GE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING
#: ECS service events that mean tasks do not start (Container Insights sends nothing for a service
#: with no running task, so a service that cannot start a single one is seen only in these).
START_FAILURE_EVENTS = (
    "SERVICE_TASK_START_IMPAIRED",
    "SERVICE_TASK_PLACEMENT_FAILURE",
    "SERVICE_TASK_CONFIGURATION_FAILURE",
    "SERVICE_DEPLOYMENT_FAILED",
)
#: AWS Backup job states that mean no recovery point (or no copy) was made.
BACKUP_JOB_FAILURES = ("FAILED", "ABORTED", "EXPIRED")
#: How CloudTrail hands Secrets Manager's rotation events to EventBridge. RotationFailed is no API call (Secrets
#: Manager emits it itself), which CloudTrail calls a service event; both kinds are matched, so that the rule does
#: not depend on which of the two CloudTrail files it under.
CLOUDTRAIL_DETAIL_TYPES = ("AWS Service Event via CloudTrail", "AWS API Call via CloudTrail")
#: The maintenance function's Powertools service name (its metrics' `service` dimension).
MAINTENANCE_SERVICE = "database-maintenance"
#: One database alarm: construct id, name suffix, metric, threshold, comparison, periods, severity, what to check.
_Check = tuple[str, str, cloudwatch.IMetric, float, cloudwatch.ComparisonOperator, int, Severity, str]


class MonitoringStack(PlatformStack):
    """Exposes ``alarms`` (by alarm name), ``dashboard``, ``start_failures_rule`` and ``mute_rules``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, data: DataStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.prefix = alerts_prefix(config.name)
        self.cluster_name = f"ticketing-{config.name}"
        self.topics = {
            severity: sns.Topic.from_topic_arn(
                self, f"{severity.value.capitalize()}Topic", topic_arn(self, self.prefix, severity)
            )
            for severity in Severity
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        #: Alarms the night schedule's stop trips: muted while the services are stopped.
        self.tripped_by_night: list[cloudwatch.Alarm] = []
        load_balancer = ssm.StringParameter.value_for_string_parameter(self, load_balancer_parameter_name(config.name))
        self.target_groups = {
            name: ssm.StringParameter.value_for_string_parameter(self, target_group_parameter_name(config.name, name))
            for name, service in config.services.items()
            if service.paths
        }
        cache_group = ssm.StringParameter.value_for_string_parameter(
            self, parameter_name(config.name, DataParameter.CACHE_REPLICATION_GROUP_ID)
        )
        maintenance_function = ssm.StringParameter.value_for_string_parameter(
            self, parameter_name(config.name, DataParameter.MAINTENANCE_FUNCTION_NAME)
        )
        self.cache_nodes = [
            Fn.join("-", [cache_group, f"{member:03d}"]) for member in range(1, config.cache.replicas + 2)
        ]
        self.instances = [data.postgres.primary_identifier, *data.postgres.replica_identifiers]
        self.proxy_name = data.postgres.proxy_name

        self._load_balancer_alarms(load_balancer)
        self._booking_alarms()
        for name in config.services:
            self._service_alarms(name)
        self.key = kms.Key(
            self,
            "MonitoringKey",
            description=f"ticketing {config.name}: the event logs (ECS service events, AWS Backup job failures, "
            "failed secret rotations)",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.event_log_groups: list[logs.LogGroup] = []
        self.event_log_names: list[str] = []
        self.start_failures_rule = self._start_failure_alarm()
        self.backup_failures_rule = self._backup_failure_alarm()
        self.rotation_failures_rule = self._rotation_failure_alarm()
        self._backup_freshness_alarms()
        self._restore_drill_alarm()
        self._event_log_delivery()
        self._database_alarms()
        self._cache_alarms()
        self._maintenance_alarms(maintenance_function, data.access.daily_tasks)
        self.dashboard = self._dashboard(load_balancer)
        self.mute_rules = night_mute_rules(self, config, self.tripped_by_night)

    # --- Helpers ----------------------------------------------------------------------------------
    def _alarm(self, construct_id: str, slug: str, severity: Severity, **kwargs: Any) -> cloudwatch.Alarm:
        name = f"{self.prefix}-{slug}"
        alarm = page_alarm(self, construct_id, alarm_name=name, topics=[self.topics[severity]], **kwargs)
        self.alarms[name] = alarm
        return alarm

    # --- The ALB (the guide's HighErrorRate and HighLatency) -----------------------------------------
    def _load_balancer_alarms(self, load_balancer: str) -> None:
        """The guide's two, the load balancer's own 5XX, and unhealthy targets per routed service."""
        limits = self.config.observability.load_balancer
        dimensions = {"LoadBalancer": load_balancer}
        self._alarm(
            "HighErrorRate",
            "high-error-rate",
            Severity.CRITICAL,
            metric=_metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dimensions, "Sum", FIVE_MINUTES),
            threshold=limits.error_count,
            comparison=GT,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            check_first=f"More than {limits.error_count} 5XX answers from the services in 5 minutes. Open the "
            "dashboard's error-rate and per-service graphs to see which service, then its logs "
            "(ECS console, the service's Logs tab) for the stack traces; a deploy in the last hour is the first "
            "suspect (the circuit breaker rolls back failed tasks, not bad code). No requests means no errors.",
        )
        self._alarm(
            "HighLatency",
            "high-latency",
            Severity.WARNING,
            metric=_metric("AWS/ApplicationELB", "TargetResponseTime", dimensions, "p95", FIVE_MINUTES),
            threshold=limits.latency_p95_ms / 1000,
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            check_first=f"p95 response time above {limits.latency_p95_ms} ms for 10 minutes. Check the dashboard: "
            "database connections and replica lag (slow queries: Performance Insights, the weekly maintenance "
            "report), cache hit rate and memory, services' CPU at their max_tasks. No requests means no latency.",
        )
        self.tripped_by_night.append(
            self._alarm(
                "LoadBalancer5xx",
                "load-balancer-5xx",
                Severity.CRITICAL,
                metric=_metric("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", dimensions, "Sum", FIVE_MINUTES),
                threshold=limits.elb_error_count,
                comparison=GT,
                evaluation_periods=1,
                missing_data=NOT_BREACHING,
                check_first=f"The load balancer itself answered more than {limits.elb_error_count} requests with 5XX "
                "in 5 minutes: 503 when a target group has no healthy target (tasks stopped, crashing or failing "
                "their health checks: see <service>-unhealthy-targets and tasks-below-desired), 502/504 when a "
                "target reset the connection or did not answer within the idle timeout. The ALB's access logs (the "
                "access-log bucket) give the elb_status_code and target per request. Muted while the night "
                "schedule stops the services (no target: 503 by design).",
            )
        )
        minutes = limits.unhealthy_target_minutes
        for name, target_group in self.target_groups.items():
            self._alarm(
                f"{pascal_case(name)}UnhealthyTargets",
                f"{name}-unhealthy-targets",
                Severity.WARNING,
                metric=_metric(
                    "AWS/ApplicationELB",
                    "UnHealthyHostCount",
                    {"LoadBalancer": load_balancer, "TargetGroup": target_group},
                    "Maximum",
                    MINUTE,
                ),
                threshold=1,
                comparison=GE,
                evaluation_periods=minutes,
                datapoints_to_alarm=minutes,
                missing_data=NOT_BREACHING,
                check_first=f"A target of {name}'s target group has failed its health checks for {minutes} minutes "
                "(ECS replaces such tasks; one that keeps failing is a bad release, a dependency it cannot reach, or "
                "a health check path that does not answer 200). The target group's Targets tab gives the reason per "
                "target; the service's logs say why. Stopped services at night have no targets, which counts as none "
                "unhealthy, so this alarm is never muted and sees a morning start whose tasks fail their checks.",
            )

    # --- Bookings (the guide's custom metrics) -----------------------------------------------------
    def _booking_alarms(self) -> None:
        bookings = self.config.observability.bookings
        self._alarm(
            "BookingSuccessRate",
            "booking-success-rate",
            Severity.CRITICAL,
            metric=booking_success_rate(bookings.namespace, bookings.min_attempts),
            threshold=bookings.min_success_percent,
            comparison=LT,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            check_first=f"Fewer than {bookings.min_success_percent}% of booking attempts succeeded in 5 minutes "
            f"(judged from {bookings.min_attempts} attempts up). Check the bookings service's logs for the failure "
            "reason, then its dependencies: inventory (seat holds), the database's write latency and connections, "
            "the payment provider. No attempts means nothing to judge.",
        )
        self._alarm(
            "BookingLatency",
            "booking-latency",
            Severity.WARNING,
            metric=_metric(bookings.namespace, "BookingLatency", {}, "p95", FIVE_MINUTES),
            threshold=bookings.latency_p95_ms,
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            check_first=f"p95 booking latency above {bookings.latency_p95_ms} ms for 10 minutes. Check the "
            "database's write latency and the proxy's borrow latency (pool exhaustion), then the bookings "
            "service's CPU. No bookings means no latency.",
        )

    # --- ECS services -------------------------------------------------------------------------------
    def _service_alarms(self, name: str) -> None:
        limits = self.config.observability.services
        dimensions = {"ClusterName": self.cluster_name, "ServiceName": name}
        construct = pascal_case(name)
        for kind, metric_name, threshold in (
            ("Cpu", "CPUUtilization", limits.cpu_percent),
            ("Memory", "MemoryUtilization", limits.memory_percent),
        ):
            self._alarm(
                f"{construct}{kind}",
                f"{name}-{kind.lower()}",
                Severity.WARNING,
                metric=_metric("AWS/ECS", metric_name, dimensions, "Average", MINUTE),
                threshold=threshold,
                comparison=GT,
                evaluation_periods=10,
                datapoints_to_alarm=10,
                missing_data=NOT_BREACHING,
                check_first=f"{name} has used over {threshold}% of its {kind.lower()} for 10 minutes although target "
                f"tracking adds tasks above its target: it is probably at max_tasks (compute) or a task is stuck. "
                "Compare running tasks with max_tasks on the dashboard; raise max_tasks or the task size. A service "
                "with no running task (at night) sends no data, which counts as fine.",
            )
        minutes = limits.missing_task_minutes
        self._alarm(
            f"{construct}TasksBelowDesired",
            f"{name}-tasks-below-desired",
            Severity.CRITICAL,
            metric=tasks_below_desired(self.cluster_name, name),
            threshold=1,
            comparison=GE,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            missing_data=NOT_BREACHING,
            check_first=f"{name} has run fewer tasks than desired for {minutes} minutes: tasks fail to start or "
            "keep stopping (a Spot reclaim is replaced within minutes). Read the service's events in the ECS "
            "console and the stopped tasks' reasons; check its image tag ([images]) and its secrets. At night "
            "both counts are zero, which is no shortfall.",
        )

    def _start_failure_alarm(self) -> events.Rule:
        """ECS events of tasks that cannot start, recorded in a log group and counted by an alarm.

        The task-count alarm above needs Container Insights data, which a service that cannot start a
        single task does not produce; ECS reports that case as events, so a failed morning scale-up
        pages through this alarm.
        """
        config = self.config
        service_arn_prefix = self.format_arn(service="ecs", resource="service", resource_name=f"{self.cluster_name}/")
        return self._event_alarm(
            "StartFailure",
            "service-start-failures",
            log_group_name=f"/ticketing/{config.name}/ecs/service-events",
            rule_description=f"ticketing {config.name}: ECS services whose tasks cannot start or whose deployment "
            "failed",
            pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Service Action", "ECS Deployment State Change"],
                resources=events.Match.prefix(service_arn_prefix),
                detail={"eventName": list(START_FAILURE_EVENTS)},
            ),
            severity=Severity.CRITICAL,
            alarm_id="ServiceStartFailures",
            check_first=f"An ECS service of {self.cluster_name} cannot start its tasks, or a deployment failed and "
            f"rolled back. The events are in the log group /ticketing/{config.name}/ecs/service-events (which "
            "service, which reason): a missing image or secret, no Spot capacity, a failing health check. This is "
            "how a failed morning start is seen: a service with no running task sends no task counts.",
        )

    def _backup_failure_alarm(self) -> events.Rule:
        """AWS Backup jobs and copy jobs of this account and region that failed, were aborted or expired
        unstarted: recorded in a log group and counted by an alarm (nothing else here uses AWS Backup)."""
        config = self.config
        return self._event_alarm(
            "BackupFailure",
            "backup-failures",
            log_group_name=f"/ticketing/{config.name}/backup/job-failures",
            rule_description=f"ticketing {config.name}: AWS Backup and copy jobs that did not complete",
            pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change", "Copy Job State Change"],
                detail={"state": list(BACKUP_JOB_FAILURES)},
            ),
            severity=Severity.WARNING,
            alarm_id="BackupFailures",
            check_first=f"A backup or copy job of the database did not complete. The events are in the log group "
            f"/ticketing/{config.name}/backup/job-failures (which job, its statusMessage); the AWS Backup console "
            f"lists the job. A failed copy leaves that day without a copy in {config.backup.copy_region}: fix the "
            "cause (a key policy, the vault lock's retention range, a quota) and start the copy again from the "
            "recovery point in the console.",
        )

    def _rotation_failure_alarm(self) -> events.Rule:
        """A rotation of a secret of this account and region that failed, seen as Secrets Manager's RotationFailed
        event (CloudTrail hands it to EventBridge), recorded in a log group and counted by an alarm. The master
        secret is the one secret here that rotates; a failed rotation leaves its current password in place (only
        `finishSecret` moves AWSCURRENT), so nothing breaks at once, but the next attempt is a rotation interval
        away and the secret's age grows."""
        config = self.config
        return self._event_alarm(
            "RotationFailure",
            "secret-rotation-failed",
            log_group_name=f"/ticketing/{config.name}/secrets/rotation-failures",
            rule_description=f"ticketing {config.name}: secret rotations that failed",
            pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=list(CLOUDTRAIL_DETAIL_TYPES),
                detail={"eventSource": ["secretsmanager.amazonaws.com"], "eventName": ["RotationFailed"]},
            ),
            severity=Severity.WARNING,
            alarm_id="SecretRotationFailed",
            check_first=f"A secret rotation failed (the database's master secret is the one that rotates, every "
            f"{config.database.credential_rotation_days} days). The event is in the log group "
            f"/ticketing/{config.name}/secrets/rotation-failures (which secret, additionalEventData); the rotation "
            "function's own log names the failed step (createSecret, setSecret, testSecret, finishSecret). The "
            "current password still works: fix the cause (the function's network path to the database or Secrets "
            "Manager's endpoint, its permissions), then rotate again: aws secretsmanager rotate-secret --secret-id "
            "<the secret>.",
        )

    def _backup_freshness_alarms(self) -> None:
        """Backups that stop without failing (the plan or its selection gone, the instance replaced outside the
        selection, a schedule that never starts): no backup job completed into the backup vault (each makes a
        recovery point), no copy job completed into each copy vault, for `backups.recovery_point_hours` hours.
        The job counts are what AWS Backup documents as counts per period; its recovery-point metrics describe the
        points a vault holds by state, a number that need not fall to zero when backups stop. AWS Backup publishes
        the counts only when they are not zero, so an hour without one is missing data, and missing data is the
        breach. The copy jobs run in this region (the source's) and are counted by their destination vault's
        name, so the copy vault in the copy region is watched from here, beside the topics."""
        config = self.config
        hours = config.observability.backups.recovery_point_hours
        vaults: list[tuple[str, str, str, str, str]] = [
            ("NoRecoveryPoint", "no-recovery-point", "NumberOfBackupJobsCompleted", backup_vault_name(config.name),
             f"No backup job of the database (each makes a recovery point) completed into "
             f"{backup_vault_name(config.name)} in {hours} hours, and no job failed (that would be backup-failures): "
             "the plan "
             f"ticketing-{config.name}-database no longer selects the primary (after a restore under a new identifier "
             "it selects the new one from its next run), the plan or its rule was changed or removed, or the job has "
             "not finished yet. Check AWS Backup's Jobs page for today's job and the plan's resource assignment. "
             "Expected on the first day after the first deploy, before the first daily point."),
            ("NoBackupCopy", "no-backup-copy", "NumberOfCopyJobsCompleted", copy_vault_name(config.name),
             f"No copy of a daily recovery point reached {copy_vault_name(config.name)} in "
             f"{config.backup.copy_region} in {hours} hours: either no point was made (see no-recovery-point) or the "
             "plan's copy action was removed or never starts. Check AWS Backup's Jobs page, Copy jobs tab, in this "
             "region. Expected on the first day after the first deploy."),
        ]  # fmt: skip
        account = config.backup.backup_account
        if account is not None:
            vaults.append(
                ("NoBackupAccountCopy", "no-backup-account-copy", "NumberOfCopyJobsCompleted", account.vault_name,
                 f"No copy of a daily recovery point reached the backup account's vault {account.vault_name} "
                 f"({account.account}) in {hours} hours: the copy action, the vault's access policy or the "
                 "organization's cross-account backup setting changed. Check AWS Backup's Copy jobs tab here.")
            )  # fmt: skip
        for construct_id, slug, metric_name, vault, check_first in vaults:
            self._alarm(
                construct_id,
                slug,
                Severity.WARNING,
                metric=_metric("AWS/Backup", metric_name, {"BackupVaultName": vault}, "Sum", HOUR),
                threshold=1,
                comparison=LT,
                evaluation_periods=hours,
                datapoints_to_alarm=hours,
                # AWS Backup sends nothing for an hour without a point: that silence is what this alarm is for.
                missing_data=cloudwatch.TreatMissingData.BREACHING,
                check_first=check_first,
            )

    def _restore_drill_alarm(self) -> None:
        """A restore drill that failed or timed out: its backups may not restore."""
        config = self.config
        dimensions = {"StateMachineArn": drill_state_machine_arn(self, config.name)}
        self._alarm(
            "RestoreDrillFailed",
            "restore-drill-failed",
            Severity.WARNING,
            metric=cloudwatch.MathExpression(
                expression="failed + timedout",
                using_metrics={
                    "failed": _metric("AWS/States", "ExecutionsFailed", dimensions, "Sum", FIVE_MINUTES),
                    "timedout": _metric("AWS/States", "ExecutionsTimedOut", dimensions, "Sum", FIVE_MINUTES),
                },
                label="Restore drills failed or timed out",
                period=FIVE_MINUTES,
            ),
            threshold=1,
            comparison=GE,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            check_first=f"The restore drill {drill_state_machine_name(config.name)} failed: the newest daily "
            "recovery point may not restore, or its data failed a sanity query (backup.drill.queries). Open the "
            "execution in the Step Functions console: the failed step's error says which, and "
            f"/ticketing/{config.name}/backup/restore-drill has the function's log. Its temporary instance was "
            "deleted by the clean-up step. Fix the cause and run make restore-drill again.",
        )

    def _event_alarm(
        self,
        construct_prefix: str,
        slug: str,
        *,
        log_group_name: str,
        rule_description: str,
        pattern: events.EventPattern,
        severity: Severity,
        alarm_id: str,
        check_first: str,
    ) -> events.Rule:
        """A rule whose matched events go to a log group of their own, and an alarm on its MatchedEvents."""
        config = self.config
        log_group = logs.LogGroup(
            self,
            f"{construct_prefix}Events" if construct_prefix != "StartFailure" else "ServiceEvents",
            log_group_name=log_group_name,
            retention=retention_from_days(config.compute.log_retention_days),
            encryption_key=self.key,
            # Operational events, not audit data; deleted with the stack so that it can be deployed again.
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.event_log_groups.append(log_group)
        self.event_log_names.append(log_group_name)
        rule_name = f"{self.prefix}-{slug}"
        rule = events.Rule(
            self,
            f"{construct_prefix}Events" if construct_prefix == "StartFailure" else f"{construct_prefix}Rule",
            rule_name=rule_name,
            description=rule_description,
            event_pattern=pattern,
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        # The log group as a plain target: aws-cdk-lib's CloudWatchLogGroup target would add a custom resource
        # (a Lambda function) only to write the resource policy (`_event_log_delivery`).
        cfn_rule.targets = [events.CfnRule.TargetProperty(id="Log", arn=log_group.log_group_arn)]
        acknowledge(
            cfn_rule,
            "Serverless-EventBusDLQ",
            reason="The alarm counts the rule's matched events (AWS/Events MatchedEvents), which does not depend on "
            "delivering them to the log group; the log is the operator's record of what failed and why",
        )
        self._alarm(
            alarm_id,
            slug,
            severity,
            metric=_metric("AWS/Events", "MatchedEvents", {"RuleName": rule_name}, "Sum", FIVE_MINUTES),
            threshold=1,
            comparison=GE,
            evaluation_periods=1,
            missing_data=NOT_BREACHING,
            check_first=check_first,
        )
        return rule

    def _event_log_delivery(self) -> None:
        """One resource policy (an account and region hold at most 10) lets EventBridge write to every event log,
        and one key-policy statement lets CloudWatch Logs encrypt them."""
        arns = [log_group_arn(self, name) for name in self.event_log_names]  # by name: the key comes first
        allow_cloudwatch_logs(self.key, self, log_group_arns=arns)
        logs.CfnResourcePolicy(
            self,
            "ServiceEventsDelivery",
            policy_name=f"ticketing-{self.config.name}-service-events",
            policy_document=self.to_json_string(
                iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            principals=[
                                iam.ServicePrincipal("events.amazonaws.com"),
                                iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                            ],
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[group.log_group_arn for group in self.event_log_groups],
                        )
                    ]
                ).to_json()
            ),
        )

    # --- PostgreSQL and RDS Proxy --------------------------------------------------------------------
    def _database_alarms(self) -> None:
        config = self.config
        limits = config.observability.database
        for index, instance in enumerate(self.instances):
            replica = index > 0
            instance_class = config.database.replica_instance_class if replica else config.database.instance_class
            memory = memory_gib(instance_class)
            if memory is None:  # the schema admits only the families instance_memory knows
                raise ValueError(f"{instance_class}: no memory size known for this instance class")
            max_connections = max_connections_of(memory)
            dimensions = {"DBInstanceIdentifier": instance}
            construct = pascal_case(instance.removeprefix(f"ticketing-{config.name}-"))
            role = "replica" if replica else "primary"
            storage_bytes = config.database.allocated_storage_gib * GIB * limits.free_storage_percent // 100
            checks: list[_Check] = [
                ("Cpu", "cpu", _metric("AWS/RDS", "CPUUtilization", dimensions, "Average", FIVE_MINUTES),
                 limits.cpu_percent, GT, 3, Severity.WARNING,
                 f"{instance} ({role}) above {limits.cpu_percent}% CPU for 15 minutes. Performance Insights' top SQL "
                 "first; then the weekly maintenance report (slowest statements, unused indexes)."),
                ("FreeableMemory", "freeable-memory",
                 _metric("AWS/RDS", "FreeableMemory", dimensions, "Average", FIVE_MINUTES),
                 memory * GIB * limits.freeable_memory_percent // 100, LT, 3, Severity.WARNING,
                 f"{instance} ({role}) has less than {limits.freeable_memory_percent}% of its {memory} GiB free "
                 "for 15 minutes: too many connections (each holds memory) or large sorts. Check connections and "
                 "Performance Insights; a larger class is the remedy if it persists."),
                ("FreeStorage", "free-storage",
                 _metric("AWS/RDS", "FreeStorageSpace", dimensions, "Minimum", FIVE_MINUTES),
                 storage_bytes, LT, 1, Severity.CRITICAL,
                 f"{instance} ({role}) has less than {limits.free_storage_percent}% of its allocated storage free "
                 "and storage autoscaling has not caught up or has reached max_allocated_storage_gib. Raise "
                 "database.max_allocated_storage_gib, look for bloat (VACUUM report) and old WAL (replication slots)."),
                ("Connections", "connections",
                 _metric("AWS/RDS", "DatabaseConnections", dimensions, "Maximum", FIVE_MINUTES),
                 max_connections * limits.connections_percent // 100, GT, 2, Severity.WARNING,
                 f"{instance} ({role}) above {limits.connections_percent}% of its ~{max_connections} "
                 "max_connections for 10 minutes. Check the services' pool settings ([database.pool] times "
                 "tasks) and RDS Proxy's client connections; idle-in-transaction sessions end after the "
                 "configured timeout."),
                ("ReadLatency", "read-latency",
                 _metric("AWS/RDS", "ReadLatency", dimensions, "Average", FIVE_MINUTES),
                 limits.read_latency_ms / 1000, GT, 3, Severity.WARNING,
                 f"{instance} ({role}) disk reads slower than {limits.read_latency_ms} ms for 15 minutes: the working "
                 "set no longer fits in memory or the volume is throttled (gp3 IOPS/throughput)."),
                ("WriteLatency", "write-latency",
                 _metric("AWS/RDS", "WriteLatency", dimensions, "Average", FIVE_MINUTES),
                 limits.write_latency_ms / 1000, GT, 3, Severity.WARNING,
                 f"{instance} ({role}) disk writes slower than {limits.write_latency_ms} ms for 15 minutes: check "
                 "write IOPS against the volume's limits and long-running bulk writes."),
            ]  # fmt: skip
            if replica:
                checks.append(
                    ("ReplicaLag", "replica-lag",
                     _metric("AWS/RDS", "ReplicaLag", dimensions, "Maximum", MINUTE),
                     limits.replica_lag_seconds, GT, 5, Severity.WARNING,
                     f"{instance} is more than {limits.replica_lag_seconds} s behind the primary for 5 minutes: reads "
                     "from the replicas are stale. Check the replica's CPU and write latency, long queries on it "
                     "(they delay replay) and the primary's write volume.")
                )  # fmt: skip
            for kind, slug, metric, threshold, comparison, periods, severity, check_first in checks:
                self._alarm(
                    f"{construct}{kind}",
                    f"{instance.removeprefix(self.prefix + '-')}-{slug}",
                    severity,
                    metric=metric,
                    threshold=threshold,
                    comparison=comparison,
                    evaluation_periods=periods,
                    datapoints_to_alarm=periods,
                    missing_data=NOT_BREACHING,
                    check_first=check_first,
                )
        proxy = {"ProxyName": self.proxy_name}
        self._alarm(
            "ProxyConnections",
            "proxy-connections",
            Severity.WARNING,
            metric=cloudwatch.MathExpression(
                expression="100 * used / allowed",
                using_metrics={
                    "used": _metric("AWS/RDS", "DatabaseConnections", proxy, "Sum", FIVE_MINUTES),
                    "allowed": _metric("AWS/RDS", "MaxDatabaseConnectionsAllowed", proxy, "Sum", FIVE_MINUTES),
                },
                period=FIVE_MINUTES,
                label="Proxy connections used (%)",
            ),
            threshold=limits.proxy_connections_percent,
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            check_first=f"RDS Proxy holds more than {limits.proxy_connections_percent}% of the database connections "
            "it may open, for 10 minutes: clients will wait to borrow one. Check client connections per service and "
            "pinned sessions (DatabaseConnectionsCurrentlySessionPinned); raise database.proxy.max_connections_percent "
            "or the instance class.",
        )
        self._alarm(
            "ProxyBorrowLatency",
            "proxy-borrow-latency",
            Severity.WARNING,
            metric=_metric("AWS/RDS", "DatabaseConnectionsBorrowLatency", proxy, "Average", FIVE_MINUTES),
            threshold=limits.proxy_borrow_latency_ms * 1000,  # the metric is in microseconds
            comparison=GT,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=NOT_BREACHING,
            check_first=f"Borrowing a connection from RDS Proxy takes over {limits.proxy_borrow_latency_ms} ms on "
            "average for 10 minutes: the pool is exhausted (see the proxy-connections alarm) or the database is slow "
            "to accept new connections. No clients means no data, which counts as fine.",
        )

    # --- The cache ------------------------------------------------------------------------------------
    def _cache_alarms(self) -> None:
        limits = self.config.observability.cache
        for member, node in enumerate(self.cache_nodes, start=1):
            dimensions = {"CacheClusterId": node}
            label = f"cache node {member:03d}"
            checks: list[tuple[str, str, str, str, float, int, str]] = [
                ("EngineCpu", "engine-cpu", "EngineCPUUtilization", "Average", limits.engine_cpu_percent, 3,
                 f"The {label}'s engine thread above {limits.engine_cpu_percent}% for 15 minutes: slow commands "
                 "(SLOWLOG, the slow-log group), hot keys, or too few shards for the load."),
                ("Memory", "memory", "DatabaseMemoryUsagePercentage", "Maximum", limits.memory_percent, 2,
                 f"The {label} uses over {limits.memory_percent}% of its memory for 10 minutes: keys without TTL or "
                 "TTLs too long; volatile-lru then evicts. Check evictions and the hit rate; a larger node helps."),
                ("Evictions", "evictions", "Evictions", "Sum", limits.evictions, 1,
                 f"The {label} evicted more than {limits.evictions} keys in 5 minutes: memory is full and the hit rate "
                 "falls (more load on PostgreSQL). Check memory use and the key TTLs."),
                ("Connections", "connections", "CurrConnections", "Maximum", limits.connections, 2,
                 f"The {label} has over {limits.connections} client connections for 10 minutes: a service leaks "
                 "connections or runs far more tasks than planned. Check running tasks per service."),
                ("ReplicationLag", "replication-lag", "ReplicationLag", "Maximum", limits.replication_lag_seconds, 5,
                 f"The {label}, as a replica, is more than {limits.replication_lag_seconds} s behind the primary for 5 "
                 "minutes: reads from it are stale. Check the primary's engine CPU and network. A primary sends no "
                 "lag, which counts as fine (roles swap after a failover, so every node is watched)."),
            ]  # fmt: skip
            for kind, slug, metric_name, statistic, threshold, periods, check_first in checks:
                period = MINUTE if kind == "ReplicationLag" else FIVE_MINUTES
                self._alarm(
                    f"CacheNode{member}{kind}",
                    f"cache-{member:03d}-{slug}",
                    Severity.WARNING,
                    metric=_metric("AWS/ElastiCache", metric_name, dimensions, statistic, period),
                    threshold=threshold,
                    comparison=GT,
                    evaluation_periods=periods,
                    datapoints_to_alarm=periods,
                    missing_data=NOT_BREACHING,
                    check_first=check_first,
                )

    # --- Database maintenance jobs ---------------------------------------------------------------------
    def _maintenance_alarms(self, function_name: str, daily_tasks: dict[str, bool]) -> None:
        log_group = f"/ticketing/{self.config.name}/database/maintenance"
        self._alarm(
            "MaintenanceErrors",
            "maintenance-errors",
            Severity.WARNING,
            metric=_metric("AWS/Lambda", "Errors", {"FunctionName": function_name}, "Sum", HOUR),
            threshold=1,
            comparison=GE,
            evaluation_periods=1,
            # The state holds until the next run: a failed run stays visible until one succeeds.
            missing_data=cloudwatch.TreatMissingData.IGNORE,
            check_first=f"A database maintenance run crashed (timeout, import error, unreachable database) before "
            f"reporting. Read {log_group}; the job runs again at its next schedule, and this alarm clears with the "
            "next run that ends without an error.",
        )
        for task, daily in sorted(daily_tasks.items()):
            dimensions = {"service": MAINTENANCE_SERVICE, "Task": task}
            construct = pascal_case(task)
            self._alarm(
                f"Maintenance{construct}Problems",
                f"maintenance-{task}-problems",
                Severity.WARNING,
                metric=_metric(MAINTENANCE_NAMESPACE, "MaintenanceProblems", dimensions, "Maximum", HOUR),
                threshold=1,
                comparison=GE,
                evaluation_periods=1,
                # Holds until the next run reports: the state is the last run's outcome.
                missing_data=cloudwatch.TreatMissingData.IGNORE,
                check_first=f"The last {task} run reported problems (a table it could not vacuum, a partition it "
                f"could not create, a database it could not reach). Its structured log in {log_group} names each; "
                "the alarm clears when a run reports none.",
            )
            periods = 1 if daily else 7
            self._alarm(
                f"Maintenance{construct}DidNotRun",
                f"maintenance-{task}-did-not-run",
                Severity.WARNING,
                metric=_metric(MAINTENANCE_NAMESPACE, "MaintenanceProblems", dimensions, "SampleCount", DAY),
                threshold=1,
                comparison=LT,
                evaluation_periods=periods,
                datapoints_to_alarm=periods,
                # No report at all is the failure this alarm exists for.
                missing_data=cloudwatch.TreatMissingData.BREACHING,
                check_first=f"The {task} job has not reported for {periods} day(s): its EventBridge Scheduler "
                "schedule is disabled or failing to invoke the function, or every run crashed (see "
                f"{self.prefix}-maintenance-errors). Check the schedule and {log_group}. Expected for the first "
                f"{'day' if daily else 'week'} after the first deploy, before the job has run once.",
            )

    # --- Dashboard ---------------------------------------------------------------------------------------
    def _dashboard(self, load_balancer: str) -> cloudwatch.Dashboard:
        config = self.config
        alb = {"LoadBalancer": load_balancer}
        requests = _metric("AWS/ApplicationELB", "RequestCount", alb, "Sum", MINUTE)
        errors = _metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", MINUTE)
        bookings = config.observability.bookings
        seats = config.observability.seats
        services = list(config.services)
        copy_region = config.backup.copy_region

        def per_service(
            metric_name: str, namespace: str = "AWS/ECS", statistic: str = "Average"
        ) -> list[cloudwatch.IMetric]:
            return [
                _metric(namespace, metric_name, {"ClusterName": self.cluster_name, "ServiceName": name}, "Average",
                        MINUTE, label=name)
                for name in services
            ]  # fmt: skip

        def per_instance(metric_name: str, statistic: str, names: list[str]) -> list[cloudwatch.IMetric]:
            return [
                _metric("AWS/RDS", metric_name, {"DBInstanceIdentifier": name}, statistic, MINUTE, label=name)
                for name in names
            ]

        def per_node(metric_name: str, statistic: str) -> list[cloudwatch.IMetric]:
            return [
                _metric("AWS/ElastiCache", metric_name, {"CacheClusterId": node}, statistic, MINUTE,
                        label=f"node {member:03d}")
                for member, node in enumerate(self.cache_nodes, start=1)
            ]  # fmt: skip

        def graph(title: str, left: list[cloudwatch.IMetric], unit: str = "") -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=left,
                width=8,
                height=6,
                left_y_axis=cloudwatch.YAxisProps(label=unit, show_units=False, min=0),
            )

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.prefix,
            default_interval=Duration.hours(3),
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# ticketing {config.name}\nRequests and errors at the ALB; bookings and seats as the "
                "services publish them (README: metric contract); CloudFront and WAF are in us-east-1's console.",
                width=24,
                height=2,
            )
        )
        dashboard.add_widgets(
            graph("Requests per second", [cloudwatch.MathExpression(
                expression="requests / PERIOD(requests)", using_metrics={"requests": requests},
                label="requests/s", period=MINUTE)], "req/s"),
            graph("Error rate (target 5XX)", [cloudwatch.MathExpression(
                expression="100 * FILL(errors, 0) / requests", using_metrics={"errors": errors, "requests": requests},
                label="5XX %", period=MINUTE)], "%"),
            graph("Response time", [
                _metric("AWS/ApplicationELB", "TargetResponseTime", alb, stat, MINUTE, label=stat)
                for stat in ("p50", "p95", "p99")
            ], "seconds"),
        )  # fmt: skip
        dashboard.add_widgets(
            graph("5XX count (load balancer, targets)", [
                _metric("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", alb, "Sum", MINUTE, label="load balancer"),
                _metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", alb, "Sum", MINUTE, label="targets"),
            ], "responses"),
            graph("Unhealthy targets", [
                _metric("AWS/ApplicationELB", "UnHealthyHostCount", {**alb, "TargetGroup": group}, "Maximum", MINUTE,
                        label=name)
                for name, group in self.target_groups.items()
            ], "targets"),
            graph("Backup and copy jobs completed (per hour)", [
                _metric("AWS/Backup", metric_name, {"BackupVaultName": vault}, "Sum", HOUR, label=label)
                for metric_name, vault, label in (
                    ("NumberOfBackupJobsCompleted", backup_vault_name(config.name), "backup jobs completed"),
                    ("NumberOfCopyJobsCompleted", copy_vault_name(config.name), f"copied to {copy_region}"),
                )
            ], "count"),
        )  # fmt: skip
        dashboard.add_widgets(
            graph("Booking success rate", [booking_success_rate(bookings.namespace, 1, MINUTE)], "%"),
            graph("Booking latency", [
                _metric(bookings.namespace, "BookingLatency", {}, stat, MINUTE, label=stat)
                for stat in ("p50", "p95", "p99")
            ], "ms"),
            graph("Available seats (minimum)", [
                _metric(seats.namespace, seats.metric, dict(seats.dimensions), "Minimum", MINUTE, label=seats.metric)
            ], "seats"),
        )  # fmt: skip
        dashboard.add_widgets(
            graph("Service CPU", per_service("CPUUtilization"), "%"),
            graph("Service memory", per_service("MemoryUtilization"), "%"),
            graph("Running tasks", per_service("RunningTaskCount", "ECS/ContainerInsights"), "tasks"),
        )
        replicas = self.instances[1:]
        dashboard.add_widgets(
            graph("Database connections", [
                *per_instance("DatabaseConnections", "Maximum", self.instances),
                _metric("AWS/RDS", "ClientConnections", {"ProxyName": self.proxy_name}, "Sum", MINUTE,
                        label="proxy clients"),
            ], "connections"),
            graph("Replica lag", per_instance("ReplicaLag", "Maximum", replicas), "seconds"),
            graph("Database CPU", per_instance("CPUUtilization", "Average", self.instances), "%"),
        )  # fmt: skip
        dashboard.add_widgets(
            graph("Cache memory", per_node("DatabaseMemoryUsagePercentage", "Maximum"), "%"),
            graph("Cache hit rate", per_node("CacheHitRate", "Average"), "%"),
            graph("Cache evictions", per_node("Evictions", "Sum"), "keys"),
        )
        return dashboard


def _metric(
    namespace: str,
    metric_name: str,
    dimensions: dict[str, str],
    statistic: str,
    period: Duration,
    *,
    label: str | None = None,
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        dimensions_map=dimensions,
        statistic=statistic,
        period=period,
        label=label,
    )


def booking_success_rate(
    namespace: str, min_attempts: int, period: Duration = FIVE_MINUTES
) -> cloudwatch.MathExpression:
    """Successful attempts in percent, or 100 while there are fewer than `min_attempts` (too few to judge)."""
    attempts = {
        status: _metric(namespace, "BookingAttempts", {"Status": status}, "Sum", period)
        for status in ("success", "failure")
    }
    return cloudwatch.MathExpression(
        expression=f"IF(FILL(success, 0) + FILL(failure, 0) >= {min_attempts}, "
        "100 * FILL(success, 0) / (FILL(success, 0) + FILL(failure, 0)), 100)",
        using_metrics=attempts,
        period=period,
        label="Booking success rate (%)",
    )


def tasks_below_desired(cluster: str, service: str) -> cloudwatch.MathExpression:
    """Desired minus running tasks (Container Insights), 0 when both are 0 (night)."""
    dimensions = {"ClusterName": cluster, "ServiceName": service}
    return cloudwatch.MathExpression(
        expression="FILL(desired, 0) - FILL(running, 0)",
        using_metrics={
            "desired": _metric("ECS/ContainerInsights", "DesiredTaskCount", dimensions, "Average", MINUTE),
            "running": _metric("ECS/ContainerInsights", "RunningTaskCount", dimensions, "Average", MINUTE),
        },
        period=MINUTE,
        label=f"{service} tasks short of desired",
    )
