"""Config of what an environment may spend and what it commits to: `[cost]`.

- `commitment_term`: the reservation or Savings Plan term the steady-state resources are meant to
  be covered by (the database instances, the cache nodes, the on-demand Fargate base). The guide
  suggests 1-year terms for prod; a disposable environment (dev, torn down and deployed again)
  commits to nothing.
- `monthly_budget_usd` and the alert thresholds: an AWS Budget per environment, filtered by the
  environment's cost-allocation tag, alerting the warning topic.
- `[cost.estimate]`: the usage `make cost` assumes for what the templates cannot say (requests,
  bytes, log volume); everything else it prices is read from the synthesised templates.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.fields import ConfigFieldError, Strict, bounded
from platform_constructs.limits import Limit
from platform_constructs.tag_rules import key_problems

BUDGET_USD = Limit(1, 10_000_000, "USD")
#: AWS Budgets allows at most 5 notifications per budget.
MAX_NOTIFICATIONS = 5
ALERT_PERCENT = Limit(1, 1000, "%")


#: What the unused-resource finder may delete (lambda/unused_resources DELETABLE; a test keeps them equal).
DELETABLE_KINDS = (
    "ebs-volume",
    "elastic-ip",
    "ebs-snapshot",
    "ami",
    "log-group-idle",
    "rds-snapshot",
    "elasticache-snapshot",
    "orphaned-secret",
    "orphaned-log-group",
)
AGE_DAYS = Limit(1, 3650, "days")
_TAG_KEY = re.compile(r"^[A-Za-z0-9 _.:/=+@-]{1,128}$")


class UnusedResourcesConfig(Strict):
    """The weekly unused-resource finder: what it reports, and what it may delete."""

    dry_run: bool = Field(default=True, description="Report only; false lets it delete the kinds in `delete`.")
    delete: tuple[str, ...] = Field(
        default=(),
        strict=False,
        description="Kinds the finder deletes when dry_run is false (unless protected): "
        + ", ".join(DELETABLE_KINDS)
        + ".",
    )
    protection_tag: str = Field(default="Protected", description="A resource with this tag key is never deleted.")
    snapshot_age_days: int = bounded(
        AGE_DAYS, "Days after which an EBS snapshot that backs no AMI counts as unused.", default=30
    )
    ami_age_days: int = bounded(AGE_DAYS, "Days after its registration an AMI counts as unused.", default=90)
    log_idle_days: int = bounded(
        AGE_DAYS, "Days without an event after which a log group counts as unused.", default=90
    )

    @field_validator("delete")
    @classmethod
    def _kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in DELETABLE_KINDS:
                raise ValueError(f"{kind!r} is not a kind the finder deletes; allowed: {', '.join(DELETABLE_KINDS)}")
        if len(set(value)) != len(value):
            raise ValueError("kinds must not repeat")
        return value

    @field_validator("protection_tag")
    @classmethod
    def _tag(cls, value: str) -> str:
        if not _TAG_KEY.fullmatch(value) or value.lower().startswith("aws:"):
            raise ValueError(
                "a tag key: 1 to 128 of letters, digits, spaces and _ . : / = + - @, not starting with aws:"
            )
        narrower = key_problems(value)
        if narrower:  # it must reach every retained resource, whatever its kind
            raise ValueError(f"a tag key every resource kind accepts: {'; '.join(narrower)}")
        return value


#: Cloud-assembly metadata type on the cost stack: the environment's `[cost.estimate]`.
USAGE_ASSUMPTIONS_METADATA = "ticketing:usage-assumptions"
#: Ceiling of any usage assumption (a typo guard, not a platform limit).
MAX_USAGE = 1_000_000


def usage(description: str, default: float) -> float:
    return Field(default=default, ge=0, le=MAX_USAGE, allow_inf_nan=False, description=description)


class EstimateConfig(Strict):
    """What `make cost` assumes a month brings: the usage-priced part of the bill (docs/tiers/cost.md)."""

    requests_millions: float = usage("Viewer requests to CloudFront (and through WAF), millions a month.", 1.0)
    data_out_gb: float = usage("Bytes CloudFront sends to viewers, GB a month.", 10.0)
    nat_gb: float = usage("Bytes through the NAT gateways, GB a month (images come through endpoints).", 5.0)
    load_balancer_lcus: float = usage("Average load balancer capacity units (LCU) in use over the month.", 1.0)
    log_ingest_gb: float = usage("CloudWatch Logs ingested by all log groups, GB a month.", 2.0)
    log_archive_gb: float = usage(
        "New objects a month in each bucket whose lifecycle moves them to colder classes (access logs), GB.", 1.0
    )
    bucket_stored_gb: float = usage("What each other bucket holds (the site's build, reports), GB.", 1.0)


class CostConfig(Strict):
    """The environment's budget and its commitment intent."""

    monthly_budget_usd: int = bounded(BUDGET_USD, "The AWS Budget: what the environment may cost a month, in USD.")
    actual_alert_percent: tuple[int, ...] = Field(
        default=(80, 100),
        strict=False,
        description=f"Shares of the budget, in % ({ALERT_PERCENT.describe()}), at which actual spend alerts the "
        "warning topic.",
    )
    forecast_alert_percent: tuple[int, ...] = Field(
        default=(100,),
        strict=False,
        description=f"Shares of the budget, in % ({ALERT_PERCENT.describe()}), at which the month's forecast "
        f"alerts the warning topic; with actual_alert_percent at most {MAX_NOTIFICATIONS} in all.",
    )
    unused: UnusedResourcesConfig = Field(
        default_factory=UnusedResourcesConfig,
        description="The weekly unused-resource finder: what it reports and what it may delete.",
    )
    estimate: EstimateConfig = Field(
        default_factory=EstimateConfig, description="The monthly usage `make cost` assumes where templates say none."
    )
    commitment_term: Literal["none", "1-year", "3-year"] = Field(
        default="none",
        description="Term of the reservations / Savings Plan the steady-state resources are meant for; none in dev.",
    )

    @field_validator("actual_alert_percent", "forecast_alert_percent")
    @classmethod
    def _percentages(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for percent in value:
            if isinstance(percent, bool) or not isinstance(percent, int) or percent not in ALERT_PERCENT:
                raise ValueError(f"each share must be {ALERT_PERCENT.describe()}, got {percent!r}")
        if len(set(value)) != len(value):
            raise ValueError("shares must not repeat")
        return tuple(sorted(value))

    @model_validator(mode="after")
    def _at_most_five(self) -> CostConfig:
        count = len(self.actual_alert_percent) + len(self.forecast_alert_percent)
        if count > MAX_NOTIFICATIONS:
            raise ConfigFieldError(
                "cost.actual_alert_percent",
                list(self.actual_alert_percent),
                f"AWS Budgets sends at most {MAX_NOTIFICATIONS} notifications per budget; actual and forecast "
                f"alerts together are {count}",
            )
        return self

    def notifications(self) -> list[tuple[str, int]]:
        """(ACTUAL or FORECASTED, percent) for each alert."""
        return [("ACTUAL", p) for p in self.actual_alert_percent] + [
            ("FORECASTED", p) for p in self.forecast_alert_percent
        ]
