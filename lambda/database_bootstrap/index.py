"""CloudFormation custom resource: one database, an owner role and an IAM-authenticated login role per service.

The handler of aws-cdk-lib's provider framework (``custom_resources.Provider``): the framework's
function receives CloudFormation's request, invokes ``handler`` with it and answers CloudFormation
with what ``handler`` returns, or FAILED with the message of what it raises. This function never
reaches the internet. ``PhysicalResourceId`` is always ``database-bootstrap``, so an update never
replaces the resource and CloudFormation never sends a Delete for an old one.

ResourceProperties (CloudFormation passes every value as a string):

- ``SecretArn``: the master secret (JSON: ``username``, ``password``, ``host``, ``port``, ``dbname``).
- ``Host``, ``Port``: the instance endpoint; the host name is checked against the server certificate.
- ``CaFile``: path of the CA bundle inside this function's package.
- ``ServiceToken``, ``ServiceTimeout``, ``CodeVersion``: accepted and not used (the last one is the
  function's asset key, so that new code runs the bootstrap again).
- ``Spec``: JSON, ``{"databases": [{"name": "ticketing_events", "owner_role": "svc_events",
  "extensions": ["pg_trgm"]}], "iam_role": "rds_iam"}``. ``owner_role`` names the service's login
  role; the role that owns its objects is derived from it: ``<owner_role>_owner``.

Create and Update converge (``converge``); Delete does nothing to the database and succeeds,
whatever the properties: databases and roles outlive the stack, and a rollback after a failed
Create must not get stuck. A malformed request, or a Create or Update with malformed properties,
raises before any connection (the framework answers FAILED); so does any other failure.

What ``converge`` makes true for each database in the spec, with a master user that is not a
superuser (RDS: CREATEROLE, CREATEDB and rds_superuser) on PostgreSQL 16 or later. Two roles per
service, so that the master never belongs to a role that is a member of ``iam_role`` (on RDS, a
member of rds_iam can no longer log in with a password):

- The owner role ``svc_x_owner``: NOLOGIN, owns the database, its ``public`` schema and everything
  the service creates. The master holds it with SET and without INHERIT: CREATE DATABASE ... OWNER
  needs it ("must be able to SET ROLE"), and it lets the master act as the owner (``SET ROLE``) for
  grants and maintenance without silently holding the service's privileges.
- The login role ``svc_x`` (the spec's ``owner_role``): LOGIN, no password, a member of ``iam_role``
  (IAM database authentication), and a member of ``svc_x_owner`` WITH INHERIT TRUE, SET TRUE. Its
  ``role`` setting is ``svc_x_owner`` (``ALTER ROLE ... SET role``), so every session of the service
  starts as the owner role and what it creates belongs to ``svc_x_owner``. The master holds nothing
  on it but the ADMIN OPTION that PostgreSQL 16+ gives the creator of a role (no SET, no INHERIT).
- The database exists and is owned by the owner role. PUBLIC has no privilege on it (CONNECT and
  TEMPORARY revoked), the master has CONNECT by an explicit grant. The login role connects through
  its membership in the owner role; no other service's role can.
- Schema: the service uses ``public``, owned by the owner role (rather than ``pg_database_owner``),
  PUBLIC's USAGE revoked, USAGE granted to the master (to read the ``pg_stat_statements`` view
  there). ``public`` rather than a schema named after the service: the database already belongs to
  one service, and the default ``search_path`` then needs no per-role setting.
- Default privileges: functions the owner role creates are not executable by PUBLIC. Tables,
  sequences and the rest already grant nothing to PUBLIC by default.
- Extensions are created as the owner role (PostgreSQL's trusted extensions, e.g. pg_trgm), or,
  when that is refused, as the master (RDS lets rds_superuser create the extensions it supports):
  in one transaction the owner role grants the master CREATE on ``public``, the master creates the
  extension and the grant is revoked again (a failure rolls all three back). One the server does
  not offer (``pg_available_extensions``) or still refuses is reported, not fatal.

Migration from the previous layout (the login role owned the database and ``public``; the master
held SET on the login role): the database's ownership moves to the owner role, and in each database
``REASSIGN OWNED BY svc_x TO svc_x_owner`` moves ``public`` and every object the login role owns
there (tables, sequences, functions, extensions, ...) to the owner role, reported as one change per
database. The service keeps every privilege through its INHERIT membership. Finally the master's
SET grant on the login role is revoked (its ADMIN OPTION stays). The ownership moves need the
master to hold the login role for a moment (INHERIT for ALTER DATABASE, which also needs the
master's CREATEDB; SET for REASSIGN OWNED, run as the login role): each such grant is made and
taken back inside the transaction that uses it, so no other session ever sees it. Objects the
login role creates later as itself (after ``SET ROLE NONE``; ``RESET ROLE`` returns to the owner
role that its ``ALTER ROLE ... SET role`` names) are moved the same way by the next run. The login
role's default privileges (``ALTER DEFAULT PRIVILEGES``) are left as they are.

Nothing is ever dropped, and no privilege of a service is revoked. Every step first reads the
catalog and acts only if needed, so a second run reports no changes. A database owned by a role
other than the owner role (or, for the migration, the login role), a role that exists but belongs
to someone else, an owner role that can log in or is a member of ``iam_role``, a SET or INHERIT
membership of the master in the login role that the master did not grant itself (it cannot revoke
it), or a login role that owns a database outside the spec while it needs reassigning, stops the
run before anything changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import boto3  # type: ignore[import-untyped]
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
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
    quote_literal,
    read_master_secret,
    scalar,
    server_message,
    server_version_num,
    sqlstate,
)
from pydantic import BaseModel, ConfigDict, Field, Json, model_validator

PHYSICAL_RESOURCE_ID = "database-bootstrap"
MINIMUM_SERVER_VERSION = 160000
#: CloudFormation rejects responses over 4 KiB; each Data value and the Reason stay well below.
MAX_DATA_VALUE_CHARS = 500

logger = Logger(service="database-bootstrap")
tracer = Tracer(service="database-bootstrap")


class BootstrapError(Exception):
    """The server or the spec does not allow converging; raised before anything is changed."""


# --- Event and properties ----------------------------------------------------------------------


OWNER_ROLE_SUFFIX = "_owner"
#: PostgreSQL truncates longer names; the owner role's name (login role + suffix) must fit.
MAX_ROLE_NAME_BYTES = 63


def owner_role_of(login_role: str) -> str:
    """The NOLOGIN role that owns a service's objects: ``svc_events`` -> ``svc_events_owner``."""
    return login_role + OWNER_ROLE_SUFFIX


