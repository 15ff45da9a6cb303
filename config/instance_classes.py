"""The shape of an RDS instance class or an ElastiCache node type, and its family.

Only the shape and the family are checked here, per field; whether a region offers the size is a rule
across the class and the environment's region (config/rules.py).
"""

from __future__ import annotations

import re

DATABASE_CLASS = re.compile(r"^db\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|[0-9]*xlarge)$")
CACHE_NODE_TYPE = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|[0-9]*xlarge)$")


def check_class(value: str, pattern: re.Pattern[str], families: tuple[str, ...], example: str) -> str:
    """`value` if it matches `pattern` with a family in `families`, else ValueError showing `example`."""
    match = pattern.fullmatch(value)
    if not match:
        raise ValueError(f"must look like {example}")
    if match["family"] not in families:
        raise ValueError(f"unknown or non-Graviton instance family {match['family']!r}; allowed: {list(families)}")
    return value
