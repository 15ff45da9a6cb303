"""The restore drill: restore the newest daily recovery point, check the data, measure, delete.

One step per invocation; the drill's state machine (stacks/restore_drill.py) calls them in order,
waits between checks, and runs `cleanup` after the last step and after any failure:

- ``{"step": "start"}``: find the newest completed snapshot recovery point of the primary in the
  vault, refuse to start while another drill's instance exists (and delete any left over by a drill
  that never cleaned up), and start an AWS Backup restore job into a temporary instance
  ``ticketing-<env>-drill-<time>`` in the database subnets, with the drill's security group, a
  small class, no Multi-AZ, no public access, no deletion protection. Returns the drill's state.
- ``{"step": "check", "state": {...}}``: the restore job's progress: ``status`` stays ``restoring``
  until the job has completed and the instance is available (``ready``); a failed job, or no
  completion by the deadline, is an error.
- ``{"step": "verify", "state": {...}}``: give the temporary instance a fresh master password (the
  snapshot's may have been rotated since; the new one lives only in this invocation), run each
  sanity query in a read-only transaction over TLS as the database's owner role (``SET LOCAL ROLE``:
  the bootstrap grants the master SET on each service's owner role, and the master itself holds no
  privilege on the services' tables), and record the recovery time (drill start to
  verified data) and the recovery point's age at the start (the recovery point objective it met) as
  CloudWatch metrics. A query below its minimum is an error.
- ``{"step": "cleanup", "state": {...}}``: delete the temporary instance (no final snapshot, no
  automated backups kept). Safe to repeat; while the restore job is still running it raises
  ``CleanupPendingError`` so that the state machine retries later, never leaving an instance behind.

A malformed event is refused before any AWS client is created. Environment: ``ENVIRONMENT``,
``VAULT_NAME``, ``SOURCE_ARN`` (the primary's ARN), ``RESTORE_ROLE_ARN``, ``SUBNET_GROUP``,
``SECURITY_GROUP_ID``, ``INSTANCE_CLASS``, ``MAX_WAIT_MINUTES``, ``QUERIES`` (JSON list of
``{"database", "sql", "min_rows"}``), ``CA_FILE``, ``METRIC_NAMESPACE``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3  # type: ignore[import-untyped]
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from pg_common import Connection, connect, quote_ident, scalar
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: How long `verify` waits for the new master password to be applied.
PASSWORD_WAIT_SECONDS = 300
#: What `verify` keeps of the Lambda's time for recording and returning after the last query.
VERIFY_RESERVE_SECONDS = 30
POLL_SECONDS = 15
RUNNING_JOB = ("CREATED", "PENDING", "RUNNING")
FAILED_JOB = ("ABORTED", "FAILED")
_SELECT = re.compile(r"^\s*(select|with)\b[^;]*;?\s*$", re.IGNORECASE | re.DOTALL)
_IDENTIFIER = re.compile(r"^ticketing-[a-z0-9]+-drill-[0-9]{8}-[0-9]{6}$")


logger = Logger(service="restore-drill")
tracer = Tracer(service="restore-drill")


class DrillError(Exception):
    """The drill cannot go on; the message says why (the state machine then cleans up and fails)."""


class CleanupPendingError(Exception):
    """The restore job still runs: the instance cannot be deleted yet. The state machine retries."""


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Query(Frozen):
    database: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    sql: str
    min_rows: int = Field(default=0, ge=0)

    @field_validator("sql")
    @classmethod
    def _one_select(cls, value: str) -> str:
        if not _SELECT.fullmatch(value):
            raise ValueError("one SELECT (or WITH ... SELECT) statement, no ';' inside")
        return value


class QueryResult(Frozen):
    database: str
    sql: str
    value: float
    min_rows: int


class DrillState(Frozen):
    drill_id: str = Field(pattern=_IDENTIFIER.pattern)
    started_at: datetime
    deadline: datetime
    recovery_point_arn: str = Field(min_length=1)
    recovery_point_created_at: datetime
    restore_job_id: str = Field(min_length=1)
    status: Literal["restoring", "ready", "verified"] = "restoring"
    results: tuple[QueryResult, ...] = ()
    recovery_time_seconds: float | None = None
    recovery_point_age_seconds: float | None = None


class StartEvent(Frozen):
    step: Literal["start"]


class StepEvent(Frozen):
    step: Literal["check", "verify"]
    state: DrillState


class CleanupState(BaseModel):
    """What cleanup needs of a state that may be partial (a failure before or during the start)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    drill_id: str | None = Field(default=None, pattern=_IDENTIFIER.pattern)
    restore_job_id: str | None = None
    failure: dict[str, Any] | None = None


