"""The main region's alarms and dashboard, per environment, against a table written out by hand.

Every alarm in the monitoring stack is in the table with its metric (or expression and inputs),
statistic, period, evaluation periods, datapoints, threshold, comparison, missing-data treatment
and actions; an alarm the table does not name fails the test, as does one it names but that is
not there. The thresholds are the config's (the guide's) numbers worked out by hand: connections
against max_connections of the instance class, memory and storage in bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import assertions

from config.loader import validate_environment
from config.observability import RECOVERY_POINT_HOURS as CONFIG_RECOVERY_POINT_HOURS
from stacks.platform_app import build_app, feature_flags, new_app
from stacks.platform_stage import PlatformStage
from tests.alarm_summary import AlarmRow, Watched, alarm_rows, show
from tests.conftest import SynthesizedEnvironment
from tests.test_config_validation import with_change

SERVICES = ("api-gateway", "events", "auth", "inventory", "bookings")
GIB = 1024**3

#: Per environment, by hand: database instances, max_connections of their class (memory / 9531392),
#: the class's memory, allocated storage, cache nodes.
ENVIRONMENTS = {
    "dev": {"replicas": 1, "max_connections": 450, "memory_gib": 4, "storage_gib": 20, "cache_nodes": 2},
    "staging": {"replicas": 1, "max_connections": 1802, "memory_gib": 16, "storage_gib": 50, "cache_nodes": 2},
    "prod": {"replicas": 2, "max_connections": 3604, "memory_gib": 32, "storage_gib": 100, "cache_nodes": 3},
}
ACCOUNTS = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
#: The restore drill's state machine, by its fixed name (stacks/restore_drill.py).
DRILL_ARN = "arn:aws:states:ap-northeast-2:{account}:stateMachine:ticketing-{env}-restore-drill"
MAINTENANCE_TASKS = {"vacuum": True, "partitions": True, "report": False}  # task -> daily
#: The services with ALB paths in services.toml: each has a target group, and so an unhealthy-target alarm.
ROUTED_SERVICES = ("api-gateway",)
#: backup.recovery_point_hours' default: a day plus the plan's start (1 h) and completion (8 h) windows and
#: an hour, in hourly periods.
RECOVERY_POINT_HOURS = 34


def w(namespace: str, metric: str, dimensions: dict[str, str], statistic: str, period: int) -> Watched:
    return Watched(namespace, metric, tuple(sorted(f"{k}={v}" for k, v in dimensions.items())), statistic, period)


def row(
    name: str,
    watched: Watched | None,
    evaluation: int,
    threshold: float,
    comparison: str,
    missing: str,
    topic: str,
    *,
    expression: str | None = None,
    inputs: dict[str, Watched] | None = None,
    datapoints: int | None = None,
) -> AlarmRow:
    return AlarmRow(
        name=name,
        watched=watched,
        expression=expression,
        inputs=tuple(sorted((inputs or {}).items())),
        evaluation_periods=evaluation,
        datapoints=datapoints or evaluation,
        threshold=threshold,
        comparison=comparison,
        missing=missing,
        actions=(topic,),
        ok_actions=(topic,),
        description="",
    )


def expected_alarms(env: str) -> dict[str, AlarmRow]:
    e = ENVIRONMENTS[env]
    p = f"ticketing-{env}"
    critical, warning = f"{p}-critical", f"{p}-warning"
    lb = {"LoadBalancer": f"<ssm:/ticketing/{env}/services/load-balancer-full-name>"}
    rows = [
        row(f"{p}-high-error-rate", w("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", lb, "Sum", 300),
            1, 10, "GreaterThanThreshold", "notBreaching", critical),
        row(f"{p}-high-latency", w("AWS/ApplicationELB", "TargetResponseTime", lb, "p95", 300),
            2, 0.5, "GreaterThanThreshold", "notBreaching", warning),
        row(f"{p}-load-balancer-5xx", w("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", lb, "Sum", 300),
            1, 10, "GreaterThanThreshold", "notBreaching", critical),
        row(f"{p}-booking-success-rate", None, 1, 95, "LessThanThreshold", "notBreaching", critical,
            expression="IF(FILL(success, 0) + FILL(failure, 0) >= 20, "
            "100 * FILL(success, 0) / (FILL(success, 0) + FILL(failure, 0)), 100)",
            inputs={s: w("Ticketing/Bookings", "BookingAttempts", {"Status": s}, "Sum", 300)
                    for s in ("success", "failure")}),
        row(f"{p}-booking-latency", w("Ticketing/Bookings", "BookingLatency", {}, "p95", 300),
            2, 1000, "GreaterThanThreshold", "notBreaching", warning),
        row(f"{p}-service-start-failures",
            w("AWS/Events", "MatchedEvents", {"RuleName": f"{p}-service-start-failures"}, "Sum", 300),
            1, 1, "GreaterThanOrEqualToThreshold", "notBreaching", critical),
        row(f"{p}-backup-failures",
            w("AWS/Events", "MatchedEvents", {"RuleName": f"{p}-backup-failures"}, "Sum", 300),
            1, 1, "GreaterThanOrEqualToThreshold", "notBreaching", warning),
        row(f"{p}-secret-rotation-failed",
            w("AWS/Events", "MatchedEvents", {"RuleName": f"{p}-secret-rotation-failed"}, "Sum", 300),
            1, 1, "GreaterThanOrEqualToThreshold", "notBreaching", warning),
        row(f"{p}-no-recovery-point",
            w("AWS/Backup", "NumberOfBackupJobsCompleted", {"BackupVaultName": f"{p}-backups"}, "Sum", 3600),
            RECOVERY_POINT_HOURS, 1, "LessThanThreshold", "breaching", warning),
        row(f"{p}-no-backup-copy",
            w("AWS/Backup", "NumberOfCopyJobsCompleted", {"BackupVaultName": f"{p}-copies"}, "Sum", 3600),
            RECOVERY_POINT_HOURS, 1, "LessThanThreshold", "breaching", warning),
        row(f"{p}-restore-drill-failed", None, 1, 1, "GreaterThanOrEqualToThreshold", "notBreaching", warning,
            expression="failed + timedout",
            inputs={name: w("AWS/States", metric, {"StateMachineArn": DRILL_ARN.format(env=env, account=ACCOUNTS[env])},
                            "Sum", 300)
                    for name, metric in (("failed", "ExecutionsFailed"), ("timedout", "ExecutionsTimedOut"))}),
    ]  # fmt: skip
    for service in ROUTED_SERVICES:
        target_group = {**lb, "TargetGroup": f"<ssm:/ticketing/{env}/services/{service}/target-group-full-name>"}
        rows.append(row(f"{p}-{service}-unhealthy-targets", w("AWS/ApplicationELB", "UnHealthyHostCount", target_group,
                                                               "Maximum", 60),
                        5, 1, "GreaterThanOrEqualToThreshold", "notBreaching", warning))  # fmt: skip
    for service in SERVICES:
        ecs = {"ClusterName": p, "ServiceName": service}
        rows += [
            row(f"{p}-{service}-cpu", w("AWS/ECS", "CPUUtilization", ecs, "Average", 60),
                10, 90, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{p}-{service}-memory", w("AWS/ECS", "MemoryUtilization", ecs, "Average", 60),
                10, 90, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{p}-{service}-tasks-below-desired", None, 10, 1, "GreaterThanOrEqualToThreshold",
                "notBreaching", critical, expression="FILL(desired, 0) - FILL(running, 0)",
                inputs={"desired": w("ECS/ContainerInsights", "DesiredTaskCount", ecs, "Average", 60),
                        "running": w("ECS/ContainerInsights", "RunningTaskCount", ecs, "Average", 60)}),
        ]  # fmt: skip
    instances = [f"{p}-postgres"] + [f"{p}-postgres-replica{i}" for i in range(1, e["replicas"] + 1)]
    for instance in instances:
        db = {"DBInstanceIdentifier": instance}
        short = instance.removeprefix(f"{p}-")
        rows += [
            row(f"{p}-{short}-cpu", w("AWS/RDS", "CPUUtilization", db, "Average", 300),
                3, 80, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{p}-{short}-freeable-memory", w("AWS/RDS", "FreeableMemory", db, "Average", 300),
                3, e["memory_gib"] * GIB // 10, "LessThanThreshold", "notBreaching", warning),
            row(f"{p}-{short}-free-storage", w("AWS/RDS", "FreeStorageSpace", db, "Minimum", 300),
                1, e["storage_gib"] * GIB // 20, "LessThanThreshold", "notBreaching", critical),
            row(f"{p}-{short}-connections", w("AWS/RDS", "DatabaseConnections", db, "Maximum", 300),
                2, e["max_connections"] * 8 // 10, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{p}-{short}-read-latency", w("AWS/RDS", "ReadLatency", db, "Average", 300),
                3, 0.02, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{p}-{short}-write-latency", w("AWS/RDS", "WriteLatency", db, "Average", 300),
                3, 0.02, "GreaterThanThreshold", "notBreaching", warning),
        ]  # fmt: skip
        if "replica" in instance:
            rows.append(row(f"{p}-{short}-replica-lag", w("AWS/RDS", "ReplicaLag", db, "Maximum", 60),
                            5, 30, "GreaterThanThreshold", "notBreaching", warning))  # fmt: skip
    proxy = {"ProxyName": PROXY_NAME.format(env=env)}
    rows += [
        row(f"{p}-proxy-connections", None, 2, 90, "GreaterThanThreshold", "notBreaching", warning,
            expression="100 * used / allowed",
            inputs={"used": w("AWS/RDS", "DatabaseConnections", proxy, "Sum", 300),
                    "allowed": w("AWS/RDS", "MaxDatabaseConnectionsAllowed", proxy, "Sum", 300)}),
        row(f"{p}-proxy-borrow-latency", w("AWS/RDS", "DatabaseConnectionsBorrowLatency", proxy, "Average", 300),
            2, 50_000, "GreaterThanThreshold", "notBreaching", warning),
    ]  # fmt: skip
    group = f"<ssm:/ticketing/{env}/data/cache/replication-group-id>"
    for member in range(1, e["cache_nodes"] + 1):
        node = {"CacheClusterId": f"{group}-{member:03d}"}
        n = f"{p}-cache-{member:03d}"
        rows += [
            row(f"{n}-engine-cpu", w("AWS/ElastiCache", "EngineCPUUtilization", node, "Average", 300),
                3, 80, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{n}-memory", w("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", node, "Maximum", 300),
                2, 80, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{n}-evictions", w("AWS/ElastiCache", "Evictions", node, "Sum", 300),
                1, 1000, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{n}-connections", w("AWS/ElastiCache", "CurrConnections", node, "Maximum", 300),
                2, 1000, "GreaterThanThreshold", "notBreaching", warning),
            row(f"{n}-replication-lag", w("AWS/ElastiCache", "ReplicationLag", node, "Maximum", 60),
                5, 5, "GreaterThanThreshold", "notBreaching", warning),
        ]  # fmt: skip
    function = {"FunctionName": f"<ssm:/ticketing/{env}/data/maintenance/function-name>"}
    rows.append(row(f"{p}-maintenance-errors", w("AWS/Lambda", "Errors", function, "Sum", 3600),
                    1, 1, "GreaterThanOrEqualToThreshold", "ignore", warning))  # fmt: skip
    for task, daily in MAINTENANCE_TASKS.items():
        job = {"service": "database-maintenance", "Task": task}
        rows += [
            row(f"{p}-maintenance-{task}-problems",
                w("Ticketing/Database", "MaintenanceProblems", job, "Maximum", 3600),
                1, 1, "GreaterThanOrEqualToThreshold", "ignore", warning),
            row(f"{p}-maintenance-{task}-did-not-run",
                w("Ticketing/Database", "MaintenanceProblems", job, "SampleCount", 86400),
                1 if daily else 7, 1, "LessThanThreshold", "breaching", warning),
        ]  # fmt: skip
    return {r.name: r for r in rows}


#: The proxy's name: the instance identifier, "-proxy-" and a digest of its subnets (fixed per config).
PROXY_NAME = "ticketing-{env}-postgres-proxy-"


def comparable(rows: dict[str, AlarmRow], env: str) -> dict[str, AlarmRow]:
    """Rows without descriptions, with the proxy's subnet digest cut off (its own test pins it)."""
    prefix = PROXY_NAME.format(env=env)
    result = {}
    for name, r in rows.items():

        def trim(watched: Watched) -> Watched:
            dims = tuple(re.sub(rf"^(ProxyName={re.escape(prefix)}).*$", r"\1", d) for d in watched.dimensions)
            return Watched(watched.namespace, watched.metric, dims, watched.statistic, watched.period)

        result[name] = AlarmRow(
            name=r.name,
            watched=trim(r.watched) if r.watched else None,
            expression=r.expression,
            inputs=tuple((i, trim(m)) for i, m in r.inputs),
            evaluation_periods=r.evaluation_periods,
            datapoints=r.datapoints,
            threshold=r.threshold,
            comparison=r.comparison,
            missing=r.missing,
            actions=r.actions,
            ok_actions=r.ok_actions,
            description="",
        )
    return result


