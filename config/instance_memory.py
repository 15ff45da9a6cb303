"""Memory of an RDS instance class, and the `max_connections` RDS for PostgreSQL derives from it.

The database alarms measure connections against the instance's maximum and freeable memory against
its size, so they need both numbers at synthesis, without an AWS call. AWS sizes its classes by a
rule per family: burstable classes (t3, t4g) by their size name, general-purpose classes (m) at
4 GiB per vCPU, memory-optimised classes (r) at 8 GiB per vCPU, and `large` is 2 vCPUs, `xlarge`
4, `<n>xlarge` 4n (AWS's instance-type documentation). A class outside these families returns
None; the schema admits only Graviton t4g, m and r classes, which all follow a rule here.
"""

from __future__ import annotations

import re

#: RDS for PostgreSQL's default: max_connections = LEAST({DBInstanceClassMemory/9531392}, 5000).
BYTES_PER_CONNECTION = 9_531_392
MAX_CONNECTIONS_CEILING = 5000
GIB = 1024**3

_BURSTABLE_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
_GIB_PER_VCPU = {"m": 4, "r": 8}
_CLASS = re.compile(r"^db\.(?P<family>[a-z]+)(?P<generation>[0-9]+)(?P<options>[a-z-]*)\.(?P<size>[0-9a-z]+)$")
#: Variants with the family's memory per vCPU: Graviton (g), Intel (i), AMD (a), with local NVMe (d).
_FAMILY_MEMORY_OPTIONS = ("", "g", "i", "a", "d", "gd", "id")
_SIZE = re.compile(r"^(?P<times>[0-9]*)xlarge$")


def memory_gib(instance_class: str) -> int | None:
    """`db.r7g.xlarge` -> 32; None for a family without a rule here (x2g, z1d, c6gd, ...)."""
    match = _CLASS.fullmatch(instance_class)
    if match is None:
        return None
    family, options, size = match["family"], match["options"], match["size"]
    if family == "t" and options in ("", "g"):
        return _BURSTABLE_GIB.get(size)
    if family in _GIB_PER_VCPU and options in _FAMILY_MEMORY_OPTIONS:
        return _by_vcpu(family, size)
    return None


def _by_vcpu(family: str, size: str) -> int | None:
    if size == "large":
        vcpus = 2
    else:
        match = _SIZE.fullmatch(size)
        if match is None:
            return None
        vcpus = 4 * int(match["times"] or 1)
    return vcpus * _GIB_PER_VCPU[family]


def max_connections_of(gib: int) -> int:
    """RDS for PostgreSQL's default `max_connections` for an instance of `gib` GiB of memory."""
    return min(gib * GIB // BYTES_PER_CONNECTION, MAX_CONNECTIONS_CEILING)
