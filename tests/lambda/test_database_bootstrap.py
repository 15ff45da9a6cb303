"""database_bootstrap against a real server, run as a master user that is not a superuser (as on RDS)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pg8000.native  # type: ignore[import-untyped]
import pytest
from pg_testing import (  # type: ignore[import-not-found]
    IAM_ROLE,
    MASTER,
    MASTER_PASSWORD,
    TLS_HOST,
    Certificates,
    FakeLambdaContext,
    PostgresServer,
    TlsProxy,
    provider_event,
    set_password,
    sqlstate,
)
from pydantic import ValidationError

pytestmark = pytest.mark.slow

#: A database's ACL after the bootstrap: nothing for PUBLIC, everything for the owner role, CONNECT for the master.
DATABASE_ACL = "{{{owner}=CTc/{owner},master=c/{owner}}}"

SPEC: dict[str, Any] = {
    "databases": [
        {
            "name": "ticketing_events",
            "owner_role": "svc_events",
            "extensions": ["pg_stat_statements", "pg_trgm", "pg_bigm"],
        },
        {"name": "ticketing_orders", "owner_role": "svc_orders", "extensions": ["pg_trgm"]},
    ],
    "iam_role": IAM_ROLE,
}


def catalog_snapshot(server: PostgresServer) -> dict[str, Any]:
    """Databases with their ACLs, roles with their attributes, and every role membership."""
    return {
        "databases": server.sql("SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database ORDER BY 1"),
        "roles": server.sql("SELECT rolname, rolcanlogin, rolpassword IS NULL FROM pg_authid ORDER BY 1"),
        "settings": server.sql(
            "SELECT setdatabase, setrole::regrole::text, setconfig FROM pg_db_role_setting ORDER BY 1, 2"
        ),
        "members": server.sql(
            "SELECT roleid::regrole::text, member::regrole::text, grantor::regrole::text,"
            " admin_option, inherit_option, set_option FROM pg_auth_members ORDER BY 1, 2, 3"
        ),
    }


@pytest.fixture(scope="module")
def runs(bootstrap: ModuleType, pg_server: PostgresServer) -> tuple[Any, Any]:
    """The bootstrap run twice in a row with the spec above."""
    spec = bootstrap.BootstrapSpec.model_validate(SPEC)
    first = bootstrap.converge(pg_server.master_connect_to(), spec)
    second = bootstrap.converge(pg_server.master_connect_to(), spec)
    return first, second


def test_the_master_is_not_a_superuser(pg_server: PostgresServer) -> None:
    assert pg_server.sql("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r", r=MASTER) == [
        [False, True, True]
    ]
    # As on RDS: a member of rds_superuser, which reads all statistics and may end sessions; nothing
    # that reads or writes other roles' data.
    assert pg_server.sql(
        "SELECT pg_has_role(:r, 'rds_superuser', 'USAGE'), pg_has_role(:r, 'pg_monitor', 'USAGE'),"
        " pg_has_role(:r, 'pg_signal_backend', 'USAGE'), pg_has_role(:r, 'pg_read_all_data', 'MEMBER'),"
        " pg_has_role(:r, 'pg_write_all_data', 'MEMBER'), pg_has_role(:r, 'pg_maintain', 'MEMBER')",
        r=MASTER,
    ) == [[True, True, True, False, False, False]]


def test_first_run_creates_login_roles_in_the_iam_role_and_nologin_owner_roles(
    runs: tuple[Any, Any], pg_server: PostgresServer
) -> None:
    first, _ = runs
    for name in ("svc_events", "svc_orders"):
        assert f"created login role {name}" in first.changes
        assert f"created owner role {name}_owner" in first.changes
    rows = pg_server.sql(
        "SELECT rolname, rolcanlogin, rolsuper, rolpassword IS NULL, pg_has_role(rolname, :iam, 'MEMBER')"
        " FROM pg_authid WHERE rolname LIKE 'svc\\_events%' OR rolname LIKE 'svc\\_orders%' ORDER BY 1",
        iam=IAM_ROLE,
    )
    assert rows == [
        ["svc_events", True, False, True, True],
        ["svc_events_owner", False, False, True, False],
        ["svc_orders", True, False, True, True],
        ["svc_orders_owner", False, False, True, False],
    ]
    # The login role holds its owner role with INHERIT and SET, and its sessions start as it.
    memberships = pg_server.sql(
        "SELECT roleid::regrole::text, member::regrole::text, admin_option, inherit_option, set_option"
        " FROM pg_auth_members WHERE member IN ('svc_events'::regrole, 'svc_orders'::regrole) ORDER BY 1, 2"
    )
    assert memberships == [
        [IAM_ROLE, "svc_events", False, True, True],
        [IAM_ROLE, "svc_orders", False, True, True],
        ["svc_events_owner", "svc_events", False, True, True],
        ["svc_orders_owner", "svc_orders", False, True, True],
    ]
    assert pg_server.sql(
        "SELECT setrole::regrole::text, setconfig FROM pg_db_role_setting WHERE setdatabase = 0"
        " AND setrole IN ('svc_events'::regrole, 'svc_orders'::regrole) ORDER BY 1"
    ) == [["svc_events", ["role=svc_events_owner"]], ["svc_orders", ["role=svc_orders_owner"]]]


def test_the_master_holds_only_owner_roles_with_set_and_nothing_that_leads_to_rds_iam(
    runs: tuple[Any, Any], pg_server: PostgresServer
) -> None:
    rows = pg_server.sql(
        "SELECT roleid::regrole::text, bool_or(admin_option), bool_or(inherit_option), bool_or(set_option)"
        " FROM pg_auth_members WHERE member = :m::regrole"
        " AND roleid::regrole::text ~ '^svc_(events|orders)(_owner)?$' GROUP BY 1 ORDER BY 1",  # this module's roles
        m=MASTER,
    )
    # The login roles: only the ADMIN OPTION PostgreSQL gives the creator. The owner roles: SET, no INHERIT.
    assert rows == [
        ["svc_events", True, False, False],
        ["svc_events_owner", True, False, True],
        ["svc_orders", True, False, False],
        ["svc_orders_owner", True, False, True],
    ]
    # No SET or INHERIT grant to the master of any role that is (or leads to) a member of rds_iam.
    assert (
        pg_server.sql(
            "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = :m::regrole"
            " AND (inherit_option OR set_option) AND pg_has_role(roleid, :iam, 'MEMBER')",
            m=MASTER,
            iam=IAM_ROLE,
        )
        == []
    )
    master = pg_server.master("ticketing_events")
    try:
        assert master.run("SELECT pg_has_role('svc_events', 'SET'), pg_has_role('svc_events', 'USAGE')") == [
            [False, False]
        ]
        master.run("SET ROLE svc_events_owner")
        assert master.run("SELECT current_user") == [["svc_events_owner"]]
        master.run("RESET ROLE")
        with pytest.raises(Exception, match="permission denied to set role") as raised:
            master.run("SET ROLE svc_events")
        assert sqlstate(raised.value) == "42501"
    finally:
        master.close()


def test_first_run_creates_databases_owned_by_their_service(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    rows = pg_server.sql(
        "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database"
        " WHERE datname LIKE 'ticketing_%' ORDER BY 1"
    )
    # PUBLIC (an empty grantee before '=') has nothing; the owner has everything; the master CONNECT.
    assert rows == [
        ["ticketing_events", "svc_events_owner", DATABASE_ACL.format(owner="svc_events_owner")],
        ["ticketing_orders", "svc_orders_owner", DATABASE_ACL.format(owner="svc_orders_owner")],
    ]


def public_schema(server: PostgresServer, database: str, owner: str) -> list[list[Any]]:
    """Owner and ACL of ``public``, and the owner role's default privileges, in ``database``."""
    rows: list[list[Any]] = server.sql(
        "SELECT pg_get_userbyid(nspowner), nspacl::text,"
        " (SELECT array_agg(defaclobjtype::text || ':' || defaclacl::text) FROM pg_default_acl"
        "  WHERE defaclrole = :r::regrole) FROM pg_namespace WHERE nspname = 'public'",
        database,
        r=owner,
    )
    return rows


