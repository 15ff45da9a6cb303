"""Scheduled PostgreSQL maintenance, one task per EventBridge Scheduler invocation.

Events (validated before any connection is opened; unknown keys are refused):

- ``{"task": "vacuum", "databases": {"ticketing_orders": ["bookings", "audit.events"]},
  "statement_timeout_seconds": 300}``: ``VACUUM (ANALYZE)`` each table, one statement at a time.
- ``{"task": "partitions", "tables": [{"database": "ticketing_orders", "table": "bookings",
  "column": "created_at", "months_ahead": 3}]}``: monthly range partitions ``<table>_yYYYYmMM`` for
  the current month (UTC) and ``months_ahead`` months after it.
- ``{"task": "report", "databases": ["ticketing_orders"], "top_statements": 10}``: indexes never
  scanned and the slowest statements, as structured logs and CloudWatch metrics (EMF).

Environment: ``SECRET_ARN`` (master secret), ``DB_HOST``, ``DB_PORT``, ``CA_FILE`` (CA bundle path in
the package); Powertools reads ``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE``
(default here: ``Platform/Database``).

A problem with one table (missing, not partitioned, timed out, no privilege) is reported and the
others still run; the ``MaintenanceProblems`` metric counts them, so an alarm can watch it.

The master user owns none of the services' tables and does not inherit their owners' privileges
(see database_bootstrap). VACUUM and CREATE TABLE ... PARTITION OF run as the table's owner
(``SET ROLE`` to the service's NOLOGIN owner role, the only service role the bootstrap lets the master
SET), or directly when the master may already maintain the table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import boto3  # type: ignore[import-untyped]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pg_common import (
    Connection,
    ConnectTo,
    DatabaseError,
    DatabaseName,
    Identifier,
    SecretsClient,
    TableName,
    as_role,
    connector,
    query,
    quote_ident,
    quote_literal,
    read_master_secret,
    scalar,
    server_message,
    server_version_num,
    split_table_name,
)
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

SERVICE = "database-maintenance"
DEFAULT_NAMESPACE = "Platform/Database"
MAX_QUERY_CHARS = 1000
MAX_PARTITIONED_TABLE_NAME = 63 - len("_yYYYYmMM")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)


# --- Events ------------------------------------------------------------------------------------


class VacuumTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["vacuum"]
    #: database -> tables (``table`` or ``schema.table``), vacuumed in the order given
    databases: dict[DatabaseName, list[TableName]] = Field(min_length=1)
    #: per statement; keep the sum below the function's timeout
    statement_timeout_seconds: int = Field(default=300, ge=1, le=900)


class PartitionedTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    database: DatabaseName
    #: ``table`` or ``schema.table``; the partition name ``<table>_yYYYYmMM`` must fit in 63 bytes
    table: TableName
    #: the range partition key: a date, timestamp or timestamptz column
    column: Identifier
    months_ahead: int = Field(default=3, ge=0, le=24)

    @model_validator(mode="after")
    def _partition_names_fit(self) -> PartitionedTable:
        table = split_table_name(self.table)[1]
        if len(table) > MAX_PARTITIONED_TABLE_NAME:
            raise ValueError(
                f"table: {table!r} is {len(table)} characters; partition names add 9 ('_yYYYYmMM') and "
                f"PostgreSQL truncates names at 63, so at most {MAX_PARTITIONED_TABLE_NAME} are allowed"
            )
        return self


class PartitionsTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["partitions"]
    tables: list[PartitionedTable] = Field(min_length=1)
    statement_timeout_seconds: int = Field(default=60, ge=1, le=900)


class ReportTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Literal["report"]
    databases: list[DatabaseName] = Field(min_length=1)
    top_statements: int = Field(default=10, ge=1, le=100)
    statement_timeout_seconds: int = Field(default=60, ge=1, le=900)


MaintenanceEvent = Annotated[VacuumTask | PartitionsTask | ReportTask, Field(discriminator="task")]
EVENT_ADAPTER: TypeAdapter[VacuumTask | PartitionsTask | ReportTask] = TypeAdapter(MaintenanceEvent)


class Settings(BaseModel):
    """The function's environment."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    secret_arn: str = Field(alias="SECRET_ARN", min_length=1)
    db_host: str = Field(alias="DB_HOST", min_length=1)
    db_port: int = Field(alias="DB_PORT", ge=1, le=65535)
    ca_file: str = Field(alias="CA_FILE", min_length=1)