class DatabaseSpec(BaseModel):
    """One service's database, the login role of the service and the extensions it needs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: DatabaseName
    #: The login role; the database and the service's objects belong to ``owner_role_of(owner_role)``.
    owner_role: RoleName
    extensions: tuple[ExtensionName, ...] = ()

    @model_validator(mode="after")
    def _owner_role_name_fits(self) -> DatabaseSpec:
        owner = owner_role_of(self.owner_role)
        if len(owner.encode()) > MAX_ROLE_NAME_BYTES:
            raise ValueError(
                f"owner_role: {self.owner_role!r} is too long, the owner role {owner!r} must fit "
                f"{MAX_ROLE_NAME_BYTES} bytes (owner_role at most "
                f"{MAX_ROLE_NAME_BYTES - len(OWNER_ROLE_SUFFIX)} characters)"
            )
        return self

    @property
    def login_role(self) -> str:
        return self.owner_role

    @property
    def data_owner(self) -> str:
        """The NOLOGIN role that owns the database, its ``public`` schema and the service's objects."""
        return owner_role_of(self.owner_role)


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
        derived = {owner_role_of(role): role for role in self.owner_roles}
        clashes = sorted(f"{owner} (of {role})" for owner, role in derived.items() if owner in self.owner_roles)
        if clashes:
            raise ValueError(f"owner_role: the owner role of one service is the login role of another: {clashes}")
        if self.iam_role in derived:
            raise ValueError(f"owner_role: the owner role of {derived[self.iam_role]!r} would be the iam_role")
        return self

    @property
    def owner_roles(self) -> list[str]:
        """Each login role (the spec's ``owner_role``) once, in the order the spec names them."""
        return list(dict.fromkeys(database.owner_role for database in self.databases))


