"""Typed configuration shared by the PostgreSQL functions: names, the master secret, the endpoint.

Names are deliberately narrower than what PostgreSQL accepts: lower case, digits and underscores,
starting with a letter or underscore, at most 63 bytes. Such a name means the same thing quoted or
unquoted, so what a service writes in SQL and what the platform created always match. Everything
is still quoted when it is put into SQL.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

_NAME = r"[a-z_][a-z0-9_]*"

#: Databases that exist on every RDS for PostgreSQL instance and are never a service's database.
SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})


def _not_reserved_role(name: str) -> str:
    if name.startswith("pg_") or name == "public":
        raise ValueError(f"{name!r} is reserved by PostgreSQL (names starting with 'pg_', and 'public')")
    return name


def _not_system_database(name: str) -> str:
    if name in SYSTEM_DATABASES:
        raise ValueError(f"{name!r} is a system database; allowed: any other name")
    return name


Identifier = Annotated[str, StringConstraints(pattern=rf"^{_NAME}$", max_length=63)]
RoleName = Annotated[Identifier, AfterValidator(_not_reserved_role)]
DatabaseName = Annotated[Identifier, AfterValidator(_not_system_database)]
#: Extension names may contain hyphens (``uuid-ossp``).
ExtensionName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]*$", max_length=63)]
#: ``table`` or ``schema.table``; the schema defaults to ``public``.
TableName = Annotated[str, StringConstraints(pattern=rf"^({_NAME}\.)?{_NAME}$", max_length=127)]


def split_table_name(name: str) -> tuple[str, str]:
    """``"bookings"`` -> ``("public", "bookings")``; ``"audit.events"`` -> ``("audit", "events")``."""
    schema, _, table = name.rpartition(".")
    return schema or "public", table


class MasterSecret(BaseModel):
    """The JSON that Secrets Manager holds for the RDS master user (other keys, e.g. ``engine``, are ignored)."""

    # A validation error must never echo the secret's values into a log.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    username: str = Field(min_length=1, max_length=63)
    password: SecretStr = Field(min_length=1)
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    dbname: str = Field(default="postgres", min_length=1, max_length=63)


class Endpoint(BaseModel):
    """Where the instance listens and the CA bundle its certificate chains to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    #: Path of the CA bundle inside the function's package; None only in tests against a local server.
    ca_file: str | None


def secret_string_to_dict(secret_string: str) -> dict[str, Any]:
    """Decode a secret's JSON object; anything else is a clear error, never the secret's text."""
    try:
        value = json.loads(secret_string)
    except json.JSONDecodeError as error:
        raise ValueError(f"the secret is not JSON (line {error.lineno}, column {error.colno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"the secret must be a JSON object, got {type(value).__name__}")
    return value