def test_public_schema_belongs_to_the_owner_role(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    for database, owner in (("ticketing_events", "svc_events_owner"), ("ticketing_orders", "svc_orders_owner")):
        assert public_schema(pg_server, database, owner) == [
            [owner, f"{{{owner}=UC/{owner},master=U/{owner}}}", [f"f:{{{owner}=X/{owner}}}"]]
        ]


def test_extensions_created_or_reported(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    first, second = runs
    assert "pg_trgm" in pg_server.extensions
    assert "pg_bigm" not in pg_server.extensions  # the embedded build has no pg_bigm
    # pg_trgm is trusted: created by the owner role itself.
    for database, owner in (("ticketing_events", "svc_events_owner"), ("ticketing_orders", "svc_orders_owner")):
        assert pg_server.sql(
            "SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_trgm'", database
        ) == [[owner]]
        assert f"created extension pg_trgm in {database} as {owner}" in first.changes
    for report in (first, second):
        assert report.unavailable_extensions == {"ticketing_events": ["pg_bigm"]}
        # The server offers pg_stat_statements, but only a superuser may create it here (RDS lets
        # rds_superuser): it is reported with the server's reason and does not fail the run.
        refused = report.refused_extensions["ticketing_events"]
        assert list(refused) == ["pg_stat_statements"]
        assert "permission denied" in refused["pg_stat_statements"]
    # The attempt as the master lent it CREATE in a transaction that was rolled back: nothing stays.
    assert pg_server.sql(
        "SELECT has_schema_privilege(:m, 'public', 'CREATE'), has_database_privilege(:m, current_database(), 'CREATE')",
        "ticketing_events",
        m=MASTER,
    ) == [[False, False]]
    assert public_schema(pg_server, "ticketing_events", "svc_events_owner")[0][1] == (
        "{svc_events_owner=UC/svc_events_owner,master=U/svc_events_owner}"
    )


def test_second_run_changes_nothing(runs: tuple[Any, Any], bootstrap: ModuleType, pg_server: PostgresServer) -> None:
    first, second = runs
    assert len(first.changes) > 10
    assert second.changes == []
    before = catalog_snapshot(pg_server)
    third = bootstrap.converge(pg_server.master_connect_to(), bootstrap.BootstrapSpec.model_validate(SPEC))
    assert third.changes == []
    assert catalog_snapshot(pg_server) == before


def test_a_service_cannot_connect_to_another_services_database(
    runs: tuple[Any, Any], pg_server: PostgresServer
) -> None:
    # On RDS the services log in with IAM tokens; here they get passwords so the test can log in.
    set_password(pg_server, "svc_events", "events-password")
    set_password(pg_server, "svc_orders", "orders-password")

    own = pg_server.connect("svc_events", "events-password", "ticketing_events")
    try:
        # ALTER ROLE ... SET role: the session starts as the owner role, and what it creates is the owner role's.
        assert own.run("SELECT session_user, current_user") == [["svc_events", "svc_events_owner"]]
        own.run("CREATE TABLE tickets (id bigint PRIMARY KEY, holder text)")
        own.run("INSERT INTO tickets VALUES (1, 'someone')")
        assert own.run("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'tickets'") == [
            ["svc_events_owner"]
        ]
    finally:
        own.close()

    with pytest.raises(Exception, match="permission denied for database") as raised:
        pg_server.connect("svc_orders", "orders-password", "ticketing_events")
    assert sqlstate(raised.value) == "42501"

    # The master can connect (maintenance), but holds none of the service's privileges on its data.
    master = pg_server.master("ticketing_events")
    try:
        with pytest.raises(Exception, match="permission denied for table tickets"):
            master.run("SELECT * FROM tickets")
    finally:
        master.close()
    assert pg_server.sql(
        "SELECT has_database_privilege('svc_orders', 'ticketing_events', 'CONNECT'),"
        " has_database_privilege('svc_events', 'ticketing_orders', 'CONNECT')"
    ) == [[False, False]]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"databases": []}, "at least 1 item"),
        ({"databases": [{"name": "Tickets", "owner_role": "svc_x"}]}, "String should match pattern"),
        ({"databases": [{"name": "postgres", "owner_role": "svc_x"}]}, "system database"),
        ({"databases": [{"name": "bad_owner", "owner_role": "pg_monitor"}]}, "reserved by PostgreSQL"),
        ({"databases": [{"name": "same", "owner_role": "a"}, {"name": "same", "owner_role": "b"}]}, "appear once"),
        ({"databases": [{"name": "iam_owner", "owner_role": "rds_iam"}]}, "is the iam_role"),
        ({"databases": [{"name": "typo", "owner_role": "svc_x", "extension": ["pg_trgm"]}]}, "Extra inputs"),
        ({"databases": [{"name": "long_owner", "owner_role": "s" * 58}]}, "must fit 63 bytes"),
        (
            {"databases": [{"name": "one", "owner_role": "svc_a"}, {"name": "two", "owner_role": "svc_a_owner"}]},
            "the login role of another",
        ),
        ({"databases": [{"name": "iam", "owner_role": "rds"}], "iam_role": "rds_owner"}, "would be the iam_role"),
    ],
)
def test_malformed_spec_is_refused(bootstrap: ModuleType, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        bootstrap.BootstrapSpec.model_validate(spec)


def test_a_database_owned_by_someone_else_stops_the_run_before_any_change(
    bootstrap: ModuleType, pg_server: PostgresServer
) -> None:
    pg_server.sql("CREATE DATABASE legacy_app")  # owned by the superuser
    spec = bootstrap.BootstrapSpec.model_validate(
        {"databases": [{"name": "fresh_app", "owner_role": "svc_fresh"}, {"name": "legacy_app", "owner_role": "svc_x"}]}
    )
    before = catalog_snapshot(pg_server)
    with pytest.raises(bootstrap.BootstrapError, match="'legacy_app' exists and is owned by 'postgres'"):
        bootstrap.converge(pg_server.master_connect_to(), spec)
    assert catalog_snapshot(pg_server) == before


def test_a_role_the_master_cannot_administer_stops_the_run(bootstrap: ModuleType, pg_server: PostgresServer) -> None:
    pg_server.sql("CREATE ROLE svc_foreign LOGIN")  # created by the superuser: the master has no ADMIN on it
    spec = bootstrap.BootstrapSpec.model_validate({"databases": [{"name": "foreign_app", "owner_role": "svc_foreign"}]})
    before = catalog_snapshot(pg_server)
    with pytest.raises(bootstrap.BootstrapError, match="cannot administer it"):
        bootstrap.converge(pg_server.master_connect_to(), spec)
    assert catalog_snapshot(pg_server) == before


# --- The custom-resource handler ---------------------------------------------------------------


@pytest.fixture
def handler_properties(aws: None, tls_proxy: TlsProxy, certificates: Certificates) -> dict[str, Any]:
    """Properties as CloudFormation sends them (strings), with the master secret in moto."""
    secret = boto3.client("secretsmanager").create_secret(
        Name="data/master",
        SecretString=json.dumps(
            {
                "username": MASTER,
                "password": MASTER_PASSWORD,
                "host": TLS_HOST,
                "port": tls_proxy.port,
                "dbname": "postgres",
            }
        ),
    )
    return {
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent",
        "ServiceTimeout": "600",  # CloudFormation passes the resource's own properties too
        "CodeVersion": "0123abcd.zip",  # stacks/database_access.py: the function's asset key
        "SecretArn": secret["ARN"],
        "Host": TLS_HOST,
        "Port": str(tls_proxy.port),
        "CaFile": str(certificates.ca_file),
        "Spec": json.dumps(
            {"databases": [{"name": "ticketing_venues", "owner_role": "svc_venues", "extensions": ["pg_trgm"]}]}
        ),
    }


def test_create_converges_over_tls_and_returns_the_provider_result(
    bootstrap: ModuleType,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    handler_properties: dict[str, Any],
) -> None:
    sessions_before = len(tls_proxy.sessions)
    result = bootstrap.handler(provider_event("Create", handler_properties), FakeLambdaContext())

    assert set(result) == {"PhysicalResourceId", "Data"}
    assert result["PhysicalResourceId"] == "database-bootstrap"
    assert int(result["Data"]["Changes"]) > 0
    assert result["Data"]["Databases"] == "ticketing_venues"
    assert len(tls_proxy.sessions) == sessions_before + 2  # the admin database, then ticketing_venues
    assert pg_server.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ticketing_venues'") == [
        ["svc_venues_owner"]
    ]

    update = provider_event("Update", handler_properties, PhysicalResourceId="database-bootstrap")
    again = bootstrap.handler(update, FakeLambdaContext())
    assert again == {**result, "Data": {**result["Data"], "Changes": "0"}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Spec": "{not json"}, "Invalid JSON"),
        ({"Spec": json.dumps({"databases": [{"name": "x", "owner_role": "pg_x"}]})}, "reserved by PostgreSQL"),
        ({"Port": "not-a-port"}, "Port"),
        ({"CaFile": None}, "CaFile"),
        ({"Unexpected": "1"}, "Extra inputs"),
    ],
)
def test_malformed_properties_raise_before_connecting(
    bootstrap: ModuleType,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    handler_properties: dict[str, Any],
    change: dict[str, Any],
    message: str,
) -> None:
    """The framework answers FAILED with the exception's message; nothing has connected or changed."""
    properties = {key: value for key, value in {**handler_properties, **change}.items() if value is not None}
    sessions_before = len(tls_proxy.sessions)
    before = catalog_snapshot(pg_server)
    with pytest.raises(ValidationError, match=message):
        bootstrap.handler(provider_event("Create", properties), FakeLambdaContext())
    assert len(tls_proxy.sessions) == sessions_before
    assert catalog_snapshot(pg_server) == before


