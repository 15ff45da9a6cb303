"""One alarm, said once: what it watches, when it fires, how missing data counts, who hears, what to check.

An `AlarmSpec` is plain data (its metric comes from `platform_constructs.metrics`); a stack turns it
into the alarm (`create`), and the alarm reference page (`tools/docs_pages/alarms.py`) into a row, so
the two cannot disagree. Its name is the stack's prefix and the spec's `suffix`; its construct id is
the id the alarm always had, so that the logical ID, and with it the deployed alarm, stays put.

Adding an alarm is one edit: a spec in the list its stack builds (the list's tests say which), and
the alarm's row in that stack's test table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, aws_cloudwatch as cloudwatch, aws_sns as sns
from constructs import Construct

from platform_constructs.alarms import page_alarm
from platform_constructs.severity import Severity


@dataclass(frozen=True)
class AlarmSpec:
    """:param construct_id: the alarm's construct id in its stack (its logical ID derives from it).
    :param suffix: the alarm's name after the stack's prefix (`ticketing-<env>-<suffix>`).
    :param threshold: a static threshold; or
    :param band_width: the width, in standard deviations, of an anomaly-detection band.
    :param datapoints_to_alarm: breaching periods among `evaluation_periods` that fire it; None leaves the
        property out (CloudWatch then takes all of them).
    :param severity: the topic it notifies first; `also_notify` any further ones, in order.
    :param runbook: what the person who is paged looks at first (the alarm's description).
    :param muted_at_night: the night schedule's stop trips it, so the night mute rules mute it.
    """

    construct_id: str
    suffix: str
    metric: cloudwatch.IMetric
    comparison: cloudwatch.ComparisonOperator
    evaluation_periods: int
    missing_data: cloudwatch.TreatMissingData
    severity: Severity
    runbook: str
    threshold: float | None = None
    band_width: float | None = None
    datapoints_to_alarm: int | None = None
    also_notify: tuple[Severity, ...] = ()
    muted_at_night: bool = False

    def name(self, prefix: str) -> str:
        return f"{prefix}-{self.suffix}"

    @property
    def notifies(self) -> tuple[Severity, ...]:
        return (self.severity, *self.also_notify)

    @property
    def period(self) -> Duration:
        """The period the alarm judges: its metric's (a metric-math alarm's expression's)."""
        period = self.metric.period if isinstance(self.metric, cloudwatch.Metric | cloudwatch.MathExpression) else None
        if period is None:
            raise TypeError(f"{self.suffix}: the alarm's metric has no period")
        return period

    def create(
        self,
        scope: Construct,
        prefix: str,
        topics: Mapping[Severity, sns.ITopic],
        extra_actions: Sequence[cloudwatch.IAlarmAction] = (),
    ) -> cloudwatch.Alarm:
        """The alarm, in `scope` under `construct_id`, notifying the topics of its severities."""
        return page_alarm(
            scope,
            self.construct_id,
            alarm_name=self.name(prefix),
            metric=self.metric,
            threshold=self.threshold,
            band_width=self.band_width,
            comparison=self.comparison,
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.datapoints_to_alarm,
            missing_data=self.missing_data,
            topics=[topics[severity] for severity in self.notifies],
            check_first=self.runbook,
            extra_actions=extra_actions,
        )


def create_alarms(
    scope: Construct, prefix: str, specs: Sequence[AlarmSpec], topics: Mapping[Severity, sns.ITopic]
) -> dict[str, cloudwatch.Alarm]:
    """Every spec's alarm, by alarm name; two specs of one name are refused (CloudWatch would keep one)."""
    alarms: dict[str, cloudwatch.Alarm] = {}
    for spec in specs:
        name = spec.name(prefix)
        if name in alarms:
            raise ValueError(f"two alarms are named {name}")
        alarms[name] = spec.create(scope, prefix, topics)
    return alarms
