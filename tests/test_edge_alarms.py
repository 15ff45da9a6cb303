"""CloudFront's and WAF's alarms in us-east-1, and the night mute of the 5xx-rate alarm outside prod."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import App, Stack, assertions, aws_cloudfront as cloudfront, aws_wafv2 as wafv2
from hypothesis import given, settings, strategies as st

from config.loader import validate_environment
from stacks.edge_alarms import EdgeAlarms
from tests.alarm_summary import Watched, alarm_rows
from tests.conftest import SynthesizedEnvironment
from tests.test_config_validation import with_change


def edge_resources(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in env.template_json("Edge")["Resources"].items() if r["Type"] == kind}


#: Per environment, by hand: requests in 5 minutes from which the 5xx rate is judged (config/<env>.toml).
MIN_REQUESTS = {"dev": 20, "staging": 50, "prod": 200}


def test_the_cloudfront_5xx_rate_pages_the_edge_critical_topic(env: SynthesizedEnvironment) -> None:
    """Judged only from `edge.min_requests` requests in 5 minutes up: one error among a few at night is no outage."""
    prefix = f"ticketing-{env.config.name}-edge"
    (distribution,) = edge_resources(env, "AWS::CloudFront::Distribution")
    topics = {f"<ref:{k}>": t["TopicName"] for k, t in edge_resources(env, "AWS::SNS::Topic").items()}
    alarm = alarm_rows(env.template_json("Edge"))[f"{prefix}-5xx-rate"]
    assert alarm.watched is None
    minimum = MIN_REQUESTS[env.config.name]
    assert alarm.expression == f"IF(FILL(requests, 0) >= {minimum}, FILL(rate, 0), 0)"
    dimensions = (f"DistributionId=<ref:{distribution}>", "Region=Global")
    assert alarm.inputs == (
        ("rate", Watched("AWS/CloudFront", "5xxErrorRate", dimensions, "Average", 300)),
        ("requests", Watched("AWS/CloudFront", "Requests", dimensions, "Sum", 300)),
    )
    assert f"from {minimum} requests" in alarm.description
    assert (alarm.evaluation_periods, alarm.datapoints, alarm.threshold) == (1, 1, 5)
    assert (alarm.comparison, alarm.missing) == ("GreaterThanThreshold", "notBreaching")
    assert [topics[a] for a in alarm.actions] == [f"{prefix}-critical"]
    assert [topics[a] for a in alarm.ok_actions] == [f"{prefix}-critical"]


def test_waf_blocked_spikes_are_judged_against_an_anomaly_band(env: SynthesizedEnvironment) -> None:
    prefix = f"ticketing-{env.config.name}-edge"
    (acl,) = edge_resources(env, "AWS::WAFv2::WebACL").values()
    (raw,) = [
        a
        for a in edge_resources(env, "AWS::CloudWatch::Alarm").values()
        if a["AlarmName"] == f"{prefix}-waf-blocked-spike"
    ]
    assert raw["ComparisonOperator"] == "GreaterThanUpperThreshold"
    assert (raw["EvaluationPeriods"], raw["DatapointsToAlarm"], raw["TreatMissingData"]) == (2, 2, "notBreaching")
    expression = next(m for m in raw["Metrics"] if "Expression" in m)
    assert (
        expression["Expression"]
        == f"ANOMALY_DETECTION_BAND(m0, {env.config.observability.edge.waf_blocked_band_width})"
    )
    assert raw["ThresholdMetricId"] == expression["Id"]
    metric = next(m for m in raw["Metrics"] if "MetricStat" in m)["MetricStat"]
    assert metric["Metric"]["MetricName"] == "BlockedRequests"
    assert metric["Metric"]["Namespace"] == "AWS/WAFV2"
    assert (metric["Stat"], metric["Period"]) == ("Sum", 300)
    dimensions = {d["Name"]: d["Value"] for d in metric["Metric"]["Dimensions"]}
    assert dimensions["Rule"] == "ALL"
    (acl_id,) = [k for k, r in env.template_json("Edge")["Resources"].items() if r["Type"] == "AWS::WAFv2::WebACL"]
    assert dimensions["WebACL"] == {"Fn::Select": [0, {"Fn::Split": ["|", {"Ref": acl_id}]}]}
    assert acl["Scope"] == "CLOUDFRONT"


def test_outside_prod_the_5xx_rate_is_muted_exactly_while_the_services_are_stopped(env: SynthesizedEnvironment) -> None:
    rules = list(edge_resources(env, "AWS::CloudWatch::AlarmMuteRule").values())
    if env.config.is_production:
        assert rules == []
        return
    night = env.config.compute.night_scaling
    assert night is not None
    assert (night.stop_at, night.start_at, night.weekends) == ("20:00", "09:00", "stopped")
    alarms = {k: a["AlarmName"] for k, a in edge_resources(env, "AWS::CloudWatch::Alarm").items()}
    schedules = {}
    for rule in rules:
        (target,) = rule["MuteTargets"]["AlarmNames"]
        assert alarms[target["Ref"]] == f"ticketing-{env.config.name}-edge-5xx-rate"
        schedule = rule["Rule"]["Schedule"]
        assert schedule["Timezone"] == "Asia/Seoul"
        schedules[schedule["Expression"]] = schedule["Duration"]
    # Monday to Thursday 20:00 until 09:00 the next morning, Friday 20:00 until Monday 09:00; each plus
    # the 15 minutes in which the morning's tasks start and pass their health checks.
    assert schedules == {"cron(0 20 * * MON,TUE,WED,THU)": "PT13H15M", "cron(0 20 * * FRI)": "P2DT13H15M"}


def test_no_other_edge_alarm_is_ever_muted(env: SynthesizedEnvironment) -> None:
    """The WAF spike is no effect of the night stop (the main region's mutes: tests/test_monitoring_stack.py)."""
    muted: set[str] = set()
    for resource in env.template_json("Edge")["Resources"].values():
        if resource["Type"] == "AWS::CloudWatch::AlarmMuteRule":
            muted.update(t["Ref"] for t in resource["Properties"]["MuteTargets"]["AlarmNames"])
    edge_alarms = {k: a["AlarmName"] for k, a in edge_resources(env, "AWS::CloudWatch::Alarm").items()}
    assert {edge_alarms[m] for m in muted} <= {f"ticketing-{env.config.name}-edge-5xx-rate"}


def mute_schedules(night: dict[str, str], grace: int) -> dict[str, tuple[str, str]]:
    """The edge alarms' mute rules for a variant of dev's config, in a stack of their own (no full synth)."""
    data = with_change("dev", "compute.night_scaling", night)
    data["observability"]["morning_grace_minutes"] = grace
    config = validate_environment(data, source="dev.toml", expected_name="dev")
    stack = Stack(App(), "EdgeAlarmsOnly", env={"account": config.account, "region": "us-east-1"})
    acl = wafv2.CfnWebACL(
        stack,
        "Acl",
        scope="CLOUDFRONT",
        default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
        visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True, metric_name="acl", sampled_requests_enabled=True
        ),
    )
    distribution = cloudfront.Distribution.from_distribution_attributes(
        stack, "Distribution", distribution_id="E123", domain_name="d.cloudfront.net"
    )
    EdgeAlarms(stack, "Alarms", config=config, distribution=distribution, web_acl=acl)
    resources = assertions.Template.from_stack(stack).to_json()["Resources"]
    return {
        r["Properties"]["Rule"]["Schedule"]["Expression"]: (
            r["Properties"]["Rule"]["Schedule"]["Duration"],
            r["Properties"]["Rule"]["Schedule"]["Timezone"],
        )
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::AlarmMuteRule"
    }


