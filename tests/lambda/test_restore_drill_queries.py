"""The restore drill's sanity queries against a real PostgreSQL server standing in for the restored
instance: read-only, one number each, below the minimum a failure, and no write gets through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]
from pg_testing import MASTER, PostgresServer, load_function  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

DATABASE = "drill_bookings"
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
DRILL_ID = "ticketing-staging-drill-20261129-100000"


@pytest.fixture(scope="module")
def drill() -> ModuleType:
    module: ModuleType = load_function("restore_drill")
    return module


@pytest.fixture(scope="module")
def restored(pg_server: PostgresServer) -> PostgresServer:
    """What a restore would bring back: a bookings table with three rows."""
    pg_server.sql(f"DROP DATABASE IF EXISTS {DATABASE}")
    pg_server.sql(f"CREATE DATABASE {DATABASE}")
    pg_server.sql("CREATE TABLE bookings (id int PRIMARY KEY, status text NOT NULL)", DATABASE)
    pg_server.sql("INSERT INTO bookings VALUES (1, 'paid'), (2, 'paid'), (3, 'held')", DATABASE)
    pg_server.sql(f"GRANT SELECT, DELETE ON bookings TO {MASTER}", DATABASE)  # only read-only mode stops a delete
    return pg_server


def settings(drill: ModuleType, *queries: dict[str, Any]) -> Any:
    return drill.Settings(
        environment="staging",
        vault_name="ticketing-staging-backups",
        source_arn="arn:aws:rds:ap-northeast-2:222222222222:db:ticketing-staging-postgres",
        restore_role_arn="arn:aws:iam::222222222222:role/ticketing-staging-backup",
        subnet_group="g",
        security_group_id="sg-0123456789abcdef0",
        instance_class="db.t4g.medium",
        max_wait_minutes=180,
        queries=tuple(drill.Query.model_validate(q) for q in queries),
    )


def run(drill: ModuleType, server: PostgresServer, *queries: dict[str, Any]) -> Any:
    rds = boto3.client("rds", region_name="ap-northeast-2", aws_access_key_id="t", aws_secret_access_key="t")
    cloudwatch = boto3.client(
        "cloudwatch", region_name="ap-northeast-2", aws_access_key_id="t", aws_secret_access_key="t"
    )
    instance = {
        "DBInstanceStatus": "available",
        "MasterUsername": "postgres",
        "PendingModifiedValues": {},
        "Endpoint": {"Address": "restored.example", "Port": 5432},
    }
    state = drill.DrillState(
        drill_id=DRILL_ID,
        started_at=NOW,
        deadline=NOW + timedelta(hours=3),
        recovery_point_arn="arn:p",
        recovery_point_created_at=NOW - timedelta(hours=7),
        restore_job_id="r",
        status="ready",
    )
    with Stubber(rds) as rds_stub, Stubber(cloudwatch) as cloudwatch_stub:
        rds_stub.add_response("modify_db_instance", {}, None)
        rds_stub.add_response("describe_db_instances", {"DBInstances": [instance]}, None)
        cloudwatch_stub.add_response("put_metric_data", {}, None)
        return drill.verify(
            rds,
            cloudwatch,
            settings(drill, *queries),
            state,
            clock=lambda: NOW + timedelta(minutes=40),
            sleep=lambda s: None,
            connect_with=lambda host, port, user, password, database: server.master(database),
        )


def test_counts_at_or_above_their_minimum_pass(drill: ModuleType, restored: PostgresServer) -> None:
    result = run(
        drill,
        restored,
        {"database": DATABASE, "sql": "SELECT count(*) FROM bookings", "min_rows": 3},
        {
            "database": DATABASE,
            "sql": "WITH paid AS (SELECT * FROM bookings WHERE status = 'paid') SELECT count(*) FROM paid",
            "min_rows": 1,
        },
    )
    assert [r.value for r in result.results] == [3.0, 2.0]
    assert result.recovery_time_seconds == 40 * 60


def test_a_count_below_its_minimum_fails_the_drill(drill: ModuleType, restored: PostgresServer) -> None:
    with pytest.raises(drill.DrillError, match=r"returned 3, below 4"):
        run(drill, restored, {"database": DATABASE, "sql": "SELECT count(*) FROM bookings", "min_rows": 4})


def test_a_write_disguised_as_a_query_is_refused_by_the_read_only_transaction(
    drill: ModuleType, restored: PostgresServer
) -> None:
    sneaky = "WITH gone AS (DELETE FROM bookings RETURNING 1) SELECT count(*) FROM gone"
    drill.Query.model_validate({"database": DATABASE, "sql": sneaky})  # the SELECT-only check lets it through
    with pytest.raises(Exception, match="read-only transaction"):
        run(drill, restored, {"database": DATABASE, "sql": sneaky})
    assert restored.sql("SELECT count(*) FROM bookings", DATABASE) == [[3]]
