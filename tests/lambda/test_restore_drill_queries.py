"""The restore drill's sanity queries against a database laid out as production lays it out.

The restored instance is a copy of the primary: its databases, roles and tables are what the
database bootstrap and the services made there. So this module's server gets exactly that: the
bootstrap function's handler runs with the ResourceProperties of staging's synthesised data stack
(the same Spec, over TLS, as CloudFormation sends them), then each service creates its tables as
its own login role, whose sessions start as its owner role (as its migrations do). The master is
RDS-like (``pg_testing.rds_role_layout``) and is granted nothing on those tables. The drill then
runs the queries of staging's drill function (its ``QUERIES``) through its Lambda handler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pg8000.native  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]
from pg_testing import (  # type: ignore[import-not-found]
    MASTER,
    MASTER_PASSWORD,
    RDS_SUPERUSER,
    TLS_HOST,
    Certificates,
    FakeLambdaContext,
    PostgresServer,
    TlsProxy,
    load_function,
    load_pg_common,
    provider_event,
    set_password,
    sqlstate,
    start_server,
)

from tests.conftest import SynthesizedEnvironment

pytestmark = pytest.mark.slow

ENVIRONMENT = "staging"
REGION = "ap-northeast-2"
#: Rows each service puts in the table a drill query counts.
ROWS = 3
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
DRILL_ID = "ticketing-staging-drill-20261129-100000"
#: The configured queries count one table each: ``SELECT count(*) FROM <table>``.
COUNTED_TABLE = re.compile(r"\bFROM\s+([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


def resolved(values: dict[str, Any], stand_ins: dict[str, str], what: str) -> dict[str, str]:
    """A template's property values with each CloudFormation reference replaced by its stand-in here.

    A reference without a stand-in fails the test by name: a new one needs a decision, not a guess.
    """
    unresolved = sorted(key for key, value in values.items() if not isinstance(value, str) and key not in stand_ins)
    assert not unresolved, f"{what}: no stand-in for the references {unresolved}"
    return {key: stand_ins.get(key, value) for key, value in values.items()}


@dataclass
class Production:
    """What staging's data stack deploys: the bootstrap's properties and the drill function's environment."""

    bootstrap_properties: dict[str, Any]
    drill_environment: dict[str, Any]

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(self.bootstrap_properties["Spec"])
        return spec

    @property
    def queries(self) -> list[dict[str, Any]]:
        queries: list[dict[str, Any]] = json.loads(self.drill_environment["QUERIES"])
        return queries

    def login_role(self, database: str) -> str:
        roles = [entry["owner_role"] for entry in self.spec["databases"] if entry["name"] == database]
        assert roles, f"the drill queries {database}, which the bootstrap's Spec does not create"
        return str(roles[0])


@dataclass
class Restored:
    """The server standing in for the drill's temporary instance, and how the drill reaches it."""

    server: PostgresServer
    proxy: TlsProxy
    ca_file: str
    tables: dict[str, str]  # database -> the table its drill query counts


@pytest.fixture(scope="module")
def production(platform: Callable[[str], SynthesizedEnvironment]) -> Production:
    resources = platform(ENVIRONMENT).template_json("Data")["Resources"]
    [bootstrap] = [r for r in resources.values() if r["Type"] == "Custom::DatabaseBootstrap"]
    [function] = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function"
        and "QUERIES" in r["Properties"].get("Environment", {}).get("Variables", {})
    ]
    return Production(bootstrap["Properties"], function["Properties"]["Environment"]["Variables"])


@pytest.fixture(scope="module")
def drill() -> ModuleType:
    module: ModuleType = load_function("restore_drill")
    return module


