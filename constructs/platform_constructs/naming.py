"""Names derived from other names."""

from __future__ import annotations

import re


def pascal_case(text: str) -> str:
    """`api-gateway` -> `ApiGateway`, `ticketing_events` -> `TicketingEvents`: construct ids and CloudWatch names."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", text))


def origin_header_secret_name(environment: str) -> str:
    """`ticketing/<env>/origin-header`: the secret holding the value of the header CloudFront sends to the ALB.

    A fixed name, so that the edge (us-east-1, the secret's replica) and the services stack resolve it by
    name, without a cross-stack output. Refer to it by this name, never by a partial ARN: a name that ends
    in a hyphen and six characters (`-header`) reads to Secrets Manager as a complete ARN's suffix.
    """
    return f"ticketing/{environment}/origin-header"
