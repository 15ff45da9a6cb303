"""The compliance gate through the real CDK CLI, the path a user takes (`cdk synth`, `make synth`).

The CLI passes `@aws-cdk/core:failSynthOnValidationErrors=false` to the app, so an in-process
test cannot prove the gate holds there. One CLI run per session: a fixture app with one open
finding, synthesised by `node_modules/.bin/cdk`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
FIXTURE_APP = ROOT / "tests" / "fixtures" / "noncompliant_app.py"

pytestmark = pytest.mark.slow


def cli_env() -> dict[str, str]:
    """The environment `make` gives the CLI: the virtualenv's Node and Python first, no AWS settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    bin_dir = Path(sys.executable).parent
    env.update(
        PATH=f"{bin_dir}:{CDK.parent}:{env.get('PATH', '')}",
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    return env


@pytest.fixture(scope="module")
def broken_synth(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    if not CDK.exists():
        pytest.fail("the cdk CLI is not installed; run `make setup`")
    outdir = tmp_path_factory.mktemp("cli-broken")
    return subprocess.run(
        [str(CDK), "synth", "--app", f"{sys.executable} {FIXTURE_APP}", "--output", str(outdir), "--no-notices"],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_cdk_synth_exits_non_zero_on_an_open_finding(broken_synth: subprocess.CompletedProcess[str]) -> None:
    assert broken_synth.returncode != 0, broken_synth.stdout + broken_synth.stderr
    assert "Successfully synthesized" not in broken_synth.stdout + broken_synth.stderr


@pytest.mark.parametrize(
    ("pack", "rule"),
    [
        ("AwsSolutions", "AwsSolutions-KMS5"),
        ("NIST.800.53.R5", "NIST.800.53.R5-KMSBackingKeyRotationEnabled"),
        ("PCI.DSS.321", "PCI.DSS.321-KMSBackingKeyRotationEnabled"),
    ],
)
def test_cdk_synth_prints_each_finding(broken_synth: subprocess.CompletedProcess[str], pack: str, rule: str) -> None:
    """Pack, rule, construct path and message, on the console the user is looking at."""
    line = next((ln for ln in broken_synth.stderr.splitlines() if rule in ln), "")
    assert f"[{pack}] {rule}" in line, broken_synth.stderr
    assert "at Fixture/UnrotatedKey/Resource: The KMS Symmetric key does not have automatic key rotation" in line