def test_a_failure_while_converging_raises(
    bootstrap: ModuleType, handler_properties: dict[str, Any], certificates: Certificates
) -> None:
    properties = {**handler_properties, "CaFile": str(certificates.other_ca_file)}
    with pytest.raises(Exception, match="certificate verify failed"):
        bootstrap.handler(provider_event("Create", properties), FakeLambdaContext())


@pytest.mark.parametrize("properties", ["valid", "malformed"])
def test_delete_changes_nothing_and_succeeds(
    bootstrap: ModuleType,
    runs: tuple[Any, Any],
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    handler_properties: dict[str, Any],
    properties: str,
) -> None:
    resource_properties = handler_properties if properties == "valid" else {"Spec": "{not json"}
    before = catalog_snapshot(pg_server)
    sessions_before = len(tls_proxy.sessions)
    event = provider_event("Delete", resource_properties, PhysicalResourceId="database-bootstrap")
    result = bootstrap.handler(event, FakeLambdaContext())
    assert result == {"PhysicalResourceId": "database-bootstrap", "Data": {}}
    assert catalog_snapshot(pg_server) == before
    assert len(tls_proxy.sessions) == sessions_before
    assert {"ticketing_events", "ticketing_orders"} <= {row[0] for row in before["databases"]}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"RequestType": "Replace"}, "RequestType"),
        ({"LogicalResourceId": ""}, "LogicalResourceId"),
        ({"RequestId": None}, "RequestId"),
        ({"ResourceProperties": "not an object"}, "ResourceProperties"),
    ],
)
def test_a_malformed_event_fails_loudly_and_changes_nothing(
    bootstrap: ModuleType,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    handler_properties: dict[str, Any],
    event: dict[str, Any],
    message: str,
) -> None:
    malformed = {key: value for key, value in {**provider_event("Create", handler_properties), **event}.items()
                 if value is not None}  # fmt: skip
    before = catalog_snapshot(pg_server)
    sessions_before = len(tls_proxy.sessions)
    with pytest.raises(ValidationError, match=message):
        bootstrap.handler(malformed, FakeLambdaContext())
    assert len(tls_proxy.sessions) == sessions_before
    assert catalog_snapshot(pg_server) == before