# --- Results -----------------------------------------------------------------------------------


class VacuumResult(BaseModel):
    database: str
    table: str
    status: Literal["vacuumed", "missing", "not a table", "no privilege", "failed"]
    duration_seconds: float | None = None
    detail: str = ""


class PartitionResult(BaseModel):
    database: str
    table: str
    status: Literal["checked", "missing", "not partitioned", "unsupported key", "failed"]
    created: list[str] = Field(default_factory=list)
    existing: list[str] = Field(default_factory=list)
    detail: str = ""


class UnusedIndex(BaseModel):
    schema_name: str
    table: str
    index: str
    size_bytes: int


class StatementStats(BaseModel):
    queryid: int | None
    calls: int
    total_exec_time_ms: float
    mean_exec_time_ms: float
    query: str


class DatabaseReport(BaseModel):
    database: str
    stats_reset: str | None = None
    unused_indexes: list[UnusedIndex] = Field(default_factory=list)
    #: None when the statistics could not be read; ``statements_note`` says why
    slowest_statements: list[StatementStats] | None = None
    statements_note: str = ""
    error: str = ""


class TaskReport(BaseModel):
    task: str
    vacuum: list[VacuumResult] = Field(default_factory=list)
    partitions: list[PartitionResult] = Field(default_factory=list)
    databases: list[DatabaseReport] = Field(default_factory=list)

    @property
    def problems(self) -> int:
        """Results that need a person: anything not done as asked, or a database that could not be read."""
        return (
            sum(result.status != "vacuumed" for result in self.vacuum)
            + sum(result.status != "checked" for result in self.partitions)
            + sum(bool(report.error) for report in self.databases)
        )


# --- Shared ------------------------------------------------------------------------------------


@contextmanager
def _session(connect_to: ConnectTo, database: str, statement_timeout_seconds: int) -> Iterator[Connection]:
    """A connection with a statement timeout, in UTC so month boundaries do not depend on the server's TimeZone.

    A server error while connecting (no such database, CONNECT not granted) is a DatabaseError the
    tasks report for that database; a network or TLS failure stops the whole task.
    """
    connection = connect_to(database)
    try:
        connection.run(
            "SELECT set_config('statement_timeout', :timeout, false), set_config('TimeZone', 'UTC', false)",
            timeout=f"{statement_timeout_seconds}s",
        )
        yield connection
    finally:
        connection.close()


def _resolve(connection: Connection, schema: str, table: str) -> tuple[int, str, str] | None:
    """(oid, relkind, owner) of ``schema.table``, or None when there is no such relation."""
    rows = query(
        connection,
        "SELECT c.oid, c.relkind, pg_get_userbyid(c.relowner) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relname = :table",
        schema=schema,
        table=table,
    )
    if not rows:
        return None
    oid, relkind, owner = rows[0]
    return int(oid), str(relkind), str(owner)


@contextmanager
def _as_table_owner(
    connection: Connection, oid: int, owner: str, privilege: Literal["MAINTAIN", "OWNER"]
) -> Iterator[bool]:
    """Yields True while the session may ``privilege`` the table (MAINTAIN, or owner-only DDL).

    Directly when the master already may (superuser, inherited ownership, or PostgreSQL 17's
    MAINTAIN privilege); otherwise as the owner, when the master can ``SET ROLE`` to it.
    """
    direct = scalar(connection, "SELECT pg_has_role(current_user, :owner, 'USAGE')", owner=owner)
    if not direct and privilege == "MAINTAIN" and server_version_num(connection) >= 170000:
        direct = scalar(connection, "SELECT has_table_privilege(CAST(:oid AS oid), 'MAINTAIN')", oid=oid)
    if direct:
        yield True
        return
    if scalar(connection, "SELECT pg_has_role(current_user, :owner, 'SET')", owner=owner):
        with as_role(connection, owner):
            yield True
        return
    yield False


