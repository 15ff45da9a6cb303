"""The compliance gate: every pack runs, nothing is open, every acknowledgment is narrow and explained."""

from __future__ import annotations

import re

import pytest
from aws_cdk import App, Stack
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks

from stacks.compliance import COMPLIANCE_PACKS
from tests.conftest import SynthesizedEnvironment
from tools.compliance_report import PACK_PREFIXES, collect_acknowledgments, open_findings, render

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
    assert open_findings(env.outdir) == []


def test_an_unacknowledged_finding_fails_synthesis() -> None:
    """The gate is real: a resource that breaks a rule stops `app.synth()`."""
    from aws_cdk import aws_sqs as sqs

    from stacks.compliance import register_compliance_packs

    app = App()
    stack = Stack(app, "Probe")
    sqs.Queue(stack, "PlainQueue")  # no DLQ, no SSL enforcement: several rules fire
    register_compliance_packs(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()


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
