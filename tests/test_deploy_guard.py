"""The CI deploy job's guard (tools/deploy_guard.py): no first deploy of an environment from CI.

The guard reads staging's stacks from its synthesised assembly (the session's synthesis, as `make preflight`
writes it in CI) and looks each up in its own region. States come from moto (stacks that do not exist, stacks
whose create completed) and from botocore's Stubber for the states moto never reaches (a create still
running or stopped under --no-rollback, a rolled-back create, a change set under review).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import pytest
from botocore.credentials import CredentialResolver  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]
from moto import mock_aws

from platform_constructs.physical_names import Tier, stack_name
from tests.conftest import SynthesizedEnvironment
from tools.deploy_guard import NOT_YET_DEPLOYED, environment_stacks, main

pytestmark = pytest.mark.slow

DEPLOYED = "UPDATE_COMPLETE"
CREATED = datetime.datetime(2026, 12, 1)


@pytest.fixture
def assembly(platform: Callable[[str], SynthesizedEnvironment]) -> Path:
    return platform("staging").outdir


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def guard(assembly: Path, clients: Callable[[str], Any] | None = None) -> int:
    return main(["--env", "staging", "--assembly", str(assembly)], cloudformation=clients)


def stubbed(assembly: Path, statuses: dict[str, str | None]) -> tuple[Callable[[str], Any], list[Stubber]]:
    """A client per region answering describe_stacks, in the guard's order, with `statuses` (by stack name;
    DEPLOYED for the others, None: the stack does not exist). The guard stops at the first problem."""
    clients: dict[str, Any] = {}
    stubbers: dict[str, Stubber] = {}
    for stack in environment_stacks(assembly, "staging"):
        if stack.region not in clients:
            clients[stack.region] = boto3.client(
                "cloudformation", region_name=stack.region, aws_access_key_id="x", aws_secret_access_key="x"
            )
            stubbers[stack.region] = Stubber(clients[stack.region])
        status = statuses.get(stack.name, DEPLOYED)
        if status is None:
            stubbers[stack.region].add_client_error(
                "describe_stacks", "ValidationError", f"Stack with id {stack.name} does not exist",
                expected_params={"StackName": stack.name},
            )  # fmt: skip
        else:
            stubbers[stack.region].add_response(
                "describe_stacks",
                {"Stacks": [{"StackName": stack.name, "StackStatus": status, "CreationTime": CREATED}]},
                {"StackName": stack.name},
            )  # fmt: skip
        if (status is None and stack.name == stack_name("staging", Tier.DATA)) or status in NOT_YET_DEPLOYED:
            break
    for stubber in stubbers.values():
        stubber.activate()
    return clients.__getitem__, list(stubbers.values())


def test_the_guard_reads_every_stack_of_the_environment_in_its_region(assembly: Path) -> None:
    stacks = environment_stacks(assembly, "staging")
    assert stacks[0].name == stack_name("staging", Tier.DATA)
    assert len(stacks) >= 10
    assert {stack.region for stack in stacks} >= {"ap-northeast-2", "us-east-1", "ap-northeast-3"}


def test_no_data_stack_means_a_first_deploy_which_ci_does_not_make(
    aws: None, assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert guard(assembly) == 1
    err = capsys.readouterr().err
    assert "ticketing-staging-data does not exist" in err
    assert "cdk deploy -c env=staging --no-rollback 'Staging/*'" in err
    assert "README: Deploy" in err


def test_every_state_before_a_completed_create_is_not_yet_deployed() -> None:
    """Every CloudFormation stack status (botocore's model) that no completed create precedes, and no other."""
    statuses = botocore.session.get_session().get_service_model("cloudformation").shape_for("StackStatus").enum
    before_create = {
        status
        for status in statuses
        if (status.startswith(("CREATE_", "ROLLBACK_")) and status != "CREATE_COMPLETE")
        or status == "REVIEW_IN_PROGRESS"
    }
    assert before_create == NOT_YET_DEPLOYED


@pytest.mark.parametrize("stack", ["ticketing-staging-data", "ticketing-staging-services", "ticketing-staging-edge"])
@pytest.mark.parametrize("status", sorted(NOT_YET_DEPLOYED))
def test_any_stack_whose_create_never_completed_stops_the_job(
    assembly: Path, stack: str, status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manual first deploy that stopped at the services or edge stack (the data stack done) stops CI too:
    CI's rolling-back deploy would throw away what the stopped create made."""
    clients, stubbers = stubbed(assembly, {stack: status})
    assert guard(assembly, clients) == 1
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
    assert f"{stack} is in {status} (its create never completed)" in capsys.readouterr().err


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED"])
def test_a_deployed_environment_lets_the_deploy_go_on(
    assembly: Path, status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses: dict[str, str | None] = {stack.name: status for stack in environment_stacks(assembly, "staging")}
    clients, stubbers = stubbed(assembly, statuses)
    assert guard(assembly, clients) == 0
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
    assert "deploying staging" in capsys.readouterr().out


def test_a_stack_a_later_change_adds_is_created_by_ci(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients, _ = stubbed(assembly, {"ticketing-staging-monitoring": None})
    assert guard(assembly, clients) == 0
    assert "deploying staging" in capsys.readouterr().out


def test_stacks_in_moto_let_the_deploy_go_on(aws: None, assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for stack in environment_stacks(assembly, "staging"):
        boto3.client("cloudformation", region_name=stack.region).create_stack(
            StackName=stack.name, TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
        )
    assert guard(assembly) == 0
    assert "deploying staging" in capsys.readouterr().out


def test_no_credentials_or_no_access_cannot_tell(assembly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    anonymous = boto3.Session(botocore_session=session)
    assert guard(assembly, lambda region: anonymous.client("cloudformation", region_name=region)) == 2
    err = capsys.readouterr().err
    assert err.startswith("deploy guard: no AWS credentials found")
    assert err.count("\n") == 1
    denied = boto3.client(
        "cloudformation", region_name="ap-northeast-2", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(denied)
    stubber.add_client_error("describe_stacks", "AccessDenied", "not allowed")
    stubber.activate()
    assert guard(assembly, lambda region: denied) == 2
    assert "cannot read ticketing-staging-data in ap-northeast-2" in capsys.readouterr().err


def test_an_unknown_environment_or_an_assembly_without_it_is_refused(
    tmp_path: Path, assembly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--env", "qa", "--assembly", str(assembly)]) == 2
    assert "environment 'qa' is unknown" in capsys.readouterr().err
    assert main(["--env", "prod", "--assembly", str(assembly)]) == 2
    assert "holds no stack of prod" in capsys.readouterr().err
    assert main(["--env", "staging", "--assembly", str(tmp_path)]) == 2
    assert "not a cloud assembly" in capsys.readouterr().err
