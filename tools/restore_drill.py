"""`make restore-drill ENV=staging`: run the environment's restore drill now and print what it measured.

    python -m tools.restore_drill --environment staging [--poll-seconds 30]

Starts the deployed state machine `ticketing-<env>-restore-drill` (stacks/restore_drill.py) with the
credentials of the environment's account and waits for it: the restore runs inside the VPC, where
the temporary instance is reachable, never from this machine. Prints the recovery point it restored,
how old it was when the drill started (the recovery point objective it met), how long the restore
took until the data was verified (the recovery time), and each sanity query's result; the same two
times are CloudWatch metrics (Ticketing/Backup). The temporary instance is deleted by the state
machine in every case.

Exit status: 0 the drill passed; 1 it failed (the failed step's error is printed); 2 it could not be
started or followed (no such environment, no credentials or access, the stack not deployed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from config import CONFIG_DIR, ConfigError, load_environment
from platform_constructs.physical_names import Tier, drill_state_machine_name, stack_name

RUNNING = "RUNNING"


def state_machine_arn(region: str, account: str, environment: str) -> str:
    return f"arn:aws:states:{region}:{account}:stateMachine:{drill_state_machine_name(environment)}"


def run_drill(
    states: Any,
    machine_arn: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 30,
    echo: Callable[[str], None] = print,
) -> tuple[bool, dict[str, Any]]:
    """Start one execution and wait for it; (passed, its output or its error)."""
    name = f"manual-{now():%Y%m%d-%H%M%S}"
    execution = states.start_execution(stateMachineArn=machine_arn, name=name, input="{}")["executionArn"]
    echo(f"started {execution}")
    last = ""
    while True:
        described = states.describe_execution(executionArn=execution)
        status = described["status"]
        if status != RUNNING:
            break
        step = _current_step(states, execution)
        if step != last:
            echo(f"  {now():%H:%M:%S} {step}")
            last = step
        sleep(poll_seconds)
    if status == "SUCCEEDED":
        return True, json.loads(described.get("output") or "{}")
    return False, {"status": status, "error": described.get("error", ""), "cause": described.get("cause", "")}


def _current_step(states: Any, execution: str) -> str:
    events = states.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=10)["events"]
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details:
            return str(details["name"])
    return "starting"


def report(passed: bool, result: dict[str, Any]) -> str:
    if not passed:
        return (
            f"restore drill {result['status']}: {result['error']}\n  {result['cause']}\n"
            "  its temporary instance is deleted by the state machine's clean-up; the execution's history "
            "in the Step Functions console shows the failed step"
        )
    return f"restore drill passed; its temporary instance: {result.get('cleanup', {}).get('cleanup', 'unknown')}"


def report_measurements(state: dict[str, Any]) -> str:
    lines = [
        f"  recovery point:  {state.get('recovery_point_arn')} (created {state.get('recovery_point_created_at')})",
        f"  point age (RPO met): {_duration(state.get('recovery_point_age_seconds'))}",
        f"  restore until verified (RTO measured): {_duration(state.get('recovery_time_seconds'))}",
    ]
    lines.extend(
        f"  {r['database']}: {r['sql']} -> {r['value']:g} (at least {r['min_rows']})" for r in state.get("results", [])
    )
    return "\n".join(lines)


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)):
        return "not measured"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min ({seconds:.0f} s)"


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--environment", required=True, help="dev, staging or prod")
    parser.add_argument("--config-dir", type=Path, default=CONFIG_DIR)
    parser.add_argument("--poll-seconds", type=float, default=30)
    args = parser.parse_args(argv)
    try:
        config = load_environment(args.environment, args.config_dir)
    except ConfigError as error:
        print(f"restore-drill: {error}", file=sys.stderr)
        return 2
    if client is None:
        import boto3  # type: ignore[import-untyped]  # only here: the rest runs without AWS

        client = boto3.client("stepfunctions", region_name=config.region)
    machine = state_machine_arn(config.region, config.account, config.name)
    try:
        passed, result = run_drill(client, machine, poll_seconds=args.poll_seconds)
    except client.exceptions.StateMachineDoesNotExist:
        print(
            f"restore-drill: {machine} does not exist: deploy {stack_name(config.name, Tier.DATA)} first",
            file=sys.stderr,
        )
        return 2
    except (BotoCoreError, ClientError) as error:  # no credentials, access denied, the wrong account
        print(f"restore-drill: could not start or follow the drill in {config.account}: {error}", file=sys.stderr)
        return 2
    print(report(passed, result))
    if passed:
        print(report_measurements(result))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
