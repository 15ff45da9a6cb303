"""CloudFormation custom resource: one database and one IAM-authenticated login role per service.

The function answers CloudFormation itself: it PUTs the response JSON to the request's
``ResponseURL``. ``PhysicalResourceId`` is always ``database-bootstrap``, so an update never
replaces the resource and CloudFormation never sends a Delete for an old one.

ResourceProperties (CloudFormation passes every value as a string):

- ``SecretArn``: the master secret (JSON: ``username``, ``password``, ``host``, ``port``, ``dbname``).
- ``Host``, ``Port``: the instance endpoint; the host name is checked against the server certificate.
- ``CaFile``: path of the CA bundle inside this function's package.
- ``Spec``: JSON, ``{"databases": [{"name": "ticketing_events", "owner_role": "svc_events",
  "extensions": ["pg_trgm"]}], "iam_role": "rds_iam"}``.

Create and Update converge (``converge``); Delete does nothing to the database and reports
success, whatever the properties: databases and roles outlive the stack, and a rollback after a
failed Create must not get stuck. A Create or Update with malformed properties, or a request that
is malformed but says where to answer, gets FAILED and the function raises, before any connection.
Any other failure also answers FAILED and raises (Lambda's own retries of an asynchronous
invocation then only converge again).

What ``converge`` makes true for each database in the spec, with a master user that is not a
superuser (RDS: CREATEROLE, CREATEDB and rds_superuser) on PostgreSQL 16 or later:

- The owner role exists, can log in, has no password and is a member of ``iam_role`` (IAM database
  authentication). Since PostgreSQL 16 a role created by a non-superuser with CREATEROLE is granted
  to its creator WITH ADMIN OPTION only (no SET, no INHERIT). The master grants itself SET on the
  role, still without INHERIT: CREATE DATABASE ... OWNER needs it ("must be able to SET ROLE"), and
  it lets the master act as the owner (``SET ROLE``) for grants and maintenance without silently
  holding the service's privileges.
- The database exists and is owned by the owner role. PUBLIC has no privilege on it (CONNECT and
  TEMPORARY revoked), the master has CONNECT by an explicit grant.
- Schema: the service uses ``public``, owned by the owner role (rather than ``pg_database_owner``),
  PUBLIC's USAGE revoked, USAGE granted to the master (to read the ``pg_stat_statements`` view
  there). ``public`` rather than a schema named after the service: the database already belongs to
  one service, and the default ``search_path`` then needs no per-role setting.
- Default privileges: functions the owner role creates are not executable by PUBLIC. Tables,
  sequences and the rest already grant nothing to PUBLIC by default.
- Extensions are created as the owner role (PostgreSQL's trusted extensions), or, when that is
  refused, as the master (RDS lets rds_superuser create the extensions it supports). One the
  server does not offer (``pg_available_extensions``) or refuses is reported, not fatal.

Nothing is ever dropped or revoked from a service role. Every step first reads the catalog and acts
only if needed, so a second run reports no changes. A database or role that exists but belongs to
someone else stops the run before anything changes.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Literal

import boto3  # type: ignore[import-untyped]
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import parse
from pg_common import (
    INSUFFICIENT_PRIVILEGE,
    Connection,
    ConnectTo,
    DatabaseError,
    DatabaseName,
    ExtensionName,
    RoleName,
    SecretsClient,
    as_role,
    connector,
    query,
    quote_ident,
    read_master_secret,
    scalar,
    server_message,
    server_version_num,
    sqlstate,
)
from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError, model_validator

PHYSICAL_RESOURCE_ID = "database-bootstrap"
MINIMUM_SERVER_VERSION = 160000
#: CloudFormation rejects responses over 4 KiB; each Data value and the Reason stay well below.
MAX_DATA_VALUE_CHARS = 500
MAX_REASON_CHARS = 1000
RESPONSE_TIMEOUT_SECONDS = 10

logger = Logger(service="database-bootstrap")


class BootstrapError(Exception):
    """The server or the spec does not allow converging; raised before anything is changed."""


# --- Event and properties ----------------------------------------------------------------------


class DatabaseSpec(BaseModel):
    """One service's database, the login role that owns it and the extensions it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: DatabaseName
    owner_role: RoleName
    extensions: tuple[ExtensionName, ...] = ()


