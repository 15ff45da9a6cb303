"""The GitHub Actions workflow users run (.github/workflows/ci.yml), checked offline: valid against the
GitHub workflow schema that check-jsonschema ships, and doing what docs/ci.md promises of it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
#: Each action at a major version that runs on Node 24 (GitHub retires the Node 20 runtime of actions).
CURRENT_ACTIONS = {
    "actions/cache": "v5",
    "actions/checkout": "v5",
    "actions/setup-python": "v6",
    "actions/upload-artifact": "v6",
    "aws-actions/configure-aws-credentials": "v6",
}


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(workflow["jobs"][job]["steps"])


def runs(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(workflow, job))


def test_the_workflow_is_valid_against_githubs_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_a_current_major_version(workflow: dict[str, Any]) -> None:
    used = {step["uses"] for job in workflow["jobs"] for step in steps(workflow, job) if "uses" in step}
    for reference in used:
        action, _, version = reference.partition("@")
        assert CURRENT_ACTIONS.get(action) == version, f"{reference}: use {action}@{CURRENT_ACTIONS.get(action)}"


def test_pull_requests_test_synthesise_guard_and_price_the_change(workflow: dict[str, Any]) -> None:
    assert set(workflow["on"]) == {"pull_request", "push"}
    commands = runs(workflow, "check")
    for command in ("make test", "make synth", "make audit", "make baseline BASE_REF=HEAD^1", "make diff",
                    "tools.cost_report --assembly cdk.out --baseline cdk.out.baseline"):  # fmt: skip
        assert command in commands, command
    uploads = [s for s in steps(workflow, "check") if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert len(uploads) == 1
    assert "cdk.out" in uploads[0]["with"]["path"]


def test_every_make_target_the_workflow_runs_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    used = set(re.findall(r"\bmake ([a-z-]+)", WORKFLOW.read_text(encoding="utf-8")))
    assert used, "the workflow runs make"
    assert used <= targets, used - targets


def test_deploys_are_gated_per_environment_and_use_oidc_only(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}  # nothing more by default
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "check"
    assert "refs/heads/main" in deploy["if"]
    assert "push" in deploy["if"]
    assert deploy["strategy"]["matrix"]["environment"] == ["dev", "staging", "prod"]
    assert deploy["strategy"]["max-parallel"] == 1
    assert deploy["environment"] == "${{ matrix.environment }}"
    assert deploy["permissions"] == {"contents": "read", "id-token": "write"}
    assert "id-token" not in workflow["jobs"]["check"]["permissions"]
    (credentials,) = [s for s in steps(workflow, "deploy") if "configure-aws-credentials" in str(s.get("uses"))]
    assert "role-to-assume" in credentials["with"]
    text = WORKFLOW.read_text(encoding="utf-8")
    for key in ("aws-access-key-id", "aws-secret-access-key", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert key not in text, f"{key}: long-lived keys; deploy through OIDC"
    assert "cdk deploy -c env=${{ matrix.environment }}" in runs(workflow, "deploy")


def test_the_guard_can_fail_the_check_and_the_baseline_is_the_merge_base(workflow: dict[str, Any]) -> None:
    check = steps(workflow, "check")
    assert not any(step.get("continue-on-error") for step in check)  # an unsafe diff fails the pull request
    (checkout,) = [s for s in check if str(s.get("uses", "")).startswith("actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 2  # HEAD^1 of the merge commit is the base it merges into
    for step in check:
        if "make diff" in str(step.get("run")) or "make baseline" in str(step.get("run")):
            assert step["if"] == "github.event_name == 'pull_request'"


def test_the_deploy_rolls_back_a_failure_and_outlives_the_default_session(workflow: dict[str, Any]) -> None:
    """--no-rollback would make the CLI ask before any replacement, which CI cannot answer, and leave a failed
    deploy half-applied for the next run; a first deploy runs longer than the default 1-hour session."""
    command = runs(workflow, "deploy")
    assert "--no-rollback" not in command
    assert "--require-approval never" in command
    (credentials,) = [s for s in steps(workflow, "deploy") if "configure-aws-credentials" in str(s.get("uses"))]
    assert credentials["with"]["role-duration-seconds"] >= 4 * 3600
    assert workflow["jobs"]["deploy"]["timeout-minutes"] * 60 <= credentials["with"]["role-duration-seconds"]


def _deploy_step_index(deploy: list[dict[str, Any]], text: str) -> int:
    (index,) = [i for i, step in enumerate(deploy) if text in str(step.get("run", ""))]
    return index


def test_the_deploy_job_runs_preflight_then_guards_a_first_deploy_before_cdk_deploy(workflow: dict[str, Any]) -> None:
    """Preflight checks the account and writes the assembly; the guard (a tested tool, not inline shell) reads
    the environment's stacks from it and stops the job while its first deploy has not completed; only then
    `cdk deploy`. Neither can be skipped or ignored."""
    deploy = steps(workflow, "deploy")
    credentials = next(i for i, s in enumerate(deploy) if "configure-aws-credentials" in str(s.get("uses")))
    guard = _deploy_step_index(deploy, "tools.deploy_guard")
    preflight = _deploy_step_index(deploy, "make preflight")
    cdk_deploy = _deploy_step_index(deploy, "cdk deploy")
    assert credentials < preflight < guard < cdk_deploy
    assert (
        deploy[guard]["run"].strip()
        == ".venv/bin/python -m tools.deploy_guard --env ${{ matrix.environment }} --assembly cdk.out"
    )
    assert deploy[preflight]["run"].strip() == "make preflight ENV=${{ matrix.environment }}"
    for step in (deploy[guard], deploy[preflight]):
        assert "if" not in step
        assert not step.get("continue-on-error")
        assert "\n" not in step["run"].strip()  # one command: the logic lives in the tool and its tests


def test_the_guard_runs_after_the_set_up_it_needs(workflow: dict[str, Any]) -> None:
    """The guard runs from .venv (make setup), which the deploy job builds itself (no artifact is shared)."""
    deploy = steps(workflow, "deploy")
    setup = _deploy_step_index(deploy, "make setup")
    assert setup < _deploy_step_index(deploy, "tools.deploy_guard")
