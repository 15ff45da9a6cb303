"""Config of Lambda reserved concurrency per function: `[reserved_concurrency]`."""

from __future__ import annotations

from config.fields import Strict, bounded
from platform_constructs.limits import Limit

#: Reserved concurrency a function may be given: 0 is no reservation (the account's unreserved pool), never
#: "throttle every call" as Lambda's own 0 would be; this library caps it at 1000.
RESERVED_CONCURRENCY = Limit(0, 1000, "concurrent executions, 0 for none")


class ReservedConcurrencyConfig(Strict):
    """Lambda reserved concurrency per function (docs/tiers/data.md, "Reserved concurrency").

    A reservation takes that many executions from the account's quota for good, and Lambda keeps 100 of the
    quota unreserved: in an account whose quota is still 10 or 50, any reservation fails the deploy. Reserve
    only what a reservation protects; 0 is none.
    """

    database_maintenance: int = bounded(
        RESERVED_CONCURRENCY,
        "The maintenance jobs (one VACUUM per database, the partitions, the weekly report) start at the same "
        "minute; 1 runs them one after another on the primary (Lambda queues the others for up to six hours).",
        default=1,
    )
    database_bootstrap: int = bounded(
        RESERVED_CONCURRENCY, "The bootstrap: CloudFormation runs it once per deploy of the data stack.", default=0
    )
    secret_rotation: int = bounded(
        RESERVED_CONCURRENCY,
        "The master-password rotation: Secrets Manager already runs one rotation of a secret at a time.",
        default=0,
    )
    restore_drill: int = bounded(
        RESERVED_CONCURRENCY, "The restore drill's steps, started one at a time by its state machine.", default=0
    )
    commitment_coverage: int = bounded(
        RESERVED_CONCURRENCY, "The weekly commitment coverage report (a two-minute run).", default=0
    )
    unused_resources: int = bounded(RESERVED_CONCURRENCY, "The weekly unused-resource finder.", default=0)

    def of(self, function: str) -> int | None:
        """The reservation of `function` (a field name) for a construct: None when there is none."""
        if function not in type(self).model_fields:
            raise KeyError(
                f"reserved_concurrency.{function}: no such function; known: {', '.join(type(self).model_fields)}"
            )
        value: int = getattr(self, function)
        return value or None