class BootstrapSpec(BaseModel):
    """The ``Spec`` property: every service database, and the role that enables IAM authentication."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    databases: tuple[DatabaseSpec, ...] = Field(min_length=1)
    iam_role: RoleName = "rds_iam"

    @model_validator(mode="after")
    def _names_are_consistent(self) -> BootstrapSpec:
        names = [database.name for database in self.databases]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"databases: each name may appear once, repeated: {', '.join(duplicates)}")
        if self.iam_role in self.owner_roles:
            raise ValueError(f"owner_role: {self.iam_role!r} is the iam_role; a service needs a login role of its own")
        return self

    @property
    def owner_roles(self) -> list[str]:
        """Each owner role once, in the order the spec names them."""
        return list(dict.fromkeys(database.owner_role for database in self.databases))


class BootstrapProperties(BaseModel):
    """ResourceProperties of the custom resource."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_token: str | None = Field(default=None, alias="ServiceToken")
    secret_arn: str = Field(alias="SecretArn", min_length=1)
    host: str = Field(alias="Host", min_length=1)
    port: int = Field(alias="Port", ge=1, le=65535)
    ca_file: str = Field(alias="CaFile", min_length=1)
    spec: Json[BootstrapSpec] = Field(alias="Spec")


class ReplyAddress(BaseModel):
    """Where and to which request a response goes: enough to answer even a request that is otherwise malformed."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    response_url: str = Field(alias="ResponseURL", pattern=r"^https?://")
    stack_id: str = Field(alias="StackId", min_length=1)
    request_id: str = Field(alias="RequestId", min_length=1)
    logical_resource_id: str = Field(alias="LogicalResourceId", min_length=1)
    physical_resource_id: str | None = Field(default=None, alias="PhysicalResourceId")


class CustomResourceRequest(ReplyAddress):
    """The CloudFormation request (properties are validated separately, and not on Delete)."""

    request_type: Literal["Create", "Update", "Delete"] = Field(alias="RequestType")
    resource_properties: dict[str, Any] = Field(default_factory=dict, alias="ResourceProperties")


# --- Result ------------------------------------------------------------------------------------


class Report(BaseModel):
    """What a run changed, and the extensions it could not create."""

    changes: list[str] = Field(default_factory=list)
    #: database -> extensions the server does not offer
    unavailable_extensions: dict[str, list[str]] = Field(default_factory=dict)
    #: database -> extension -> the server's reason for refusing it
    refused_extensions: dict[str, dict[str, str]] = Field(default_factory=dict)

    def cfn_data(self, spec: BootstrapSpec) -> dict[str, str]:
        """A short summary for the response's Data (readable with Fn::GetAtt)."""

        def short(text: str) -> str:
            return text if len(text) <= MAX_DATA_VALUE_CHARS else text[: MAX_DATA_VALUE_CHARS - 3] + "..."

        return {
            "Changes": str(len(self.changes)),
            "Databases": short(",".join(database.name for database in spec.databases)),
            "UnavailableExtensions": short(
                ",".join(f"{db}:{ext}" for db, names in self.unavailable_extensions.items() for ext in names)
            ),
            "RefusedExtensions": short(
                ",".join(f"{db}:{ext}" for db, refused in self.refused_extensions.items() for ext in refused)
            ),
        }


# --- Converge ----------------------------------------------------------------------------------


def converge(connect_to: ConnectTo, spec: BootstrapSpec, *, admin_database: str = "postgres") -> Report:
    """Make the server match ``spec`` (see the module docstring); never drops anything."""
    report = Report()
    admin = connect_to(admin_database)
    try:
        master = str(scalar(admin, "SELECT current_user"))
        _preflight(admin, spec, master)
        for role in spec.owner_roles:
            report.changes += _ensure_role(admin, role, spec.iam_role, master)
        for database in spec.databases:
            report.changes += _ensure_database(admin, database, master)
    finally:
        admin.close()

    for database in spec.databases:
        connection = connect_to(database.name)
        try:
            report.changes += _ensure_schema(connection, database, master)
            _ensure_extensions(connection, database, report)
        finally:
            connection.close()
    return report