class BootstrapProperties(BaseModel):
    """ResourceProperties of the custom resource."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    service_token: str | None = Field(default=None, alias="ServiceToken")
    #: CloudFormation passes every property of the resource, its own ``ServiceTimeout`` included.
    service_timeout: str | None = Field(default=None, alias="ServiceTimeout")
    #: The function's asset key (stacks/database_access.py): changed code converges again; not used here.
    code_version: str | None = Field(default=None, alias="CodeVersion")
    secret_arn: str = Field(alias="SecretArn", min_length=1)
    host: str = Field(alias="Host", min_length=1)
    port: int = Field(alias="Port", ge=1, le=65535)
    ca_file: str = Field(alias="CaFile", min_length=1)
    spec: Json[BootstrapSpec] = Field(alias="Spec")


# --- Result ------------------------------------------------------------------------------------


class Report(BaseModel):
    """What a run changed, the objects it reassigned, and the extensions it could not create."""

    changes: list[str] = Field(default_factory=list)
    #: database -> extensions the server does not offer
    unavailable_extensions: dict[str, list[str]] = Field(default_factory=dict)
    #: database -> extension -> the server's reason for refusing it
    refused_extensions: dict[str, dict[str, str]] = Field(default_factory=dict)
    #: database -> objects moved from the login role to the owner role (previous layout)
    reassigned_objects: dict[str, list[str]] = Field(default_factory=dict)

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
            report.changes += _ensure_roles(admin, role, spec.iam_role, master)
        for database in spec.databases:
            report.changes += _ensure_database(admin, database, master)
        for database in spec.databases:
            connection = connect_to(database.name)
            try:
                _reassign_login_role_objects(connection, database, report)
                report.changes += _ensure_schema(connection, database, master)
                _ensure_extensions(connection, database, master, report)
            finally:
                connection.close()
        # Last, once nothing needs the login roles' ownership moved any more.
        for role in spec.owner_roles:
            report.changes += _revoke_master_membership(admin, role, master)
    finally:
        admin.close()
    return report


@contextmanager
def _transaction(connection: Connection) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK when the block raises."""
    connection.run("BEGIN")
    try:
        yield
    except BaseException:
        connection.run("ROLLBACK")
        raise
    connection.run("COMMIT")


#: The master's own grants of a role (the ADMIN OPTION it got on creating the role has another grantor).
_MASTER_SELF_GRANT = (
    "SELECT m.admin_option, m.inherit_option, m.set_option FROM pg_auth_members m"
    " WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :role)"
    " AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND m.grantor = m.member"
)


@contextmanager
def _temporary_membership(connection: Connection, role: str, *, inherit: bool, set_role: bool) -> Iterator[None]:
    """Inside an open transaction: the master holds ``role`` with these options, then as before.

    Made and taken back in the same transaction, the grant is never visible to another session.
    """
    before = query(connection, _MASTER_SELF_GRANT, role=role)
    connection.run(f"GRANT {quote_ident(role)} TO CURRENT_USER WITH INHERIT {inherit}, SET {set_role}")
    yield
    if before:
        _, old_inherit, old_set = before[0]
        connection.run(f"GRANT {quote_ident(role)} TO CURRENT_USER WITH INHERIT {old_inherit}, SET {old_set}")
    else:
        connection.run(f"REVOKE {quote_ident(role)} FROM CURRENT_USER")


