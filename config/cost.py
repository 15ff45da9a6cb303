"""Config of what an environment may spend and what it commits to: `[cost]`.

- `commitment_term`: the reservation or Savings Plan term the steady-state resources are meant to
  be covered by (the database instances, the cache nodes, the on-demand Fargate base). The guide
  suggests 1-year terms for prod; a disposable environment (dev, torn down and deployed again)
  commits to nothing.
- `monthly_budget_usd` and the alert thresholds: an AWS Budget per environment, filtered by the
  environment's cost-allocation tag, alerting the warning topic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from config.fields import ConfigFieldError, Strict, bounded
from platform_constructs.limits import Limit

BUDGET_USD = Limit(1, 10_000_000, "USD")
#: AWS Budgets allows at most 5 notifications per budget.
MAX_NOTIFICATIONS = 5
ALERT_PERCENT = Limit(1, 1000, "%")


class CostConfig(Strict):
    """The environment's budget and its commitment intent."""

    monthly_budget_usd: int = bounded(BUDGET_USD, "What the environment may cost a month.")
    actual_alert_percent: tuple[int, ...] = Field(
        default=(80, 100),
        strict=False,
        description="Shares of the budget at which actual spend alerts the warning topic.",
    )
    forecast_alert_percent: tuple[int, ...] = Field(
        default=(100,),
        strict=False,
        description="Shares of the budget at which the month's forecast alerts the warning topic.",
    )
    commitment_term: Literal["none", "1-year", "3-year"] = Field(
        default="none",
        description="Term of the reservations / Savings Plan the steady-state resources are meant for.",
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
