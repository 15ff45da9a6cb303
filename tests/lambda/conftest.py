"""Fixtures for the PostgreSQL function tests: one real server per session, TLS in front of it, moto.

Every test module here is marked ``slow`` (it needs the server); ``make test-fast`` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from pg_testing import (  # type: ignore[import-not-found]
    Certificates,
    PostgresServer,
    ResponseServer,
    TlsProxy,
    load_function,
    load_pg_common,
    make_certificates,
    start_server,
)

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def tls_proxy(pg_server: PostgresServer, certificates: Certificates) -> Iterator[TlsProxy]:
    proxy = TlsProxy(pg_server.port, certificates)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call in the test, with fake credentials and a region."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def response_server() -> Iterator[ResponseServer]:
    server = ResponseServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def pg_common() -> ModuleType:
    module: ModuleType = load_pg_common()
    return module


@pytest.fixture(scope="session")
def bootstrap() -> ModuleType:
    module: ModuleType = load_function("database_bootstrap")
    return module


@pytest.fixture(scope="session")
def maintenance() -> ModuleType:
    module: ModuleType = load_function("database_maintenance")
    return module


@pytest.fixture(scope="session")
def rotation() -> ModuleType:
    module: ModuleType = load_function("secret_rotation")
    return module
