"""CloudWatch Logs retention given in days, the unit config files use.

The days CloudWatch Logs accepts are listed once, in `accepted_values.LOG_RETENTION_DAYS` (the config
checks them without loading aws-cdk-lib); this module pairs each with aws-cdk-lib's member, in the
same ascending order. A test renders every pair and compares the template's `RetentionInDays`.
"""

from __future__ import annotations

from aws_cdk import aws_logs as logs

from platform_constructs.accepted_values import LOG_RETENTION_DAYS

#: aws-cdk-lib's finite retentions, shortest first: the members for `LOG_RETENTION_DAYS`, position by position.
_MEMBERS_BY_LENGTH = (
    logs.RetentionDays.ONE_DAY,
    logs.RetentionDays.THREE_DAYS,
    logs.RetentionDays.FIVE_DAYS,
    logs.RetentionDays.ONE_WEEK,
    logs.RetentionDays.TWO_WEEKS,
    logs.RetentionDays.ONE_MONTH,
    logs.RetentionDays.TWO_MONTHS,
    logs.RetentionDays.THREE_MONTHS,
    logs.RetentionDays.FOUR_MONTHS,
    logs.RetentionDays.FIVE_MONTHS,
    logs.RetentionDays.SIX_MONTHS,
    logs.RetentionDays.ONE_YEAR,
    logs.RetentionDays.THIRTEEN_MONTHS,
    logs.RetentionDays.EIGHTEEN_MONTHS,
    logs.RetentionDays.TWO_YEARS,
    logs.RetentionDays.THREE_YEARS,
    logs.RetentionDays.FIVE_YEARS,
    logs.RetentionDays.SIX_YEARS,
    logs.RetentionDays.SEVEN_YEARS,
    logs.RetentionDays.EIGHT_YEARS,
    logs.RetentionDays.NINE_YEARS,
    logs.RetentionDays.TEN_YEARS,
)
#: Every finite retention CloudWatch Logs accepts: days -> aws-cdk-lib's member.
RETENTION_BY_DAYS: dict[int, logs.RetentionDays] = dict(zip(LOG_RETENTION_DAYS, _MEMBERS_BY_LENGTH, strict=True))


def retention_from_days(days: int) -> logs.RetentionDays:
    """The RetentionDays member for `days`; ValueError naming the allowed values otherwise."""
    try:
        return RETENTION_BY_DAYS[days]
    except KeyError:
        raise ValueError(
            f"log retention: {days} days is not a CloudWatch Logs retention; allowed: {sorted(RETENTION_BY_DAYS)}"
        ) from None
