"""Alarms of a synthesised template as plain rows: what each watches, how, and whom it tells.

Tokens are shown as what they stand for: an SSM-typed parameter as `<ssm:/its/name>`, a `Ref` as
`<ref:LogicalId>`, a `Fn::Join` by joining its parts, and a topic ARN by its topic name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Watched:
    """One metric: namespace, name, dimensions (sorted name=value pairs), statistic, period in seconds."""

    namespace: str
    metric: str
    dimensions: tuple[str, ...]
    statistic: str
    period: int


@dataclass(frozen=True)
class AlarmRow:
    name: str
    watched: Watched | None  # a single-metric alarm
    expression: str | None  # a metric-math alarm: its expression and inputs
    inputs: tuple[tuple[str, Watched], ...]
    evaluation_periods: int
    datapoints: int
    threshold: float | None
    comparison: str
    missing: str
    actions: tuple[str, ...]
    ok_actions: tuple[str, ...]
    description: str


def show(value: Any, parameters: dict[str, Any]) -> str:
    """A template value as text; tokens by what they stand for."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        parameter = parameters.get(value["Ref"])
        if parameter is not None and parameter["Type"].startswith("AWS::SSM::Parameter::Value"):
            return f"<ssm:{parameter['Default']}>"
        return f"<ref:{value['Ref']}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(show(part, parameters) for part in parts)
    if isinstance(value, dict) and "Fn::Select" in value:
        return f"<select:{show(value['Fn::Select'][1], parameters)}>"
    if isinstance(value, dict) and "Fn::Split" in value:
        return show(value["Fn::Split"][1], parameters)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<getatt:{'.'.join(value['Fn::GetAtt'])}>"
    raise AssertionError(f"unexpected template value {value!r}")


def _action(value: Any, parameters: dict[str, Any]) -> str:
    text = show(value, parameters)
    return text.rsplit(":", 1)[-1] if text.startswith("arn:aws:sns:") else text


def _watched(metric: dict[str, Any], statistic: str, period: int, parameters: dict[str, Any]) -> Watched:
    dimensions = tuple(sorted(f"{d['Name']}={show(d['Value'], parameters)}" for d in metric.get("Dimensions", [])))
    return Watched(metric["Namespace"], metric["MetricName"], dimensions, statistic, period)


def alarm_rows(template: dict[str, Any]) -> dict[str, AlarmRow]:
    parameters = template.get("Parameters", {})
    rows = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        p = resource["Properties"]
        watched = None
        expression = None
        inputs: list[tuple[str, Watched]] = []
        if "Metrics" in p:
            for query in p["Metrics"]:
                if "Expression" in query:
                    expression = query["Expression"]
                else:
                    stat = query["MetricStat"]
                    inputs.append((query["Id"], _watched(stat["Metric"], stat["Stat"], stat["Period"], parameters)))
        else:
            statistic = p.get("Statistic") or p.get("ExtendedStatistic")
            watched = _watched(p, statistic, p["Period"], parameters)
        name = show(p["AlarmName"], parameters)
        rows[name] = AlarmRow(
            name=name,
            watched=watched,
            expression=expression,
            inputs=tuple(sorted(inputs)),
            evaluation_periods=p["EvaluationPeriods"],
            datapoints=p.get("DatapointsToAlarm", p["EvaluationPeriods"]),
            threshold=p.get("Threshold"),
            comparison=p["ComparisonOperator"],
            missing=p.get("TreatMissingData", "<default>"),
            actions=tuple(_action(a, parameters) for a in p.get("AlarmActions", [])),
            ok_actions=tuple(_action(a, parameters) for a in p.get("OKActions", [])),
            description=show(p.get("AlarmDescription", ""), parameters),
        )
    return rows
