"""database_maintenance against a real server, on databases laid out as production lays them out: the
bootstrap creates them, the service creates its tables (so the master is not the tables' owner and
acts as it through SET ROLE, as on RDS)."""

from __future__ import annotations

import json
from datetime import date
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from pg_testing import (  # type: ignore[import-not-found]
    MASTER,
    MASTER_PASSWORD,
    TLS_HOST,
    Certificates,
    FakeLambdaContext,
    PostgresServer,
    TlsProxy,
    emf_documents,
    set_password,
)
from pydantic import ValidationError

pytestmark = pytest.mark.slow

LOGIN = "svc_maint"
OWNER = "svc_maint_owner"  # the bootstrap's owner role of LOGIN: owns what the service creates
ORDERS = "maint_orders"  # partitioned and plain tables
STATS = "maint_stats"  # the unused-index fixture, with pg_stat_statements
PLAIN = "maint_plain"  # no pg_stat_statements
TODAY = date(2026, 11, 15)


#: What the slowest-statement workload sleeps per call: three orders of magnitude above the other
#: statements it runs, which take well under a millisecond of execution, however busy the machine.
SLEEP_SECONDS = 0.2


def service_session(server: PostgresServer, database: str) -> Any:
    """Logged in as the service (a password here; IAM on RDS): its session starts as the owner role."""
    session = server.connect(LOGIN, "maint-password", database)
    assert session.run("SELECT current_user") == [[OWNER]]
    return session


@pytest.fixture(scope="module")
def databases(bootstrap: ModuleType, pg_server: PostgresServer) -> None:
    """Laid out as production: the bootstrap, then the service's own tables, made by the service."""
    spec = bootstrap.BootstrapSpec.model_validate(
        {"databases": [{"name": name, "owner_role": LOGIN} for name in (ORDERS, STATS, PLAIN)]}
    )
    bootstrap.converge(pg_server.master_connect_to(), spec)
    set_password(pg_server, LOGIN, "maint-password")

    as_owner = service_session(pg_server, ORDERS)
    try:
        as_owner.run(
            "CREATE TABLE bookings (id bigint, created_at timestamptz NOT NULL, seats int)"
            " PARTITION BY RANGE (created_at)"
        )
        as_owner.run(
            "CREATE TABLE bookings_y2026m11 PARTITION OF bookings FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')"
        )
        as_owner.run("CREATE TABLE events (id bigint, kind text NOT NULL) PARTITION BY LIST (kind)")
        as_owner.run("CREATE TABLE payments (id bigint PRIMARY KEY, amount numeric)")
        as_owner.run("INSERT INTO payments SELECT g, g * 1.5 FROM generate_series(1, 500) g")
        as_owner.run("CREATE TABLE refunds (id bigint PRIMARY KEY)")
        # A table the master can neither maintain nor SET ROLE to the owner of: the service made it
        # after SET ROLE NONE (RESET ROLE would return to the owner role, the login role's setting), so
        # its login role owns it (until the bootstrap's next run moves it).
        as_owner.run("SET ROLE NONE")
        assert as_owner.run("SELECT current_user") == [[LOGIN]]
        as_owner.run("CREATE TABLE stray_audit (id bigint)")
    finally:
        as_owner.close()

    fixture = service_session(pg_server, STATS)
    try:
        fixture.run(
            "CREATE TABLE tickets (id bigint PRIMARY KEY, code text UNIQUE, venue_id int, customer_id int,"
            " price numeric, EXCLUDE USING btree (price WITH =))"
        )
        fixture.run("CREATE INDEX tickets_venue_id_idx ON tickets (venue_id)")
        fixture.run("CREATE INDEX tickets_customer_id_idx ON tickets (customer_id)")
        fixture.run("CREATE TABLE venues (id bigint PRIMARY KEY, name text)")
        fixture.run("CREATE INDEX venues_name_idx ON venues (name)")
        fixture.run("INSERT INTO tickets SELECT g, 'T' || g, g % 10, g % 100, g FROM generate_series(1, 1000) g")
        fixture.run("ANALYZE tickets")
        # Scan tickets_venue_id_idx; every other non-unique index stays unused.
        fixture.run("SET enable_seqscan = off")
        assert fixture.run("SELECT count(*) FROM tickets WHERE venue_id = 3") == [[100]]
        fixture.run("SELECT pg_stat_force_next_flush()")
    finally:
        fixture.close()
    if "pg_stat_statements" in pg_server.preloaded:
        # On RDS the bootstrap creates it as the master (rds_superuser may); here only the superuser may.
        pg_server.sql("CREATE EXTENSION pg_stat_statements", STATS)
        # The library counts every statement since the server started, the fixture's own DDL and
        # CREATE EXTENSION included (any of them may take longer than a short sleep on a busy machine):
        # the workload's statements are the only ones in this database from here on.
        pg_server.sql("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = :d), 0)",
                      STATS, d=STATS)  # fmt: skip
        workload = service_session(pg_server, STATS)
        try:
            for _ in range(2):
                workload.run(f"SELECT pg_sleep({SLEEP_SECONDS})")
            for _ in range(5):
                workload.run("SELECT count(*) FROM tickets WHERE venue_id = 3")
                workload.run("SELECT count(*) FROM venues")
        finally:
            workload.close()