# --- Migration from the previous layout --------------------------------------------------------


def create_previous_layout(server: PostgresServer, database: str, login: str) -> None:
    """What the previous bootstrap left, made by the master: the login role owns the database and
    ``public`` and holds what the service created; the master holds SET on the login role."""
    master = server.master()
    try:
        for statement in (
            f"CREATE ROLE {login} LOGIN",
            f"GRANT {IAM_ROLE} TO {login}",
            f"GRANT {login} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE",
            f"CREATE DATABASE {database} OWNER {login}",
            f"SET ROLE {login}",
            f"REVOKE ALL ON DATABASE {database} FROM PUBLIC",
            f"GRANT CONNECT ON DATABASE {database} TO {MASTER}",
        ):
            master.run(statement)
    finally:
        master.close()
    inside = server.master(database)
    try:
        for statement in (
            f"SET ROLE {login}",
            f"ALTER SCHEMA public OWNER TO {login}",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC",
            f"GRANT USAGE ON SCHEMA public TO {MASTER}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {login} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC",
            "CREATE EXTENSION pg_trgm",
            "CREATE TABLE orders (id bigint PRIMARY KEY, placed_at timestamptz NOT NULL)",
            "CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM orders'",
        ):
            inside.run(statement)
    finally:
        inside.close()