def test_running_weekends_mute_every_night_in_the_schedules_time_zone() -> None:
    night = {"time_zone": "Europe/Berlin", "stop_at": "22:30", "start_at": "07:00", "weekends": "running"}
    assert mute_schedules(night, 0) == {"cron(30 22 * * *)": ("PT8H30M", "Europe/Berlin")}


def test_a_stop_after_midnight_mutes_until_the_same_mornings_start() -> None:
    night = {"time_zone": "Asia/Seoul", "stop_at": "01:00", "start_at": "07:00", "weekends": "stopped"}
    assert mute_schedules(night, 30) == {
        "cron(0 1 * * TUE,WED,THU,FRI)": ("PT6H30M", "Asia/Seoul"),
        "cron(0 1 * * SAT)": ("P2DT6H30M", "Asia/Seoul"),
    }


def judged(alarm_expression: str | None) -> int:
    """The request count from which the synthesised 5xx-rate expression judges the rate."""
    match = re.fullmatch(r"IF\(FILL\(requests, 0\) >= (\d+), FILL\(rate, 0\), 0\)", alarm_expression or "")
    assert match, alarm_expression
    return int(match.group(1))


@settings(max_examples=300, deadline=None)
@given(requests=st.integers(min_value=1, max_value=10**7))
def test_one_error_never_pages_whatever_the_traffic(platform: Any, requests: int) -> None:
    """Every environment's synthesised alarm, evaluated as CloudWatch does for one 5xx among `requests`: below the
    minimum the rate is not judged (0), above it one error is at most the threshold (GreaterThanThreshold)."""
    for name in MIN_REQUESTS:
        alarm = alarm_rows(platform(name).template_json("Edge"))[f"ticketing-{name}-edge-5xx-rate"]
        assert alarm.threshold is not None
        assert alarm.comparison == "GreaterThanThreshold"
        rate = 100 / requests  # CloudFront's 5xxErrorRate for the period
        value = rate if requests >= judged(alarm.expression) else 0
        assert not value > alarm.threshold, (name, requests, value)


def test_an_outage_at_the_minimum_traffic_pages(platform: Any) -> None:
    """The gate is no blindfold: every request failing at exactly the minimum count crosses the threshold."""
    for name in MIN_REQUESTS:
        alarm = alarm_rows(platform(name).template_json("Edge"))[f"ticketing-{name}-edge-5xx-rate"]
        assert alarm.threshold is not None
        assert judged(alarm.expression) == MIN_REQUESTS[name]
        assert alarm.threshold < 100  # 100 % of the minimum requests failing is above it
