"""The CI deploy job's guard (tools/deploy_guard.py): no first deploy of an environment from CI.

The data stack's states come from moto (a stack that does not exist, one that does) and from botocore's
Stubber for the states moto never reaches (a rolled-back create, a change set under review).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import boto3  # type: ignore[import-untyped]
import botocore.session  # type: ignore[import-untyped]
import pytest
from botocore.credentials import CredentialResolver  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]
from moto import mock_aws

from config import load_environment
from tools.deploy_guard import NOT_YET_DEPLOYED, data_stack_name, main

pytestmark = pytest.mark.slow

REGION = load_environment("staging").region


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def stubbed(status: str) -> tuple[object, Stubber]:
    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "s", "StackStatus": status, "CreationTime": datetime.datetime(2026, 12, 1)}]},
        {"StackName": data_stack_name("staging")},
    )
    stubber.activate()
    return client, stubber


def test_no_data_stack_means_a_first_deploy_which_ci_does_not_make(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--env", "staging"]) == 1
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


@pytest.mark.parametrize("status", sorted(NOT_YET_DEPLOYED))
def test_a_stack_that_was_never_deployed_counts_as_absent(status: str, capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = stubbed(status)
    assert main(["--env", "staging"], cloudformation=client) == 1
    stubber.assert_no_pending_responses()
    assert f"is in {status} (its create never completed)" in capsys.readouterr().err


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_FAILED"])
def test_a_deployed_data_stack_lets_the_deploy_go_on(status: str, capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = stubbed(status)
    assert main(["--env", "staging"], cloudformation=client) == 0
    stubber.assert_no_pending_responses()
    assert f"is {status}: deploying staging" in capsys.readouterr().out


def test_a_data_stack_in_moto_lets_the_deploy_go_on(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=data_stack_name("staging"),
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    assert main(["--env", "staging"]) == 0
    assert "CREATE_COMPLETE" in capsys.readouterr().out


def test_no_credentials_or_no_access_cannot_tell(capsys: pytest.CaptureFixture[str]) -> None:
    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    client = boto3.Session(botocore_session=session).client("cloudformation", region_name=REGION)
    assert main(["--env", "staging"], cloudformation=client) == 2
    err = capsys.readouterr().err
    assert err.startswith("deploy guard: no AWS credentials found")
    assert err.count("\n") == 1
    denied = boto3.client("cloudformation", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(denied)
    stubber.add_client_error("describe_stacks", "AccessDenied", "not allowed")
    stubber.activate()
    assert main(["--env", "staging"], cloudformation=denied) == 2
    assert "cannot read ticketing-staging-data" in capsys.readouterr().err


def test_an_unknown_environment_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env", "qa"]) == 2
    assert "environment 'qa' is unknown" in capsys.readouterr().err
