"""The arithmetic of a quota check: does the increase this deployment causes fit in what is left?

What the environments of this run already have (their own reservations, addresses, tasks: read from
their deployed stacks) is part of the account's usage *and* of what the templates ask for, so it
counts once: only the part of the request above it is new. Without that, every second run would
count the environment twice and fail.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Headroom:
    """One quota in one account and region.

    limit      the applied quota (for Lambda: what may be reserved, the concurrency quota less what Lambda
               keeps unreserved)
    in_use     what the whole account/region uses now, these environments' own usage included
    own        what these environments' deployed stacks use now (part of in_use)
    requested  what these environments' templates ask for in total once deployed
    """

    limit: float
    in_use: float
    own: float
    requested: float

    def __post_init__(self) -> None:
        if min(self.limit, self.in_use, self.own, self.requested) < 0:
            raise ValueError(f"quota figures cannot be negative: {self}")
        if self.own > self.in_use:
            raise ValueError(f"own usage {self.own} exceeds the account's usage {self.in_use}")

    @property
    def increase(self) -> float:
        """What the deployment adds: the request above what these environments already hold (never negative)."""
        return max(0.0, self.requested - self.own)

    @property
    def available(self) -> float:
        """What is left under the quota now (negative when the account is already above it)."""
        return self.limit - self.in_use

    @property
    def fits(self) -> bool:
        return self.increase <= self.available

    @property
    def shortfall(self) -> float:
        """How much the quota must rise for the deployment to fit (0 when it fits)."""
        return max(0.0, self.increase - self.available)


def amount(value: float) -> str:
    """A figure as the report prints it: whole numbers without a decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
