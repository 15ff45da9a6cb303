"""The alarm reference page: every alarm of every environment, rendered from the specs the stacks create.

The stacks create their alarms from `AlarmSpec`s (`platform_constructs.alarm_spec`); this page renders
the same specs, built from the same config, so a row cannot say what the alarm does not do. Names that
exist only at deploy time (the load balancer's, read from SSM; the proxy's, which carries a digest
of its subnets) appear as placeholders; they occur in dimensions, which the page names but does not
spell. A test compares every row with the alarms of the synthesised templates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch

from config import ENVIRONMENT_NAMES, EnvironmentConfig, load_environment
from config.edge import EDGE_REGION
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.alarm_topics import Severity, delivery_alarm_specs, delivery_failure_log, topic_name
from platform_constructs.physical_names import cluster_name, edge_prefix, environment_prefix
from stacks.data_stack import primary_identifier
from stacks.edge_alarms import edge_alarm_specs
from stacks.monitoring.catalogue import monitoring_alarms
from stacks.monitoring.seats import low_available_seats
from stacks.monitoring.watched import WatchedResources

PAGE = "reference/alarms.md"

#: How CloudFormation spells each comparison, and how the page reads it.
COMPARISONS = {
    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD: ">",
    cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD: ">=",
    cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD: "<",
    cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD: "<=",
    cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD: "above the band of",
    cloudwatch.ComparisonOperator.LESS_THAN_LOWER_THRESHOLD: "below the band of",
    cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD: "outside the band of",
}


@dataclass(frozen=True)
class StackAlarms:
    """One stack's alarms: the stack's id in its stage, its region, its alarms' name prefix, the specs."""

    stack: str
    region: str
    prefix: str
    specs: list[AlarmSpec]


def scheduled_maintenance_tasks(config: EnvironmentConfig) -> dict[str, bool]:
    """Each maintenance task the data stack schedules for `config`, and whether it runs daily (else weekly):
    vacuum and partitions daily where some service has such tables, the report weekly where any has a database."""
    services = [service for service in config.services.values() if service.database]
    tasks = {}
    if any(service.vacuum_tables for service in services):
        tasks["vacuum"] = True
    if any(service.partitioned_tables for service in services):
        tasks["partitions"] = True
    if services:
        tasks["report"] = False
    return tasks


def environment_alarms(config: EnvironmentConfig) -> list[StackAlarms]:
    """Every alarm of `config`'s environment, by stack, as the stacks build them."""
    prefix = environment_prefix(config.name)
    primary = primary_identifier(config)
    watched = WatchedResources(
        cluster_name=cluster_name(config.name),
        load_balancer="<load balancer>",
        target_groups={name: f"<{name} target group>" for name, service in config.services.items() if service.paths},
        instances=[primary, *(f"{primary}-replica{i}" for i in range(1, config.database.read_replicas + 1))],
        proxy_name="<proxy>",
        cache_nodes=[f"<cache group>-{member:03d}" for member in range(1, config.cache.replicas + 2)],
        maintenance_function="<maintenance function>",
        daily_tasks=scheduled_maintenance_tasks(config),
        restore_drill="<restore drill>",
        service_arn_prefix="<services>",
    )

    def delivery(region: str, topics_prefix: str) -> list[AlarmSpec]:
        critical = topic_name(topics_prefix, Severity.CRITICAL)
        return delivery_alarm_specs(
            critical_topic=critical,
            warning_topic=topic_name(topics_prefix, Severity.WARNING),
            dead_letter_queue="<dead-letter queue>",
            failure_log=delivery_failure_log(region, config.account, critical),
        )

    edge = edge_prefix(config.name)
    return [
        StackAlarms("Alerts", config.region, prefix, delivery(config.region, prefix)),
        StackAlarms("Services", config.region, prefix, [low_available_seats(config)]),
        StackAlarms("Monitoring", config.region, prefix, monitoring_alarms(config, prefix, watched)),
        StackAlarms(
            "Edge",
            EDGE_REGION,
            edge,
            [*delivery(EDGE_REGION, edge), *edge_alarm_specs(config, "<distribution>", "<web ACL>")],
        ),
    ]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def describe_metric(metric: cloudwatch.IMetric) -> str:
    """`namespace MetricName (statistic) per Dimension`, or a metric-math expression and its inputs."""
    if isinstance(metric, cloudwatch.Metric):
        dimensions = ", ".join(metric.dimensions or {})
        return f"{metric.namespace} {metric.metric_name} ({metric.statistic})" + (
            f" per {dimensions}" if dimensions else ""
        )
    if isinstance(metric, cloudwatch.MathExpression):
        inputs = "; ".join(f"{name} = {describe_metric(each)}" for name, each in metric.using_metrics.items())
        return f"`{metric.expression}` where {inputs}"
    raise TypeError(f"no description for {metric!r}")


