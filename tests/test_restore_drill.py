"""The restore drill's steps (lambda/restore_drill) against botocore's Stubber: the calls in order with
their parameters, the waits, clean-up on every failure path, and malformed events refused before any
client exists. moto implements neither AWS Backup's restore jobs nor an RDS restore from them.
The sanity queries against a real PostgreSQL server are in tests/lambda/test_restore_drill_queries.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.lambda_module import FakeLambdaContext, load_function

drill = load_function("restore_drill")

REGION = "ap-northeast-2"
SOURCE = "arn:aws:rds:ap-northeast-2:222222222222:db:ticketing-staging-postgres"
VAULT = "ticketing-staging-backups"
NOW = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
DRILL_ID = "ticketing-staging-drill-20261129-100000"
ENVIRONMENT = {
    "ENVIRONMENT": "staging",
    "VAULT_NAME": VAULT,
    "SOURCE_ARN": SOURCE,
    "RESTORE_ROLE_ARN": "arn:aws:iam::222222222222:role/ticketing-staging-backup",
    "SUBNET_GROUP": "ticketing-staging-postgres-subnets",
    "SECURITY_GROUP_ID": "sg-0123456789abcdef0",
    "INSTANCE_CLASS": "db.t4g.medium",
    "MAX_WAIT_MINUTES": "180",
    "QUERIES": json.dumps([{"database": "ticketing_bookings", "sql": "SELECT count(*) FROM bookings", "min_rows": 1}]),
}
SETTINGS = drill.Settings.from_environment(ENVIRONMENT)


def snapshot_point(job: str, created: datetime, status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "RecoveryPointArn": f"arn:aws:rds:{REGION}:222222222222:snapshot:awsbackup:job-{job}",
        "CreationDate": created,
        "Status": status,
    }


CONTINUOUS = {
    "RecoveryPointArn": f"arn:aws:backup:{REGION}:222222222222:recovery-point:continuous:db-x-1",
    "CreationDate": NOW - timedelta(minutes=5),
    "Status": "COMPLETED",
}


class Clients:
    def __init__(self) -> None:
        def make(service: str) -> Any:
            return boto3.client(service, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")

        self.backup, self.rds, self.cloudwatch = make("backup"), make("rds"), make("cloudwatch")
        self.stubs = [Stubber(self.backup), Stubber(self.rds), Stubber(self.cloudwatch)]
        self.backup_stub, self.rds_stub, self.cloudwatch_stub = self.stubs

    def __iter__(self) -> Iterator[Any]:
        return iter((self.backup, self.rds, self.cloudwatch))


@pytest.fixture
def aws() -> Iterator[Clients]:
    clients = Clients()
    for stub in clients.stubs:
        stub.activate()
    yield clients
    for stub in clients.stubs:
        stub.assert_no_pending_responses()
        stub.deactivate()


def no_instances(aws: Clients, instances: list[dict[str, Any]] | None = None, jobs: list[Any] | None = None) -> None:
    """The sweep before a start: the running restore jobs of the account, then the instances."""
    aws.backup_stub.add_response("list_restore_jobs", {"RestoreJobs": jobs or []}, {"ByResourceType": "RDS"})
    if jobs and any(job["Status"] in ("CREATED", "PENDING", "RUNNING") for job in jobs):
        return
    aws.rds_stub.add_response("describe_db_instances", {"DBInstances": instances or []}, {})


def state(**changes: Any) -> Any:
    base = drill.DrillState(
        drill_id=DRILL_ID,
        started_at=NOW,
        deadline=NOW + timedelta(minutes=180),
        recovery_point_arn=snapshot_point("b", NOW)["RecoveryPointArn"],
        recovery_point_created_at=NOW - timedelta(hours=7),
        restore_job_id="restore-1",
    )
    return base.model_copy(update=changes)


# --- start -----------------------------------------------------------------------------------------


def test_start_restores_the_newest_completed_snapshot_into_a_temporary_instance(aws: Clients) -> None:
    no_instances(aws)
    points = {"BackupVaultName": VAULT, "ByResourceArn": SOURCE}
    aws.backup_stub.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [snapshot_point("a", NOW - timedelta(days=1)), CONTINUOUS], "NextToken": "page2"},
        points,
    )
    aws.backup_stub.add_response(
        "list_recovery_points_by_backup_vault",
        {
            "RecoveryPoints": [
                snapshot_point("b", NOW - timedelta(hours=7)),
                snapshot_point("c", NOW - timedelta(hours=1), status="PARTIAL"),
            ]
        },
        points | {"NextToken": "page2"},
    )
    newest = snapshot_point("b", NOW)["RecoveryPointArn"]
    aws.backup_stub.add_response(
        "get_recovery_point_restore_metadata",
        {
            "RestoreMetadata": {
                "DBInstanceIdentifier": "ticketing-staging-postgres",
                "MultiAZ": "true",
                "AvailabilityZone": "ap-northeast-2a",
                "StorageType": "gp3",
                "DeletionProtection": "true",
            }
        },
        {"BackupVaultName": VAULT, "RecoveryPointArn": newest},
    )
    aws.backup_stub.add_response(
        "start_restore_job",
        {"RestoreJobId": "restore-1"},
        {
            "RecoveryPointArn": newest,
            "Metadata": {
                "DBInstanceIdentifier": DRILL_ID,
                "DBInstanceClass": "db.t4g.medium",
                "DBSubnetGroupName": "ticketing-staging-postgres-subnets",
                "VpcSecurityGroupIds": '["sg-0123456789abcdef0"]',
                "MultiAZ": "false",
                "PubliclyAccessible": "false",
                "DeletionProtection": "false",
                "StorageType": "gp3",
            },
            "IamRoleArn": ENVIRONMENT["RESTORE_ROLE_ARN"],
            "ResourceType": "RDS",
            "IdempotencyToken": DRILL_ID,
        },
    )
    result = drill.start(aws.backup, aws.rds, SETTINGS, NOW)
    assert result.drill_id == DRILL_ID
    assert result.recovery_point_created_at == NOW - timedelta(hours=7)
    assert result.deadline == NOW + timedelta(minutes=180)
    assert result.status == "restoring"


def test_no_recovery_point_is_a_clear_error_and_starts_nothing(aws: Clients) -> None:
    no_instances(aws)
    aws.backup_stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": [CONTINUOUS]}, None)
    with pytest.raises(
        drill.DrillError, match=f"no completed snapshot recovery point of {SOURCE} in the vault {VAULT}"
    ):
        drill.start(aws.backup, aws.rds, SETTINGS, NOW)


def test_a_drill_in_progress_stops_a_second_one(aws: Clients) -> None:
    running = {
        "DBInstanceIdentifier": "ticketing-staging-drill-20261129-090000",
        "InstanceCreateTime": NOW - timedelta(hours=1),
    }
    no_instances(aws, [{"DBInstanceIdentifier": "ticketing-staging-postgres", "InstanceCreateTime": NOW}, running])
    with pytest.raises(
        drill.DrillError, match="another drill's instance ticketing-staging-drill-20261129-090000 exists"
    ):
        drill.start(aws.backup, aws.rds, SETTINGS, NOW)


def test_a_running_restore_of_the_vault_stops_a_second_drill(aws: Clients) -> None:
    other_vault = {"RestoreJobId": "r0", "Status": "RUNNING", "BackupVaultArn": "arn:aws:backup:x:1:backup-vault:other"}
    ours = {"RestoreJobId": "r1", "Status": "PENDING", "BackupVaultArn": f"arn:aws:backup:x:1:backup-vault:{VAULT}"}
    no_instances(aws, jobs=[other_vault, ours])
    with pytest.raises(drill.DrillError, match=f"another restore of {VAULT} runs: job r1"):
        drill.start(aws.backup, aws.rds, SETTINGS, NOW)


def test_an_instance_still_being_created_stops_a_second_drill(aws: Clients) -> None:
    no_instances(aws, [{"DBInstanceIdentifier": "ticketing-staging-drill-20261129-095900"}])
    with pytest.raises(drill.DrillError, match=r"drill-20261129-095900 exists \(still being created\)"):
        drill.start(aws.backup, aws.rds, SETTINGS, NOW)


def test_an_instance_left_by_an_old_drill_is_deleted_first(aws: Clients) -> None:
    old = "ticketing-staging-drill-20261001-100000"
    no_instances(aws, [{"DBInstanceIdentifier": old, "InstanceCreateTime": NOW - timedelta(days=30)}])
    aws.rds_stub.add_response(
        "delete_db_instance",
        {},
        {"DBInstanceIdentifier": old, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True},
    )
    aws.backup_stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": []}, None)
    with pytest.raises(drill.DrillError, match="no completed snapshot"):
        drill.start(aws.backup, aws.rds, SETTINGS, NOW)


# --- check -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["CREATED", "PENDING", "RUNNING"])
def test_check_keeps_waiting_while_the_job_runs(aws: Clients, status: str) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": status}, {"RestoreJobId": "restore-1"})
    assert drill.check(aws.backup, aws.rds, state(), NOW + timedelta(minutes=20)).status == "restoring"


def test_check_is_ready_when_the_job_completed_and_the_instance_is_available(aws: Clients) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": "COMPLETED"}, {"RestoreJobId": "restore-1"})
    aws.rds_stub.add_response(
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceStatus": "backing-up"}]},
        {"DBInstanceIdentifier": DRILL_ID},
    )
    assert drill.check(aws.backup, aws.rds, state(), NOW).status == "restoring"
    aws.backup_stub.add_response("describe_restore_job", {"Status": "COMPLETED"}, {"RestoreJobId": "restore-1"})
    aws.rds_stub.add_response(
        "describe_db_instances",
        {"DBInstances": [{"DBInstanceStatus": "available"}]},
        {"DBInstanceIdentifier": DRILL_ID},
    )
    assert drill.check(aws.backup, aws.rds, state(), NOW).status == "ready"


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_restore_job_is_an_error_with_its_message(aws: Clients, status: str) -> None:
    aws.backup_stub.add_response(
        "describe_restore_job", {"Status": status, "StatusMessage": "KMS key not accessible"}, None
    )
    with pytest.raises(drill.DrillError, match=f"restore job restore-1 {status}: KMS key not accessible"):
        drill.check(aws.backup, aws.rds, state(), NOW)


def test_no_completion_by_the_deadline_is_an_error(aws: Clients) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": "RUNNING"}, None)
    with pytest.raises(drill.DrillError, match="has not finished by 2026-11-29 13:00 UTC"):
        drill.check(aws.backup, aws.rds, state(), NOW + timedelta(minutes=181))


# --- verify ----------------------------------------------------------------------------------------


class FakeConnection:
    """Stands in for pg8000 here; tests/lambda runs the queries against a real server."""

    def __init__(self, value: Any, log: list[str]) -> None:
        self.value, self.log = value, log

    def run(self, sql: str, **_: Any) -> list[list[Any]]:
        self.log.append(sql)
        if sql == drill._OWNER:  # the database's owner, and the master may SET ROLE to it (the bootstrap's grant)
            return [["svc_bookings_owner", True]]
        return [[self.value]] if sql.startswith("SELECT") else []

    def close(self) -> None:
        self.log.append("close")


def available(pending: dict[str, Any] | None = None, status: str = "available") -> dict[str, Any]:
    endpoint = {"Address": f"{DRILL_ID}.abc.{REGION}.rds.amazonaws.com", "Port": 5432}
    instance = {"DBInstanceStatus": status, "PendingModifiedValues": pending or {}, "MasterUsername": "postgres"}
    return {"DBInstances": [instance | {"Endpoint": endpoint}]}


def test_verify_sets_a_fresh_password_waits_for_it_runs_the_queries_and_records_the_times(aws: Clients) -> None:
    aws.rds_stub.add_response(
        "modify_db_instance",
        {},
        {"DBInstanceIdentifier": DRILL_ID, "MasterUserPassword": "p" * 20, "ApplyImmediately": True},
    )
    aws.rds_stub.add_response("describe_db_instances", available(status="resetting-master-credentials"), None)
    aws.rds_stub.add_response("describe_db_instances", available({"MasterUserPassword": "****"}), None)
    aws.rds_stub.add_response("describe_db_instances", available(), None)
    dimensions = [{"Name": "Environment", "Value": "staging"}]
    aws.cloudwatch_stub.add_response(
        "put_metric_data",
        {},
        {
            "Namespace": "Ticketing/Backup",
            "MetricData": [
                {"MetricName": "RecoveryTimeSeconds", "Dimensions": dimensions, "Value": 2700.0, "Unit": "Seconds"},
                {
                    "MetricName": "RecoveryPointAgeSeconds",
                    "Dimensions": dimensions,
                    "Value": 25200.0,
                    "Unit": "Seconds",
                },
            ],
        },
    )
    sleeps: list[float] = []
    log: list[str] = []
    opened: list[tuple[Any, ...]] = []

    def connect_with(*args: Any) -> FakeConnection:
        opened.append(args)
        return FakeConnection(42, log)

    result = drill.verify(
        aws.rds,
        aws.cloudwatch,
        SETTINGS,
        state(status="ready"),
        connect_with=connect_with,
        clock=lambda: NOW + timedelta(minutes=45),
        sleep=sleeps.append,
        password="p" * 20,
    )
    assert sleeps == [drill.POLL_SECONDS, drill.POLL_SECONDS]
    assert opened == [(f"{DRILL_ID}.abc.{REGION}.rds.amazonaws.com", 5432, "postgres", "p" * 20, "ticketing_bookings")]
    assert log == [
        "START TRANSACTION READ ONLY",
        f"SET LOCAL statement_timeout = {(900 - drill.VERIFY_RESERVE_SECONDS) * 1000}",
        drill._OWNER,
        'SET LOCAL ROLE "svc_bookings_owner"',
        "SELECT count(*) FROM bookings",
        "ROLLBACK",
        "close",
    ]
    assert result.status == "verified"
    assert result.recovery_time_seconds == 45 * 60
    assert result.recovery_point_age_seconds == 7 * 3600
    assert [r.value for r in result.results] == [42.0]


@pytest.mark.parametrize(("value", "says"), [(0, "returned 0, below 1"), (None, "returned None, not a number")])
def test_data_below_its_minimum_fails_the_drill(aws: Clients, value: Any, says: str) -> None:
    aws.rds_stub.add_response("modify_db_instance", {}, None)
    aws.rds_stub.add_response("describe_db_instances", available(), None)
    with pytest.raises(drill.DrillError, match=says):
        drill.verify(
            aws.rds,
            aws.cloudwatch,
            SETTINGS,
            state(status="ready"),
            clock=lambda: NOW,
            connect_with=lambda *a: FakeConnection(value, []),
            sleep=lambda s: None,
        )


def test_verify_refuses_an_instance_that_is_not_ready(aws: Clients) -> None:
    with pytest.raises(drill.DrillError, match="verify needs a ready instance; the state says restoring"):
        drill.verify(aws.rds, aws.cloudwatch, SETTINGS, state(), connect_with=lambda *a: None, clock=lambda: NOW)


def test_a_password_that_never_applies_fails_in_bounded_time(aws: Clients) -> None:
    aws.rds_stub.add_response("modify_db_instance", {}, None)
    times = iter([NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=drill.PASSWORD_WAIT_SECONDS + 1)])
    for _ in range(2):
        aws.rds_stub.add_response("describe_db_instances", available({"MasterUserPassword": "****"}), None)
    with pytest.raises(drill.DrillError, match=f"was not applied in {drill.PASSWORD_WAIT_SECONDS} s"):
        drill.verify(
            aws.rds,
            aws.cloudwatch,
            SETTINGS,
            state(status="ready"),
            connect_with=lambda *a: None,
            clock=lambda: next(times),
            sleep=lambda s: None,
        )


# --- cleanup ---------------------------------------------------------------------------------------


def test_cleanup_deletes_the_temporary_instance_without_a_final_snapshot(aws: Clients) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": "COMPLETED"}, {"RestoreJobId": "restore-1"})
    aws.rds_stub.add_response(
        "delete_db_instance",
        {},
        {"DBInstanceIdentifier": DRILL_ID, "SkipFinalSnapshot": True, "DeleteAutomatedBackups": True},
    )
    failure = {"Error": "DrillError", "Cause": "below 1"}
    result = drill.cleanup(
        aws.backup, aws.rds, drill.CleanupState(drill_id=DRILL_ID, restore_job_id="restore-1", failure=failure)
    )
    assert result == {"drill_id": DRILL_ID, "cleanup": "deleted", "failure": failure}


def test_cleanup_waits_for_a_running_restore_job(aws: Clients) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": "RUNNING"}, None)
    with pytest.raises(drill.CleanupPendingError, match="restore job restore-1 still runs"):
        drill.cleanup(aws.backup, aws.rds, drill.CleanupState(drill_id=DRILL_ID, restore_job_id="restore-1"))


@pytest.mark.parametrize(
    ("error", "status", "says"),
    [("DBInstanceNotFound", None, "already gone"), ("InvalidDBInstanceState", "deleting", "already being deleted")],
)
def test_cleanup_is_idempotent(aws: Clients, error: str, status: str | None, says: str) -> None:
    aws.backup_stub.add_response("describe_restore_job", {"Status": "COMPLETED"}, None)
    aws.rds_stub.add_client_error("delete_db_instance", service_error_code=error)
    if status:
        aws.rds_stub.add_response("describe_db_instances", {"DBInstances": [{"DBInstanceStatus": status}]}, None)
    result = drill.cleanup(aws.backup, aws.rds, drill.CleanupState(drill_id=DRILL_ID, restore_job_id="restore-1"))
    assert result["cleanup"] == says


def test_cleanup_after_a_failed_start_has_nothing_to_delete(aws: Clients) -> None:
    result = drill.cleanup(aws.backup, aws.rds, drill.CleanupState(failure={"Error": "DrillError"}))
    assert result["cleanup"] == "nothing to delete"


def test_only_drill_instances_are_ever_deleted(aws: Clients) -> None:
    with pytest.raises(drill.DrillError, match="'ticketing-staging-postgres' is not a drill instance"):
        drill.delete_instance(aws.rds, "ticketing-staging-postgres")


# --- events ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (None, "the event must be"),
        ({"step": "restore"}, "the event must be"),
        ({"step": "check"}, "malformed check event"),
        ({"step": "verify", "state": {"drill_id": "ticketing-staging-postgres"}}, "malformed verify event"),
        ({"step": "start", "extra": 1}, "malformed start event"),
        ({"step": "cleanup", "state": {"drill_id": "prod-database"}}, "malformed cleanup event"),
    ],
)
def test_a_malformed_event_fails_before_any_client_exists(
    event: Any, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_clients() -> None:
        raise AssertionError("a client was created")

    monkeypatch.setattr(drill, "_clients", no_clients)
    with pytest.raises(drill.DrillError, match=says):
        drill.handler(event, FakeLambdaContext())


def test_missing_settings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENVIRONMENT:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "staging")
    with pytest.raises(drill.DrillError, match="environment variables not set: VAULT_NAME, SOURCE_ARN"):
        drill.handler({"step": "start"}, FakeLambdaContext())


def test_the_handler_returns_json_the_next_step_accepts(aws: Clients, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    aws.backup_stub.add_response("describe_restore_job", {"Status": "RUNNING"}, None)
    now = datetime.now(UTC)
    running = state(started_at=now, deadline=now + timedelta(hours=3))
    payload = json.loads(json.dumps({"step": "check", "state": running.model_dump(mode="json")}))
    result = drill.run_step(drill.parse_event(payload), drill.Settings.from_environment(), tuple(aws))
    assert result["status"] == "restoring"
    assert drill.parse_event({"step": "verify", "state": result}).state.drill_id == DRILL_ID


def test_queries_get_only_the_time_the_lambda_has_left(aws: Clients) -> None:
    """A slow query on a restored instance (its storage loads lazily) fails the drill, not the Lambda."""
    aws.rds_stub.add_response("modify_db_instance", {}, None)
    aws.rds_stub.add_response("describe_db_instances", available(), None)
    log: list[str] = []
    with pytest.raises(drill.DrillError, match="no time left for ticketing_bookings"):
        drill.verify(aws.rds, aws.cloudwatch, SETTINGS, state(status="ready"), clock=lambda: NOW,
                     connect_with=lambda *a: FakeConnection(1, log), seconds_left=lambda: 20.0)  # fmt: skip
    assert log == ["close"]  # nothing ran
