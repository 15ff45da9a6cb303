"""Names derived from other names."""

from __future__ import annotations

import re


def pascal_case(text: str) -> str:
    """`api-gateway` -> `ApiGateway`, `ticketing_events` -> `TicketingEvents`: construct ids and CloudWatch names."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", text))
