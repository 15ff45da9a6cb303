"""CloudFront's and WAF's alarms in us-east-1, and the night mute of the 5xx-rate alarm outside prod."""

from __future__ import annotations

from typing import Any

from tests.alarm_summary import alarm_rows
from tests.conftest import SynthesizedEnvironment


def edge_resources(env: SynthesizedEnvironment, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in env.template_json("Edge")["Resources"].items() if r["Type"] == kind}


def test_the_cloudfront_5xx_rate_pages_the_edge_critical_topic(env: SynthesizedEnvironment) -> None:
    prefix = f"ticketing-{env.config.name}-edge"
    (distribution,) = edge_resources(env, "AWS::CloudFront::Distribution")
    topics = {f"<ref:{k}>": t["TopicName"] for k, t in edge_resources(env, "AWS::SNS::Topic").items()}
    alarm = alarm_rows(env.template_json("Edge"))[f"{prefix}-5xx-rate"]
    assert alarm.watched is not None
    assert (alarm.watched.namespace, alarm.watched.metric, alarm.watched.statistic, alarm.watched.period) == (
        "AWS/CloudFront", "5xxErrorRate", "Average", 300,
    )  # fmt: skip
    assert alarm.watched.dimensions == (f"DistributionId=<ref:{distribution}>", "Region=Global")
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


def test_no_other_alarm_is_ever_muted(env: SynthesizedEnvironment) -> None:
    """The seat alarm (its scaling would be suppressed), the task alarms and the start failures never are."""
    muted: set[str] = set()
    for stack in env.stacks:
        for resource in env.template_json(stack.node.id)["Resources"].values():
            if resource["Type"] == "AWS::CloudWatch::AlarmMuteRule":
                muted.update(t["Ref"] for t in resource["Properties"]["MuteTargets"]["AlarmNames"])
    edge_alarms = {k: a["AlarmName"] for k, a in edge_resources(env, "AWS::CloudWatch::Alarm").items()}
    assert {edge_alarms[m] for m in muted} <= {f"ticketing-{env.config.name}-edge-5xx-rate"}
