"""The CI deploy job's guard: the workflow deploys only an environment whose first deploy has completed.

    python -m tools.deploy_guard --env staging [--assembly cdk.out]

The first deploy of an environment is a manual `cdk deploy --no-rollback` run (docs/deploy.md): it
takes an hour or more, and a failure part-way must stop in place so that `cdk deploy` resumes it,
which CI's rolling-back deploy cannot do. So this reads the environment's stacks from the synthesised
assembly (`make preflight`, the step before, writes it) and looks each up in its own region (main,
us-east-1, the copy region). It prints why and exits 1, and the job stops before `cdk deploy`, when
the data stack (`ticketing-<env>-data`) does not exist, or when any stack of the environment exists
without its create having completed (`NOT_YET_DEPLOYED`: still running, stopped under
`--no-rollback`, rolled back, a change set under review). A stack that does not exist yet besides
the data stack is a new stack of a later change, which CI creates.

Exit status: 0 deploy (every other state, an update in progress or failed included: the deploy
itself reports those); 1 a first deploy not yet completed; 2 it could not tell (no credentials,
access denied, an invalid environment, an assembly without the environment).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from config import ConfigError, load_environment
from platform_constructs.physical_names import Tier, stack_name
from stacks.platform_stage import STAGE_IDS
from tools.cloud_assembly import AssemblyError, AssemblyStack, read_stacks
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


def stack_status(cloudformation: Any, stack: str) -> str | None:
    """A stack's status, or None when it does not exist."""
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
        f"deploy guard: {stack} {state}, so the first deploy of {environment} has not completed. CI does not make "
        f"a first deploy: run or resume it by hand with `cdk deploy -c env={environment} --no-rollback "
        f"'{STAGE_IDS[environment]}/*'` (README: Deploy, first deployment into an empty account); later pushes "
        "deploy from CI."
    )


def environment_stacks(assembly: Path, environment: str) -> list[AssemblyStack]:
    """The environment's stacks in the assembly, the data stack first; AssemblyError when there are none."""
    stacks = [stack for stack in read_stacks(assembly) if stack.environment == environment]
    if not stacks:
        raise AssemblyError(f"{assembly} holds no stack of {environment}: synthesise it first (make preflight does)")
    data = stack_name(environment, Tier.DATA)
    return sorted(stacks, key=lambda stack: stack.name != data)


def main(argv: Sequence[str] | None = None, cloudformation: Callable[[str], Any] | None = None) -> int:
    """`cloudformation` gives the client of a region (tests); boto3's by default."""
    parser = argparse.ArgumentParser(prog="python -m tools.deploy_guard", description=__doc__)
    parser.add_argument("--env", required=True, help="dev, staging or prod")
    parser.add_argument("--assembly", type=Path, default=Path("cdk.out"), help="the synthesised assembly")
    args = parser.parse_args(argv)
    try:
        config = load_environment(args.env)
        stacks = environment_stacks(args.assembly, config.name)
    except (ConfigError, AssemblyError) as error:
        print(f"deploy guard: {error}", file=sys.stderr)
        return 2
    client_of = cloudformation or (lambda region: boto3.client("cloudformation", region_name=region))
    data = stack_name(config.name, Tier.DATA)
    for stack in stacks:
        try:
            status = stack_status(client_of(stack.region), stack.name)
        except (ClientError, BotoCoreError) as error:
            problem = credentials_problem(error)
            print(f"deploy guard: {problem or f'cannot read {stack.name} in {stack.region}: {error}'}", file=sys.stderr)
            return 2
        if (status is None and stack.name == data) or status in NOT_YET_DEPLOYED:
            print(first_deploy_message(config.name, stack.name, status), file=sys.stderr)
            return 1
    print(f"deploy guard: every stack of {config.name} has completed its create: deploying {config.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