# --- vacuum ------------------------------------------------------------------------------------


def vacuum(connect_to: ConnectTo, task: VacuumTask) -> TaskReport:
    """``VACUUM (ANALYZE)`` each listed table; a failure is recorded and the next table still runs."""
    report = TaskReport(task="vacuum")
    for database, tables in task.databases.items():
        results: list[VacuumResult] = []
        try:
            with _session(connect_to, database, task.statement_timeout_seconds) as connection:
                for name in tables:
                    results.append(_vacuum_table(connection, database, name))
        except DatabaseError as error:
            results += [
                VacuumResult(database=database, table=name, status="failed", detail=server_message(error))
                for name in tables[len(results) :]
            ]
        report.vacuum += results
    return report


def _vacuum_table(connection: Connection, database: str, name: str) -> VacuumResult:
    schema, table = split_table_name(name)
    found = _resolve(connection, schema, table)
    if found is None:
        return VacuumResult(database=database, table=name, status="missing", detail=f"no relation {schema}.{table}")
    oid, relkind, owner = found
    if relkind not in ("r", "p", "m"):
        return VacuumResult(database=database, table=name, status="not a table", detail=f"relkind {relkind!r}")
    statement = f"VACUUM (ANALYZE) {quote_ident(schema)}.{quote_ident(table)}"
    with _as_table_owner(connection, oid, owner, "MAINTAIN") as allowed:
        if not allowed:
            # VACUUM would only warn and skip the table: say so instead of reporting success.
            return VacuumResult(
                database=database,
                table=name,
                status="no privilege",
                detail=f"the master user can neither maintain {schema}.{table} nor SET ROLE {owner}",
            )
        started = time.monotonic()
        try:
            connection.run(statement)
        except DatabaseError as error:
            return VacuumResult(
                database=database,
                table=name,
                status="failed",
                duration_seconds=round(time.monotonic() - started, 3),
                detail=server_message(error),
            )
    duration = round(time.monotonic() - started, 3)
    return VacuumResult(database=database, table=name, status="vacuumed", duration_seconds=duration)


# --- partitions --------------------------------------------------------------------------------


def month_starts(today: date, months_ahead: int) -> list[date]:
    """The first day of ``today``'s month and of each of the ``months_ahead`` months after it."""
    starts = [today.replace(day=1)]
    for _ in range(months_ahead):
        starts.append(_next_month(starts[-1]))
    return starts


def _next_month(start: date) -> date:
    return date(start.year + 1, 1, 1) if start.month == 12 else date(start.year, start.month + 1, 1)


def partition_name(table: str, start: date) -> str:
    return f"{table}_y{start.year:04d}m{start.month:02d}"


def partitions(connect_to: ConnectTo, task: PartitionsTask, *, today: date) -> TaskReport:
    """Create the missing monthly partitions of each configured table; never creates a parent table."""
    report = TaskReport(task="partitions")
    for spec in task.tables:
        try:
            with _session(connect_to, spec.database, task.statement_timeout_seconds) as connection:
                report.partitions.append(_ensure_partitions(connection, spec, today))
        except DatabaseError as error:
            report.partitions.append(
                PartitionResult(database=spec.database, table=spec.table, status="failed", detail=server_message(error))
            )
    return report


