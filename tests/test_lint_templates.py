"""tools/lint_templates.py: cfn-lint in one process per core, findings as one process would give them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tools.lint_templates import _share_out, run_cfn_lint


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=5000), max_size=40), workers=st.integers(1, 8))
def test_every_template_goes_to_exactly_one_process(tmp_path_factory: pytest.TempPathFactory, sizes: list[int],
                                                    workers: int) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("templates")
    templates = []
    for index, size in enumerate(sizes):
        path = folder / f"T{index}.template.json"
        path.write_text("x" * size)
        templates.append(path)
    groups = _share_out(templates, workers)
    assert sorted(path for group in groups for path in group) == sorted(templates)
    assert len(groups) <= workers
    assert all(groups)
    if groups:
        # Largest first into the lightest group: no group exceeds another by more than its largest template.
        totals = [sum(path.stat().st_size for path in group) for group in groups]
        assert max(totals) - min(totals) <= max(sizes)


def bad_template(path: Path, logical_id: str) -> Path:
    """A bucket with a property CloudFormation does not know: cfn-lint error E3002."""
    template = {"Resources": {logical_id: {"Type": "AWS::S3::Bucket", "Properties": {"NoSuchProperty": 1}}}}
    path.write_text(json.dumps(template))
    return path


@pytest.mark.slow  # starts cfn-lint three times
def test_parallel_findings_equal_one_process_in_template_order(tmp_path: Path) -> None:
    templates = [bad_template(tmp_path / f"{name}.template.json", name) for name in ("Zeta", "Alpha", "Mid")]
    alone = run_cfn_lint(templates, workers=1)
    assert [finding.resource for finding in alone] == ["Zeta", "Alpha", "Mid"]
    assert {finding.rule for finding in alone} == {"E3002"}
    assert run_cfn_lint(templates, workers=2) == alone