def test_every_alarm_matches_the_table(env: SynthesizedEnvironment) -> None:
    actual = comparable(alarm_rows(env.template_json("Monitoring")), env.config.name)
    expected = expected_alarms(env.config.name)
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        assert actual[name] == want, name


def test_every_alarm_says_what_to_check_first(env: SynthesizedEnvironment) -> None:
    for stack in ("Monitoring", "Alerts", "Services", "Edge"):
        for name, alarm in alarm_rows(env.template_json(stack)).items():
            assert len(alarm.description) > 80, name
            assert alarm.missing != "<default>", f"{name}: missing data left to CloudWatch's default"
            assert alarm.actions, f"{name}: notifies nobody"
            # Recoveries go to the topics it notifies; scaling actions (ALARM only) are the only others.
            assert alarm.ok_actions, name
            assert set(alarm.ok_actions) <= set(alarm.actions), name


def test_the_proxy_alarms_watch_the_proxy_the_data_stack_creates(env: SynthesizedEnvironment) -> None:
    (proxy,) = [
        r["Properties"]["DBProxyName"]
        for r in env.template_json("Data")["Resources"].values()
        if r["Type"] == "AWS::RDS::DBProxy"
    ]
    rows = alarm_rows(env.template_json("Monitoring"))
    watched = rows[f"ticketing-{env.config.name}-proxy-borrow-latency"].watched
    assert watched is not None
    assert watched.dimensions == (f"ProxyName={proxy}",)


