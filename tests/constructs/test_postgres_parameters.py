"""The parameter group (``parameters``)."""

from __future__ import annotations

from tests.constructs.postgres_fixture import (
    PostgresApp,
)


def test_parameter_group_values_shared_by_primary_and_replicas(postgres: PostgresApp) -> None:
    group = postgres.props(postgres.main.parameter_group)
    assert group["Parameters"] == {
        "shared_preload_libraries": "pg_stat_statements",
        "pg_stat_statements.track": "all",
        "log_min_duration_statement": "500",
        "log_autovacuum_min_duration": "1000",
        "idle_in_transaction_session_timeout": "60000",
        "rds.force_ssl": "1",
        "log_connections": "1",
        "log_disconnections": "1",
        "log_parameter_max_length": "0",
        "log_parameter_max_length_on_error": "0",
    }
    ref = {"Ref": postgres.id_of(postgres.main.parameter_group)}
    for instance in (postgres.main.primary, *postgres.main.replicas):
        assert postgres.props(instance)["DBParameterGroupName"] == ref
