"""The synthesised templates: deterministic, and clean under cfn-lint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SynthesizedEnvironment
from tools.lint_templates import is_accepted, load_accepted, run_cfn_lint

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def app_py_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bare `python app.py` for every environment, as a user runs it without the CLI (no CLI context:
    cdk.json's feature flags still apply, because new_app defaults to them)."""
    out = tmp_path_factory.mktemp("app-py")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    # The built-in CloudFormation validation only reads templates (the session synth ran it); skipping
    # it here saves its start-up and changes no byte of output.
    env.update(CDK_OUTDIR=str(out), CDK_VALIDATION="false")
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.mark.slow  # a second synth of every environment, in a subprocess as a user runs it
def test_app_py_synth_is_byte_identical_to_the_test_synth(
    platform: Callable[[str], SynthesizedEnvironment], app_py_synth: Path
) -> None:
    """Determinism across processes, and proof that app.py builds what the tests assert."""
    tmp_path = app_py_synth
    fresh = sorted(tmp_path.rglob("*.template.json"))
    assert len(fresh) == sum(len(platform(name).template_files()) for name in ("dev", "staging", "prod"))
    for name in ("dev", "staging", "prod"):
        for template in platform(name).template_files():
            counterpart = tmp_path / template.parent.name / template.name
            assert counterpart.read_bytes() == template.read_bytes(), template.name


@pytest.mark.slow  # about 18 s for the templates of three environments; `make synth` runs the same gate
def test_cfn_lint_has_no_unaccepted_finding(platform: Callable[[str], SynthesizedEnvironment]) -> None:
    """One cfn-lint process over every environment's templates (it costs seconds to start)."""
    templates = [t for name in ("dev", "staging", "prod") for t in platform(name).template_files()]
    accepted = load_accepted()
    findings = run_cfn_lint(templates)
    unaccepted = [f for f in findings if not is_accepted(f, accepted)]
    assert unaccepted == []


def test_no_context_lookups_are_cached() -> None:
    """Synthesis needs no AWS account: nothing was ever looked up into cdk.context.json."""
    context_file = ROOT / "cdk.context.json"
    assert not context_file.exists() or json.loads(context_file.read_text()) == {}


@pytest.mark.slow
def test_python_app_py_alone_synthesises(app_py_synth: Path) -> None:
    """`python app.py` without the CLI (no CLI context) passes the gate and keeps cdk.json's flags."""
    (data,) = (app_py_synth / "assembly-Dev").glob("*Data*.template.json")
    # Without cdk.json's flags the IAM grants must still name resource ids (db-..., prx-...), not ARNs.
    for resource in json.loads(data.read_text(encoding="utf-8"))["Resources"].values():
        for statement in resource.get("Properties", {}).get("PolicyDocument", {}).get("Statement", []):
            if statement.get("Action") == "rds-db:connect":
                for arn in statement["Resource"]:
                    text = json.dumps(arn)
                    assert "DbiResourceId" in text or "DBProxyArn" in text, text
