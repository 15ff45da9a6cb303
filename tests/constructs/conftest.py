"""Fixtures of the construct tests: the PostgresDatabase and RedisReplicationGroup test apps, each built and
synthesised once per session."""

from __future__ import annotations

import pytest

from tests.constructs.cache_fixture import CacheApp, build_cache_app
from tests.constructs.postgres_fixture import PostgresApp, build_postgres_app


@pytest.fixture(scope="session")
def postgres() -> PostgresApp:
    """Two databases in one stack under every compliance pack (see ``postgres_fixture``)."""
    return build_postgres_app()


@pytest.fixture(scope="session")
def cache() -> CacheApp:
    """Two replication groups in one stack under every compliance pack (see ``cache_fixture``)."""
    return build_cache_app()
