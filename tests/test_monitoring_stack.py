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
from typing import Any

import pytest

from tests.alarm_summary import AlarmRow, Watched, alarm_rows, show
from tests.conftest import SynthesizedEnvironment

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
        row(f"{p}-restore-drill-failed", None, 1, 1, "GreaterThanOrEqualToThreshold", "notBreaching", warning,
            expression="failed + timedout",
            inputs={name: w("AWS/States", metric, {"StateMachineArn": DRILL_ARN.format(env=env, account=ACCOUNTS[env])},
                            "Sum", 300)
                    for name, metric in (("failed", "ExecutionsFailed"), ("timedout", "ExecutionsTimedOut"))}),
    ]  # fmt: skip
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
        ]
    )
    services = env.template_json("Services")["Resources"]
    (alb_parameter,) = [
        r["Properties"]
        for r in services.values()
        if r["Type"] == "AWS::SSM::Parameter" and r["Properties"]["Name"].endswith("load-balancer-full-name")
    ]
    (alb,) = [k for k, r in services.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    assert alb_parameter["Value"] == {"Fn::GetAtt": [alb, "LoadBalancerFullName"]}


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
    assert sorted(rules) == [f"ticketing-{name}-backup-failures", f"ticketing-{name}-service-start-failures"]
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
    assert len(statement["Resource"]) == 2  # one delivery policy for both event logs (an account holds 10)
    assert f"<getatt:{group_id}.Arn>" in statement["Resource"]


def test_no_alarm_of_the_main_region_is_muted(env: SynthesizedEnvironment) -> None:
    """The night schedule's zero tasks breaches none of them (missing data, desired 0): nothing to mute."""
    for stack in ("Monitoring", "Alerts", "Services"):
        kinds = {r["Type"] for r in env.template_json(stack)["Resources"].values()}
        assert "AWS::CloudWatch::AlarmMuteRule" not in kinds, stack


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
