"""tools/diff_stacks.py: the CDK CLI's offline diff, failing on replacement."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SynthesizedEnvironment
from tools.diff_stacks import main as diff_main


@pytest.fixture(scope="module")
def dev(platform: Callable[[str], SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return platform("dev")


def baseline_copy(env: SynthesizedEnvironment, tmp_path: Path) -> Path:
    baseline = tmp_path / "baseline"
    shutil.copytree(env.outdir, baseline)
    return baseline


@pytest.mark.slow  # runs the CDK CLI's diff
def test_identical_synths_pass(dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff_main(["--baseline", str(baseline_copy(dev, tmp_path)), "--current", str(dev.outdir)]) == 0
    assert "diff: no destructive changes" in capsys.readouterr().out


@pytest.mark.slow  # runs the CDK CLI's diff
def test_a_replacing_change_fails_and_names_the_resource(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = baseline_copy(dev, tmp_path)
    template_file = next(baseline.rglob("*Network*.template.json"))
    template = json.loads(template_file.read_text())
    vpc = next(r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::VPC")
    vpc["Properties"]["CidrBlock"] = "10.99.0.0/16"  # the baseline had another CIDR: replacing the VPC
    template_file.write_text(json.dumps(template))

    assert diff_main(["--baseline", str(baseline), "--current", str(dev.outdir), "--env", "dev"]) == 1
    captured = capsys.readouterr()
    assert "AWS::EC2::VPC" in captured.out
    assert "replace" in captured.out
    assert "destructive changes (replace/destroy) in Dev/Network" in captured.err


def test_a_missing_assembly_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diff_main(["--baseline", str(tmp_path), "--current", str(tmp_path)]) == 2
    assert "is not a cloud assembly" in capsys.readouterr().err


def test_an_assembly_with_open_findings_is_not_diffed(
    dev: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused synth cannot be reviewed as if it were deployable."""
    current = baseline_copy(dev, tmp_path)
    violation = {"ruleName": "AwsSolutions-KMS5", "description": "no rotation", "violatingConstructs": [{}]}
    report = {"pluginReports": [{"pluginName": "AwsSolutions", "violations": [violation]}]}
    (current / "validation-report.json").write_text(json.dumps(report))
    assert diff_main(["--baseline", str(dev.outdir), "--current", str(current)]) == 2
    assert "1 open compliance finding(s)" in capsys.readouterr().err
