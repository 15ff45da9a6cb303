"""Names derived from other names."""

from __future__ import annotations

import re

# Physical names live in `physical_names`; this name is importable from here while callers move over.
from platform_constructs.physical_names import origin_header_secret_name

__all__ = ["origin_header_secret_name", "pascal_case"]


def pascal_case(text: str) -> str:
    """`api-gateway` -> `ApiGateway`, `ticketing_events` -> `TicketingEvents`: construct ids and CloudWatch names."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", text))