def _role_flags(admin: Connection, role: str) -> tuple[bool, bool, bool] | None:
    """(superuser, administrable by the master, can log in), or None when the role does not exist."""
    rows = query(
        admin,
        "SELECT rolsuper, pg_has_role(current_user, oid, 'SET')"
        " OR pg_has_role(current_user, oid, 'MEMBER WITH ADMIN OPTION'), rolcanlogin"
        " FROM pg_roles WHERE rolname = :role",
        role=role,
    )
    return (bool(rows[0][0]), bool(rows[0][1]), bool(rows[0][2])) if rows else None


def _preflight(admin: Connection, spec: BootstrapSpec, master: str) -> None:
    """Refuse, before any change, what converging cannot fix without taking something over."""
    version = server_version_num(admin)
    if version < MINIMUM_SERVER_VERSION:
        raise BootstrapError(f"PostgreSQL 16 or later is required (role grants use WITH SET), server is {version}")
    if not scalar(admin, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role)", role=spec.iam_role):
        raise BootstrapError(f"iam_role {spec.iam_role!r} does not exist on the server (RDS creates rds_iam)")
    for login in spec.owner_roles:
        owner = owner_role_of(login)
        for role, kind in ((login, "owner_role"), (owner, "owner role")):
            if role == master:
                raise BootstrapError(f"{kind} {role!r} is the master user; each service needs roles of its own")
            flags = _role_flags(admin, role)
            if flags and flags[0]:
                raise BootstrapError(f"{kind} {role!r} exists and is a superuser; a service role must not be")
            if flags and not flags[1]:
                raise BootstrapError(
                    f"{kind} {role!r} exists but {master} cannot administer it (no ADMIN OPTION): it was not "
                    f"created by {master}; grant it to {master} WITH ADMIN OPTION, or choose another name"
                )
            if role == owner and flags and flags[2]:
                raise BootstrapError(f"owner role {owner!r} exists and can log in; it must be NOLOGIN")
        if scalar(
            admin,
            "SELECT pg_has_role(oid, :iam_role, 'MEMBER') FROM pg_roles WHERE rolname = :role",
            role=owner,
            iam_role=spec.iam_role,
        ):
            raise BootstrapError(
                f"owner role {owner!r} is a member of {spec.iam_role!r}; {master} holds the owner role, so it "
                f"would be in a membership chain that leads to {spec.iam_role!r}"
            )
        foreign = scalar(
            admin,
            "SELECT string_agg(pg_get_userbyid(m.grantor), ', ') FROM pg_auth_members m"
            " WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :role)"
            " AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            " AND m.grantor <> m.member AND (m.inherit_option OR m.set_option)",
            role=login,
        )
        if foreign:
            raise BootstrapError(
                f"{master} is a member of login role {login!r} with SET or INHERIT, granted by {foreign}; "
                f"{master} cannot revoke that grant, and it would keep {master} in a chain that leads to "
                f"{spec.iam_role!r}"
            )
    for database in spec.databases:
        owner = scalar(
            admin, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :name", name=database.name
        )
        if owner is not None and owner not in (database.data_owner, database.login_role):
            raise BootstrapError(
                f"database {database.name!r} exists and is owned by {owner!r}, not {database.data_owner!r} "
                f"(nor {database.login_role!r}, the previous layout); ownership is never taken over by the bootstrap"
            )
    spec_databases = [database.name for database in spec.databases]
    for login in spec.owner_roles:
        # REASSIGN OWNED also moves the shared objects (databases, tablespaces) a role owns.
        outside = query(
            admin,
            "SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_shdepend d"
            " WHERE d.dbid = 0 AND d.deptype = 'o' AND d.refclassid = 'pg_authid'::regclass"
            " AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = :role)"
            " AND NOT (d.classid = 'pg_database'::regclass"
            "  AND d.objid IN (SELECT oid FROM pg_database WHERE datname = ANY(CAST(:names AS text[]))))"
            " ORDER BY 1",
            role=login,
            names=spec_databases,
        )
        to_reassign = scalar(
            admin,
            "SELECT EXISTS (SELECT 1 FROM pg_shdepend d JOIN pg_database b ON b.oid = d.dbid"
            " WHERE b.datname = ANY(CAST(:names AS text[])) AND d.deptype = 'o'"
            " AND d.refclassid = 'pg_authid'::regclass AND d.classid <> 'pg_default_acl'::regclass"
            " AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = :role))",
            role=login,
            names=spec_databases,
        )
        if outside and to_reassign:
            raise BootstrapError(
                f"login role {login!r} owns objects in the spec's databases that must move to "
                f"{owner_role_of(login)!r}, and also {', '.join(row[0] for row in outside)} outside the spec; "
                "REASSIGN OWNED would move those too: change their owner first"
            )


