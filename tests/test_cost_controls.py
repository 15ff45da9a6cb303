"""The monthly budget per environment, and the commitment tags on steady-state resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import ConfigError
from config.cost import DELETABLE_KINDS
from config.loader import validate_environment
from platform_constructs.physical_names import LogGroup, alarm_topic_name, environment_prefix, log_group_name
from stacks.compliance import synthesize
from stacks.cost_stack import CostStack
from stacks.platform_app import feature_flags, new_app
from tests.alarm_summary import show
from tests.conftest import SynthesizedEnvironment
from tests.lambda_module import load_function
from tests.test_config_validation import with_change
from tools import audit_report


def warning_topic(environment: str) -> str:
    return alarm_topic_name(environment_prefix(environment), "warning")


BUDGET_USD = {"dev": 600, "staging": 1500, "prod": 6000}


def alerts(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in env.template_json("Alerts")["Resources"].items() if r["Type"] == kind}


def cost(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in env.template_json("Cost")["Resources"].items() if r["Type"] == kind}


def test_one_monthly_budget_by_environment_tag_alerting_the_warning_topic(env: SynthesizedEnvironment) -> None:
    (budget,) = [r["Properties"] for r in cost(env, "AWS::Budgets::Budget").values()]
    data = budget["Budget"]
    assert "BudgetName" not in data  # create-only: a threshold change replaces the budget
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")
    assert data["BudgetLimit"] == {"Amount": BUDGET_USD[env.config.name], "Unit": "USD"}
    assert data["FilterExpression"] == {
        "Tags": {"Key": "Environment", "Values": [env.config.name], "MatchOptions": ["EQUALS"]}
    }
    warning = f"arn:aws:sns:{env.config.region}:{env.config.account}:{warning_topic(env.config.name)}"
    alerts_seen = []
    for item in budget["NotificationsWithSubscribers"]:
        notification = item["Notification"]
        assert (notification["ComparisonOperator"], notification["ThresholdType"]) == ("GREATER_THAN", "PERCENTAGE")
        assert item["Subscribers"] == [{"SubscriptionType": "SNS", "Address": warning}]
        alerts_seen.append((notification["NotificationType"], notification["Threshold"]))
    assert sorted(alerts_seen) == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]


def test_budgets_may_publish_to_the_encrypted_warning_topic(env: SynthesizedEnvironment) -> None:
    topics = {t["Properties"]["TopicName"]: k for k, t in alerts(env, "AWS::SNS::Topic").items()}
    warning = topics[warning_topic(env.config.name)]
    (policy,) = [p["Properties"] for p in alerts(env, "AWS::SNS::TopicPolicy").values()
                 if p["Properties"]["Topics"] == [{"Ref": warning}]]  # fmt: skip
    (budgets,) = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Sid") == "BudgetsOfThisAccount"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Condition"]["StringEquals"] == {"aws:SourceAccount": env.config.account}
    (key,) = [k["Properties"] for k in alerts(env, "AWS::KMS::Key").values()]
    (statement,) = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "Budgets"]
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]


def commitment_tags(env: SynthesizedEnvironment) -> dict[str, dict[str, str]]:
    """Resource type and logical id -> its Commitment* tags, over every template."""
    found = {}
    for path in env.template_files():
        for logical_id, resource in json.loads(path.read_text(encoding="utf-8"))["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if isinstance(tags, list):
                mine = {t["Key"]: t["Value"] for t in tags if isinstance(t, dict) and t["Key"].startswith("Commitment")}
                if mine:
                    found[f"{resource['Type']} {logical_id}"] = mine
    return found


def test_prod_tags_its_steady_state_for_one_year_commitments(platform: Any) -> None:
    tags = commitment_tags(platform("prod"))
    by_type: dict[str, list[dict[str, str]]] = {}
    for key, value in tags.items():
        by_type.setdefault(key.split()[0], []).append(value)
    assert sorted(by_type) == ["AWS::ECS::Service", "AWS::ElastiCache::ReplicationGroup", "AWS::RDS::DBInstance"]
    assert (
        by_type["AWS::RDS::DBInstance"]
        == [{"Commitment": "rds-reserved-instance", "CommitmentTerm": "1-year", "CommitmentSize": "db.r7g.xlarge"}] * 3
    )  # the primary and two replicas
    assert by_type["AWS::ElastiCache::ReplicationGroup"] == [
        {"Commitment": "elasticache-reserved-node", "CommitmentTerm": "1-year", "CommitmentSize": "cache.r7g.large x 3"}
    ]
    assert (
        by_type["AWS::ECS::Service"]
        == [{"Commitment": "compute-savings-plan", "CommitmentTerm": "1-year", "CommitmentSize": "1 tasks"}] * 5
    )  # the on-demand base of each service; Spot tasks are never committed


def test_dev_commits_to_nothing_and_its_services_have_no_base(platform: Any) -> None:
    tags = commitment_tags(platform("dev"))
    assert tags
    assert {value["CommitmentTerm"] for value in tags.values()} == {"none"}
    assert not [key for key in tags if key.startswith("AWS::ECS::Service")]  # on_demand_base = 0: all Spot


@pytest.mark.parametrize(
    ("base", "key", "value", "message"),
    [
        ("dev", "cost.commitment_term", "1-year", 'cost.commitment_term = \'1-year\': dev is torn down and deployed again: a reservation would be paid for unused; set "none"'),
        ("prod", "cost.commitment_term", "2-year", "cost.commitment_term = '2-year': must be one of 'none', '1-year', '3-year'"),
        ("prod", "cost.actual_alert_percent", [50, 80, 90, 100, 120], "AWS Budgets sends at most 5 notifications per budget; actual and forecast alerts together are 6"),
        ("prod", "cost.forecast_alert_percent", [100, 100], "shares must not repeat"),
        ("prod", "cost.actual_alert_percent", [0], "each share must be 1 to 1000 %, got 0"),
        ("prod", "cost.monthly_budget_usd", 0, "cost.monthly_budget_usd = 0: must be 1 to 10000000 USD"),
        ("prod", "cost.estimate.nat_gb", -1, "cost.estimate.nat_gb = -1: must be at least 0"),
        ("prod", "cost.estimate.log_archive_gb", "5", "cost.estimate.log_archive_gb = '5': must be a number, e.g. 2.5 or 3 (no quotes), got text"),
        ("prod", "cost.estimate.requests", 3, "cost.estimate.requests: unknown key; allowed here: bucket_stored_gb, data_out_gb, load_balancer_lcus, log_archive_gb, log_ingest_gb, nat_gb, requests_millions"),
    ],
    ids=["dev-reserves", "unknown-term", "six-notifications", "repeated-share", "zero-share", "zero-budget",
         "negative-usage", "usage-as-text", "unknown-usage"],
)  # fmt: skip
def test_bad_cost_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    assert message in "\n".join(caught.value.problems)


def scheduled_function(resources: dict[str, Any], log_group: str) -> tuple[str, dict[str, Any], list[str]]:
    """The function logging to `log_group`, its schedule's properties and its policy's actions."""
    (function_id,) = [
        k
        for k, r in resources.items()
        if r["Type"] == "AWS::Lambda::Function"
        and resources[r["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]["LogGroupName"] == log_group
    ]
    (schedule,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Scheduler::Schedule"
        and r["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    role = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in r["Properties"].get("Roles", [])
    ]
    actions = sorted(
        a
        for st in policy["PolicyDocument"]["Statement"]
        for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    )
    return function_id, schedule, actions


COMMON_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish",
                  "xray:PutTelemetryRecords", "xray:PutTraceSegments"]  # fmt: skip


def test_the_coverage_report_runs_weekly_outside_the_vpc_reading_only(env: SynthesizedEnvironment) -> None:
    resources = env.template_json("Cost")["Resources"]
    function_id, schedule, actions = scheduled_function(
        resources, log_group_name(env.config.name, LogGroup.COMMITMENT_COVERAGE)
    )
    function = resources[function_id]["Properties"]
    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.14",
        ["arm64"],
        "index.handler",
    )
    assert "VpcConfig" not in function
    warning = f"arn:aws:sns:{env.config.region}:{env.config.account}:{warning_topic(env.config.name)}"
    assert function["Environment"]["Variables"] == {"TOPIC_ARN": warning}
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == env.config.maintenance.time_zone
    assert json.loads(schedule["Target"]["Input"]) == {"environment": env.config.name}
    # Reading, publishing the table, its own logs and traces: nothing that changes a resource.
    assert actions == sorted([
        "ce:GetSavingsPlansCoverage", "elasticache:DescribeReplicationGroups", "elasticache:DescribeReservedCacheNodes",
        "rds:DescribeDBInstances", "rds:DescribeReservedDBInstances", "tag:GetResources", *COMMON_ACTIONS,
    ])  # fmt: skip


def test_the_finder_reports_weekly_and_may_delete_nothing_by_default(env: SynthesizedEnvironment) -> None:
    resources = env.template_json("Cost")["Resources"]
    function_id, schedule, actions = scheduled_function(
        resources, log_group_name(env.config.name, LogGroup.UNUSED_RESOURCES)
    )
    variables = resources[function_id]["Properties"]["Environment"]["Variables"]
    assert variables["DRY_RUN"] == "true"
    assert variables["DELETE_KINDS"] == ""
    assert variables["PROTECTION_TAG"] == "Protected"
    assert json.loads(variables["UNIT_PRICES"])["ebs-gp3-gb-month"] == 0.0912  # from config/prices.toml
    assert (variables["SNAPSHOT_AGE_DAYS"], variables["AMI_AGE_DAYS"], variables["LOG_IDLE_DAYS"]) == ("30", "90", "90")
    (bucket,) = cost(env, "AWS::S3::Bucket")
    assert variables["REPORT_BUCKET"] == {"Ref": bucket}
    assert schedule["ScheduleExpression"] == "cron(0 8 ? * MON *)"
    assert not [
        a for a in actions if ":Delete" in a or "Deregister" in a or "Release" in a or "ScheduleKeyDeletion" in a
    ]
    assert "s3:PutObject" in actions


def test_deletion_rights_exist_only_for_the_enabled_kinds(tmp_path: Any) -> None:
    data = with_change(
        "staging", "cost.unused", {"dry_run": False, "delete": ["ebs-volume", "ebs-snapshot", "orphaned-secret"]}
    )
    config = validate_environment(data, source="staging.toml", expected_name="staging")
    app = new_app(outdir=str(tmp_path), context=feature_flags())
    stack = CostStack(app, "Cost", config=config, env={"account": config.account, "region": config.region})
    synthesize(app)  # every compliance pack: each deletion right's ARN pattern is acknowledged, nothing else open
    template = json.loads((tmp_path / stack.template_file).read_text(encoding="utf-8"))
    function_id, _, actions = scheduled_function(
        template["Resources"], log_group_name("staging", LogGroup.UNUSED_RESOURCES)
    )
    variables = template["Resources"][function_id]["Properties"]["Environment"]["Variables"]
    assert (variables["DRY_RUN"], variables["DELETE_KINDS"]) == ("false", "ebs-volume,ebs-snapshot,orphaned-secret")
    deletes = sorted(a for a in actions if a.split(":")[1].startswith(("Delete", "Deregister", "Release", "Schedule")))
    assert deletes == ["ec2:DeleteSnapshot", "ec2:DeleteVolume", "secretsmanager:DeleteSecret"]
    role = template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role} in r["Properties"].get("Roles", [])
    ]
    resources = {
        st["Action"]: show(st["Resource"], {})
        for st in policy["Statement"]
        if isinstance(st["Action"], str) and st["Action"] in deletes
    }
    region, account = config.region, config.account
    assert resources == {
        "ec2:DeleteVolume": f"arn:aws:ec2:{region}:{account}:volume/*",
        "ec2:DeleteSnapshot": f"arn:aws:ec2:{region}::snapshot/*",  # snapshot ARNs have no account
        "secretsmanager:DeleteSecret": f"arn:aws:secretsmanager:{region}:{account}:secret:*",
    }
    assert set(DELETABLE_KINDS) == set(load_function("unused_resources").DELETABLE)


def test_what_a_stack_retains_carries_the_protection_tag(env: SynthesizedEnvironment) -> None:
    """Retained or snapshotted resources outlive their stack on purpose: the finder reports, never deletes them."""
    tag = env.config.cost.unused.protection_tag
    checked = 0
    for path in env.template_files():
        for logical_id, resource in json.loads(path.read_text(encoding="utf-8"))["Resources"].items():
            if resource.get("DeletionPolicy") not in ("Retain", "RetainExceptOnCreate", "Snapshot"):
                continue
            # Where the type takes its tags (Tags, or e.g. BackupVaultTags), from CloudFormation's schema.
            tag_property = audit_report.tag_property(resource["Type"], env.config.region)
            if tag_property is None:
                continue  # types CloudFormation cannot tag (e.g. subnet and parameter groups here)
            tags = resource.get("Properties", {}).get(tag_property) or []
            values = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags
            assert values.get(tag) == "retained-by-its-stack", f"{path.name} {logical_id} {tag_property}"
            checked += 1
    assert checked >= 8


def test_the_cost_functions_ship_their_folder_with_the_functions_packages(env: SynthesizedEnvironment) -> None:
    """Their own folder, and lambda/requirements.txt's packages (Powertools' logger and tracer, as every function)."""
    from stacks.lambda_code import LAMBDA_DIR, shipped_files

    resources = env.template_json("Cost")["Resources"]
    for function in (r for r in resources.values() if r["Type"] == "AWS::Lambda::Function"):
        key = function["Properties"]["Code"]["S3Key"]
        asset = env.outdir / f"asset.{key.removesuffix('.zip')}"
        shipped = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
        code = (asset / "index.py").read_bytes()
        [folder] = [name for name in ("commitment_coverage", "unused_resources")
                    if (LAMBDA_DIR / name / "index.py").read_bytes() == code]  # fmt: skip
        assert shipped == set(shipped_files(folder, packages=True)), asset
