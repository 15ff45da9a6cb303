"""The CI deploy job's guard: the workflow deploys only an environment whose data stack is deployed.

    python -m tools.deploy_guard --env staging

The first deploy of an environment is a manual `cdk deploy --no-rollback` run (README: Deploy): it
takes an hour or more, and a failure part-way must stop in place so that `cdk deploy` resumes it,
which CI's rolling-back deploy cannot do. So when the environment's data stack
(`ticketing-<env>-data`) does not exist, or exists without ever having been deployed
(its create still running or stopped under `--no-rollback`, `ROLLBACK_COMPLETE`, `ROLLBACK_FAILED`
after a failed create, `REVIEW_IN_PROGRESS`: `NOT_YET_DEPLOYED`), this prints
that and exits 1, and the job stops before `cdk deploy`.

Exit status: 0 the data stack is deployed (any other state, an update in progress or failed
included: the deploy itself reports those); 1 not yet deployed; 2 it could not tell (no
credentials, access denied, an invalid environment).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from config import ConfigError, load_environment
from stacks.platform_stage import PROJECT, STAGE_IDS
from tools.preflight.aws import credentials_problem, error_code

#: States of a stack whose first create never completed: still running (the manual first deploy is
#: under way), stopped under `--no-rollback` (`CREATE_FAILED`: the person running it resumes it with
#: `cdk deploy`; a rolling-back CI deploy would throw away what it made), rolled back, or a change set
#: never executed. Every other state follows a completed create.
NOT_YET_DEPLOYED = frozenset(
    {
        "CREATE_IN_PROGRESS",
        "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "REVIEW_IN_PROGRESS",
    }
)


def data_stack_name(environment: str) -> str:
    return f"{PROJECT}-{environment}-data"


def data_stack_status(cloudformation: Any, stack: str) -> str | None:
    """The data stack's status, or None when it does not exist."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if error_code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    return str(stacks[0]["StackStatus"]) if stacks else None


def first_deploy_message(environment: str, stack: str, status: str | None) -> str:
    state = "does not exist" if status is None else f"is in {status} (its create never completed)"
    return (
        f"deploy guard: {stack} {state}, so this is the first deploy of {environment}. CI does not make a first "
        f"deploy: run it by hand with `cdk deploy -c env={environment} --no-rollback '{STAGE_IDS[environment]}/*'` "
        "(README: Deploy, first deployment into an empty account); later pushes deploy from CI."
    )


def main(argv: Sequence[str] | None = None, cloudformation: Any | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy_guard", description=__doc__)
    parser.add_argument("--env", required=True, help="dev, staging or prod")
    args = parser.parse_args(argv)
    try:
        config = load_environment(args.env)
    except ConfigError as error:
        print(f"deploy guard: {error}", file=sys.stderr)
        return 2
    stack = data_stack_name(config.name)
    try:
        client = cloudformation or boto3.client("cloudformation", region_name=config.region)
        status = data_stack_status(client, stack)
    except (ClientError, BotoCoreError) as error:
        problem = credentials_problem(error)
        print(f"deploy guard: {problem or f'cannot read {stack}: {error}'}", file=sys.stderr)
        return 2
    if status is None or status in NOT_YET_DEPLOYED:
        print(first_deploy_message(config.name, stack, status), file=sys.stderr)
        return 1
    print(f"deploy guard: {stack} is {status}: deploying {config.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