def test_the_previous_layout_is_migrated_once(bootstrap: ModuleType, pg_server: PostgresServer) -> None:
    create_previous_layout(pg_server, "legacy_orders", "svc_legacy")
    assert pg_server.sql(
        "SELECT set_option FROM pg_auth_members WHERE roleid = 'svc_legacy'::regrole AND member = :m::regrole"
        " AND grantor = member",
        m=MASTER,
    ) == [[True]]
    spec = bootstrap.BootstrapSpec.model_validate(
        {"databases": [{"name": "legacy_orders", "owner_role": "svc_legacy", "extensions": ["pg_trgm"]}]}
    )
    first = bootstrap.converge(pg_server.master_connect_to(), spec)
    assert "moved ownership of database legacy_orders from svc_legacy to svc_legacy_owner" in first.changes
    assert "reassigned 4 objects in legacy_orders from svc_legacy to svc_legacy_owner" in first.changes
    assert first.reassigned_objects == {
        "legacy_orders": [
            "extension pg_trgm",
            "function order_count()",
            "schema public",
            "table orders",
        ]
    }
    assert "revoked master's SET/INHERIT membership in login role svc_legacy (ADMIN OPTION kept)" in first.changes

    # The same end state as a fresh bootstrap.
    owner = "svc_legacy_owner"
    assert pg_server.sql(
        "SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = :d", d="legacy_orders"
    ) == [[owner, DATABASE_ACL.format(owner=owner)]]
    assert public_schema(pg_server, "legacy_orders", owner) == [
        [owner, f"{{{owner}=UC/{owner},master=U/{owner}}}", [f"f:{{{owner}=X/{owner}}}"]]
    ]
    assert pg_server.sql(
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.relname = 'orders'"
        " UNION ALL SELECT extname, pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_trgm'"
        " UNION ALL SELECT proname, pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'order_count'"
        " ORDER BY 1",
        "legacy_orders",
    ) == [["order_count", owner], ["orders", owner], ["pg_trgm", owner]]
    assert pg_server.sql(
        "SELECT roleid::regrole::text, bool_or(admin_option), bool_or(inherit_option), bool_or(set_option)"
        " FROM pg_auth_members WHERE member = :m::regrole AND roleid::regrole::text LIKE 'svc_legacy%'"
        " GROUP BY 1 ORDER BY 1",
        m=MASTER,
    ) == [["svc_legacy", True, False, False], [owner, True, False, True]]

    # The service keeps its data and privileges, as the owner role.
    set_password(pg_server, "svc_legacy", "legacy-password")
    service = pg_server.connect("svc_legacy", "legacy-password", "legacy_orders")
    try:
        assert service.run("SELECT current_user, order_count()") == [[owner, 0]]
        service.run("INSERT INTO orders VALUES (1, now())")
    finally:
        service.close()

    before = catalog_snapshot(pg_server)
    second = bootstrap.converge(pg_server.master_connect_to(), spec)
    assert second.changes == []
    assert second.reassigned_objects == {}
    assert catalog_snapshot(pg_server) == before