def partitions_of(server: PostgresServer, table: str) -> list[list[Any]]:
    connection = server.superuser(ORDERS)
    try:
        connection.run("SET TimeZone = 'UTC'")
        rows = connection.run(
            "SELECT c.relname, pg_get_userbyid(c.relowner), pg_get_expr(c.relpartbound, c.oid)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = :t::regclass ORDER BY 1",
            t=table,
        )
        return [list(row) for row in rows]
    finally:
        connection.close()


# --- partitions --------------------------------------------------------------------------------


def test_month_starts_cross_the_year(maintenance: ModuleType) -> None:
    assert maintenance.month_starts(date(2026, 11, 30), 3) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 2, 1),
    ]
    assert maintenance.month_starts(date(2026, 1, 1), 0) == [date(2026, 1, 1)]


def test_partitions_cover_this_month_and_the_next_ones_once(
    maintenance: ModuleType, pg_server: PostgresServer, databases: None, capsys: pytest.CaptureFixture[str]
) -> None:
    task = maintenance.PartitionsTask.model_validate(
        {
            "task": "partitions",
            "tables": [{"database": ORDERS, "table": "bookings", "column": "created_at", "months_ahead": 3}],
        }
    )
    first = maintenance.partitions(pg_server.master_connect_to(), task, today=TODAY)
    [result] = first.partitions
    assert result.status == "checked"
    assert result.existing == ["bookings_y2026m11"]
    assert result.created == ["bookings_y2026m12", "bookings_y2027m01", "bookings_y2027m02"]

    def bound(lower: str, upper: str) -> str:
        return f"FOR VALUES FROM ('{lower} 00:00:00+00') TO ('{upper} 00:00:00+00')"

    assert partitions_of(pg_server, "bookings") == [
        ["bookings_y2026m11", OWNER, bound("2026-11-01", "2026-12-01")],
        ["bookings_y2026m12", OWNER, bound("2026-12-01", "2027-01-01")],
        ["bookings_y2027m01", OWNER, bound("2027-01-01", "2027-02-01")],
        ["bookings_y2027m02", OWNER, bound("2027-02-01", "2027-03-01")],
    ]

    capsys.readouterr()
    maintenance.publish(first, maintenance.Metrics(namespace="Test/Database", service="database-maintenance"))
    [documents] = emf_documents(capsys.readouterr().out)
    assert documents["PartitionsCreated"] == [3.0]
    assert documents["MaintenanceProblems"] == [0.0]

    second = maintenance.partitions(pg_server.master_connect_to(), task, today=TODAY)
    assert second.partitions[0].created == []
    assert len(second.partitions[0].existing) == 4
    assert second.problems == 0
    assert len(partitions_of(pg_server, "bookings")) == 4


def test_tables_that_cannot_be_partitioned_are_reported_not_created(
    maintenance: ModuleType, pg_server: PostgresServer, databases: None
) -> None:
    task = maintenance.PartitionsTask.model_validate(
        {
            "task": "partitions",
            "tables": [
                {"database": ORDERS, "table": "payments", "column": "created_at"},
                {"database": ORDERS, "table": "ghosts", "column": "created_at"},
                {"database": ORDERS, "table": "events", "column": "kind"},
                {"database": "maint_missing", "table": "bookings", "column": "created_at"},
                {"database": ORDERS, "table": "bookings", "column": "created_at", "months_ahead": 0},
            ],
        }
    )
    report = maintenance.partitions(pg_server.master_connect_to(), task, today=TODAY)
    statuses = [(result.table, result.status) for result in report.partitions]
    assert statuses == [
        ("payments", "not partitioned"),
        ("ghosts", "missing"),
        ("events", "unsupported key"),
        ("bookings", "failed"),
        ("bookings", "checked"),
    ]
    assert 'database "maint_missing" does not exist' in report.partitions[3].detail
    assert report.problems == 4
    created = pg_server.sql("SELECT relname FROM pg_class WHERE relname ~ '^(payments|ghosts|events)_y'", ORDERS)
    assert created == []
    assert pg_server.sql("SELECT to_regclass('ghosts')", ORDERS) == [[None]]


