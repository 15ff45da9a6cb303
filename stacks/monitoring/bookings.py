"""The guide's custom metrics: the booking success rate and latency the bookings service publishes."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from platform_constructs.metrics import BookingMetrics
from platform_constructs.severity import Severity


def booking_alarms(config: EnvironmentConfig) -> list[AlarmSpec]:
    bookings = config.observability.bookings
    metrics = BookingMetrics(bookings.namespace)
    return [
        AlarmSpec(
            "BookingSuccessRate",
            "booking-success-rate",
            metrics.success_rate(bookings.min_attempts),
            threshold=bookings.min_success_percent,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=1,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=Severity.CRITICAL,
            runbook=f"Fewer than {bookings.min_success_percent}% of booking attempts succeeded in 5 minutes "
            f"(judged from {bookings.min_attempts} attempts up). Check the bookings service's logs for the failure "
            "reason, then its dependencies: inventory (seat holds), the database's write latency and connections, "
            "the payment provider. No attempts means nothing to judge.",
        ),
        AlarmSpec(
            "BookingLatency",
            "booking-latency",
            metrics.latency("p95"),
            threshold=bookings.latency_p95_ms,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"p95 booking latency above {bookings.latency_p95_ms} ms for 10 minutes. Check the "
            "database's write latency and the proxy's borrow latency (pool exhaustion), then the bookings "
            "service's CPU. No bookings means no latency.",
        ),
    ]
