"""The alarm reference page (tools/docs_pages/alarms.py) against the synthesised templates.

The page renders the specs from config with placeholders where a name exists only at deploy time;
the stacks create their alarms from the same specs. Here every row is compared with the alarm of
that name in the template: the same set of names per stack, and the same metric, threshold,
comparison, periods, missing-data treatment, topics and description.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch

from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.physical_names import environment_prefix, low_available_seats_alarm_name
from stacks.monitoring.seats import low_available_seats
from tests.alarm_summary import AlarmRow, Watched, alarm_rows
from tests.conftest import SynthesizedEnvironment
from tools.docs_pages.alarms import environment_alarms, render, scheduled_maintenance_tasks


def cloudformation(value: str, *, lower_first: bool = False) -> str:
    """An aws-cdk-lib enum member's name (GREATER_THAN_THRESHOLD) as CloudFormation spells it."""
    words = "".join(word.capitalize() for word in value.split("_"))
    return words[0].lower() + words[1:] if lower_first else words


def identity(metric: cloudwatch.IMetric) -> tuple[str, str, tuple[str, ...], str, int]:
    """What the page shows of a metric: namespace, name, dimension names, statistic, period."""
    assert isinstance(metric, cloudwatch.Metric)
    return (metric.namespace, metric.metric_name, tuple(sorted(metric.dimensions or {})), metric.statistic,
            int(metric.period.to_seconds()))  # fmt: skip


def shown(watched: Watched) -> tuple[str, str, tuple[str, ...], str, int]:
    names = tuple(sorted(dimension.split("=", 1)[0] for dimension in watched.dimensions))
    return (watched.namespace, watched.metric, names, watched.statistic, watched.period)


def assert_row_is_spec(row: AlarmRow, spec: AlarmSpec, topics: tuple[str, ...]) -> None:
    assert row.threshold == spec.threshold
    assert row.comparison == cloudformation(spec.comparison.name)
    assert row.evaluation_periods == spec.evaluation_periods
    assert row.datapoints == (spec.datapoints_to_alarm or spec.evaluation_periods)
    assert row.missing == cloudformation(spec.missing_data.name, lower_first=True)
    assert row.ok_actions == topics
    assert row.description == spec.runbook
    metric = spec.metric
    if spec.band_width is not None:
        assert row.expression == f"ANOMALY_DETECTION_BAND(m0, {spec.band_width})"
        assert [(name, shown(watched)) for name, watched in row.inputs] == [("m0", identity(metric))]
    elif isinstance(metric, cloudwatch.MathExpression):
        assert row.expression == metric.expression
        inputs = {name: identity(each) for name, each in metric.using_metrics.items()}
        assert {name: shown(watched) for name, watched in row.inputs} == inputs
    else:
        assert row.watched is not None
        assert shown(row.watched) == identity(metric)


def topic_names(template: dict[str, Any]) -> dict[str, str]:
    """A topic's Ref (as alarm_rows shows it) by the topic's name; ARNs are shown by name already."""
    return {
        f"<ref:{key}>": resource["Properties"]["TopicName"]
        for key, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SNS::Topic"
    }


def test_every_row_of_the_page_is_an_alarm_of_the_templates_and_every_alarm_a_row(
    env: SynthesizedEnvironment,
) -> None:
    groups = environment_alarms(env.config)
    assert sorted(group.stack for group in groups) == sorted(
        stack.node.id for stack in env.stacks if alarm_rows(env.template_json(stack.node.id))
    )
    for group in groups:
        template = env.template_json(group.stack)
        by_ref = topic_names(template)
        rows = alarm_rows(template)
        specs = {spec.name(group.prefix): spec for spec in group.specs}
        assert sorted(rows) == sorted(specs), group.stack
        for name, spec in specs.items():
            row = rows[name]
            row = AlarmRow(**{**row.__dict__, "ok_actions": tuple(by_ref.get(a, a) for a in row.ok_actions)})
            assert_row_is_spec(row, spec, tuple(f"{group.prefix}-{severity.value}" for severity in spec.notifies))


def test_the_page_lists_the_maintenance_tasks_the_data_stack_schedules(env: SynthesizedEnvironment) -> None:
    data: Any = env.stack("Data")
    assert scheduled_maintenance_tasks(env.config) == data.access.daily_tasks


def test_the_page_names_every_alarm_once_per_environment() -> None:
    page = render()
    assert page.startswith("# Alarms\n")
    assert page.endswith("\n")
    assert not page.endswith("\n\n")
    assert page.count("| `ticketing-prod-high-error-rate` |") == 1
    assert page.count("| `ticketing-dev-edge-5xx-rate` |") == 1
    assert render() == page  # deterministic


def test_the_seat_alarm_is_named_as_physical_names_says(env: SynthesizedEnvironment) -> None:
    """The services stack's seat alarm is the one spec another module names (physical_names)."""
    assert low_available_seats(env.config).name(environment_prefix(env.config.name)) == low_available_seats_alarm_name(
        env.config.name
    )
