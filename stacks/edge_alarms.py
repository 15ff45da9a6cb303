"""The edge's alarms, in us-east-1 beside their metrics (CloudWatch refuses an alarm in another region).

- CloudFront 5xx rate (critical) and WAF blocked-request spikes (warning, anomaly detection), to
  a topic pair of their own in this region (`ticketing-<env>-edge-critical` / `-warning`).
- The 5xx rate is judged only from `edge.min_requests` requests in 5 minutes up: one error among
  three requests at night is a third of them, and no outage (metric math on `Requests`).
- Outside prod the night schedule stops every service, and the ALB then answers CloudFront's
  API requests with 503: the 5xx-rate alarm would fire every night. It is muted exactly while the
  services are stopped (`night_scaling.quiet_windows`), weekends included, plus the morning grace
  in which the tasks start (`stacks/night_mute.py`, shared with the main region's load-balancer 5XX
  alarm). Nothing else here depends on the services running, so nothing else is muted; prod has no
  night schedule and no mute rule.

A muted alarm still changes state, and one still in ALARM when its mute ends does not notify
again: if the morning start fails, this alarm stays silent, and the main region's
`service-start-failures` and `<service>-tasks-below-desired` alarms (never muted) page instead.
"""

from __future__ import annotations

from aws_cdk import (
    Duration,
    Fn,
    aws_cloudfront as cloudfront,
    aws_cloudwatch as cloudwatch,
    aws_wafv2 as wafv2,
)
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_topics import Severity
from platform_constructs.alarms import page_alarm
from stacks.alerts_stack import alarm_topics
from stacks.night_mute import night_mute_rules


class EdgeAlarms(Construct):
    """Exposes ``topics``, ``alarms`` (by name) and ``mute_rules``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        distribution: cloudfront.IDistribution,
        web_acl: wafv2.CfnWebACL,
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = f"ticketing-{config.name}-edge"
        limits = config.observability.edge
        self.topics = alarm_topics(self, config, prefix)
        five_minutes = Duration.minutes(5)
        error_rate = page_alarm(
            self,
            "ErrorRate",
            alarm_name=f"{prefix}-5xx-rate",
            metric=judged_error_rate(distribution.distribution_id, limits.min_requests, five_minutes),
            threshold=limits.error_rate_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            topics=[self.topics.topics[Severity.CRITICAL]],
            check_first=f"Over {limits.error_rate_percent}% of CloudFront's responses were 5xx in 5 minutes (judged "
            f"from {limits.min_requests} requests up). In the main region: the ALB's target 5XX (the services), "
            "its own 5XX and unhealthy targets (503: tasks stopped or failing, see tasks-below-desired), then the "
            "origin's certificate and DNS (502). CloudFront's standard logs (the edge log bucket) name the failing "
            "paths. Fewer requests than that, or none, count as no errors.",
        )
        # The WAF's name is the first field of the web ACL's Ref (name|id|scope); it is its metrics' dimension.
        web_acl_name = Fn.select(0, Fn.split("|", web_acl.ref))
        blocked = page_alarm(
            self,
            "WafBlockedSpike",
            alarm_name=f"{prefix}-waf-blocked-spike",
            metric=cloudwatch.Metric(
                namespace="AWS/WAFV2",
                metric_name="BlockedRequests",
                dimensions_map={"WebACL": web_acl_name, "Rule": "ALL"},
                statistic="Sum",
                period=five_minutes,
            ),
            band_width=limits.waf_blocked_band_width,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            topics=[self.topics.topics[Severity.WARNING]],
            check_first=f"WAF blocked more requests than usual ({limits.waf_blocked_band_width} standard deviations "
            "above the learned band) for 10 minutes: an attack, a bot, or a release the managed rules dislike. "
            "The WAF log group (aws-waf-logs-ticketing-...-edge) names the rule and the client; check that "
            "real users are not among them before tightening anything. No blocks means no data.",
        )
        self.alarms = {alarm.alarm_name: alarm for alarm in (error_rate, blocked)}
        self.mute_rules = night_mute_rules(self, config, [error_rate])


def judged_error_rate(distribution_id: str, min_requests: int, period: Duration) -> cloudwatch.MathExpression:
    """CloudFront's 5xxErrorRate, or 0 while there are fewer than `min_requests` requests (too few to judge)."""
    dimensions = {"DistributionId": distribution_id, "Region": "Global"}
    return cloudwatch.MathExpression(
        expression=f"IF(FILL(requests, 0) >= {min_requests}, FILL(rate, 0), 0)",
        using_metrics={
            "requests": cloudwatch.Metric(
                namespace="AWS/CloudFront", metric_name="Requests", dimensions_map=dimensions, statistic="Sum",
                period=period,
            ),
            "rate": cloudwatch.Metric(
                namespace="AWS/CloudFront", metric_name="5xxErrorRate", dimensions_map=dimensions,
                statistic="Average", period=period,
            ),
        },
        period=period,
        label="CloudFront 5xx rate (%), judged from enough requests",
    )  # fmt: skip