class CleanupEvent(Frozen):
    step: Literal["cleanup"]
    state: CleanupState = Field(default_factory=CleanupState)


class Settings(Frozen):
    environment: str = Field(pattern=r"^[a-z0-9]+$")
    vault_name: str = Field(min_length=2)
    source_arn: str = Field(pattern=r"^arn:aws[a-z-]*:rds:")
    restore_role_arn: str = Field(pattern=r"^arn:aws[a-z-]*:iam::")
    subnet_group: str = Field(min_length=1)
    security_group_id: str = Field(pattern=r"^sg-[0-9a-f]+$")
    instance_class: str = Field(pattern=r"^db\.")
    max_wait_minutes: int = Field(ge=1)
    queries: tuple[Query, ...] = ()
    ca_file: str | None = None
    metric_namespace: str = "Ticketing/Backup"

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        keys = ("ENVIRONMENT", "VAULT_NAME", "SOURCE_ARN", "RESTORE_ROLE_ARN", "SUBNET_GROUP", "SECURITY_GROUP_ID",
                "INSTANCE_CLASS", "MAX_WAIT_MINUTES", "QUERIES")  # fmt: skip
        missing = [key for key in keys if not env.get(key)]
        if missing:
            raise DrillError(f"environment variables not set: {', '.join(missing)}")
        try:
            return cls(
                environment=env["ENVIRONMENT"],
                vault_name=env["VAULT_NAME"],
                source_arn=env["SOURCE_ARN"],
                restore_role_arn=env["RESTORE_ROLE_ARN"],
                subnet_group=env["SUBNET_GROUP"],
                security_group_id=env["SECURITY_GROUP_ID"],
                instance_class=env["INSTANCE_CLASS"],
                max_wait_minutes=int(env["MAX_WAIT_MINUTES"]),
                queries=tuple(Query.model_validate(q) for q in json.loads(env["QUERIES"])),
                ca_file=env.get("CA_FILE") or None,
                metric_namespace=env.get("METRIC_NAMESPACE") or "Ticketing/Backup",
            )
        except (ValueError, ValidationError) as error:
            raise DrillError(f"settings: {error}") from error

    @property
    def drill_prefix(self) -> str:
        return f"ticketing-{self.environment}-drill-"


# --- the steps -------------------------------------------------------------------------------------


def start(backup: Any, rds: Any, settings: Settings, now: datetime) -> DrillState:
    _sweep_leftovers(backup, rds, settings, now)
    point = newest_recovery_point(backup, settings)
    metadata = backup.get_recovery_point_restore_metadata(
        BackupVaultName=settings.vault_name, RecoveryPointArn=point["RecoveryPointArn"]
    )["RestoreMetadata"]
    drill_id = f"{settings.drill_prefix}{now:%Y%m%d-%H%M%S}"
    job = backup.start_restore_job(
        RecoveryPointArn=point["RecoveryPointArn"],
        Metadata=restore_metadata(metadata, drill_id, settings),
        IamRoleArn=settings.restore_role_arn,
        ResourceType="RDS",
        IdempotencyToken=drill_id,
    )
    return DrillState(
        drill_id=drill_id,
        started_at=now,
        deadline=now + timedelta(minutes=settings.max_wait_minutes),
        recovery_point_arn=point["RecoveryPointArn"],
        recovery_point_created_at=point["CreationDate"],
        restore_job_id=job["RestoreJobId"],
    )