def fires_when(spec: AlarmSpec) -> str:
    comparison = COMPARISONS[spec.comparison]
    if spec.band_width is not None:
        return f"{comparison} {_number(spec.band_width)} standard deviations"
    assert spec.threshold is not None
    return f"{comparison} {_number(spec.threshold)}"


def evaluation(spec: AlarmSpec) -> str:
    period = _duration(int(spec.period.to_seconds()))
    datapoints = spec.datapoints_to_alarm or spec.evaluation_periods
    return f"{datapoints} of {spec.evaluation_periods} ({period})"


#: How each missing-data treatment reads: what a period without data counts as.
MISSING_DATA = {
    cloudwatch.TreatMissingData.NOT_BREACHING: "fine",
    cloudwatch.TreatMissingData.BREACHING: "a breach",
    cloudwatch.TreatMissingData.IGNORE: "no change of state",
    cloudwatch.TreatMissingData.MISSING: "missing",
}


def _cell(text: str) -> str:
    """Text for a table cell: no pipes or line breaks, and outside code no `<` that could open an HTML tag."""
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    return "`".join(part if index % 2 else part.replace("<", "&lt;") for index, part in enumerate(parts))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


HEADERS = ("Alarm", "Metric", "Fires when", "Breaching periods", "Missing data is", "Notifies", "Check first")

INTRODUCTION = """\
# Alarms

This page is generated from the alarm specifications by `python -m tools.docs_pages --write`; edit the
specifications, not this page.

Every alarm is an `AlarmSpec` (`constructs/platform_constructs/alarm_spec.py`): its metric, from a
factory in `constructs/platform_constructs/metrics.py`; its threshold or anomaly band; its periods; how
missing data counts; the severity whose topic it notifies (`critical` pages, `warning` mails); and what to
check first (its description). Each stack creates its alarms from a list of specs, and this page renders
the same lists, so it cannot say what the alarms do not do.

To add an alarm, add its spec to the list its stack builds: the main region's tiers are in
`stacks/monitoring/` (`load_balancer.py`, `bookings.py`, `services.py`, `database.py`, `cache.py`,
`backups.py`, `maintenance.py`, `events.py`), the edge's in `stacks/edge_alarms.py`, the topics' own in
`constructs/platform_constructs/alarm_topics.py`. Then add its row to the stack's test table
(`tests/test_monitoring_stack.py` for the main region) and regenerate this page. The construct id is
the alarm's logical ID: never change an existing one (the alarm's name is fixed, so CloudFormation
would fail to create the replacement).

Breaching periods: how many of the periods evaluated (each as long as in brackets) fire the alarm.
Metrics are named with their dimensions' names; the values (an instance, a node, a target group) are
in the alarm's name or known only at deploy time.
"""


def render() -> str:
    parts = [INTRODUCTION]
    for name in ENVIRONMENT_NAMES:
        config = load_environment(name)
        parts.append(f"## {name}\n")
        for group in environment_alarms(config):
            parts.append(f"### {group.stack} ({group.region})\n")
            rows = [
                (
                    f"`{spec.name(group.prefix)}`",
                    describe_metric(spec.metric),
                    fires_when(spec),
                    evaluation(spec),
                    MISSING_DATA[spec.missing_data],
                    ", ".join(severity.value for severity in spec.notifies),
                    spec.runbook,
                )
                for spec in group.specs
            ]
            parts.append(_table(HEADERS, rows) + "\n")
    return "\n".join(parts)
