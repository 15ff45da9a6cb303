"""The compliance gate: every pack runs, nothing is open, every acknowledgment is narrow and explained."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack, aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks

from stacks.compliance import (
    COMPLIANCE_PACKS,
    FAIL_SYNTH_ON_VALIDATION_ERRORS,
    REFUSED_MANIFEST,
    register_compliance_packs,
    synthesize,
)
from stacks.platform_app import feature_flags, new_app
from stacks.validation_report import ComplianceError, read_findings
from tests.conftest import SynthesizedEnvironment, copy_assembly
from tools.compliance_report import PACK_PREFIXES, collect_acknowledgments, main as report_main, render

GENERIC = re.compile(
    r"^\s*(n/?a|none|todo|tbd|ok|okay|ignore[d]?|suppress(ed)?|acknowledged|false positive"
    r"|not (needed|applicable|relevant)|by design|intended|expected|known issue|accepted)\W*$",
    re.IGNORECASE,
)
MIN_REASON_CHARS = 60


def test_the_four_required_packs_are_registered() -> None:
    assert set(COMPLIANCE_PACKS) == {AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks}


def test_synthesis_leaves_no_open_finding(env: SynthesizedEnvironment) -> None:
    # The session synth would have raised on a finding; the report must agree.
    assert read_findings(env.outdir) == []


def test_an_unacknowledged_finding_fails_synthesis_even_with_the_clis_context(tmp_path: Path) -> None:
    """The gate holds with the context the CDK CLI passes (failSynthOnValidationErrors=false)."""
    app = new_app(outdir=str(tmp_path), context={FAIL_SYNTH_ON_VALIDATION_ERRORS: False})
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "PlainQueue")  # no DLQ, no SSL enforcement: several rules fire
    register_compliance_packs(app)
    with pytest.raises(ComplianceError) as raised:
        synthesize(app)
    rules = {(f.pack, f.rule, f.path) for f in raised.value.findings}
    assert ("AwsSolutions", "AwsSolutions-SQS4", "Probe/PlainQueue/Resource") in rules
    assert ("Serverless", "Serverless-SQSRedrivePolicy", "Probe/PlainQueue/Resource") in rules
    assert "AwsSolutions-SQS4 (error) at Probe/PlainQueue/Resource: The SQS queue does not require" in str(raised.value)
    # Nothing can deploy or diff the refused assembly afterwards.
    assert not list(tmp_path.rglob("manifest.json"))
    assert (tmp_path / REFUSED_MANIFEST).exists()


def test_every_acknowledgment_names_a_registered_pack_rule(env: SynthesizedEnvironment) -> None:
    acknowledgments = collect_acknowledgments(env.outdir)
    assert acknowledgments, "expected the public-subnet route acknowledgments at least"
    assert all(ack.pack for ack in acknowledgments), [a.rule for a in acknowledgments if not a.pack]


def test_acknowledgments_sit_on_resources_not_stacks(env: SynthesizedEnvironment) -> None:
    stack_paths = {f"/{stack.node.path}" for stack in env.stacks} | {f"/{env.stage.node.path}", "/"}
    for ack in collect_acknowledgments(env.outdir):
        assert ack.path not in stack_paths, f"{ack.rule} is acknowledged on a whole stack/stage: {ack.path}"
        assert ack.path.count("/") >= 4, f"{ack.rule} on {ack.path} is not on a construct inside a stack"


def test_acknowledgment_reasons_are_specific(env: SynthesizedEnvironment) -> None:
    for ack in collect_acknowledgments(env.outdir):
        where = f"{ack.rule} on {ack.path}"
        assert ack.reason.strip(), f"{where}: empty reason"
        assert not GENERIC.match(ack.reason), f"{where}: generic reason {ack.reason!r}"
        assert len(ack.reason) >= MIN_REASON_CHARS, f"{where}: reason shorter than {MIN_REASON_CHARS} chars"


@pytest.mark.parametrize("reason", ["", "n/a", "False positive.", "by design", "TODO", "accepted"])
def test_generic_reasons_are_recognised(reason: str) -> None:
    assert not reason.strip() or GENERIC.match(reason) or len(reason) < MIN_REASON_CHARS


def test_report_lists_packs_and_every_acknowledgment(env: SynthesizedEnvironment) -> None:
    report = render(env.outdir)
    for pack in PACK_PREFIXES:
        assert pack in report
    assert "Open findings: 0." in report
    for ack in collect_acknowledgments(env.outdir):
        assert f"`{ack.path}` | {ack.rule} |" in report


def test_the_report_tool_fails_on_an_open_finding(
    env: SynthesizedEnvironment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An assembly whose validation report lists a finding: the report is written, the exit status is 1."""
    broken = tmp_path / "cdk.out"
    copy_assembly(env.outdir, broken)
    violation = {
        "ruleName": "AwsSolutions-KMS5",
        "description": "The KMS Symmetric key does not have automatic key rotation enabled.",
        "severity": "error",
        "violatingConstructs": [{"constructPath": "Dev/Data/DataKey/Resource"}],
    }
    report = {"pluginReports": [{"pluginName": "AwsSolutions", "conclusion": "failure", "violations": [violation]}]}
    (broken / "validation-report.json").write_text(json.dumps(report), encoding="utf-8")

    assert report_main(["compliance_report", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "[AwsSolutions] AwsSolutions-KMS5 (error) at Dev/Data/DataKey/Resource" in err
    assert "Open findings: 1." in (broken / "compliance-report.md").read_text(encoding="utf-8")


@pytest.mark.slow  # one more App: dev with a probe that has a finding
def test_app_py_refuses_an_open_finding(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """app.py's own entry point goes through the gate (not only the fixture app the CLI test runs)."""
    import app as entry_point
    from stacks.platform_app import build_app as real_build_app

    def build_with_a_finding(configs: Any, app: Any) -> Any:
        built = real_build_app(configs, app)
        sqs.Queue(Stack(built, "Probe"), "PlainQueue")
        return built

    monkeypatch.setattr(entry_point, "build_app", build_with_a_finding)
    monkeypatch.setattr(entry_point, "new_app", lambda: new_app(context={**feature_flags(), "env": "dev"}, outdir=None))
    assert entry_point.main() == 1
    assert "[AwsSolutions] AwsSolutions-SQS4 (error) at Probe/PlainQueue/Resource" in capsys.readouterr().err