def newest_recovery_point(backup: Any, settings: Settings) -> dict[str, Any]:
    """The newest COMPLETED snapshot recovery point of the source (continuous points are not snapshots)."""
    points = [
        point
        for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
            BackupVaultName=settings.vault_name, ByResourceArn=settings.source_arn
        )
        for point in page.get("RecoveryPoints", [])
        if point.get("Status") == "COMPLETED" and ":snapshot:" in point.get("RecoveryPointArn", "")
    ]
    if not points:
        raise DrillError(
            f"no completed snapshot recovery point of {settings.source_arn} in the vault {settings.vault_name}: "
            "has the daily backup run yet? (AWS Backup console, Jobs)"
        )
    return max(points, key=lambda point: point["CreationDate"])


def restore_metadata(metadata: dict[str, str], drill_id: str, settings: Settings) -> dict[str, str]:
    """The recovery point's restore metadata with the temporary instance's settings in place of the source's."""
    kept = {key: value for key, value in metadata.items() if key not in ("AvailabilityZone", "DBClusterIdentifier")}
    return kept | {
        "DBInstanceIdentifier": drill_id,
        "DBInstanceClass": settings.instance_class,
        "DBSubnetGroupName": settings.subnet_group,
        "VpcSecurityGroupIds": json.dumps([settings.security_group_id]),
        "MultiAZ": "false",
        "PubliclyAccessible": "false",
        "DeletionProtection": "false",
    }


def _sweep_leftovers(backup: Any, rds: Any, settings: Settings, now: datetime) -> None:
    """Refuse to start while another drill runs (a restore job of this vault still running, or a drill instance
    younger than a drill may take, or one still being created); delete the drill instances left older."""
    for page in backup.get_paginator("list_restore_jobs").paginate(ByResourceType="RDS"):
        for job in page.get("RestoreJobs", []):
            if job.get("Status") in RUNNING_JOB and str(job.get("BackupVaultArn", "")).endswith(
                f":backup-vault:{settings.vault_name}"
            ):
                raise DrillError(f"another restore of {settings.vault_name} runs: job {job.get('RestoreJobId')}")
    oldest_allowed = now - timedelta(minutes=settings.max_wait_minutes + 60)
    for instance in _instances(rds):
        identifier = instance["DBInstanceIdentifier"]
        if not identifier.startswith(settings.drill_prefix):
            continue
        created = instance.get("InstanceCreateTime")
        if created is None or created > oldest_allowed:  # no create time yet: still being created
            since = f"created {created:%Y-%m-%d %H:%M} UTC" if created else "still being created"
            raise DrillError(f"another drill's instance {identifier} exists ({since})")
        delete_instance(rds, identifier)


def _instances(rds: Any) -> Iterator[dict[str, Any]]:
    for page in rds.get_paginator("describe_db_instances").paginate():
        yield from page.get("DBInstances", [])


def check(backup: Any, rds: Any, state: DrillState, now: datetime) -> DrillState:
    job = backup.describe_restore_job(RestoreJobId=state.restore_job_id)
    status = job.get("Status")
    if status in FAILED_JOB:
        raise DrillError(f"restore job {state.restore_job_id} {status}: {job.get('StatusMessage', 'no message')}")
    ready = False
    if status == "COMPLETED":
        instance = _instance(rds, state.drill_id)
        ready = instance is not None and instance.get("DBInstanceStatus") == "available"
    elif status not in RUNNING_JOB:
        raise DrillError(f"restore job {state.restore_job_id}: unknown status {status!r}")
    if not ready and now > state.deadline:
        raise DrillError(
            f"the restore has not finished by {state.deadline:%Y-%m-%d %H:%M} UTC "
            f"(backup.drill.max_wait_minutes); job {state.restore_job_id} is {status}"
        )
    return state.model_copy(update={"status": "ready" if ready else "restoring"})


def _instance(rds: Any, identifier: str) -> dict[str, Any] | None:
    try:
        found: list[dict[str, Any]] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except rds.exceptions.DBInstanceNotFoundFault:
        return None
    return found[0] if found else None


ConnectWith = Callable[[str, int, str, str, str], Connection]