def test_the_monitoring_stack_reads_other_stacks_only_through_ssm(env: SynthesizedEnvironment) -> None:
    template = env.template_json("Monitoring")
    text = json.dumps(template)
    assert "Fn::ImportValue" not in text
    ssm = sorted(p["Default"] for p in template["Parameters"].values() if p["Type"].startswith("AWS::SSM"))
    name = env.config.name
    assert ssm == sorted(
        [
            "/cdk-bootstrap/hnb659fds/version",
            f"/ticketing/{name}/data/cache/replication-group-id",
            f"/ticketing/{name}/data/maintenance/function-name",
            f"/ticketing/{name}/services/load-balancer-full-name",
            *(f"/ticketing/{name}/services/{service}/target-group-full-name" for service in ROUTED_SERVICES),
        ]
    )
    services = env.template_json("Services")["Resources"]
    parameters = {
        r["Properties"]["Name"]: r["Properties"]["Value"]
        for r in services.values()
        if r["Type"] == "AWS::SSM::Parameter"
    }
    (alb,) = [k for k, r in services.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    assert parameters[f"/ticketing/{name}/services/load-balancer-full-name"] == {
        "Fn::GetAtt": [alb, "LoadBalancerFullName"]
    }
    # Every target group the services stack creates is named in SSM by its service, and only those.
    groups = {k for k, r in services.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup"}
    published = {
        value["Fn::GetAtt"][0]
        for key, value in parameters.items()
        if key.endswith("/target-group-full-name") and value["Fn::GetAtt"][1] == "TargetGroupFullName"
    }
    assert published == groups
    assert len(groups) == len(ROUTED_SERVICES) == len([s for s in env.config.services.values() if s.paths])


def test_a_failed_start_is_seen_in_ecs_events_of_this_cluster(env: SynthesizedEnvironment) -> None:
    """A service that cannot start one task sends no task counts; ECS's events say so instead."""
    name = env.config.name
    resources = env.template_json("Monitoring")["Resources"]
    rules = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    (rule,) = [r for r in rules if r["Name"].endswith("-service-start-failures")]
    assert rule["Name"] == f"ticketing-{name}-service-start-failures"
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert sorted(pattern["detail"]["eventName"]) == sorted(
        [
            "SERVICE_TASK_START_IMPAIRED",
            "SERVICE_TASK_PLACEMENT_FAILURE",
            "SERVICE_TASK_CONFIGURATION_FAILURE",
            "SERVICE_DEPLOYMENT_FAILED",
        ]
    )
    (prefix,) = pattern["resources"]
    assert show(prefix["prefix"], {}).endswith(f":service/ticketing-{name}/")
    (target,) = rule["Targets"]
    group_id = target["Arn"]["Fn::GetAtt"][0]
    group = resources[group_id]["Properties"]
    assert group["LogGroupName"] == f"/ticketing/{name}/ecs/service-events"
    assert group["RetentionInDays"] == env.config.compute.log_retention_days
    assert "KmsKeyId" in group
    (policy,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::ResourcePolicy"]
    document = json.loads(show(policy["PolicyDocument"], {}))
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Principal"]["Service"]) == ["delivery.logs.amazonaws.com", "events.amazonaws.com"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert f"<getatt:{group_id}.Arn>" in statement["Resource"]


def test_failed_backup_and_copy_jobs_are_logged_and_alarmed(env: SynthesizedEnvironment) -> None:
    """No backup or copy job fails unseen: every AWS Backup job of the account and region that failed, was
    aborted or expired before it started goes to its own log group, and the rule's matches alarm."""
    name = env.config.name
    resources = env.template_json("Monitoring")["Resources"]
    rules = {r["Properties"]["Name"]: r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"}
    assert sorted(rules) == [
        f"ticketing-{name}-backup-failures",
        f"ticketing-{name}-secret-rotation-failed",
        f"ticketing-{name}-service-start-failures",
    ]
    rule = rules[f"ticketing-{name}-backup-failures"]
    assert rule["EventPattern"] == {
        "source": ["aws.backup"],
        "detail-type": ["Backup Job State Change", "Copy Job State Change"],
        "detail": {"state": ["FAILED", "ABORTED", "EXPIRED"]},
    }
    (target,) = rule["Targets"]
    group_id = target["Arn"]["Fn::GetAtt"][0]
    assert resources[group_id]["Properties"]["LogGroupName"] == f"/ticketing/{name}/backup/job-failures"
    (policy,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::ResourcePolicy"]
    (statement,) = json.loads(show(policy["PolicyDocument"], {}))["Statement"]
    assert len(statement["Resource"]) == 3  # one delivery policy for every event log (an account holds 10)
    assert f"<getatt:{group_id}.Arn>" in statement["Resource"]


def test_a_failed_secret_rotation_is_logged_and_alarmed(env: SynthesizedEnvironment) -> None:
    """Secrets Manager's RotationFailed reaches EventBridge through CloudTrail (it is no API call): matched by its
    event source and name under either CloudTrail detail type, logged, counted, told to the warning topic."""
    name = env.config.name
    resources = env.template_json("Monitoring")["Resources"]
    (rule,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule" and r["Properties"]["Name"] == f"ticketing-{name}-secret-rotation-failed"
    ]
    assert rule["EventPattern"] == {
        "source": ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail", "AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["secretsmanager.amazonaws.com"], "eventName": ["RotationFailed"]},
    }
    (target,) = rule["Targets"]
    group = resources[target["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert group["LogGroupName"] == f"/ticketing/{name}/secrets/rotation-failures"
    assert group["RetentionInDays"] == env.config.compute.log_retention_days
    alarm = alarm_rows(env.template_json("Monitoring"))[f"ticketing-{name}-secret-rotation-failed"]
    assert alarm.actions == (f"ticketing-{name}-warning",)
    assert str(env.config.database.credential_rotation_days) in alarm.description


def test_backups_that_silently_stop_alarm_within_about_a_day(env: SynthesizedEnvironment) -> None:
    """No backup job (a recovery point) completed into the backup vault, no copy job into the copy vault: hourly
    periods, 34 of them
    in a row (CloudWatch evaluates more than a day only with periods of an hour or more, and at most 7 days),
    and an hour without any count (AWS Backup publishes none then) is a breach."""
    name = env.config.name
    rows = alarm_rows(env.template_json("Monitoring"))
    vaults = {
        template: [
            r["Properties"]["BackupVaultName"]
            for r in env.template_json(template)["Resources"].values()
            if r["Type"] == "AWS::Backup::BackupVault"
        ]
        for template in ("BackupVault", "BackupCopies")
    }
    for alarm_name, metric, (vault,) in (
        (f"ticketing-{name}-no-recovery-point", "NumberOfBackupJobsCompleted", vaults["BackupVault"]),
        (f"ticketing-{name}-no-backup-copy", "NumberOfCopyJobsCompleted", vaults["BackupCopies"]),
    ):
        alarm = rows[alarm_name]
        assert alarm.watched is not None, alarm_name
        assert alarm.watched == w("AWS/Backup", metric, {"BackupVaultName": vault}, "Sum", 3600), alarm_name
        assert (alarm.evaluation_periods, alarm.datapoints) == (34, 34), alarm_name
        assert 24 < alarm.evaluation_periods * alarm.watched.period / 3600 <= 7 * 24
        assert (alarm.comparison, alarm.threshold, alarm.missing) == ("LessThanThreshold", 1, "breaching")
        assert alarm.actions == alarm.ok_actions == (f"ticketing-{name}-warning",)
    assert not any("backup-account" in alarm_name for alarm_name in rows)  # no backup account in these configs


@pytest.mark.slow  # one more App: prod with a vault in a separate backup account
def test_a_backup_account_vault_gets_its_own_copy_alarm(tmp_path: Path) -> None:
    """Its copy jobs run in the main region too and are counted by the destination vault's name."""
    data = with_change("prod", "backup.backup_account", {"account": "444444444444", "vault_name": "prod-vault"})
    config = validate_environment(data, source="prod.toml", expected_name="prod")
    app = build_app([config], new_app(outdir=str(tmp_path), context=feature_flags()))
    stage = next(child for child in app.node.children if isinstance(child, PlatformStage))
    rows = alarm_rows(dict(assertions.Template.from_stack(stage.monitoring).to_json()))
    alarm = rows["ticketing-prod-no-backup-account-copy"]
    assert alarm.watched == w("AWS/Backup", "NumberOfCopyJobsCompleted", {"BackupVaultName": "prod-vault"}, "Sum", 3600)
    assert (alarm.evaluation_periods, alarm.datapoints, alarm.missing) == (34, 34, "breaching")
    assert "444444444444" in alarm.description


#: The alarms the night schedule's stop trips, by design: with no target the ALB answers 503 (its own 5XX), and
#: CloudFront passes those on (its 5xx rate). Every other alarm treats stopped services as no breach.
TRIPPED_BY_THE_NIGHT = ("load-balancer-5xx", "edge-5xx-rate")


def mute_rules(env: SynthesizedEnvironment, stack: str) -> list[tuple[list[str], dict[str, str]]]:
    """Each mute rule of `stack`: the names of the alarms it mutes and its schedule."""
    template = env.template_json(stack)
    names = {k: show(r["Properties"]["AlarmName"], {}) for k, r in template["Resources"].items()
             if r["Type"] == "AWS::CloudWatch::Alarm"}  # fmt: skip
    return [
        ([names[t["Ref"]] for t in r["Properties"]["MuteTargets"]["AlarmNames"]], r["Properties"]["Rule"]["Schedule"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::AlarmMuteRule"
    ]


def test_exactly_the_alarms_the_night_stop_trips_are_muted_while_the_services_are_stopped(
    env: SynthesizedEnvironment,
) -> None:
    """Outside prod the load balancer's own 5XX is muted in the main region with the same windows as the edge's
    5xx rate in us-east-1; nothing else anywhere, and nothing at all in prod (no night schedule)."""
    name = env.config.name
    muted = {stack.node.id: mute_rules(env, stack.node.id) for stack in env.stacks}
    if env.config.is_production:
        assert all(rules == [] for rules in muted.values())
        return
    names = {alarm for rules in muted.values() for alarms, _ in rules for alarm in alarms}
    assert names == {f"ticketing-{name}-{suffix}" for suffix in TRIPPED_BY_THE_NIGHT}
    assert {stack for stack, rules in muted.items() if rules} == {"Monitoring", "Edge"}
    assert all(alarms == [f"ticketing-{name}-load-balancer-5xx"] for alarms, _ in muted["Monitoring"])
    schedules = sorted(json.dumps(schedule, sort_keys=True) for _, schedule in muted["Monitoring"])
    assert schedules == sorted(json.dumps(schedule, sort_keys=True) for _, schedule in muted["Edge"])
    assert len(schedules) == 2  # weekdays and the weekend (the committed schedule stops on weekends)
    # A muted alarm's actions are suppressed: none of them may scale anything (only topics act on them).
    for stack in ("Monitoring", "Edge"):
        for alarm_name, alarm in alarm_rows(env.template_json(stack)).items():
            if alarm_name in names:
                assert set(alarm.actions) == set(alarm.ok_actions), alarm_name


def dashboard_body(env: SynthesizedEnvironment) -> dict[str, Any]:
    resources = env.template_json("Monitoring")["Resources"]
    parameters = env.template_json("Monitoring")["Parameters"]
    (dashboard,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    assert dashboard["DashboardName"] == f"ticketing-{env.config.name}"
    body: dict[str, Any] = json.loads(show(dashboard["DashboardBody"], parameters))
    return body


@pytest.mark.parametrize(
    ("title", "needles"),
    [
        ("Requests per second", ["RequestCount"]),
        ("Error rate (target 5XX)", ["HTTPCode_Target_5XX_Count", "RequestCount"]),
        ("Response time", ["p50", "p95", "p99", "TargetResponseTime"]),
        ("5XX count (load balancer, targets)", ["HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"]),
        ("Unhealthy targets", ["UnHealthyHostCount", *ROUTED_SERVICES, "target-group-full-name"]),
        (
            "Backup and copy jobs completed (per hour)",
            ["NumberOfBackupJobsCompleted", "NumberOfCopyJobsCompleted", "-backups", "-copies"],
        ),
        ("Booking success rate", ["BookingAttempts", "success", "failure"]),
        ("Service CPU", ["CPUUtilization", *SERVICES]),
        ("Service memory", ["MemoryUtilization", *SERVICES]),
        ("Running tasks", ["RunningTaskCount", *SERVICES]),
        ("Database connections", ["DatabaseConnections", "ClientConnections"]),
        ("Replica lag", ["ReplicaLag", "replica1"]),
        ("Cache memory", ["DatabaseMemoryUsagePercentage"]),
        ("Cache hit rate", ["CacheHitRate"]),
    ],
)
def test_the_dashboard_shows_what_the_guide_lists(platform: Any, title: str, needles: list[str]) -> None:
    for name in ("dev", "prod"):
        widgets = {
            w["properties"].get("title"): json.dumps(w["properties"]) for w in dashboard_body(platform(name))["widgets"]
        }
        assert title in widgets, sorted(filter(None, widgets))
        for needle in needles:
            assert needle in widgets[title], (name, title, needle)


def test_the_freshness_floor_outlasts_the_daily_jobs_windows(env: SynthesizedEnvironment) -> None:
    """Two healthy daily jobs may complete a day plus the plan's start and completion windows apart (and the
    count lands in an hour of its own): the shortest recovery_point_hours config accepts must not page then."""
    plans = env.template("Data").find_resources("AWS::Backup::BackupPlan")
    rules = [rule for plan in plans.values() for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]]
    daily = [rule for rule in rules if "CompletionWindowMinutes" in rule and "ScheduleExpression" in rule]
    assert daily
    for rule in daily:
        spread_hours = (rule["StartWindowMinutes"] + rule["CompletionWindowMinutes"]) / 60
        assert CONFIG_RECOVERY_POINT_HOURS.low >= 24 + spread_hours + 1, rule["RuleName"]
