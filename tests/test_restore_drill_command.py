"""`make restore-drill ENV=...` (tools/restore_drill.py) against botocore's Stubber: it starts the
environment's state machine, follows it, and prints the measured RPO and RTO or the failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from platform_constructs.physical_names import Tier, drill_state_machine_name, stack_name
from tools import restore_drill

MACHINE = f"arn:aws:states:ap-northeast-2:222222222222:stateMachine:{drill_state_machine_name('staging')}"
EXECUTION = MACHINE.replace(":stateMachine:", ":execution:") + ":manual-20261129-100000"
NOW = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
OUTPUT = {
    "drill_id": "ticketing-staging-drill-20261129-100000",
    "recovery_point_arn": "arn:aws:rds:ap-northeast-2:222222222222:snapshot:awsbackup:job-b",
    "recovery_point_created_at": "2026-11-29T03:00:00Z",
    "recovery_point_age_seconds": 25200.0,
    "recovery_time_seconds": 2730.0,
    "results": [
        {"database": "ticketing_bookings", "sql": "SELECT count(*) FROM bookings", "value": 42.0, "min_rows": 1}
    ],
    "cleanup": {"drill_id": "ticketing-staging-drill-20261129-100000", "cleanup": "deleted", "failure": None},
}


@pytest.fixture
def states() -> Any:
    client = boto3.client(
        "stepfunctions", region_name="ap-northeast-2", aws_access_key_id="t", aws_secret_access_key="t"
    )
    with Stubber(client) as stub:
        client.stub = stub
        yield client
        stub.assert_no_pending_responses()


def entered(name: str) -> dict[str, Any]:
    return {"timestamp": NOW, "type": "TaskStateEntered", "id": 1, "stateEnteredEventDetails": {"name": name}}


def test_the_arn_is_the_environments_state_machine() -> None:
    assert restore_drill.state_machine_arn("ap-northeast-2", "222222222222", "staging") == MACHINE


def test_a_passing_drill_is_followed_to_the_end_and_its_times_printed(states: Any) -> None:
    stub = states.stub
    stub.add_response(
        "start_execution",
        {"executionArn": EXECUTION, "startDate": NOW},
        {"stateMachineArn": MACHINE, "name": "manual-20261129-100000", "input": "{}"},
    )
    for step in ("WaitForRestore", "Check"):
        stub.add_response(
            "describe_execution",
            {"executionArn": EXECUTION, "stateMachineArn": MACHINE, "status": "RUNNING", "startDate": NOW},
            {"executionArn": EXECUTION},
        )
        stub.add_response(
            "get_execution_history",
            {"events": [entered(step)]},
            {"executionArn": EXECUTION, "reverseOrder": True, "maxResults": 10},
        )
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": MACHINE,
            "status": "SUCCEEDED",
            "startDate": NOW,
            "output": json.dumps(OUTPUT),
        },
        {"executionArn": EXECUTION},
    )
    sleeps: list[float] = []
    lines: list[str] = []
    passed, result = restore_drill.run_drill(
        states, MACHINE, now=lambda: NOW, sleep=sleeps.append, poll_seconds=30, echo=lines.append
    )
    assert passed
    assert sleeps == [30, 30]
    assert lines == [f"started {EXECUTION}", "  10:00:00 WaitForRestore", "  10:00:00 Check"]
    text = restore_drill.report(passed, result) + "\n" + restore_drill.report_measurements(result)
    assert "restore drill passed; its temporary instance: deleted" in text
    assert "point age (RPO met): 7 h 00 min (25200 s)" in text
    assert "restore until verified (RTO measured): 0 h 45 min (2730 s)" in text
    assert "ticketing_bookings: SELECT count(*) FROM bookings -> 42 (at least 1)" in text


def test_a_failed_drill_is_reported_with_its_error(states: Any) -> None:
    stub = states.stub
    stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": NOW}, None)
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": MACHINE,
            "status": "FAILED",
            "startDate": NOW,
            "error": "DrillError",  # the failed step's own error, passed on by the state machine's Fail state
            "cause": "the restored data fails its sanity checks: ticketing_bookings: returned 0, below 1",
        },
        None,
    )
    passed, result = restore_drill.run_drill(
        states, MACHINE, now=lambda: NOW, sleep=lambda s: None, echo=lambda s: None
    )
    assert not passed
    text = restore_drill.report(passed, result)
    assert text.startswith("restore drill FAILED: DrillError")
    assert "returned 0, below 1" in text


def test_the_command_exits_1_on_a_failed_drill_and_2_without_a_state_machine(states: Any, capsys: Any) -> None:
    states.stub.add_client_error("start_execution", service_error_code="StateMachineDoesNotExist")
    assert restore_drill.main(["--environment", "staging"], client=states) == 2
    data = stack_name("staging", Tier.DATA)
    assert f"{drill_state_machine_name('staging')} does not exist: deploy {data} first" in capsys.readouterr().err
    states.stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": NOW}, None)
    states.stub.add_response(
        "describe_execution",
        {"executionArn": EXECUTION, "stateMachineArn": MACHINE, "status": "TIMED_OUT", "startDate": NOW},
        None,
    )
    assert restore_drill.main(["--environment", "staging", "--poll-seconds", "0"], client=states) == 1
    assert "restore drill TIMED_OUT" in capsys.readouterr().out


def test_an_unknown_environment_is_refused_before_any_call(capsys: Any) -> None:
    assert restore_drill.main(["--environment", "qa"], client=object()) == 2
    assert "qa" in capsys.readouterr().err


def test_no_access_is_a_clear_error_not_a_traceback(states: Any, capsys: Any) -> None:
    states.stub.add_client_error("start_execution", service_error_code="AccessDeniedException", http_status_code=400)
    assert restore_drill.main(["--environment", "staging"], client=states) == 2
    assert "could not start or follow the drill in 222222222222" in capsys.readouterr().err