def test_a_login_role_owning_a_database_outside_the_spec_stops_the_migration(
    bootstrap: ModuleType, pg_server: PostgresServer
) -> None:
    create_previous_layout(pg_server, "split_one", "svc_split")
    master = pg_server.master()
    try:
        master.run("CREATE DATABASE split_two OWNER svc_split")
    finally:
        master.close()
    spec = bootstrap.BootstrapSpec.model_validate({"databases": [{"name": "split_one", "owner_role": "svc_split"}]})
    before = catalog_snapshot(pg_server)
    with pytest.raises(bootstrap.BootstrapError, match="also database split_two outside the spec"):
        bootstrap.converge(pg_server.master_connect_to(), spec)
    assert catalog_snapshot(pg_server) == before


def test_an_owner_role_that_can_log_in_stops_the_run(bootstrap: ModuleType, pg_server: PostgresServer) -> None:
    master = pg_server.master()
    try:
        master.run("CREATE ROLE svc_loud_owner LOGIN")
    finally:
        master.close()
    spec = bootstrap.BootstrapSpec.model_validate({"databases": [{"name": "loud_app", "owner_role": "svc_loud"}]})
    before = catalog_snapshot(pg_server)
    with pytest.raises(bootstrap.BootstrapError, match="'svc_loud_owner' exists and can log in"):
        bootstrap.converge(pg_server.master_connect_to(), spec)
    assert catalog_snapshot(pg_server) == before