def _ensure_roles(admin: Connection, login: str, iam_role: str, master: str) -> list[str]:
    changes: list[str] = []
    owner = owner_role_of(login)
    if scalar(admin, "SELECT rolcanlogin FROM pg_roles WHERE rolname = :role", role=owner) is None:
        admin.run(f"CREATE ROLE {quote_ident(owner)} NOLOGIN")
        changes.append(f"created owner role {owner}")
    if not scalar(admin, "SELECT pg_has_role(current_user, :role, 'SET')", role=owner):
        admin.run(f"GRANT {quote_ident(owner)} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE")
        changes.append(f"granted {owner} to {master} with SET (no INHERIT)")

    can_login = scalar(admin, "SELECT rolcanlogin FROM pg_roles WHERE rolname = :role", role=login)
    if can_login is None:
        admin.run(f"CREATE ROLE {quote_ident(login)} LOGIN")
        changes.append(f"created login role {login}")
    elif not can_login:
        admin.run(f"ALTER ROLE {quote_ident(login)} LOGIN")
        changes.append(f"allowed role {login} to log in")
    if not scalar(admin, "SELECT pg_has_role(:role, :iam_role, 'MEMBER')", role=login, iam_role=iam_role):
        admin.run(f"GRANT {quote_ident(iam_role)} TO {quote_ident(login)}")
        changes.append(f"granted {iam_role} to {login}")
    holds_owner = scalar(
        admin,
        "SELECT EXISTS (SELECT 1 FROM pg_auth_members m"
        " WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = :owner)"
        " AND m.member = (SELECT oid FROM pg_roles WHERE rolname = :login) AND m.inherit_option AND m.set_option)",
        owner=owner,
        login=login,
    )
    if not holds_owner:
        admin.run(f"GRANT {quote_ident(owner)} TO {quote_ident(login)} WITH INHERIT TRUE, SET TRUE")
        changes.append(f"granted {owner} to {login} with INHERIT and SET")
    setting = f"role={owner}"
    if not scalar(
        admin,
        "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s WHERE s.setdatabase = 0"
        " AND s.setrole = (SELECT oid FROM pg_roles WHERE rolname = :login) AND :setting = ANY(s.setconfig))",
        login=login,
        setting=setting,
    ):
        admin.run(f"ALTER ROLE {quote_ident(login)} SET role = {quote_literal(owner)}")
        changes.append(f"sessions of {login} start as {owner} (ALTER ROLE ... SET role)")
    return changes