def _preflight(admin: Connection, spec: BootstrapSpec, master: str) -> None:
    """Refuse, before any change, what converging cannot fix without taking something over."""
    version = server_version_num(admin)
    if version < MINIMUM_SERVER_VERSION:
        raise BootstrapError(f"PostgreSQL 16 or later is required (role grants use WITH SET), server is {version}")
    if not scalar(admin, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role)", role=spec.iam_role):
        raise BootstrapError(f"iam_role {spec.iam_role!r} does not exist on the server (RDS creates rds_iam)")
    for role in spec.owner_roles:
        if role == master:
            raise BootstrapError(f"owner_role {role!r} is the master user; each service needs a role of its own")
        rows = query(
            admin,
            "SELECT rolsuper, pg_has_role(current_user, oid, 'SET')"
            " OR pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION')"
            " FROM pg_roles WHERE rolname = :role",
            role=role,
        )
        if rows and rows[0][0]:
            raise BootstrapError(f"owner_role {role!r} exists and is a superuser; a service role must not be")
        if rows and not rows[0][1]:
            raise BootstrapError(
                f"owner_role {role!r} exists but {master} cannot administer it (no ADMIN OPTION): it was not "
                f"created by {master}; grant it to {master} WITH ADMIN OPTION, or choose another name"
            )
    for database in spec.databases:
        owner = scalar(
            admin, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :name", name=database.name
        )
        if owner is not None and owner != database.owner_role:
            raise BootstrapError(
                f"database {database.name!r} exists and is owned by {owner!r}, not {database.owner_role!r}; "
                "ownership is never changed by the bootstrap"
            )


def _ensure_role(admin: Connection, role: str, iam_role: str, master: str) -> list[str]:
    changes: list[str] = []
    can_login = scalar(admin, "SELECT rolcanlogin FROM pg_roles WHERE rolname = :role", role=role)
    if can_login is None:
        admin.run(f"CREATE ROLE {quote_ident(role)} LOGIN")
        changes.append(f"created login role {role}")
    elif not can_login:
        admin.run(f"ALTER ROLE {quote_ident(role)} LOGIN")
        changes.append(f"allowed role {role} to log in")
    if not scalar(admin, "SELECT pg_has_role(current_user, :role, 'SET')", role=role):
        admin.run(f"GRANT {quote_ident(role)} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE")
        changes.append(f"granted {role} to {master} with SET (no INHERIT)")
    if not scalar(admin, "SELECT pg_has_role(:role, :iam_role, 'MEMBER')", role=role, iam_role=iam_role):
        admin.run(f"GRANT {quote_ident(iam_role)} TO {quote_ident(role)}")
        changes.append(f"granted {iam_role} to {role}")
    return changes