def _ensure_partitions(connection: Connection, spec: PartitionedTable, today: date) -> PartitionResult:
    schema, table = split_table_name(spec.table)
    result = PartitionResult(database=spec.database, table=spec.table, status="checked")
    found = _resolve(connection, schema, table)
    if found is None:
        return result.model_copy(update={"status": "missing", "detail": f"no relation {schema}.{table}"})
    oid, relkind, owner = found
    if relkind != "p":
        return result.model_copy(update={"status": "not partitioned", "detail": f"{schema}.{table} is not partitioned"})
    key = query(
        connection,
        "SELECT p.partstrat, p.partnatts, a.attname, format_type(a.atttypid, a.atttypmod)"
        " FROM pg_partitioned_table p"
        " LEFT JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]"
        " WHERE p.partrelid = CAST(:oid AS oid)",
        oid=oid,
    )
    strategy, key_columns, column, column_type = key[0]
    supported_types = ("date", "timestamp without time zone", "timestamp with time zone")
    if strategy != "r" or key_columns != 1 or column != spec.column or column_type not in supported_types:
        detail = (
            f"{schema}.{table} must be partitioned BY RANGE ({spec.column}) on a date or timestamp column; "
            f"it is partitioned by strategy {strategy!r} on {column or 'an expression'} ({column_type})"
        )
        return result.model_copy(update={"status": "unsupported key", "detail": detail})

    attached = {
        row[0]
        for row in query(
            connection,
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = CAST(:oid AS oid)",
            oid=oid,
        )
    }
    problems: list[str] = []
    with _as_table_owner(connection, oid, owner, "OWNER") as allowed:
        if not allowed:
            return result.model_copy(
                update={
                    "status": "failed",
                    "detail": f"the master user cannot SET ROLE {owner}, who owns {schema}.{table}",
                }
            )
        for start in month_starts(today, spec.months_ahead):
            name = partition_name(table, start)
            if name in attached:
                result.existing.append(name)
                continue
            if _resolve(connection, schema, name) is not None:
                problems.append(f"{schema}.{name} exists but is not a partition of {schema}.{table}")
                continue
            lower, upper = quote_literal(start.isoformat()), quote_literal(_next_month(start).isoformat())
            statement = (
                f"CREATE TABLE {quote_ident(schema)}.{quote_ident(name)}"
                f" PARTITION OF {quote_ident(schema)}.{quote_ident(table)} FOR VALUES FROM ({lower}) TO ({upper})"
            )
            try:
                connection.run(statement)
                result.created.append(name)
            except DatabaseError as error:
                problems.append(f"{name}: {server_message(error)}")
    if problems:
        return result.model_copy(update={"status": "failed", "detail": "; ".join(problems)})
    return result


# --- report ------------------------------------------------------------------------------------

UNUSED_INDEXES = """
SELECT s.schemaname, s.relname, s.indexrelname, pg_relation_size(s.indexrelid)
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion
ORDER BY pg_relation_size(s.indexrelid) DESC, s.schemaname, s.relname, s.indexrelname
"""

# Columns that exist on PostgreSQL 16 and later (17 renamed the blk_*_time I/O timing columns).
SLOWEST_STATEMENTS = """
SELECT queryid, calls, total_exec_time, mean_exec_time, query
FROM {schema}.pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY mean_exec_time DESC
LIMIT :limit
"""


def report(connect_to: ConnectTo, task: ReportTask) -> TaskReport:
    """Unused indexes and the slowest statements of each database."""
    result = TaskReport(task="report")
    for database in task.databases:
        try:
            with _session(connect_to, database, task.statement_timeout_seconds) as connection:
                result.databases.append(_database_report(connection, database, task.top_statements))
        except DatabaseError as error:
            result.databases.append(DatabaseReport(database=database, error=server_message(error)))
    return result


