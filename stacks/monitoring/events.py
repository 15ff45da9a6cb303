"""Failures that AWS reports as events, not metrics: recorded in log groups of their own and alarmed on.

- ECS services whose tasks cannot start (Container Insights sends nothing for a service with no
  running task, so a failed morning start is seen only here) or whose deployment failed;
- AWS Backup jobs and copy jobs that failed, were aborted or expired unstarted;
- failed secret rotations (Secrets Manager's RotationFailed, handed over by CloudTrail).

Each is an EventBridge rule whose matches go to a log group (the operator's record of what failed and
why) and an alarm on the rule's MatchedEvents (which does not depend on that delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import (
    RemovalPolicy,
    Stack,
    aws_cloudwatch as cloudwatch,
    aws_events as events,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
)

from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.log_retention import retention_from_days
from platform_constructs.metrics import EventRuleMetrics
from platform_constructs.physical_names import LogGroup, environment_resource_name, log_group_name
from platform_constructs.severity import Severity
from stacks.monitoring.watched import WatchedResources

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


@dataclass(frozen=True)
class EventWatch:
    """A rule (named as its alarm), the log group its matches go to, and the alarm on its matches."""

    rule_id: str
    log_group_id: str
    log_group_name: str
    rule_description: str
    pattern: events.EventPattern
    alarm: AlarmSpec


def _watch(
    prefix: str,
    slug: str,
    *,
    rule_id: str,
    log_group_id: str,
    log_group_name: str,
    rule_description: str,
    pattern: events.EventPattern,
    alarm_id: str,
    severity: Severity,
    runbook: str,
) -> EventWatch:
    alarm = AlarmSpec(
        alarm_id,
        slug,
        EventRuleMetrics(f"{prefix}-{slug}").matched_events(),
        threshold=1,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        severity=severity,
        runbook=runbook,
    )
    return EventWatch(rule_id, log_group_id, log_group_name, rule_description, pattern, alarm)


def event_watches(config: EnvironmentConfig, prefix: str, watched: WatchedResources) -> list[EventWatch]:
    name = config.name
    service_events = log_group_name(name, LogGroup.SERVICE_EVENTS)
    job_failures = log_group_name(name, LogGroup.BACKUP_JOB_FAILURES)
    rotation_failures = log_group_name(name, LogGroup.ROTATION_FAILURES)
    return [
        _watch(
            prefix,
            "service-start-failures",
            rule_id="StartFailureEvents",
            log_group_id="ServiceEvents",
            log_group_name=service_events,
            rule_description=f"ticketing {name}: ECS services whose tasks cannot start or whose deployment failed",
            pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Service Action", "ECS Deployment State Change"],
                resources=events.Match.prefix(watched.service_arn_prefix),
                detail={"eventName": list(START_FAILURE_EVENTS)},
            ),
            alarm_id="ServiceStartFailures",
            severity=Severity.CRITICAL,
            runbook=f"An ECS service of {watched.cluster_name} cannot start its tasks, or a deployment failed and "
            f"rolled back. The events are in the log group {service_events} (which "
            "service, which reason): a missing image or secret, no Spot capacity, a failing health check. This is "
            "how a failed morning start is seen: a service with no running task sends no task counts.",
        ),
        # Nothing else in this account and region uses AWS Backup: every failed job is the database's.
        _watch(
            prefix,
            "backup-failures",
            rule_id="BackupFailureRule",
            log_group_id="BackupFailureEvents",
            log_group_name=job_failures,
            rule_description=f"ticketing {name}: AWS Backup and copy jobs that did not complete",
            pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Backup Job State Change", "Copy Job State Change"],
                detail={"state": list(BACKUP_JOB_FAILURES)},
            ),
            alarm_id="BackupFailures",
            severity=Severity.WARNING,
            runbook=f"A backup or copy job of the database did not complete. The events are in the log group "
            f"{job_failures} (which job, its statusMessage); the AWS Backup console "
            f"lists the job. A failed copy leaves that day without a copy in {config.backup.copy_region}: fix the "
            "cause (a key policy, the vault lock's retention range, a quota) and start the copy again from the "
            "recovery point in the console.",
        ),
        # The master secret is the one secret here that rotates; a failed rotation leaves its current password in
        # place (only `finishSecret` moves AWSCURRENT), so nothing breaks at once, but the next attempt is a
        # rotation interval away and the secret's age grows.
        _watch(
            prefix,
            "secret-rotation-failed",
            rule_id="RotationFailureRule",
            log_group_id="RotationFailureEvents",
            log_group_name=rotation_failures,
            rule_description=f"ticketing {name}: secret rotations that failed",
            pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=list(CLOUDTRAIL_DETAIL_TYPES),
                detail={"eventSource": ["secretsmanager.amazonaws.com"], "eventName": ["RotationFailed"]},
            ),
            alarm_id="SecretRotationFailed",
            severity=Severity.WARNING,
            runbook=f"A secret rotation failed (the database's master secret is the one that rotates, every "
            f"{config.database.credential_rotation_days} days). The event is in the log group "
            f"{rotation_failures} (which secret, additionalEventData); the rotation "
            "function's own log names the failed step (createSecret, setSecret, testSecret, finishSecret). The "
            "current password still works: fix the cause (the function's network path to the database or Secrets "
            "Manager's endpoint, its permissions), then rotate again: aws secretsmanager rotate-secret --secret-id "
            "<the secret>.",
        ),
    ]


@dataclass(frozen=True)
class EventRecords:
    """The rules, and their log groups, in the order of the watches."""

    rules: list[events.Rule]
    log_groups: list[logs.LogGroup]


def record_events(
    stack: Stack, config: EnvironmentConfig, prefix: str, watches: Sequence[EventWatch], key: kms.IKey
) -> EventRecords:
    """Each watch's log group and rule, in `stack` (their ids are the stack's own), and the delivery to them."""
    rules, log_groups = [], []
    for watch in watches:
        log_group = encrypted_log_group(
            stack,
            watch.log_group_id,
            log_group_name=watch.log_group_name,
            retention=retention_from_days(config.compute.log_retention_days),
            encryption_key=key,
            # Operational events, not audit data; deleted with the stack so that it can be deployed again.
            removal_policy=RemovalPolicy.DESTROY,
            admit_in_key_policy=False,  # one statement admits every event log (`_allow_delivery`)
        )
        rule = events.Rule(
            stack,
            watch.rule_id,
            rule_name=watch.alarm.name(prefix),
            description=watch.rule_description,
            event_pattern=watch.pattern,
        )
        cfn_rule = rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        # The log group as a plain target: aws-cdk-lib's CloudWatchLogGroup target would add a custom resource
        # (a Lambda function) only to write the resource policy (`_allow_delivery`).
        cfn_rule.targets = [events.CfnRule.TargetProperty(id="Log", arn=log_group.log_group_arn)]
        acknowledge(
            cfn_rule,
            "Serverless-EventBusDLQ",
            reason="The alarm counts the rule's matched events (AWS/Events MatchedEvents), which does not depend on "
            "delivering them to the log group; the log is the operator's record of what failed and why",
        )
        rules.append(rule)
        log_groups.append(log_group)
    _allow_delivery(stack, config, [watch.log_group_name for watch in watches], log_groups, key)
    return EventRecords(rules, log_groups)


def _allow_delivery(
    stack: Stack, config: EnvironmentConfig, names: list[str], log_groups: list[logs.LogGroup], key: kms.IKey
) -> None:
    """One resource policy (an account and region hold at most 10) lets EventBridge write to every event log,
    and one key-policy statement lets CloudWatch Logs encrypt them."""
    arns = [log_group_arn(stack, name) for name in names]  # by name: the key comes first
    allow_cloudwatch_logs(key, stack, log_group_arns=arns)
    logs.CfnResourcePolicy(
        stack,
        "ServiceEventsDelivery",
        policy_name=environment_resource_name(config.name, "service-events"),
        policy_document=stack.to_json_string(
            iam.PolicyDocument(
                statements=[
                    iam.PolicyStatement(
                        principals=[
                            iam.ServicePrincipal("events.amazonaws.com"),
                            iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                        ],
                        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                        resources=[group.log_group_arn for group in log_groups],
                    )
                ]
            ).to_json()
        ),
    )
