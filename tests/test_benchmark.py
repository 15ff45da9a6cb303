"""tools/benchmark.py (`make bench`): medians, ratios against the floor, targets, and a real run of the tools group."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.benchmark import ROOT, check_targets, report, summarise


def test_medians_ranges_and_ratios_against_the_floor_of_the_same_runner() -> None:
    summary = summarise(
        {
            "floor: python": [2.0, 2.4, 2.2],
            "floor: cdk synth": [3.0, 3.0, 3.2],
            "all environments: python app.py": [4.2, 4.6, 4.4],
            "all environments: cdk synth": [9.0, 9.6, 9.3],
            "prod alone: python app.py": [3.2, 3.1, 3.0],
            "make diff (all environments)": [0.4, 0.5, 0.3],
            "whole suite: make unit": [310.0, 290.0, 305.0],
        }
    )
    assert summary["floor: python"] == {"median": 2.2, "min": 2.0, "max": 2.4, "runs": 3}
    checked = {item["case"]: item for item in check_targets(summary)}
    assert checked["all environments: python app.py"] == {
        "case": "all environments: python app.py",
        "target": "<= 2 x floor: python",
        "value": 2.0,
        "met": True,
    }
    assert checked["all environments: cdk synth"]["value"] == 3.1  # 9.3 / 3.0: the CLI's floor, not python's
    assert checked["all environments: cdk synth"]["met"] is False
    assert checked["prod alone: python app.py"] == {**checked["prod alone: python app.py"], "value": 1.41, "met": False}
    assert checked["make diff (all environments)"]["met"] is True
    assert checked["whole suite: make unit"]["met"] is False  # 305 s: not under five minutes
    assert "fast tier: make test-fast" not in checked  # not measured, not judged
    text = report(summary, list(checked.values()), 3)
    assert re.search(r"^all environments: cdk synth +9\.30 +9\.00-9\.60 +3\.10$", text, re.MULTILINE)
    assert "MISSED all environments: cdk synth: 3.1 x floor (target <= 2 x floor: cdk synth)" in text
    assert "met    make diff (all environments): 0.4 s (target < 10 s)" in text


@pytest.mark.slow  # synthesises every environment once, then times make diff and make audit twice each
def test_a_run_prints_the_table_and_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "tools/benchmark.py", "--only", "tools", "--repeat", "2", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads(out.read_text(encoding="utf-8"))
    assert set(written["runs"]) == {"make diff (all environments)", "make audit (all environments)"}
    assert all(len(times) == 2 and all(t > 0 for t in times) for times in written["runs"].values())
    assert written["machine"]["cpus"] >= 1
    assert written["machine"]["node"].startswith("v24.")
    (diff_target,) = written["targets"]
    assert diff_target["case"] == "make diff (all environments)"
    assert "make diff (all environments)" in result.stdout
    assert f"written: {out}" in result.stdout


def test_unknown_groups_are_refused_naming_the_known_ones() -> None:
    result = subprocess.run([sys.executable, "tools/benchmark.py", "--only", "synth,docs"], cwd=ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 2
    assert "--only takes synth, tools, tests (got docs)" in result.stderr


@pytest.mark.slow  # synthesises dev once, in a subprocess
def test_the_synth_profile_names_every_phase_with_its_round_trips() -> None:
    result = subprocess.run([sys.executable, "-m", "tools.synth_profile", "--env", "dev"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    for phase in ("start Node.js", "import our modules", "read and validate the config", "validation plugins",
                  "of which the built-in validation's rules", "everything else"):  # fmt: skip
        assert re.search(rf"^ *{re.escape(phase)}.* \d+\.\d\d", result.stdout, re.MULTILINE), phase
    construct = re.search(r"^construct dev +\d+\.\d\d +(\d+) round trips$", result.stdout, re.MULTILINE)
    assert construct is not None
    assert int(construct.group(1)) > 1000
    assert "round trips by kind: {" in result.stdout