def _database_report(connection: Connection, database: str, top_statements: int) -> DatabaseReport:
    stats_reset = scalar(connection, "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
    result = DatabaseReport(
        database=database,
        stats_reset=stats_reset.isoformat() if isinstance(stats_reset, datetime) else None,
        unused_indexes=[
            UnusedIndex(schema_name=schema, table=table, index=index, size_bytes=int(size))
            for schema, table, index, size in query(connection, UNUSED_INDEXES)
        ],
    )
    extension_schema = scalar(
        connection,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements'",
    )
    if extension_schema is None:
        result.statements_note = "pg_stat_statements is not installed in this database"
        return result
    try:
        rows = query(connection, SLOWEST_STATEMENTS.format(schema=quote_ident(extension_schema)), limit=top_statements)
    except DatabaseError as error:
        # e.g. the library is not in shared_preload_libraries, or the master may not read the view
        result.statements_note = f"pg_stat_statements could not be read: {server_message(error)}"
        return result
    result.slowest_statements = [
        StatementStats(
            queryid=queryid,
            calls=int(calls),
            total_exec_time_ms=float(total),
            mean_exec_time_ms=float(mean),
            query=str(text)[:MAX_QUERY_CHARS],
        )
        for queryid, calls, total, mean, text in rows
    ]
    return result


# --- Publishing --------------------------------------------------------------------------------


def publish(task_report: TaskReport, metrics: Metrics) -> None:
    """Structured logs for people, EMF metrics for alarms and dashboards."""
    # Nested under "result": some field names (``created``) are LogRecord attributes.
    for result in task_report.vacuum:
        logger.info("vacuum result", extra={"result": result.model_dump()})
    for partition_result in task_report.partitions:
        logger.info("partitions result", extra={"result": partition_result.model_dump()})
    for database_report in task_report.databases:
        logger.info("database report", extra={"result": database_report.model_dump()})

    metrics.add_dimension(name="Task", value=task_report.task)
    metrics.add_metric(name="MaintenanceProblems", unit=MetricUnit.Count, value=task_report.problems)
    if task_report.task == "partitions":
        created = sum(len(result.created) for result in task_report.partitions)
        metrics.add_metric(name="PartitionsCreated", unit=MetricUnit.Count, value=created)
    metrics.flush_metrics()

    # One EMF document per database: its metrics carry a Database dimension.
    for database_report in task_report.databases:
        if database_report.error:
            continue
        metrics.add_dimension(name="Database", value=database_report.database)
        metrics.add_metric(name="UnusedIndexes", unit=MetricUnit.Count, value=len(database_report.unused_indexes))
        unused_bytes = sum(index.size_bytes for index in database_report.unused_indexes)
        metrics.add_metric(name="UnusedIndexBytes", unit=MetricUnit.Bytes, value=unused_bytes)
        if database_report.slowest_statements:
            slowest = database_report.slowest_statements[0].mean_exec_time_ms
            metrics.add_metric(name="SlowestStatementMeanTime", unit=MetricUnit.Milliseconds, value=slowest)
        metrics.flush_metrics()


# --- Handler -----------------------------------------------------------------------------------


def run_task(
    connect_to: ConnectTo, task: VacuumTask | PartitionsTask | ReportTask, *, today: date | None = None
) -> TaskReport:
    if isinstance(task, VacuumTask):
        return vacuum(connect_to, task)
    if isinstance(task, PartitionsTask):
        return partitions(connect_to, task, today=today or datetime.now(UTC).date())
    return report(connect_to, task)


def maintain(
    task: VacuumTask | PartitionsTask | ReportTask,
    settings: Settings,
    secrets_client: SecretsClient,
    metrics: Metrics,
    *,
    today: date | None = None,
) -> TaskReport:
    """Run a validated task against the configured instance and publish the result."""
    secret = read_master_secret(secrets_client, settings.secret_arn)
    connect_to = connector(
        settings.db_host,
        settings.db_port,
        secret.username,
        secret.password.get_secret_value(),
        ca_file=settings.ca_file,
        # A reply can take as long as the statement timeout allows; the client waits a little longer.
        timeout_seconds=task.statement_timeout_seconds + 30,
        application_name=SERVICE,
    )
    task_report = run_task(connect_to, task, today=today)
    publish(task_report, metrics)
    return task_report


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = EVENT_ADAPTER.validate_python(event)  # a malformed event raises here, before any connection
    settings = Settings.model_validate(dict(os.environ))
    metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", DEFAULT_NAMESPACE), service=SERVICE)
    task_report = maintain(task, settings, boto3.client("secretsmanager"), metrics)
    return {"problems": task_report.problems, **task_report.model_dump()}
