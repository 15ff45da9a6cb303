"""Fixtures of the construct tests: the PostgresDatabase test app, built and synthesised once per session."""

from __future__ import annotations

import pytest

from tests.constructs.postgres_fixture import PostgresApp, build_postgres_app


@pytest.fixture(scope="session")
def postgres() -> PostgresApp:
    """Two databases in one stack under every compliance pack (see ``postgres_fixture``)."""
    return build_postgres_app()
