"""The edge's alarms, in us-east-1 beside their metrics (CloudWatch refuses an alarm in another region).

- CloudFront 5xx rate (critical) and WAF blocked-request spikes (warning, anomaly detection), to
  a topic pair of their own in this region (`ticketing-<env>-edge-critical` / `-warning`).
- Outside prod the night schedule stops every service, and the ALB then answers CloudFront's
  API requests with 503: the 5xx-rate alarm would fire every night. It is muted exactly while the
  services are stopped (`night_scaling.quiet_windows`), weekends included, plus the morning grace
  in which the tasks start. Nothing else here depends on the services running, so nothing else is
  muted; prod has no night schedule and no mute rule.

A muted alarm still changes state, and one still in ALARM when its mute ends does not notify
again: if the morning start fails, this alarm stays silent, and the main region's
`service-start-failures` and `<service>-tasks-below-desired` alarms (never muted) page instead.
"""

from __future__ import annotations

from aws_cdk import (
    Duration,
    Fn,
    TimeZone,
    aws_cloudfront as cloudfront,
    aws_cloudwatch as cloudwatch,
    aws_wafv2 as wafv2,
)
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_topics import Severity
from platform_constructs.alarms import page_alarm
from stacks.alerts_stack import alarm_topics
from stacks.night_scaling import DAYS, quiet_windows

#: CloudWatch: a mute rule targets at most 100 alarms.
MAX_MUTED_ALARMS = 100


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
            metric=cloudwatch.Metric(
                namespace="AWS/CloudFront",
                metric_name="5xxErrorRate",
                dimensions_map={"DistributionId": distribution.distribution_id, "Region": "Global"},
                statistic="Average",
                period=five_minutes,
            ),
            threshold=limits.error_rate_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            topics=[self.topics.topics[Severity.CRITICAL]],
            check_first=f"Over {limits.error_rate_percent}% of CloudFront's responses were 5xx in 5 minutes. In the "
            "main region: the ALB's target 5XX (the services) or no healthy targets (503: tasks stopped or "
            "failing, see tasks-below-desired), then the origin's certificate and DNS (502). CloudFront's "
            "standard logs (the edge log bucket) name the failing paths. No requests means no rate.",
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
        self.mute_rules = self._mute_at_night(config, [error_rate])

    def _mute_at_night(
        self, config: EnvironmentConfig, alarms: list[cloudwatch.Alarm]
    ) -> list[cloudwatch.AlarmMuteRule]:
        night = config.compute.night_scaling
        windows = quiet_windows(night, config.observability.morning_grace_minutes)
        if night is None or not windows:
            return []
        if len(alarms) > MAX_MUTED_ALARMS:
            raise ValueError(f"a mute rule targets at most {MAX_MUTED_ALARMS} alarms, got {len(alarms)}")
        rules = []
        for window in windows:
            days = "*" if len(window.week_days) == len(DAYS) else ",".join(window.week_days)
            name = "Every" if days == "*" else "".join(day.capitalize() for day in window.week_days)
            rules.append(
                cloudwatch.AlarmMuteRule(
                    self,
                    f"NightMute{name}",
                    alarms=alarms,
                    schedule=cloudwatch.ScheduleExpression.cron(
                        minute=str(window.minute),
                        hour=str(window.hour),
                        week_day=days,
                        time_zone=TimeZone.of(night.time_zone),
                    ),
                    duration=Duration.minutes(window.duration_minutes),
                    description=f"ticketing {config.name}: the services are stopped from {night.stop_at} "
                    f"({', '.join(window.week_days)}) until the next start at {night.start_at} plus "
                    f"{config.observability.morning_grace_minutes} minutes",
                )
            )
        return rules
