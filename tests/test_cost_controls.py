"""The monthly budget per environment, and the commitment tags on steady-state resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from config import ConfigError
from config.loader import validate_environment
from tests.conftest import SynthesizedEnvironment
from tests.test_config_validation import with_change

BUDGET_USD = {"dev": 600, "staging": 1500, "prod": 6000}


def alerts(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in env.template_json("Alerts")["Resources"].items() if r["Type"] == kind}


def test_one_monthly_budget_by_environment_tag_alerting_the_warning_topic(env: SynthesizedEnvironment) -> None:
    (budget,) = [r["Properties"] for r in alerts(env, "AWS::Budgets::Budget").values()]
    data = budget["Budget"]
    assert "BudgetName" not in data  # create-only: a threshold change replaces the budget
    assert (data["BudgetType"], data["TimeUnit"]) == ("COST", "MONTHLY")
    assert data["BudgetLimit"] == {"Amount": BUDGET_USD[env.config.name], "Unit": "USD"}
    assert data["FilterExpression"] == {
        "Tags": {"Key": "Environment", "Values": [env.config.name], "MatchOptions": ["EQUALS"]}
    }
    topics = {t["Properties"]["TopicName"]: k for k, t in alerts(env, "AWS::SNS::Topic").items()}
    warning = {"Ref": topics[f"ticketing-{env.config.name}-warning"]}
    alerts_seen = []
    for item in budget["NotificationsWithSubscribers"]:
        notification = item["Notification"]
        assert (notification["ComparisonOperator"], notification["ThresholdType"]) == ("GREATER_THAN", "PERCENTAGE")
        assert item["Subscribers"] == [{"SubscriptionType": "SNS", "Address": warning}]
        alerts_seen.append((notification["NotificationType"], notification["Threshold"]))
    assert sorted(alerts_seen) == [("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]


def test_budgets_may_publish_to_the_encrypted_warning_topic(env: SynthesizedEnvironment) -> None:
    topics = {t["Properties"]["TopicName"]: k for k, t in alerts(env, "AWS::SNS::Topic").items()}
    warning = topics[f"ticketing-{env.config.name}-warning"]
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
    ],
    ids=["dev-reserves", "unknown-term", "six-notifications", "repeated-share", "zero-share", "zero-budget"],
)  # fmt: skip
def test_bad_cost_settings_are_named(base: str, key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_environment(with_change(base, key, value), source=f"{base}.toml", expected_name=base)
    assert message in "\n".join(caught.value.problems)


def test_the_coverage_report_runs_weekly_outside_the_vpc_reading_only(env: SynthesizedEnvironment) -> None:
    resources = env.template_json("Alerts")["Resources"]
    (function_id,) = [k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"]
    function = resources[function_id]["Properties"]
    assert (function["Runtime"], function["Architectures"], function["Handler"]) == (
        "python3.14",
        ["arm64"],
        "index.handler",
    )
    assert "VpcConfig" not in function
    topics = {t["Properties"]["TopicName"]: k for k, t in alerts(env, "AWS::SNS::Topic").items()}
    assert function["Environment"]["Variables"] == {
        "TOPIC_ARN": {"Ref": topics[f"ticketing-{env.config.name}-warning"]}
    }
    group = resources[function["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]
    assert group["LogGroupName"] == f"/ticketing/{env.config.name}/cost/commitment-coverage"
    (schedule,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert schedule["ScheduleExpression"] == "cron(0 9 ? * MON *)"
    assert schedule["ScheduleExpressionTimezone"] == env.config.maintenance.time_zone
    assert json.loads(schedule["Target"]["Input"]) == {"environment": env.config.name}
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    policies = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    (report_policy,) = [p for p in policies if "read tags" in p["Description"]]
    actions = sorted(
        a
        for s in report_policy["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    # Reading, publishing the table, its own logs and traces: nothing that changes a resource.
    assert actions == sorted([
        "ce:GetSavingsPlansCoverage", "elasticache:DescribeReplicationGroups", "elasticache:DescribeReservedCacheNodes",
        "kms:Decrypt", "kms:GenerateDataKey", "logs:CreateLogStream", "logs:PutLogEvents", "rds:DescribeDBInstances",
        "rds:DescribeReservedDBInstances", "sns:Publish", "tag:GetResources", "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ])  # fmt: skip
