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

from aws_cdk import Fn, aws_cloudfront as cloudfront, aws_cloudwatch as cloudwatch, aws_wafv2 as wafv2
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec, create_alarms
from platform_constructs.metrics import DistributionMetrics, WebAclMetrics
from platform_constructs.physical_names import edge_prefix
from platform_constructs.severity import Severity
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
        prefix = edge_prefix(config.name)
        self.topics = alarm_topics(self, config, prefix)
        # The WAF's name is the first field of the web ACL's Ref (name|id|scope); it is its metrics' dimension.
        web_acl_name = Fn.select(0, Fn.split("|", web_acl.ref))
        specs = edge_alarm_specs(config, distribution.distribution_id, web_acl_name)
        self.alarms = create_alarms(self, prefix, specs, self.topics.topics)
        self.mute_rules = night_mute_rules(
            self, config, [self.alarms[spec.name(prefix)] for spec in specs if spec.muted_at_night]
        )


def edge_alarm_specs(config: EnvironmentConfig, distribution_id: str, web_acl_name: str) -> list[AlarmSpec]:
    limits = config.observability.edge
    return [
        AlarmSpec(
            "ErrorRate",
            "5xx-rate",
            DistributionMetrics(distribution_id).judged_error_rate(limits.min_requests),
            threshold=limits.error_rate_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=Severity.CRITICAL,
            # The ALB answers CloudFront's API requests with 503 while the services are stopped at night.
            muted_at_night=True,
            runbook=f"Over {limits.error_rate_percent}% of CloudFront's responses were 5xx in 5 minutes (judged "
            f"from {limits.min_requests} requests up). In the main region: the ALB's target 5XX (the services), "
            "its own 5XX and unhealthy targets (503: tasks stopped or failing, see tasks-below-desired), then the "
            "origin's certificate and DNS (502). CloudFront's standard logs (the edge log bucket) name the failing "
            "paths. Fewer requests than that, or none, count as no errors.",
        ),
        AlarmSpec(
            "WafBlockedSpike",
            "waf-blocked-spike",
            WebAclMetrics(web_acl_name).blocked_requests(),
            band_width=limits.waf_blocked_band_width,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            severity=Severity.WARNING,
            runbook=f"WAF blocked more requests than usual ({limits.waf_blocked_band_width} standard deviations "
            "above the learned band) for 10 minutes: an attack, a bot, or a release the managed rules dislike. "
            "The WAF log group (aws-waf-logs-ticketing-...-edge) names the rule and the client; check that "
            "real users are not among them before tightening anything. No blocks means no data.",
        ),
    ]