@pytest.fixture(scope="module")
def restored(production: Production, certificates: Certificates, bootstrap: ModuleType) -> Iterator[Restored]:
    """A server of its own (the drill's instance is one too), laid out by the bootstrap and the services."""
    from moto import mock_aws

    server = start_server()
    proxy = TlsProxy(server.port, certificates)
    try:
        with pytest.MonkeyPatch.context() as patch, mock_aws():
            patch.setenv("AWS_DEFAULT_REGION", REGION)
            patch.setenv("AWS_ACCESS_KEY_ID", "testing")
            patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            patch.delenv("AWS_PROFILE", raising=False)
            master_secret = {"username": MASTER, "password": MASTER_PASSWORD, "host": TLS_HOST,
                             "port": proxy.port, "dbname": "postgres"}  # fmt: skip
            secret_arn = boto3.client("secretsmanager").create_secret(
                Name="data/master", SecretString=json.dumps(master_secret)
            )["ARN"]
            properties = resolved(
                production.bootstrap_properties,
                {
                    "ServiceToken": "arn:aws:lambda:ap-northeast-2:222222222222:function:framework-onEvent",
                    "SecretArn": secret_arn,
                    "Host": TLS_HOST,
                    "Port": str(proxy.port),
                    "CaFile": str(certificates.ca_file),
                },
                "the bootstrap's ResourceProperties",
            )
            result = bootstrap.handler(provider_event("Create", properties), FakeLambdaContext())
        assert result["PhysicalResourceId"] == "database-bootstrap"

        tables: dict[str, str] = {}
        for query in production.queries:
            found = COUNTED_TABLE.search(query["sql"])
            assert found, f"{query['sql']!r}: the fixture creates the table a query counts; this one names none"
            tables[query["database"]] = found.group(1)
        for database, table in tables.items():
            migrate_as_service(server, database, production.login_role(database), table)
        yield Restored(server=server, proxy=proxy, ca_file=str(certificates.ca_file), tables=tables)
    finally:
        proxy.close()
        server.stop()


def migrate_as_service(server: PostgresServer, database: str, login: str, table: str) -> None:
    """What a service's migration does: log in as the service (IAM on RDS, a password here) and create."""
    password = f"{login}-password"
    set_password(server, login, password)
    service = server.connect(login, password, database)
    try:
        # The bootstrap's ALTER ROLE ... SET role: the session acts as the owner role from the start.
        assert service.run("SELECT current_user") == [[f"{login}_owner"]]
        service.run(f"CREATE TABLE {table} (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())")
        service.run(f"INSERT INTO {table} (id) SELECT g FROM generate_series(1, {ROWS}) g")
    finally:
        service.close()


def ready_state(drill: ModuleType) -> Any:
    return drill.DrillState(
        drill_id=DRILL_ID,
        started_at=NOW,
        deadline=NOW + timedelta(hours=3),
        recovery_point_arn="arn:aws:backup:ap-northeast-2:222222222222:recovery-point:p",
        recovery_point_created_at=NOW - timedelta(hours=7),
        restore_job_id="r",
        status="ready",
    )


def stubbed_clients(restored: Restored) -> tuple[Any, Any, Stubber, Stubber]:
    """RDS and CloudWatch clients answering as for a temporary instance that is the restored server."""
    keys = {"region_name": REGION, "aws_access_key_id": "t", "aws_secret_access_key": "t"}
    rds, cloudwatch = boto3.client("rds", **keys), boto3.client("cloudwatch", **keys)
    instance = {
        "DBInstanceStatus": "available",
        "MasterUsername": MASTER,
        "PendingModifiedValues": {},
        "Endpoint": {"Address": TLS_HOST, "Port": restored.proxy.port},
    }
    rds_stub, cloudwatch_stub = Stubber(rds), Stubber(cloudwatch)
    rds_stub.add_response("modify_db_instance", {}, None)
    rds_stub.add_response("describe_db_instances", {"DBInstances": [instance]}, None)
    cloudwatch_stub.add_response("put_metric_data", {}, None)
    return rds, cloudwatch, rds_stub, cloudwatch_stub