def _ensure_database(admin: Connection, database: DatabaseSpec, master: str) -> list[str]:
    changes: list[str] = []
    name = quote_ident(database.name)
    owner = database.data_owner
    current_owner = scalar(
        admin, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :name", name=database.name
    )
    if current_owner is None:
        admin.run(f"CREATE DATABASE {name} OWNER {quote_ident(owner)}")
        changes.append(f"created database {database.name} owned by {owner}")
    elif current_owner == database.login_role:
        # ALTER DATABASE ... OWNER needs the privileges of the current owner and CREATEDB: the
        # master's, holding the login role with INHERIT for this one transaction.
        with _transaction(admin), _temporary_membership(admin, database.login_role, inherit=True, set_role=True):
            admin.run(f"ALTER DATABASE {name} OWNER TO {quote_ident(owner)}")
        changes.append(f"moved ownership of database {database.name} from {database.login_role} to {owner}")
    public_privileges = scalar(
        admin,
        "SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)"
        " FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a"
        " WHERE d.datname = :name AND a.grantee = 0",
        name=database.name,
    )
    # Grants on the database are the owner's to give and take: act as the owner.
    if public_privileges:
        with as_role(admin, owner):
            admin.run(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        changes.append(f"revoked {public_privileges} on database {database.name} from PUBLIC")
    # Checked after the revoke: until then the master could connect as a member of PUBLIC.
    if not scalar(admin, "SELECT has_database_privilege(current_user, :name, 'CONNECT')", name=database.name):
        with as_role(admin, owner):
            admin.run(f"GRANT CONNECT ON DATABASE {name} TO {quote_ident(master)}")
        changes.append(f"granted CONNECT on database {database.name} to {master}")
    return changes


def _reassign_login_role_objects(connection: Connection, database: DatabaseSpec, report: Report) -> None:
    """Previous layout: what the login role owns in this database moves to the owner role."""
    login, owner = database.login_role, database.data_owner
    # Default privileges are not owned objects (REASSIGN OWNED leaves them); shared objects have dbid 0.
    owned = [
        str(row[0])
        for row in query(
            connection,
            "SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_shdepend d"
            " WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND d.deptype = 'o' AND d.refclassid = 'pg_authid'::regclass"
            " AND d.classid <> 'pg_default_acl'::regclass"
            " AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = :login) ORDER BY 1",
            login=login,
        )
    ]
    if not owned:
        return
    # Run as the login role (it may act as both roles), with SET granted to the master for this
    # transaction only.
    with _transaction(connection), _temporary_membership(connection, login, inherit=False, set_role=True):
        connection.run(f"SET LOCAL ROLE {quote_ident(login)}")
        connection.run(f"REASSIGN OWNED BY {quote_ident(login)} TO {quote_ident(owner)}")
        connection.run("RESET ROLE")
    report.reassigned_objects[database.name] = owned
    report.changes.append(f"reassigned {len(owned)} objects in {database.name} from {login} to {owner}")


def _revoke_master_membership(admin: Connection, login: str, master: str) -> list[str]:
    """Previous layout: the master's own SET (or INHERIT) grant of the login role goes; ADMIN stays."""
    rows = query(admin, _MASTER_SELF_GRANT + " AND (m.inherit_option OR m.set_option)", role=login)
    if not rows:
        return []
    if rows[0][0]:  # the same grant carries an ADMIN OPTION: keep it, take the other options back
        admin.run(f"REVOKE INHERIT OPTION FOR {quote_ident(login)} FROM CURRENT_USER")
        admin.run(f"REVOKE SET OPTION FOR {quote_ident(login)} FROM CURRENT_USER")
    else:
        admin.run(f"REVOKE {quote_ident(login)} FROM CURRENT_USER")
    return [f"revoked {master}'s SET/INHERIT membership in login role {login} (ADMIN OPTION kept)"]


def _ensure_schema(connection: Connection, database: DatabaseSpec, master: str) -> list[str]:
    changes: list[str] = []
    owner = database.data_owner
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


def _grant_as(connection: Connection, role: str, statements: list[str]) -> None:
    """Inside an open transaction: run GRANT or REVOKE statements as ``role`` (the grantor)."""
    if statements:
        connection.run(f"SET LOCAL ROLE {quote_ident(role)}")
        for statement in statements:
            connection.run(statement)
        connection.run("RESET ROLE")


def _ensure_extensions(connection: Connection, database: DatabaseSpec, master: str, report: Report) -> None:
    owner = database.data_owner
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
            with as_role(connection, owner):
                connection.run(statement)
            report.changes.append(f"created extension {extension} in {database.name} as {owner}")
            continue
        except DatabaseError as error:
            if sqlstate(error) != INSUFFICIENT_PRIVILEGE:
                report.refused_extensions.setdefault(database.name, {})[extension] = server_message(error)
                continue
        # As the master, which needs CREATE on public (the owner's schema) for the extension's objects,
        # and on the database for a trusted extension: lent by the owner role and taken back in the
        # same transaction, or rolled back with it.
        try:
            with _transaction(connection):
                held = {
                    "SCHEMA public": scalar(
                        connection, "SELECT has_schema_privilege(current_user, 'public', 'CREATE')"
                    ),
                    f"DATABASE {quote_ident(database.name)}": scalar(
                        connection, "SELECT has_database_privilege(current_user, current_database(), 'CREATE')"
                    ),
                }
                lent = [target for target, has_it in held.items() if not has_it]
                master_id = quote_ident(master)
                _grant_as(connection, owner, [f"GRANT CREATE ON {target} TO {master_id}" for target in lent])
                connection.run(statement)
                _grant_as(connection, owner, [f"REVOKE CREATE ON {target} FROM {master_id}" for target in lent])
            report.changes.append(f"created extension {extension} in {database.name} as the master user")
        except DatabaseError as error:
            report.refused_extensions.setdefault(database.name, {})[extension] = server_message(error)


# --- Handler -----------------------------------------------------------------------------------


class ProviderEvent(BaseModel):
    """The request aws-cdk-lib's provider framework passes on (CloudFormation's, without a way to answer it:
    the framework answers with what the handler returns, or FAILED with the exception it raises)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    request_type: Literal["Create", "Update", "Delete"] = Field(alias="RequestType")
    logical_resource_id: str = Field(alias="LogicalResourceId", min_length=1)
    request_id: str = Field(alias="RequestId", min_length=1)
    physical_resource_id: str | None = Field(default=None, alias="PhysicalResourceId")
    resource_properties: dict[str, Any] = Field(default_factory=dict, alias="ResourceProperties")


class ProviderResult(BaseModel):
    """What the provider framework sends CloudFormation: the resource's id and its attributes (``Data``)."""

    physical_resource_id: str = Field(default=PHYSICAL_RESOURCE_ID, serialization_alias="PhysicalResourceId")
    data: dict[str, str] = Field(default_factory=dict, serialization_alias="Data")


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


def on_event(request: ProviderEvent, secrets_client: SecretsClient) -> ProviderResult:
    """Create and Update converge; Delete leaves databases and roles in place (they outlive the stack).

    Properties are validated before anything connects, and not on Delete (a rollback after a failed
    Create must not get stuck on the properties that failed it).
    """
    if request.request_type == "Delete":
        logger.info("delete leaves databases and roles in place")
        return ProviderResult(physical_resource_id=request.physical_resource_id or PHYSICAL_RESOURCE_ID)
    properties = BootstrapProperties.model_validate(request.resource_properties)
    report = bootstrap(properties, secrets_client)
    logger.info("bootstrap converged", extra={"report": report.model_dump()})
    return ProviderResult(data=report.cfn_data(properties.spec))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The provider framework's onEvent handler: it answers CloudFormation with the returned dict, or FAILED
    (the exception's message) when this raises; a malformed event raises before anything connects."""
    request = ProviderEvent.model_validate(event)
    logger.info("request", extra={"request_type": request.request_type, "logical_id": request.logical_resource_id})
    result = on_event(request, boto3.client("secretsmanager"))
    return result.model_dump(by_alias=True)
