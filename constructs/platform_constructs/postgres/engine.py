"""What every part of the database agrees on: the engine, the instance classes, the names PostgreSQL and RDS
accept, and the runtime of the functions that work on the database."""

from __future__ import annotations

import re

from aws_cdk import aws_ec2 as ec2, aws_lambda as lambda_, aws_rds as rds

from platform_constructs.accepted_values import DEFAULT_POSTGRES_MAJOR, POSTGRES_INSTANCE_FAMILIES

#: Instance families the construct accepts: AWS Graviton only (better price/performance than x86).
GRAVITON_FAMILIES: tuple[str, ...] = POSTGRES_INSTANCE_FAMILIES
#: Engine version used when none is given: PostgreSQL 17 by its major version only, so RDS applies minor
#: upgrades (auto minor version upgrade) and the template never drifts from what runs.
DEFAULT_ENGINE_VERSION: rds.PostgresEngineVersion = rds.PostgresEngineVersion.of(
    DEFAULT_POSTGRES_MAJOR, DEFAULT_POSTGRES_MAJOR
)
#: Runtime and architecture of the functions that work on the database (rotation, bootstrap, maintenance).
FUNCTION_RUNTIME = lambda_.Runtime.PYTHON_3_14
FUNCTION_ARCHITECTURE = lambda_.Architecture.ARM_64
#: Log types exported to CloudWatch Logs; both are needed by the NIST/PCI logging checks.
LOG_EXPORTS: tuple[str, ...] = ("postgresql", "upgrade")
#: RDS Proxy for PostgreSQL always listens on this port, whatever the instances' port is.
PROXY_PORT = 5432

#: RDS instance identifiers: a letter first, lower-case letters, digits and single hyphens, no hyphen last.
IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$")
#: Longest base identifier: RDS allows 63 characters per instance and replicas append "-replicaN";
#: the proxy is named "<identifier>-proxy-<digest>" (60 characters at most, cut to fit).
MAX_IDENTIFIER_LENGTH = 63 - len("-replica5")
_PG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
RESERVED_DATABASE_NAMES = frozenset({"postgres", "template0", "template1", "rdsadmin"})
RESERVED_USERNAMES = frozenset({"rdsadmin", "rdsrepladmin", "rds_superuser", "rds_replication"})


def postgres_versions() -> frozenset[str]:
    """PostgreSQL versions aws-cdk-lib lists (``17``, ``17.9``, ...), majors 16 and later, each usable in
    ``rds.PostgresEngineVersion.of(version, major)``."""
    versions: set[str] = set()
    for attribute in dir(rds.PostgresEngineVersion):
        match = re.fullmatch(r"VER_(\d+)(?:_(\d+))?", attribute)
        if match and int(match[1]) >= 16:
            versions.add(match[1])
            if match[2] is not None:
                versions.add(f"{match[1]}.{match[2]}")
    return frozenset(versions)


def follows_minor_versions(engine_version: rds.PostgresEngineVersion) -> bool:
    """Whether RDS may apply minor upgrades: a major-only version ("17") follows them without drift from the
    template; a pinned minor ("17.9") turns them off, or RDS would upgrade past what the template says."""
    return engine_version.postgres_full_version == engine_version.postgres_major_version


def check_instance_type(name: str, instance_type: ec2.InstanceType) -> None:
    """A Graviton class (see ``GRAVITON_FAMILIES``), or ValueError naming `name`."""
    family = instance_type.to_string().removeprefix("db.").split(".")[0]
    if family not in GRAVITON_FAMILIES:
        raise ValueError(
            f"{name}: {instance_type.to_string()!r} is not a Graviton class; "
            f"allowed families: {', '.join(GRAVITON_FAMILIES)}"
        )


def check_pg_name(name: str, value: str, reserved: frozenset[str]) -> None:
    """A PostgreSQL identifier that RDS does not reserve, or ValueError naming `name`."""
    if not _PG_NAME.fullmatch(value) or value.lower() in reserved:
        raise ValueError(
            f"{name}: must be a letter then up to 62 letters, digits or underscores and not one of "
            f"{sorted(reserved)}, got {value!r}"
        )


def check_identifier(name: str, value: str, *, derived: bool = False) -> str:
    """An RDS identifier of at most ``MAX_IDENTIFIER_LENGTH`` characters, or ValueError naming `name`."""
    if len(value) > MAX_IDENTIFIER_LENGTH or not IDENTIFIER.fullmatch(value):
        origin = " (derived from the construct path when not given)" if derived else ""
        raise ValueError(
            f"{name}: must be 2 to {MAX_IDENTIFIER_LENGTH} lower-case letters, digits and single hyphens, "
            f"starting with a letter and not ending with a hyphen{origin}, got {value!r}"
        )
    return value