def verify(drill: ModuleType, restored: Restored, *queries: dict[str, Any]) -> Any:
    """The verify step with the given queries, as the master over TLS to the restored server."""
    rds, cloudwatch, rds_stub, cloudwatch_stub = stubbed_clients(restored)
    settings = drill.Settings(
        environment=ENVIRONMENT,
        vault_name="ticketing-staging-backups",
        source_arn="arn:aws:rds:ap-northeast-2:222222222222:db:ticketing-staging-postgres",
        restore_role_arn="arn:aws:iam::222222222222:role/ticketing-staging-backup",
        subnet_group="g",
        security_group_id="sg-0123456789abcdef0",
        instance_class="db.t4g.medium",
        max_wait_minutes=180,
        queries=tuple(drill.Query.model_validate(q) for q in queries),
        ca_file=restored.ca_file,
    )

    def connect_with(host: str, port: int, user: str, password: str, database: str) -> Any:
        return load_pg_common().connect(host, port, user, password, database, ca_file=restored.ca_file)

    with rds_stub, cloudwatch_stub:
        # The master's password stays as it is: the stubbed ModifyDBInstance does not apply one.
        return drill.verify(rds, cloudwatch, settings, ready_state(drill), connect_with=connect_with,
                            password=MASTER_PASSWORD, clock=lambda: NOW + timedelta(minutes=40),
                            sleep=lambda s: None)  # fmt: skip


# --- the layout is production's ----------------------------------------------------------------


def test_the_tables_belong_to_the_owner_roles_and_the_master_holds_nothing_on_them(
    production: Production, restored: Restored
) -> None:
    server = restored.server
    assert server.sql(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, pg_has_role(rolname, :group, 'USAGE')"
        " FROM pg_roles WHERE rolname = :m",
        m=MASTER,
        group=RDS_SUPERUSER,
    ) == [[False, True, True, True]]
    assert server.sql("SELECT pg_has_role(:m, 'pg_read_all_data', 'MEMBER')", m=MASTER) == [[False]]
    assert len(restored.tables) == len(production.queries) >= 1
    for database, table in restored.tables.items():
        owner = f"{production.login_role(database)}_owner"
        assert server.sql(
            "SELECT pg_get_userbyid(relowner), relacl IS NULL, has_table_privilege(:m, oid, 'SELECT')"
            " FROM pg_class WHERE relname = :t",
            database,
            t=table,
            m=MASTER,
        ) == [[owner, True, False]]
        # The query the drill runs, as the master without its owner role: what failed every month.
        master = server.master(database)
        try:
            with pytest.raises(pg8000.native.DatabaseError, match=f"permission denied for table {table}") as raised:
                master.run(f"SELECT count(*) FROM {table}")
            assert sqlstate(raised.value) == "42501"
        finally:
            master.close()


# --- the drill on it ---------------------------------------------------------------------------