# --- vacuum ------------------------------------------------------------------------------------


def test_vacuum_analyze_runs_per_table_and_reports_the_rest(
    maintenance: ModuleType, pg_server: PostgresServer, databases: None
) -> None:
    def last_maintenance() -> list[list[Any]]:
        rows: list[list[Any]] = pg_server.sql(
            "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables"
            " WHERE relname IN ('payments', 'refunds', 'stray_audit') ORDER BY 1",
            ORDERS,
        )
        return rows

    assert last_maintenance() == [
        ["payments", False, False],
        ["refunds", False, False],
        ["stray_audit", False, False],
    ]
    task = maintenance.VacuumTask.model_validate(
        {"task": "vacuum", "databases": {ORDERS: ["payments", "public.ghosts", "stray_audit", "refunds"]}}
    )
    report = maintenance.vacuum(pg_server.master_connect_to(), task)
    assert [(result.table, result.status) for result in report.vacuum] == [
        ("payments", "vacuumed"),
        ("public.ghosts", "missing"),
        ("stray_audit", "no privilege"),
        ("refunds", "vacuumed"),
    ]
    assert all(result.duration_seconds >= 0 for result in report.vacuum if result.status == "vacuumed")
    assert report.problems == 2
    maintenance.publish(report, maintenance.Metrics(namespace="Test/Database", service="database-maintenance"))
    assert last_maintenance() == [
        ["payments", True, True],
        ["refunds", True, True],
        ["stray_audit", False, False],
    ]


def test_vacuum_statement_timeout_fails_one_table_only(
    maintenance: ModuleType, pg_server: PostgresServer, databases: None
) -> None:
    blocker = service_session(pg_server, ORDERS)  # the service itself holds the lock
    try:
        blocker.run("BEGIN")
        blocker.run("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE")
        task = maintenance.VacuumTask.model_validate(
            {"task": "vacuum", "databases": {ORDERS: ["payments", "refunds"]}, "statement_timeout_seconds": 1}
        )
        report = maintenance.vacuum(pg_server.master_connect_to(), task)
    finally:
        blocker.run("ROLLBACK")
        blocker.close()
    payments, refunds = report.vacuum
    assert payments.status == "failed"
    assert "statement timeout" in payments.detail
    # Bounded by the timeout, not by the lock: a second, plus whatever a busy machine adds to it.
    assert 0.9 <= payments.duration_seconds < 120
    assert refunds.status == "vacuumed"


# --- report ------------------------------------------------------------------------------------


