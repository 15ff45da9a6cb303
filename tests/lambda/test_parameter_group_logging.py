"""The database's parameter group keeps bind parameter values out of the PostgreSQL log.

Slow statements (log_min_duration_statement) and failed ones are logged; with the parameter group's
log_* settings applied, a real server writes the statement but never the value bound to it. The control
case (PostgreSQL's defaults) shows the same statement leaking the value, so the test can fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from pg_testing import PostgresServer  # type: ignore[import-not-found]

from tests.conftest import SynthesizedEnvironment

pytestmark = pytest.mark.slow

#: What a service binds: a card number stands for the payment and personal data the logs must not keep.
SECRET_PREFIX = "4111111111111111-"


def parameter_group_settings(platform: Callable[[str], SynthesizedEnvironment], name: str) -> dict[str, str]:
    """The log_* parameters of the environment's PostgreSQL parameter group, from its synthesised template."""
    template = platform(name).template_json("Data")
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::RDS::DBParameterGroup"]
    assert len(groups) == 1, "one parameter group, shared by the primary and the replicas"
    parameters: Mapping[str, str] = groups[0]["Properties"]["Parameters"]
    return {key: str(value) for key, value in parameters.items() if key.startswith("log_parameter_max_length")}


def logged_after(server: PostgresServer, settings: Mapping[str, str]) -> tuple[str, str]:
    """Run a slow statement and a failing one, each with a bound value, under `settings`; return the value
    and what the server log gained meanwhile."""
    log = server.base / "server.log"
    start = log.stat().st_size
    value = SECRET_PREFIX + uuid.uuid4().hex
    connection = server.superuser()
    try:
        for key, setting in {**settings, "log_min_duration_statement": "0"}.items():
            connection.run(f"SET {key} = {int(setting)}")
        connection.run("SELECT length(CAST(:card AS text))", card=value)  # logged as slow (every statement)
        with pytest.raises(Exception, match="division by zero"):
            connection.run("SELECT length(CAST(:card AS text)) / 0", card=value)  # logged as an error
    finally:
        connection.close()
    with log.open("rb") as handle:
        handle.seek(start)
        return value, handle.read().decode("utf-8", errors="replace")


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_slow_and_failed_statements_are_logged_without_their_bind_values(
    pg_server: PostgresServer, platform: Callable[[str], SynthesizedEnvironment], name: str
) -> None:
    settings = parameter_group_settings(platform, name)
    assert set(settings) == {"log_parameter_max_length", "log_parameter_max_length_on_error"}
    value, written = logged_after(pg_server, settings)
    assert "SELECT length(CAST($1 AS text))" in written, f"the slow statement must still be logged:\n{written}"
    assert "division by zero" in written, f"the failure must still be logged:\n{written}"
    assert value not in written


def test_the_control_without_those_settings_leaks_the_value(pg_server: PostgresServer) -> None:
    """PostgreSQL's defaults (-1 for statements, full values in error reports when asked): the value shows."""
    settings: dict[str, Any] = {"log_parameter_max_length": "-1", "log_parameter_max_length_on_error": "-1"}
    value, written = logged_after(pg_server, settings)
    assert value in written