def test_the_deployed_drill_passes_on_the_layout_the_bootstrap_made(
    drill: ModuleType, production: Production, restored: Restored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verify step through the Lambda handler, with staging's drill environment and queries."""
    environment = resolved(
        production.drill_environment,
        {
            "RESTORE_ROLE_ARN": "arn:aws:iam::222222222222:role/ticketing-staging-backup",
            "SUBNET_GROUP": "ticketing-staging-database-subnets",
            "SECURITY_GROUP_ID": "sg-0123456789abcdef0",
            "CA_FILE": restored.ca_file,
        },
        "the drill function's environment",
    )
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    rds, cloudwatch, rds_stub, cloudwatch_stub = stubbed_clients(restored)

    def apply_password(params: dict[str, Any], **_: Any) -> None:
        """What RDS does with ModifyDBInstance's MasterUserPassword: the master's password changes."""
        restored.server.sql(f"ALTER ROLE {MASTER} PASSWORD {pg8000.native.literal(params['MasterUserPassword'])}")

    rds.meta.events.register("before-parameter-build.rds.ModifyDBInstance", apply_password)
    payload = {"step": "verify", "state": ready_state(drill).model_dump(mode="json")}
    try:
        with rds_stub, cloudwatch_stub:
            result = drill.run_step(
                drill.parse_event(payload), drill.Settings.from_environment(), (None, rds, cloudwatch)
            )
    finally:
        restored.server.sql(f"ALTER ROLE {MASTER} PASSWORD {pg8000.native.literal(MASTER_PASSWORD)}")
    assert result["status"] == "verified"
    assert [(r["database"], r["sql"], r["value"]) for r in result["results"]] == [
        (q["database"], q["sql"], float(ROWS)) for q in production.queries
    ]
    assert all(q["min_rows"] <= ROWS for q in production.queries)


def test_counts_at_or_above_their_minimum_pass(drill: ModuleType, restored: Restored) -> None:
    database, table = next(iter(restored.tables.items()))
    result = verify(
        drill,
        restored,
        {"database": database, "sql": f"SELECT count(*) FROM {table}", "min_rows": ROWS},
        {
            "database": database,
            "sql": f"WITH kept AS (SELECT * FROM {table} WHERE id > 1) SELECT count(*) FROM kept",
            "min_rows": 1,
        },
    )
    assert [r.value for r in result.results] == [float(ROWS), float(ROWS - 1)]
    assert result.recovery_time_seconds == 40 * 60


def test_a_count_below_its_minimum_fails_the_drill(drill: ModuleType, restored: Restored) -> None:
    database, table = next(iter(restored.tables.items()))
    with pytest.raises(drill.DrillError, match=rf"returned {ROWS}, below {ROWS + 1}"):
        verify(drill, restored, {"database": database, "sql": f"SELECT count(*) FROM {table}", "min_rows": ROWS + 1})


def test_a_write_disguised_as_a_query_is_refused_by_the_read_only_transaction(
    drill: ModuleType, restored: Restored
) -> None:
    # The owner role may delete its own rows: only the read-only transaction stops this one.
    database, table = next(iter(restored.tables.items()))
    sneaky = f"WITH gone AS (DELETE FROM {table} RETURNING 1) SELECT count(*) FROM gone"
    drill.Query.model_validate({"database": database, "sql": sneaky})  # the SELECT-only check lets it through
    with pytest.raises(pg8000.native.DatabaseError, match="in a read-only transaction") as raised:
        verify(drill, restored, {"database": database, "sql": sneaky})
    assert sqlstate(raised.value) == "25006"  # read_only_sql_transaction
    assert restored.server.sql(f"SELECT count(*) FROM {table}", database) == [[ROWS]]


def test_the_owner_role_ends_with_the_transaction(
    drill: ModuleType, production: Production, restored: Restored
) -> None:
    database = next(iter(restored.tables))
    master = restored.server.master(database)
    try:
        master.run("START TRANSACTION READ ONLY")
        drill.act_as_database_owner(master, database)
        assert master.run("SELECT current_user, session_user") == [[f"{production.login_role(database)}_owner", MASTER]]
        master.run("ROLLBACK")
        assert master.run("SELECT current_user") == [[MASTER]]
    finally:
        master.close()


def test_a_database_the_master_may_not_act_for_is_named_with_what_is_missing(
    drill: ModuleType, restored: Restored
) -> None:
    # Not laid out by the bootstrap: owned by a role the master holds nothing of.
    restored.server.sql("CREATE ROLE outsider NOLOGIN")
    restored.server.sql("CREATE DATABASE outside_app OWNER outsider")
    restored.server.sql(f"GRANT CONNECT ON DATABASE outside_app TO {MASTER}")
    with pytest.raises(drill.DrillError, match="outside_app: the master user cannot SET ROLE outsider"):
        verify(drill, restored, {"database": "outside_app", "sql": "SELECT count(*) FROM pg_class"})
