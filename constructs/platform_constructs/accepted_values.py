"""Values AWS (or this library) accepts that both the constructs and the environment config check.

Plain Python, no aws-cdk-lib import: the config schema validates an environment file against these
before any construct exists, and loading aws-cdk-lib (which starts Node.js) only to read a tuple would
make every config check pay for it. The constructs that take these values import them from here and
check them too, so a value the config accepts is never refused later by a construct.
"""

from __future__ import annotations

from platform_constructs.limits import Limit

# --- CloudWatch Logs ----------------------------------------------------------------------------
#: Every finite retention CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# --- RDS for PostgreSQL -------------------------------------------------------------------------
#: Graviton instance families the database construct accepts (db.<family>.<size>).
POSTGRES_INSTANCE_FAMILIES: tuple[str, ...] = ("t4g", "m6g", "m7g", "m8g", "r6g", "r7g", "r8g")
#: PostgreSQL major version used when none is given: RDS then applies minor upgrades itself.
DEFAULT_POSTGRES_MAJOR = "17"
#: PostgreSQL versions (majors 16 and later, and their minors) aws-cdk-lib's ``PostgresEngineVersion``
#: lists; a test compares this with the installed aws-cdk-lib, so an upgrade that adds one fails until
#: it is added here.
POSTGRES_VERSIONS: frozenset[str] = frozenset(
    {"16", *(f"16.{minor}" for minor in range(1, 14))}
    | {"17", *(f"17.{minor}" for minor in range(1, 10))}
    | {"18", *(f"18.{minor}" for minor in range(1, 4))}
)

# --- ElastiCache (Valkey, Redis OSS) ------------------------------------------------------------
#: Graviton node families the cache construct accepts (cache.<family>.<size>).
CACHE_NODE_FAMILIES: tuple[str, ...] = ("t4g", "m6g", "m7g", "m8g", "r6g", "r7g", "r8g", "c8gn")
#: Engine versions CloudFormation accepts for replication groups that the cache construct supports,
#: with their parameter-group family. Redis OSS below 7.0 is excluded: TransitEncryptionMode needs
#: 7.0.5+. Valkey 9.x is left out until its parameter-group family is confirmed.
CACHE_ENGINE_VERSIONS: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8", "8.2": "valkey8"},
    "redis": {"7.0": "redis7", "7.1": "redis7"},
}
#: Every ``maxmemory-policy`` value Valkey and Redis OSS 7 know.
EVICTION_POLICIES: tuple[str, ...] = (
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
)

# --- Application Load Balancer ------------------------------------------------------------------
#: An ALB rule holds at most 5 condition values in all (each header value and path pattern counts).
MAX_RULE_CONDITION_VALUES = 5
#: The origin header has one value, or two while it rotates or moves to another secret.
MAX_HEADER_VALUES = 2

# --- AWS WAF -------------------------------------------------------------------------------------
#: Requests per window and client IP a rate-based rule accepts (10 is AWS WAF's floor).
WAF_RATE_LIMIT_REQUESTS = Limit(10, 2_000_000_000, "requests")
#: The evaluation windows AWS WAF offers for a rate-based rule, in seconds.
WAF_RATE_WINDOWS_SECONDS: tuple[int, ...] = (60, 120, 300, 600)
