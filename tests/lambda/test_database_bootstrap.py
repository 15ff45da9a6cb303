"""database_bootstrap against a real server, run as a master user that is not a superuser (as on RDS)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from pg_testing import (  # type: ignore[import-not-found]
    IAM_ROLE,
    MASTER,
    MASTER_PASSWORD,
    TLS_HOST,
    Certificates,
    PostgresServer,
    ResponseServer,
    TlsProxy,
    cfn_event,
    set_password,
    sqlstate,
)
from pydantic import ValidationError

pytestmark = pytest.mark.slow

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


def test_first_run_creates_login_roles_in_the_iam_role(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    first, _ = runs
    assert "created login role svc_events" in first.changes
    assert "created login role svc_orders" in first.changes
    rows = pg_server.sql(
        "SELECT rolname, rolcanlogin, rolsuper, rolpassword IS NULL, pg_has_role(rolname, :iam, 'MEMBER')"
        " FROM pg_authid WHERE rolname IN ('svc_events', 'svc_orders') ORDER BY 1",
        iam=IAM_ROLE,
    )
    assert rows == [["svc_events", True, False, True, True], ["svc_orders", True, False, True, True]]


def test_the_master_can_set_role_to_service_roles_without_inheriting_them(
    runs: tuple[Any, Any], pg_server: PostgresServer
) -> None:
    rows = pg_server.sql(
        "SELECT roleid::regrole::text, bool_or(admin_option), bool_or(inherit_option), bool_or(set_option)"
        " FROM pg_auth_members WHERE member = :m::regrole AND roleid::regrole::text LIKE 'svc_%' GROUP BY 1 ORDER BY 1",
        m=MASTER,
    )
    assert rows == [["svc_events", True, False, True], ["svc_orders", True, False, True]]


def test_first_run_creates_databases_owned_by_their_service(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    rows = pg_server.sql(
        "SELECT datname, pg_get_userbyid(datdba), datacl::text FROM pg_database"
        " WHERE datname LIKE 'ticketing_%' ORDER BY 1"
    )
    # PUBLIC (an empty grantee before '=') has nothing; the owner has everything; the master CONNECT.
    assert rows == [
        ["ticketing_events", "svc_events", "{svc_events=CTc/svc_events,master=c/svc_events}"],
        ["ticketing_orders", "svc_orders", "{svc_orders=CTc/svc_orders,master=c/svc_orders}"],
    ]


def test_public_schema_belongs_to_the_service(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    for database, owner in (("ticketing_events", "svc_events"), ("ticketing_orders", "svc_orders")):
        rows = pg_server.sql(
            "SELECT pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace WHERE nspname = 'public'", database
        )
        assert rows == [[owner, f"{{{owner}=UC/{owner},master=U/{owner}}}"]]
        default_acl = pg_server.sql(
            "SELECT defaclobjtype, defaclacl::text FROM pg_default_acl WHERE defaclrole = :r::regrole",
            database,
            r=owner,
        )
        assert default_acl == [["f", f"{{{owner}=X/{owner}}}"]]


def test_extensions_created_or_reported(runs: tuple[Any, Any], pg_server: PostgresServer) -> None:
    first, second = runs
    assert "pg_trgm" in pg_server.extensions
    assert "pg_bigm" not in pg_server.extensions  # the embedded build has no pg_bigm
    for database, owner in (("ticketing_events", "svc_events"), ("ticketing_orders", "svc_orders")):
        assert pg_server.sql(
            "SELECT pg_get_userbyid(extowner) FROM pg_extension WHERE extname = 'pg_trgm'", database
        ) == [[owner]]
    for report in (first, second):
        assert report.unavailable_extensions == {"ticketing_events": ["pg_bigm"]}
        # The server offers pg_stat_statements, but only a superuser may create it here (RDS lets
        # rds_superuser): it is reported with the server's reason and does not fail the run.
        refused = report.refused_extensions["ticketing_events"]
        assert list(refused) == ["pg_stat_statements"]
        assert "permission denied" in refused["pg_stat_statements"]


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
        own.run("CREATE TABLE tickets (id bigint PRIMARY KEY, holder text)")
        own.run("INSERT INTO tickets VALUES (1, 'someone')")
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
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:database-bootstrap",
        "SecretArn": secret["ARN"],
        "Host": TLS_HOST,
        "Port": str(tls_proxy.port),
        "CaFile": str(certificates.ca_file),
        "Spec": json.dumps(
            {"databases": [{"name": "ticketing_venues", "owner_role": "svc_venues", "extensions": ["pg_trgm"]}]}
        ),
    }


def test_create_converges_over_tls_and_puts_success(
    bootstrap: ModuleType,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    response_server: ResponseServer,
    handler_properties: dict[str, Any],
) -> None:
    sessions_before = len(tls_proxy.sessions)
    event = cfn_event("Create", response_server.url, handler_properties)
    bootstrap.handler(event, None)

    [response] = response_server.responses
    assert response.path == "/cfn-response?X-Amz-Signature=test"
    assert response.headers["Content-Type"] == ""
    assert response.body["Status"] == "SUCCESS"
    assert response.body["PhysicalResourceId"] == "database-bootstrap"
    assert response.body["RequestId"] == event["RequestId"]
    assert response.body["StackId"] == event["StackId"]
    assert response.body["LogicalResourceId"] == "DatabaseBootstrap"
    assert int(response.body["Data"]["Changes"]) > 0
    assert response.body["Data"]["Databases"] == "ticketing_venues"
    assert len(tls_proxy.sessions) == sessions_before + 2  # the admin database, then ticketing_venues
    assert pg_server.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'ticketing_venues'") == [
        ["svc_venues"]
    ]

    update = cfn_event("Update", response_server.url, handler_properties, PhysicalResourceId="database-bootstrap")
    bootstrap.handler(update, None)
    assert response_server.responses[1].body["Status"] == "SUCCESS"
    assert response_server.responses[1].body["Data"]["Changes"] == "0"


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
def test_malformed_properties_put_failed_and_raise_before_connecting(
    bootstrap: ModuleType,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    response_server: ResponseServer,
    handler_properties: dict[str, Any],
    change: dict[str, Any],
    message: str,
) -> None:
    properties = {key: value for key, value in {**handler_properties, **change}.items() if value is not None}
    sessions_before = len(tls_proxy.sessions)
    before = catalog_snapshot(pg_server)
    with pytest.raises(ValidationError, match=message):
        bootstrap.handler(cfn_event("Create", response_server.url, properties), None)
    [response] = response_server.responses
    assert response.body["Status"] == "FAILED"
    assert response.body["PhysicalResourceId"] == "database-bootstrap"
    assert "ValidationError" in response.body["Reason"]
    assert len(tls_proxy.sessions) == sessions_before
    assert catalog_snapshot(pg_server) == before


def test_a_failure_while_converging_puts_failed(
    bootstrap: ModuleType,
    response_server: ResponseServer,
    handler_properties: dict[str, Any],
    certificates: Certificates,
) -> None:
    properties = {**handler_properties, "CaFile": str(certificates.other_ca_file)}
    with pytest.raises(Exception, match="certificate verify failed"):
        bootstrap.handler(cfn_event("Create", response_server.url, properties), None)
    [response] = response_server.responses
    assert response.body["Status"] == "FAILED"
    assert "certificate verify failed" in response.body["Reason"]


@pytest.mark.parametrize("properties", ["valid", "malformed"])
def test_delete_changes_nothing_and_puts_success(
    bootstrap: ModuleType,
    runs: tuple[Any, Any],
    pg_server: PostgresServer,
    response_server: ResponseServer,
    handler_properties: dict[str, Any],
    properties: str,
) -> None:
    resource_properties = handler_properties if properties == "valid" else {"Spec": "{not json"}
    before = catalog_snapshot(pg_server)
    event = cfn_event("Delete", response_server.url, resource_properties, PhysicalResourceId="database-bootstrap")
    bootstrap.handler(event, None)
    [response] = response_server.responses
    assert response.body["Status"] == "SUCCESS"
    assert response.body["PhysicalResourceId"] == "database-bootstrap"
    assert catalog_snapshot(pg_server) == before
    assert {"ticketing_events", "ticketing_orders"} <= {row[0] for row in before["databases"]}


def test_a_malformed_request_puts_failed_when_it_can_and_raises(
    bootstrap: ModuleType, response_server: ResponseServer, handler_properties: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="RequestType"):
        bootstrap.handler(cfn_event("Replace", response_server.url, handler_properties), None)
    [response] = response_server.responses
    assert response.body["Status"] == "FAILED"
    assert "malformed request" in response.body["Reason"]

    # Without a response URL there is nobody to answer.
    with pytest.raises(ValidationError, match="ResponseURL"):
        bootstrap.handler({"RequestType": "Create"}, None)
    assert len(response_server.responses) == 1
