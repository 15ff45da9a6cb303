"""An AlarmSpec becomes the alarm it describes: name, description, metric, threshold, topics."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aws_cdk import App, Stack, assertions, aws_cloudwatch as cloudwatch, aws_sns as sns

from platform_constructs.alarm_spec import AlarmSpec, create_alarms
from platform_constructs.metrics import DatabaseMetrics
from platform_constructs.severity import Severity


def spec(**changes: Any) -> AlarmSpec:
    base = AlarmSpec(
        "DatabaseCpu",
        "postgres-cpu",
        DatabaseMetrics("ticketing-test-postgres").cpu(),
        threshold=80,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        severity=Severity.CRITICAL,
        also_notify=(Severity.WARNING,),
        runbook="The primary's CPU is above 80% for 15 minutes: Performance Insights' top SQL first.",
    )
    return replace(base, **changes)


def test_the_alarm_is_the_spec_under_its_construct_id_and_tells_its_topics_in_order() -> None:
    stack = Stack(App(), "Test")
    topics = {severity: sns.Topic(stack, severity.value) for severity in Severity}
    alarms = create_alarms(stack, "ticketing-test", [spec()], topics)
    assert list(alarms) == ["ticketing-test-postgres-cpu"]
    template = assertions.Template.from_stack(stack)
    (logical_id,) = template.find_resources("AWS::CloudWatch::Alarm")
    assert logical_id.startswith("DatabaseCpu")
    critical, warning = (stack.resolve(topics[s].topic_arn) for s in (Severity.CRITICAL, Severity.WARNING))
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "ticketing-test-postgres-cpu",
            "AlarmDescription": spec().runbook,
            "Namespace": "AWS/RDS",
            "MetricName": "CPUUtilization",
            "Statistic": "Average",
            "Period": 300,
            "Threshold": 80,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [critical, warning],
            "OKActions": [critical, warning],
        },
    )


def test_two_specs_of_one_name_are_refused() -> None:
    stack = Stack(App(), "Test")
    topics = {severity: sns.Topic(stack, severity.value) for severity in Severity}
    with pytest.raises(ValueError, match="two alarms are named ticketing-test-postgres-cpu"):
        create_alarms(stack, "ticketing-test", [spec(), spec(construct_id="Other")], topics)


def test_the_period_is_the_metrics() -> None:
    assert spec().period.to_seconds() == 300