def verify(
    rds: Any,
    cloudwatch: Any,
    settings: Settings,
    state: DrillState,
    *,
    connect_with: ConnectWith,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
    password: str | None = None,
    seconds_left: Callable[[], float] = lambda: 900.0,
) -> DrillState:
    if state.status != "ready":
        raise DrillError(f"verify needs a ready instance; the state says {state.status}")
    password = password or secrets.token_urlsafe(32)
    rds.modify_db_instance(DBInstanceIdentifier=state.drill_id, MasterUserPassword=password, ApplyImmediately=True)
    instance = _wait_for_password(rds, state.drill_id, clock, sleep)
    endpoint = instance["Endpoint"]
    results = []
    failures = []
    for query in settings.queries:
        with closing(
            connect_with(
                endpoint["Address"], int(endpoint["Port"]), instance["MasterUsername"], password, query.database
            )
        ) as connection:
            budget_ms = int((seconds_left() - VERIFY_RESERVE_SECONDS) * 1000)
            if budget_ms < 1000:
                raise DrillError(f"no time left for {query.database}: {query.sql!r} (the verify step has 15 minutes)")
            connection.run("START TRANSACTION READ ONLY")
            connection.run(f"SET LOCAL statement_timeout = {budget_ms}")  # a slow query fails, not the Lambda
            act_as_database_owner(connection, query.database)
            value = scalar(connection, query.sql)
            connection.run("ROLLBACK")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            failures.append(f"{query.database}: {query.sql!r} returned {value!r}, not a number")
            continue
        results.append(QueryResult(database=query.database, sql=query.sql, value=float(value), min_rows=query.min_rows))
        if value < query.min_rows:
            failures.append(f"{query.database}: {query.sql!r} returned {value}, below {query.min_rows}")
    if failures:
        raise DrillError("the restored data fails its sanity checks: " + "; ".join(failures))
    verified_at = clock()
    recovery_time = (verified_at - state.started_at).total_seconds()
    point_age = (state.started_at - state.recovery_point_created_at).total_seconds()
    dimensions = [{"Name": "Environment", "Value": settings.environment}]
    cloudwatch.put_metric_data(
        Namespace=settings.metric_namespace,
        MetricData=[
            {"MetricName": "RecoveryTimeSeconds", "Dimensions": dimensions, "Value": recovery_time, "Unit": "Seconds"},
            {"MetricName": "RecoveryPointAgeSeconds", "Dimensions": dimensions, "Value": point_age, "Unit": "Seconds"},
        ],
    )
    return state.model_copy(
        update={
            "status": "verified",
            "results": tuple(results),
            "recovery_time_seconds": recovery_time,
            "recovery_point_age_seconds": point_age,
        }
    )


#: The database's owner, and whether the session's user may SET ROLE to it.
_OWNER = (
    "SELECT r.rolname, pg_has_role(current_user, r.oid, 'SET') FROM pg_database d"
    " JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = current_database()"
)


def act_as_database_owner(connection: Connection, database: str) -> None:
    """Inside the read-only transaction: ``SET LOCAL ROLE`` to the role that owns the database.

    The master owns none of the services' tables and holds no privilege on them. The bootstrap makes
    each service database belong to its NOLOGIN owner role (which owns what the service creates) and
    grants that role to the master WITH SET, without INHERIT; the restored instance keeps those roles.
    The master therefore reads as the owner for this one transaction, which stays read-only (a write
    fails, and ``ROLLBACK`` ends the role with the transaction). No grant is made on the instance.
    """
    rows = connection.run(_OWNER)
    if not rows:
        raise DrillError(f"{database}: the restored instance has no such database")
    owner, may_set = rows[0][0], rows[0][1]
    if not may_set:
        raise DrillError(
            f"{database}: the master user cannot SET ROLE {owner}, the database's owner, so it cannot read the "
            "service's tables; the database bootstrap grants each service's owner role to the master WITH SET: "
            "was this database laid out by the bootstrap?"
        )
    connection.run(f"SET LOCAL ROLE {quote_ident(str(owner))}")


def _wait_for_password(
    rds: Any, identifier: str, clock: Callable[[], datetime], sleep: Callable[[float], None]
) -> dict[str, Any]:
    """The instance once the new master password is in effect (status available, nothing pending)."""
    until = clock() + timedelta(seconds=PASSWORD_WAIT_SECONDS)
    while True:
        instance = _instance(rds, identifier)
        if instance is None:
            raise DrillError(f"the temporary instance {identifier} is gone")
        pending = instance.get("PendingModifiedValues", {})
        if instance.get("DBInstanceStatus") == "available" and "MasterUserPassword" not in pending:
            return instance
        if clock() > until:
            raise DrillError(f"{identifier}: the new master password was not applied in {PASSWORD_WAIT_SECONDS} s")
        sleep(POLL_SECONDS)


