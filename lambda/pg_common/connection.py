"""Opening PostgreSQL connections (TLS verified against a CA bundle) and small SQL helpers.

Connections are pg8000 "native" connections: every statement runs in autocommit unless the caller
sends BEGIN, which is what DDL such as CREATE DATABASE and VACUUM need. Parameters are named
(``:name``); identifiers and literals that cannot be parameters (DDL) go through ``quote_ident`` and
``quote_literal``.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import pg8000.native  # type: ignore[import-untyped]

#: Socket timeout for connecting and for each reply from the server. Long statements (VACUUM) need a
#: larger value than their statement_timeout, or the client gives up before the server does.
DEFAULT_TIMEOUT_SECONDS = 30.0

#: The error pg8000 raises for an error reported by the server (its ``args[0]`` holds the fields).
DatabaseError: type[Exception] = pg8000.native.DatabaseError
#: The error pg8000 raises when it cannot talk to the server at all (refused, TLS refused, closed).
InterfaceError: type[Exception] = pg8000.native.InterfaceError

#: SQLSTATE codes the functions act on.
INSUFFICIENT_PRIVILEGE = "42501"
INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"


class Connection(Protocol):
    """What the functions need from a connection (pg8000.native.Connection provides it)."""

    def run(self, sql: str, stream: Any = None, types: Any = None, **params: Any) -> Any: ...

    def close(self) -> None: ...


#: Opens a connection to the named database; injected into the work functions so tests pass real ones.
ConnectTo = Callable[[str], Connection]


def tls_context(ca_file: str) -> ssl.SSLContext:
    """A client context that requires TLS 1.2+, a certificate chaining to ``ca_file`` and a matching host name."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def connect(
    host: str,
    port: int,
    user: str,
    password: str,
    database: str,
    *,
    ca_file: str | None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    application_name: str | None = None,
) -> Connection:
    """Open a connection; with ``ca_file`` the server must speak TLS with a certificate valid for ``host``.

    A server that refuses TLS, a certificate from another CA and a host-name mismatch all raise
    before any credential is sent. ``ca_file=None`` means plain TCP (tests against a local server
    only; the deployed functions always pass the RDS CA bundle).
    """
    ssl_context: ssl.SSLContext | bool = False if ca_file is None else tls_context(ca_file)
    connection: Connection = pg8000.native.Connection(
        user=user,
        password=password,
        host=host,
        port=port,
        database=database,
        ssl_context=ssl_context,
        timeout=timeout_seconds,
        application_name=application_name,
    )
    return connection


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL text (pg8000's rules: double quotes, embedded quotes doubled)."""
    quoted: str = pg8000.native.identifier(name)
    return quoted


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL text where a parameter is not allowed (DDL)."""
    quoted: str = pg8000.native.literal(value)
    return quoted


def query(connection: Connection, sql: str, **params: Any) -> list[list[Any]]:
    """Run ``sql`` and return its rows (an empty list for statements without rows)."""
    rows = connection.run(sql, **params)
    return [list(row) for row in rows] if rows else []


def scalar(connection: Connection, sql: str, **params: Any) -> Any:
    """The first column of the first row, or None when there is no row."""
    rows = query(connection, sql, **params)
    return rows[0][0] if rows else None


@contextmanager
def as_role(connection: Connection, role: str) -> Iterator[None]:
    """Run the block with ``SET ROLE role``, then return to the session user."""
    connection.run(f"SET ROLE {quote_ident(role)}")
    try:
        yield
    finally:
        connection.run("RESET ROLE")


def sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of an error reported by the server, None for any other error."""
    fields = error.args[0] if error.args else None
    return fields.get("C") if isinstance(fields, dict) else None


def server_message(error: BaseException) -> str:
    """The server's message for a server error (``str(error)`` for anything else)."""
    fields = error.args[0] if error.args else None
    if isinstance(fields, dict) and "M" in fields:
        return str(fields["M"])
    return str(error)


def server_version_num(connection: Connection) -> int:
    """``server_version_num``, e.g. 170004 for 17.4."""
    return int(scalar(connection, "SELECT current_setting('server_version_num')"))


def connector(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    ca_file: str | None,
    timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS,
    application_name: str | None = None,
) -> ConnectTo:
    """A ``ConnectTo`` that opens connections to any database of one server with one set of credentials."""

    def connect_to(database: str) -> Connection:
        return connect(
            host,
            port,
            user,
            password,
            database,
            ca_file=ca_file,
            timeout_seconds=timeout_seconds,
            application_name=application_name,
        )

    return connect_to