def test_report_lists_never_scanned_indexes_and_slowest_statements(
    maintenance: ModuleType,
    pg_server: PostgresServer,
    databases: None,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    task = maintenance.ReportTask.model_validate({"task": "report", "databases": [STATS, PLAIN], "top_statements": 3})
    report = maintenance.report(pg_server.master_connect_to(), task)
    stats, plain = report.databases

    # Primary keys, unique and exclusion constraints are never "unused"; the scanned index is not listed.
    assert {(index.table, index.index) for index in stats.unused_indexes} == {
        ("tickets", "tickets_customer_id_idx"),
        ("venues", "venues_name_idx"),
    }
    assert all(index.schema_name == "public" and index.size_bytes > 0 for index in stats.unused_indexes)
    assert plain.unused_indexes == []

    if "pg_stat_statements" in pg_server.preloaded:
        assert stats.slowest_statements is not None
        assert len(stats.slowest_statements) == 3
        slowest = stats.slowest_statements[0]
        assert "pg_sleep" in slowest.query
        assert slowest.calls == 2
        assert slowest.mean_exec_time_ms >= SLEEP_SECONDS * 1000 * 0.99
        assert slowest.total_exec_time_ms >= 2 * SLEEP_SECONDS * 1000 * 0.99
    else:
        assert "pg_stat_statements" in stats.statements_note
    assert plain.slowest_statements is None
    assert plain.statements_note == "pg_stat_statements is not installed in this database"
    assert report.problems == 0

    capsys.readouterr()
    maintenance.publish(report, maintenance.Metrics(namespace="Test/Database", service="database-maintenance"))
    output = capsys.readouterr().out
    documents = emf_documents(output)
    by_database = {doc.get("Database"): doc for doc in documents if "Database" in doc}
    assert by_database[STATS]["UnusedIndexes"] == [2.0]
    assert by_database[PLAIN]["UnusedIndexes"] == [0.0]
    assert by_database[STATS]["SlowestStatementMeanTime"][0] >= SLEEP_SECONDS * 1000 * 0.99
    assert by_database[STATS]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Test/Database"
    assert ["Database", "service"] in [
        sorted(d) for d in by_database[STATS]["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    ]
    [task_metrics] = [doc for doc in documents if doc.get("Task") == "report"]
    assert task_metrics["MaintenanceProblems"] == [0.0]
    [stats_log] = [
        getattr(record, "result", {})
        for record in caplog.records
        if record.getMessage() == "database report" and getattr(record, "result", {}).get("database") == STATS
    ]
    logged = {index["index"] for index in stats_log["unused_indexes"]}
    assert logged == {"tickets_customer_id_idx", "venues_name_idx"}


def test_report_of_a_database_the_master_cannot_reach_is_an_error_entry(
    maintenance: ModuleType, pg_server: PostgresServer, databases: None
) -> None:
    task = maintenance.ReportTask.model_validate({"task": "report", "databases": ["maint_missing", PLAIN]})
    report = maintenance.report(pg_server.master_connect_to(), task)
    missing, plain = report.databases
    assert 'database "maint_missing" does not exist' in missing.error
    assert plain.error == ""
    assert report.problems == 1


# --- handler -----------------------------------------------------------------------------------


@pytest.fixture
def environment(aws: None, monkeypatch: pytest.MonkeyPatch, tls_proxy: TlsProxy, certificates: Certificates) -> None:
    secret = boto3.client("secretsmanager").create_secret(
        Name="data/master", SecretString=json.dumps({"username": MASTER, "password": MASTER_PASSWORD})
    )
    monkeypatch.setenv("SECRET_ARN", secret["ARN"])
    monkeypatch.setenv("DB_HOST", TLS_HOST)
    monkeypatch.setenv("DB_PORT", str(tls_proxy.port))
    monkeypatch.setenv("CA_FILE", str(certificates.ca_file))
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test/Database")


def test_handler_runs_a_task_over_tls(
    maintenance: ModuleType, environment: None, tls_proxy: TlsProxy, databases: None
) -> None:
    sessions_before = len(tls_proxy.sessions)
    result = maintenance.handler({"task": "report", "databases": [STATS]}, FakeLambdaContext())
    assert result["problems"] == 0
    assert result["task"] == "report"
    assert {index["index"] for index in result["databases"][0]["unused_indexes"]} == {
        "tickets_customer_id_idx",
        "venues_name_idx",
    }
    assert len(tls_proxy.sessions) == sessions_before + 1


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "Unable to extract tag using discriminator 'task'"),
        ({"task": "defragment"}, "does not match any of the expected tags"),
        ({"task": "vacuum"}, "databases"),
        ({"task": "vacuum", "databases": {}}, "at least 1 item"),
        ({"task": "vacuum", "databases": {ORDERS: ["payments; DROP TABLE payments"]}}, "String should match pattern"),
        ({"task": "vacuum", "databases": {ORDERS: ["payments"]}, "statement_timeout_seconds": 0}, "greater than"),
        ({"task": "vacuum", "databases": {"postgres": ["pg_class"]}}, "system database"),
        (
            {
                "task": "partitions",
                "tables": [{"database": ORDERS, "table": "bookings", "column": "created_at", "months_ahead": -1}],
            },
            "greater than or equal to 0",
        ),
        ({"task": "partitions", "tables": [{"database": ORDERS, "table": "bookings"}]}, "column"),
        ({"task": "partitions", "tables": [{"database": ORDERS, "table": "b" * 55, "column": "c"}]}, "at most 54"),
        ({"task": "report", "databases": [PLAIN], "top": 5}, "Extra inputs"),
    ],
)
def test_malformed_events_raise_before_connecting(
    maintenance: ModuleType,
    environment: None,
    pg_server: PostgresServer,
    databases: None,
    monkeypatch: pytest.MonkeyPatch,
    event: dict[str, Any],
    message: str,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a malformed event must not reach the database")

    monkeypatch.setattr(maintenance, "connector", refuse)
    before = pg_server.sql("SELECT count(*) FROM pg_class", ORDERS)
    with pytest.raises(ValidationError, match=message):
        maintenance.handler(event, FakeLambdaContext())
    assert pg_server.sql("SELECT count(*) FROM pg_class", ORDERS) == before