def cleanup(backup: Any, rds: Any, state: CleanupState) -> dict[str, Any]:
    if state.restore_job_id:
        job = backup.describe_restore_job(RestoreJobId=state.restore_job_id)
        if job.get("Status") in RUNNING_JOB:
            raise CleanupPendingError(f"restore job {state.restore_job_id} still runs; its instance comes later")
    deleted = delete_instance(rds, state.drill_id) if state.drill_id else "nothing to delete"
    return {"drill_id": state.drill_id, "cleanup": deleted, "failure": state.failure}


def delete_instance(rds: Any, identifier: str) -> str:
    """Delete a drill instance; idempotent (an instance already gone or going counts as deleted)."""
    if not _IDENTIFIER.fullmatch(identifier):
        raise DrillError(f"{identifier!r} is not a drill instance; refusing to delete it")
    try:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
    except rds.exceptions.DBInstanceNotFoundFault:
        return "already gone"
    except rds.exceptions.InvalidDBInstanceStateFault:
        instance = _instance(rds, identifier)
        if instance is None or instance.get("DBInstanceStatus") == "deleting":
            return "already being deleted"
        raise CleanupPendingError(f"{identifier} is {instance.get('DBInstanceStatus')}; delete it later") from None
    return "deleted"


# --- the Lambda entry point ------------------------------------------------------------------------


def parse_event(event: Any) -> StartEvent | StepEvent | CleanupEvent:
    if not isinstance(event, dict) or event.get("step") not in ("start", "check", "verify", "cleanup"):
        raise DrillError(f'the event must be {{"step": "start" | "check" | "verify" | "cleanup", ...}}, got {event!r}')
    try:
        if event["step"] == "start":
            return StartEvent.model_validate(event)
        if event["step"] == "cleanup":
            return CleanupEvent.model_validate(event)
        return StepEvent.model_validate(event)
    except ValidationError as error:
        raise DrillError(f"malformed {event['step']} event: {error}") from error


def run_step(
    parsed: StartEvent | StepEvent | CleanupEvent,
    settings: Settings,
    clients: tuple[Any, Any, Any],
    *,
    seconds_left: Callable[[], float] = lambda: 900.0,
) -> dict[str, Any]:
    """Run one validated step with its clients (AWS Backup, RDS, CloudWatch); returns the state as JSON."""
    backup, rds, cloudwatch = clients
    now = datetime.now(UTC)
    if isinstance(parsed, StartEvent):
        result: Any = start(backup, rds, settings, now)
    elif isinstance(parsed, CleanupEvent):
        return cleanup(backup, rds, parsed.state)
    elif parsed.step == "check":
        result = check(backup, rds, parsed.state, now)
    else:

        def connect_with(host: str, port: int, user: str, password: str, database: str) -> Connection:
            return connect(
                host, port, user, password, database, ca_file=settings.ca_file, application_name="restore-drill"
            )

        result = verify(rds, cloudwatch, settings, parsed.state, connect_with=connect_with,
                        clock=lambda: datetime.now(UTC), seconds_left=seconds_left)  # fmt: skip
    state: dict[str, Any] = result.model_dump(mode="json")
    return state


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    parsed = parse_event(event)  # before any client exists
    settings = Settings.from_environment()
    logger.info("step", extra={"step": event["step"]})
    return run_step(parsed, settings, _clients(), seconds_left=_seconds_left(context))


def _seconds_left(context: Any) -> Callable[[], float]:
    """The Lambda invocation's remaining time (900 s without a context, as when run by hand)."""
    if context is None or not hasattr(context, "get_remaining_time_in_millis"):
        return lambda: 900.0
    return lambda: float(context.get_remaining_time_in_millis()) / 1000


def _clients() -> tuple[Any, Any, Any]:
    return boto3.client("backup"), boto3.client("rds"), boto3.client("cloudwatch")