def test_a_membership_in_the_login_role_the_master_cannot_revoke_stops_the_run(
    bootstrap: ModuleType, pg_server: PostgresServer
) -> None:
    master = pg_server.master()
    try:
        master.run("CREATE ROLE svc_granted LOGIN")
    finally:
        master.close()
    pg_server.sql(f"GRANT svc_granted TO {MASTER} WITH INHERIT TRUE, SET TRUE GRANTED BY postgres")
    spec = bootstrap.BootstrapSpec.model_validate({"databases": [{"name": "granted_app", "owner_role": "svc_granted"}]})
    before = catalog_snapshot(pg_server)
    with pytest.raises(bootstrap.BootstrapError, match="granted by postgres"):
        bootstrap.converge(pg_server.master_connect_to(), spec)
    assert catalog_snapshot(pg_server) == before


# --- Extensions the owner role may not create --------------------------------------------------


class OwnerRefusesExtensions:
    """A connection on which CREATE EXTENSION fails with insufficient_privilege while a role is set
    (what a server says for an extension only a privileged user such as rds_superuser may create)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.role_set = False

    def run(self, sql: str, **params: Any) -> Any:
        if sql.startswith(("SET ROLE", "SET LOCAL ROLE")):
            self.role_set = True
        elif sql == "RESET ROLE":
            self.role_set = False
        elif sql.startswith("CREATE EXTENSION") and self.role_set:
            raise pg8000.native.DatabaseError({"C": "42501", "M": "permission denied to create extension (test)"})
        return self.connection.run(sql, **params)

    def close(self) -> None:
        self.connection.close()


def test_an_extension_the_owner_may_not_create_is_created_by_the_master(
    bootstrap: ModuleType, pg_server: PostgresServer
) -> None:
    def connect_to(database: str) -> Any:
        return OwnerRefusesExtensions(pg_server.master(database))

    spec = bootstrap.BootstrapSpec.model_validate(
        {"databases": [{"name": "fallback_app", "owner_role": "svc_fallback", "extensions": ["pg_trgm"]}]}
    )
    report = bootstrap.converge(connect_to, spec)
    assert "created extension pg_trgm in fallback_app as the master user" in report.changes
    assert report.refused_extensions == {}
    assert pg_server.sql(
        "SELECT pg_get_userbyid(extowner), (SELECT nspname FROM pg_namespace WHERE oid = extnamespace)"
        " FROM pg_extension WHERE extname = 'pg_trgm'",
        "fallback_app",
    ) == [[MASTER, "public"]]
    # The CREATE the owner role lent the master for it is gone again.
    assert pg_server.sql(
        "SELECT has_schema_privilege(:m, 'public', 'CREATE'), has_database_privilege(:m, current_database(), 'CREATE')",
        "fallback_app",
        m=MASTER,
    ) == [[False, False]]
    owner = "svc_fallback_owner"
    assert public_schema(pg_server, "fallback_app", owner)[0][1] == f"{{{owner}=UC/{owner},master=U/{owner}}}"
    assert pg_server.sql("SELECT datacl::text FROM pg_database WHERE datname = 'fallback_app'") == [
        [DATABASE_ACL.format(owner=owner)]
    ]
    assert bootstrap.converge(connect_to, spec).changes == []
