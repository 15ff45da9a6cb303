"""Services that have images: scaling, the night schedule, secrets, several public services.

One App holds a dev and a prod variant of the committed configs (images for every service; in dev
also several public services, a secret, another registry, and the origin-header rotation switched
on), synthesised once for the module with every compliance pack.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config import CONFIG_DIR
from config.compute import effective_sizing
from config.loader import validate_environment
from config.prices import price_table
from config.schema import EnvironmentConfig, ServicesConfig
from platform_constructs.accepted_values import MAX_RULE_CONDITION_VALUES
from platform_constructs.origin_load_balancer import ORIGIN_HEADER_NAME
from platform_constructs.physical_names import (
    alarm_topic_name,
    cluster_name,
    environment_prefix,
    low_available_seats_alarm_name,
    task_family,
)
from stacks.compliance import synthesize
from stacks.platform_app import build_app, feature_flags, new_app
from stacks.platform_stage import PlatformStage
from tests.conftest import SynthesizedEnvironment
from tools.cost_estimate import EnvironmentEstimate
from tools.cost_report import estimate_assembly

# One more App (dev and prod with images and several public services): the slow tier.
pytestmark = pytest.mark.slow

OTHER_REGISTRY_IMAGE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/shared/inventory:3.2.1"


def variant(name: str, *, services: dict[str, Any], **changes: Any) -> EnvironmentConfig:
    data = tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        if leaf:
            data[section][leaf] = value
        else:
            data[key] = value
    checked = ServicesConfig.model_validate({"services": services}).services
    return validate_environment(data, source=f"{name}.toml", expected_name=name, services=checked)


def shared_services() -> dict[str, Any]:
    raw: dict[str, Any] = tomllib.loads((CONFIG_DIR / "services.toml").read_text(encoding="utf-8"))["services"]
    return raw


@dataclass
class Variant:
    config: EnvironmentConfig
    template: dict[str, Any]
    outdir: Path

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}

    def service(self, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.resources("AWS::ECS::Service").values() if r["Properties"]["ServiceName"] == name]
        return found

    def scalable_target(self, name: str) -> dict[str, Any]:
        camel = "".join(part.capitalize() for part in name.split("-"))
        (found,) = [
            r["Properties"]
            for k, r in self.resources("AWS::ApplicationAutoScaling::ScalableTarget").items()
            if k.startswith(f"{camel}Fargate")
        ]
        return dict(found)

    def container(self, name: str) -> dict[str, Any]:
        family = task_family(self.config.name, name)
        (task,) = [
            r for r in self.resources("AWS::ECS::TaskDefinition").values() if r["Properties"]["Family"] == family
        ]
        (container,) = task["Properties"]["ContainerDefinitions"]
        return dict(container)


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Variant]:
    dev_services = shared_services()
    dev_services["api-gateway"]["paths"] = ["/api/v1/*"]
    dev_services["events"]["paths"] = ["/api/events", "/api/events/*", "/api/categories", "/api/categories/*"]
    dev_services["bookings"].update(paths=["/api/bookings", "/api/bookings/*"], health_check_path="/healthz")
    dev_services["auth"]["secrets"] = {"JWT_SIGNING_KEY": "jwt:signing_key"}
    dev_services["auth"]["environment"] = {"LOG_LEVEL": "info"}
    dev_images = {name: "1.0.0" for name in dev_services} | {"inventory": OTHER_REGISTRY_IMAGE}
    dev_lb = tomllib.loads((CONFIG_DIR / "dev.toml").read_text(encoding="utf-8"))["load_balancer"]
    dev = variant(
        "dev",
        services=dev_services,
        images=dev_images,
        load_balancer=dev_lb | {"accept_previous_origin_header": True, "keep_former_origin_secret": False},
    )
    prod = variant("prod", services=shared_services(), images={name: "2.0.0" for name in shared_services()})
    outdir = tmp_path_factory.mktemp("running")
    app = build_app([dev, prod], new_app(outdir=str(outdir), context=feature_flags()))
    synthesize(app)  # every compliance pack, no open finding
    found: dict[str, Variant] = {}
    for stage in app.node.children:
        if isinstance(stage, PlatformStage):
            stack = stage.services
            path = outdir / f"assembly-{stage.node.id}" / stack.template_file
            found[stage.config.name] = Variant(stage.config, json.loads(path.read_text(encoding="utf-8")), outdir)
    return found


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_running_services_leave_desired_count_to_scaling(variants: dict[str, Variant], env: str) -> None:
    """No DesiredCount: a deploy never resets what scaling or the schedule set."""
    for name in variants[env].config.services:
        assert "DesiredCount" not in variants[env].service(name)["Properties"], name


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_target_tracking_on_cpu_70_and_memory_80_with_the_guides_cooldowns(
    variants: dict[str, Variant], env: str
) -> None:
    v = variants[env]
    policies = [
        r["Properties"]
        for r in v.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
        if r["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]
    assert len(policies) == 2 * len(v.config.services)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for policy in policies:
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        by_metric.setdefault(config["PredefinedMetricSpecification"]["PredefinedMetricType"], []).append(config)
    for metric, value in (("ECSServiceAverageCPUUtilization", 70), ("ECSServiceAverageMemoryUtilization", 80)):
        assert len(by_metric[metric]) == len(v.config.services)
        for config in by_metric[metric]:
            assert config["TargetValue"] == value
            assert config["ScaleInCooldown"] == 300
            assert config["ScaleOutCooldown"] == 60
    for name in v.config.services:
        sizing = effective_sizing(v.config, name)
        target = v.scalable_target(name)
        assert (target["MinCapacity"], target["MaxCapacity"]) == (sizing.min_tasks, sizing.max_tasks)


def test_dev_stops_every_evening_and_starts_on_weekday_mornings_in_seoul(variants: dict[str, Variant]) -> None:
    v = variants["dev"]
    for name in v.config.services:
        sizing = effective_sizing(v.config, name)
        actions = {a["ScheduledActionName"]: a for a in v.scalable_target(name)["ScheduledActions"]}
        assert actions["NightStop"]["Schedule"] == "cron(0 20 ? * * *)"
        assert actions["NightStop"]["ScalableTargetAction"] == {"MinCapacity": 0, "MaxCapacity": 0}
        assert actions["MorningStart"]["Schedule"] == "cron(0 9 ? * MON-FRI *)"  # weekends = "stopped"
        assert actions["MorningStart"]["ScalableTargetAction"] == {
            "MinCapacity": sizing.min_tasks, "MaxCapacity": sizing.max_tasks
        }  # fmt: skip
        assert sizing.min_tasks == 2  # the guide: back to 2 at 09:00
        assert {a["Timezone"] for a in actions.values()} == {"Asia/Seoul"}


def test_prod_never_stops_at_night(variants: dict[str, Variant]) -> None:
    v = variants["prod"]
    for name in v.config.services:
        assert "ScheduledActions" not in v.scalable_target(name), name


def test_images_come_from_the_services_repositories_or_the_configured_reference(
    variants: dict[str, Variant],
) -> None:
    v = variants["dev"]
    image = json.dumps(v.container("events")["Image"])
    assert "ticketing/dev/events:1.0.0" in image
    assert ".dkr.ecr." in image
    assert v.container("inventory")["Image"] == OTHER_REGISTRY_IMAGE
    policies = v.resources("AWS::IAM::ManagedPolicy")
    (inventory,) = [p for k, p in policies.items() if k.startswith("InventoryFargateExecutionPolicy")]
    text = json.dumps(inventory["Properties"]["PolicyDocument"])
    assert "arn:aws:ecr:ap-northeast-2:123456789012:repository/shared/inventory" in text
    assert "ticketing/dev/inventory" not in text


def test_secrets_reach_the_container_as_ecs_secrets_read_by_the_execution_role_only(
    variants: dict[str, Variant],
) -> None:
    v = variants["dev"]
    container = v.container("auth")
    assert "JWT_SIGNING_KEY" not in {e["Name"] for e in container["Environment"]}
    (secret,) = container["Secrets"]
    assert secret["Name"] == "JWT_SIGNING_KEY"
    value_from = json.dumps(secret["ValueFrom"])
    assert "secret:ticketing/dev/auth/jwt" in value_from
    assert ":signing_key::" in value_from
    policies = v.resources("AWS::IAM::ManagedPolicy")
    (execution,) = [p for k, p in policies.items() if k.startswith("AuthFargateExecutionPolicy")]
    statements = execution["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Action"] == "secretsmanager:GetSecretValue"]
    assert "secret:ticketing/dev/auth/jwt-??????" in json.dumps(read["Resource"])
    for key, policy in policies.items():
        if not key.startswith("AuthFargateExecutionPolicy"):
            assert "ticketing/dev/auth/jwt" not in json.dumps(policy), key
    assert {"Name": "LOG_LEVEL", "Value": "info"} in container["Environment"]


def test_each_public_service_gets_rules_for_its_paths_within_the_alb_limits(variants: dict[str, Variant]) -> None:
    v = variants["dev"]
    rules = [r["Properties"] for r in v.resources("AWS::ElasticLoadBalancingV2::ListenerRule").values()]
    routed: dict[str, list[str]] = {}
    groups = {k: r["Properties"] for k, r in v.resources("AWS::ElasticLoadBalancingV2::TargetGroup").items()}
    for rule in rules:
        conditions = {c["Field"]: c for c in rule["Conditions"]}
        header = conditions["http-header"]["HttpHeaderConfig"]
        paths = conditions["path-pattern"]["PathPatternConfig"]["Values"]
        assert header["HttpHeaderName"] == ORIGIN_HEADER_NAME
        # AWSCURRENT and, while rotating, AWSPREVIOUS of the same secret, by dynamic reference
        current, previous = (json.dumps(value) for value in header["Values"])
        assert ":SecretString:value:AWSCURRENT:}}" in current
        assert ":SecretString:value:AWSPREVIOUS:}}" in previous
        assert current.replace("AWSCURRENT", "AWSPREVIOUS") == previous
        assert len(header["Values"]) + len(paths) <= MAX_RULE_CONDITION_VALUES
        (action,) = rule["Actions"]
        group = action["TargetGroupArn"]["Ref"]
        routed.setdefault(group, []).extend(paths)
    assert len({r["Priority"] for r in rules}) == len(rules)
    expected = {name: s.paths for name, s in v.config.services.items() if s.paths}
    assert len(routed) == len(groups) == len(expected) == 3
    assert sorted(sorted(p) for p in routed.values()) == sorted(sorted(p) for p in expected.values())
    assert len(rules) == 1 + 2 + 1  # events' four patterns need two rules next to two header values
    health_paths = sorted(g["HealthCheckPath"] for g in groups.values())
    assert health_paths == ["/health", "/health", "/healthz"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_low_available_seats_notifies_and_adds_tasks_to_inventory_and_bookings(
    variants: dict[str, Variant], env: str
) -> None:
    """The guide's LowAvailableSeats: below 100 seats, warn and scale out (step scaling, never muted)."""
    v = variants[env]
    seats = v.config.observability.seats
    (alarm,) = [
        a["Properties"]
        for a in v.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == low_available_seats_alarm_name(env)
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Ticketing/Inventory", "AvailableSeats")
    assert alarm["Dimensions"] == [{"Name": "EventClass", "Value": "popular"}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Minimum", 60, 1)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (100, "LessThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"  # no on-sale, no seat metric: enough seats
    warning = f"arn:aws:sns:{v.config.region}:{v.config.account}:{alarm_topic_name(environment_prefix(env), 'warning')}"
    assert alarm["OKActions"] == [warning]
    topics = [a for a in alarm["AlarmActions"] if a == warning]
    steps = [a["Ref"] for a in alarm["AlarmActions"] if isinstance(a, dict)]
    assert topics == [warning]
    assert len(steps) == len(seats.scale_out_services) == 2
    policies = v.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    targets = v.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    scaled = set()
    for step in steps:
        policy = policies[step]["Properties"]
        assert policy["PolicyType"] == "StepScaling"
        configuration = policy["StepScalingPolicyConfiguration"]
        assert configuration["AdjustmentType"] == "ChangeInCapacity"
        assert configuration["Cooldown"] == 60  # the guide's scale-out cooldown
        assert configuration["MetricAggregationType"] == "Minimum"
        # Any value below the threshold adds 2 tasks; max_tasks caps the growth.
        assert configuration["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": 2}]
        target = targets[policy["ScalingTargetId"]["Ref"]]["Properties"]
        scaled.add(show_resource_id(target["ResourceId"], v))
    assert scaled == {f"service/{cluster_name(env)}/inventory", f"service/{cluster_name(env)}/bookings"}


def show_resource_id(value: Any, v: Variant) -> str:
    """`service/<cluster>/<service>` from a scalable target's ResourceId (a Join of the two names)."""
    names = {
        **{k: r["Properties"]["ClusterName"] for k, r in v.resources("AWS::ECS::Cluster").items()},
        **{k: r["Properties"]["ServiceName"] for k, r in v.resources("AWS::ECS::Service").items()},
    }
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else names[p["Ref"] if "Ref" in p else p["Fn::GetAtt"][0]] for p in parts)


def fargate_costs(estimate: EnvironmentEstimate) -> dict[str, tuple[float, dict[str, float]]]:
    return {
        line.resource: (round(line.monthly, 9), {k: round(v, 9) for k, v in line.savings.items()})
        for line in estimate.lines
        if line.service == "ECS Fargate"
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_service_costs_the_same_before_and_after_its_first_image(
    variants: dict[str, Variant], platform: Callable[[str], SynthesizedEnvironment], env: str
) -> None:
    """Before its first image a service records the capacity it will run (make cost prices that);
    once it runs, its scalable target and schedule must come to the same cost and savings."""
    running = estimate_assembly(variants[env].outdir, price_table())[env]
    bootstrap = estimate_assembly(platform(env).outdir, price_table())[env]
    assert fargate_costs(running) == fargate_costs(bootstrap)
    assert len(fargate_costs(running)) == len(variants[env].config.services)
    assert not any("no image yet" in note for note in running.notes)
