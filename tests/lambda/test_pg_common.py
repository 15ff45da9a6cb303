"""pg_common: TLS is required and verified when a CA bundle is given; names and secrets are validated."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import ModuleType

import pytest
from pg_testing import (  # type: ignore[import-not-found]
    MASTER,
    MASTER_PASSWORD,
    TLS_HOST,
    Certificates,
    PostgresServer,
    TlsProxy,
)
from pydantic import TypeAdapter, ValidationError

pytestmark = pytest.mark.slow


def test_tls_with_the_right_ca_connects(pg_common: ModuleType, tls_proxy: TlsProxy, certificates: Certificates) -> None:
    sessions_before = len(tls_proxy.sessions)
    connection = pg_common.connect(
        TLS_HOST, tls_proxy.port, MASTER, MASTER_PASSWORD, "postgres", ca_file=str(certificates.ca_file)
    )
    try:
        assert pg_common.scalar(connection, "SELECT current_user") == MASTER
    finally:
        connection.close()
    assert len(tls_proxy.sessions) == sessions_before + 1
    assert tls_proxy.sessions[-1] in {"TLSv1.2", "TLSv1.3"}


def test_certificate_from_another_ca_is_refused(
    pg_common: ModuleType, tls_proxy: TlsProxy, certificates: Certificates
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        pg_common.connect(
            TLS_HOST, tls_proxy.port, MASTER, MASTER_PASSWORD, "postgres", ca_file=str(certificates.other_ca_file)
        )


def test_host_name_must_match_the_certificate(
    pg_common: ModuleType, tls_proxy: TlsProxy, certificates: Certificates
) -> None:
    # Same server, same CA, but reached by an address the certificate was not issued for.
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        pg_common.connect(
            "127.0.0.1", tls_proxy.port, MASTER, MASTER_PASSWORD, "postgres", ca_file=str(certificates.ca_file)
        )


def test_a_server_without_tls_is_refused_not_used_in_plain_text(
    pg_common: ModuleType, pg_server: PostgresServer, certificates: Certificates
) -> None:
    with pytest.raises(pg_common.InterfaceError, match="Server refuses SSL"):
        pg_common.connect(
            TLS_HOST, pg_server.port, MASTER, MASTER_PASSWORD, "postgres", ca_file=str(certificates.ca_file)
        )


def test_without_a_ca_file_the_connection_is_plain(pg_common: ModuleType, pg_server: PostgresServer) -> None:
    connection = pg_common.connect("127.0.0.1", pg_server.port, MASTER, MASTER_PASSWORD, "postgres", ca_file=None)
    try:
        assert pg_common.scalar(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
    finally:
        connection.close()


def test_quote_ident_round_trips_awkward_names(pg_common: ModuleType, pg_server: PostgresServer) -> None:
    awkward = 'Mixed Case "quoted"; DROP TABLE x'
    assert pg_common.quote_ident(awkward) == '"Mixed Case ""quoted""; DROP TABLE x"'
    connection = pg_server.superuser()
    try:
        assert connection.run(f"SELECT 1 AS {pg_common.quote_ident(awkward)}") == [[1]]
        assert connection.columns[0]["name"] == awkward
        literal = pg_common.quote_literal("it's")
        assert connection.run(f"SELECT {literal}") == [["it's"]]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("RoleName", "pg_signal"),
        ("RoleName", "public"),
        ("RoleName", "Svc_Events"),
        ("RoleName", "svc-events"),
        ("RoleName", "x" * 64),
        ("DatabaseName", "postgres"),
        ("DatabaseName", "rdsadmin"),
        ("DatabaseName", "1tickets"),
        ("TableName", "a.b.c"),
        ("TableName", "bookings;"),
    ],
)
def test_names_outside_the_allowed_pattern_are_refused(pg_common: ModuleType, type_name: str, value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(getattr(pg_common, type_name)).validate_python(value)


def test_table_names_default_to_the_public_schema(pg_common: ModuleType) -> None:
    assert pg_common.split_table_name("bookings") == ("public", "bookings")
    assert pg_common.split_table_name("audit.events") == ("audit", "events")


def test_an_invalid_secret_does_not_echo_its_values(pg_common: ModuleType) -> None:
    with pytest.raises(ValidationError) as raised:
        pg_common.MasterSecret.model_validate({"username": "master", "password": "hunter2-secret", "port": "x"})
    assert "hunter2-secret" not in str(raised.value)
    assert "port" in str(raised.value)
    secret = pg_common.MasterSecret.model_validate({"username": "master", "password": "hunter2-secret"})
    assert "hunter2-secret" not in repr(secret)
    assert secret.dbname == "postgres"


def test_the_bundled_rds_ca_file_loads(pg_common: ModuleType) -> None:
    bundle = Path(str(pg_common.__file__)).with_name("rds-ca-bundle.pem")
    if not bundle.exists():
        pytest.skip("lambda/pg_common/rds-ca-bundle.pem is written by tools/rds_ca_bundle.py")
    context = pg_common.tls_context(str(bundle))
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert len(context.get_ca_certs()) > 10