def _ensure_database(admin: Connection, database: DatabaseSpec, master: str) -> list[str]:
    changes: list[str] = []
    name = quote_ident(database.name)
    if not scalar(admin, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :name)", name=database.name):
        admin.run(f"CREATE DATABASE {name} OWNER {quote_ident(database.owner_role)}")
        changes.append(f"created database {database.name} owned by {database.owner_role}")
    public_privileges = scalar(
        admin,
        "SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)"
        " FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
        " WHERE d.datname = :name AND a.grantee = 0",
        name=database.name,
    )
    # Grants on the database are the owner's to give and take: act as the owner.
    if public_privileges:
        with as_role(admin, database.owner_role):
            admin.run(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        changes.append(f"revoked {public_privileges} on database {database.name} from PUBLIC")
    # Checked after the revoke: until then the master could connect as a member of PUBLIC.
    if not scalar(admin, "SELECT has_database_privilege(current_user, :name, 'CONNECT')", name=database.name):
        with as_role(admin, database.owner_role):
            admin.run(f"GRANT CONNECT ON DATABASE {name} TO {quote_ident(master)}")
        changes.append(f"granted CONNECT on database {database.name} to {master}")
    return changes


def _ensure_schema(connection: Connection, database: DatabaseSpec, master: str) -> list[str]:
    changes: list[str] = []
    owner = database.owner_role
    with as_role(connection, owner):
        schema_owner = scalar(connection, "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'")
        if schema_owner is None:
            connection.run(f"CREATE SCHEMA public AUTHORIZATION {quote_ident(owner)}")
            changes.append(f"created schema public in {database.name} owned by {owner}")
        elif schema_owner != owner:
            connection.run(f"ALTER SCHEMA public OWNER TO {quote_ident(owner)}")
            changes.append(f"made {owner} the owner of schema public in {database.name} (was {schema_owner})")

        public_usage = scalar(
            connection,
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a"
            " WHERE n.nspname = 'public' AND a.grantee = 0)",
        )
        if public_usage:
            connection.run("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            changes.append(f"revoked PUBLIC's privileges on schema public in {database.name}")
        if not scalar(connection, "SELECT has_schema_privilege(:master, 'public', 'USAGE')", master=master):
            connection.run(f"GRANT USAGE ON SCHEMA public TO {quote_ident(master)}")
            changes.append(f"granted USAGE on schema public in {database.name} to {master}")

        # No pg_default_acl row means PostgreSQL's default: PUBLIC may execute the owner's new functions.
        public_executes_functions = scalar(
            connection,
            "SELECT coalesce(bool_or(a.grantee = 0 AND a.privilege_type = 'EXECUTE'), true)"
            " FROM pg_default_acl d LEFT JOIN LATERAL aclexplode(d.defaclacl) a ON true"
            " WHERE d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = :owner)"
            " AND d.defaclnamespace = 0 AND d.defaclobjtype = 'f'",
            owner=owner,
        )
        if public_executes_functions:
            connection.run(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_ident(owner)} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC"
            )
            changes.append(f"functions {owner} creates in {database.name} are no longer executable by PUBLIC")
    return changes


def _ensure_extensions(connection: Connection, database: DatabaseSpec, report: Report) -> None:
    installed = {row[0] for row in query(connection, "SELECT extname FROM pg_extension")}
    available = {row[0] for row in query(connection, "SELECT name FROM pg_available_extensions")}
    for extension in database.extensions:
        if extension in installed:
            continue
        if extension not in available:
            report.unavailable_extensions.setdefault(database.name, []).append(extension)
            continue
        statement = f"CREATE EXTENSION IF NOT EXISTS {quote_ident(extension)} CASCADE"
        try:
            with as_role(connection, database.owner_role):
                connection.run(statement)
            report.changes.append(f"created extension {extension} in {database.name} as {database.owner_role}")
            continue
        except DatabaseError as error:
            if sqlstate(error) != INSUFFICIENT_PRIVILEGE:
                report.refused_extensions.setdefault(database.name, {})[extension] = server_message(error)
                continue
        try:
            connection.run(statement)
            report.changes.append(f"created extension {extension} in {database.name} as the master user")
        except DatabaseError as error:
            report.refused_extensions.setdefault(database.name, {})[extension] = server_message(error)


# --- Handler -----------------------------------------------------------------------------------


def bootstrap(properties: BootstrapProperties, secrets_client: SecretsClient) -> Report:
    """Read the master secret and converge with TLS connections to the configured endpoint."""
    secret = read_master_secret(secrets_client, properties.secret_arn)
    connect_to = connector(
        properties.host,
        properties.port,
        secret.username,
        secret.password.get_secret_value(),
        ca_file=properties.ca_file,
        application_name=PHYSICAL_RESOURCE_ID,
    )
    return converge(connect_to, properties.spec, admin_database=secret.dbname)


def send_response(
    request: ReplyAddress,
    status: Literal["SUCCESS", "FAILED"],
    *,
    reason: str = "",
    data: dict[str, str] | None = None,
) -> None:
    """PUT the response document to the pre-signed ``ResponseURL`` (empty Content-Type, as S3 expects)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:MAX_REASON_CHARS],
            "PhysicalResourceId": request.physical_resource_id or PHYSICAL_RESOURCE_ID,
            "StackId": request.stack_id,
            "RequestId": request.request_id,
            "LogicalResourceId": request.logical_resource_id,
            "NoEcho": False,
            "Data": data or {},
        }
    ).encode()
    http_request = urllib.request.Request(
        request.response_url,
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(http_request, timeout=RESPONSE_TIMEOUT_SECONDS) as response:
        response.read()
    logger.info("response sent", extra={"status": status, "reason": reason[:MAX_REASON_CHARS]})


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = parse(event=event, model=CustomResourceRequest)
    except ValidationError as error:
        logger.exception("malformed custom-resource request")
        try:
            reply = ReplyAddress.model_validate(event)
        except ValidationError:
            raise error from None  # nowhere to answer: CloudFormation times the request out
        send_response(reply, "FAILED", reason=f"malformed request: {error}")
        raise
    log_stream = getattr(context, "log_stream_name", "")
    logger.info("request", extra={"request_type": request.request_type, "logical_id": request.logical_resource_id})

    if request.request_type == "Delete":
        send_response(request, "SUCCESS", reason="Delete leaves databases and roles in place")
        return {"Status": "SUCCESS", "Changes": []}

    try:
        properties = BootstrapProperties.model_validate(request.resource_properties)
        report = bootstrap(properties, boto3.client("secretsmanager"))
    except Exception as error:
        logger.exception("bootstrap failed")
        reason = f"{type(error).__name__}: {error}"
        if log_stream:
            reason = f"{reason} (log stream {log_stream})"
        send_response(request, "FAILED", reason=reason)
        raise

    logger.info("bootstrap converged", extra={"report": report.model_dump()})
    send_response(request, "SUCCESS", data=report.cfn_data(properties.spec))
    return {"Status": "SUCCESS", **report.model_dump()}
