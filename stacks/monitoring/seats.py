"""The low-available-seats alarm: an on-sale running hot.

The services stack creates it, beside the scalable targets its step-scaling actions act on; it is
described here with the other alarms so that the reference page lists it.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import SeatMetrics
from platform_constructs.severity import Severity


def low_available_seats(config: EnvironmentConfig) -> AlarmSpec:
    seats = config.observability.seats
    dimensions = ", ".join(f"{key}={value}" for key, value in seats.dimensions.items()) or "none"
    return AlarmSpec(
        "LowAvailableSeats",
        "low-available-seats",
        SeatMetrics(seats.namespace, seats.metric, seats.dimensions).available(),
        threshold=seats.threshold,
        comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluation_periods=1,
        missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        severity=Severity.WARNING,
        runbook=f"Fewer than {seats.threshold} seats left ({seats.namespace} {seats.metric}, dimensions "
        f"{dimensions}): an on-sale is running hot. {', '.join(seats.scale_out_services)} get "
        f"{seats.scale_out_tasks} more tasks a minute while it lasts, up to their max_tasks; check the services' "
        "CPU and running tasks on the dashboard and raise compute max_tasks if they are at the ceiling. No "
        "seat metric (no on-sale) counts as enough seats.",
    )
