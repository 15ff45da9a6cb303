"""`make baseline` (tools/make_baseline.py): a ref resolved in shallow and single-branch clones, a worktree
left by an interrupted run cleaned up, an assembly taken as it is, and what the baseline records."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SynthesizedEnvironment
from tools import make_baseline

ROOT = Path(__file__).resolve().parent.parent


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.fixture
def shallow_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A single-branch, depth-1 clone of an origin with a second branch the clone has never seen."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    (origin / "a.txt").write_text("a")
    git(origin, "add", "a.txt")
    git(origin, "commit", "-q", "-m", "a")
    git(origin, "checkout", "-q", "-b", "release")
    (origin / "b.txt").write_text("b")
    git(origin, "add", "b.txt")
    git(origin, "commit", "-q", "-m", "b")
    release = git(origin, "rev-parse", "HEAD")
    git(origin, "checkout", "-q", "main")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth=1", "--single-branch", "--branch", "main", f"file://{origin}", str(clone))
    monkeypatch.setattr(make_baseline, "ROOT", clone)
    monkeypatch.setattr(make_baseline, "WORKTREE", clone / ".baseline")
    return clone, release


def test_a_ref_the_clone_lacks_is_fetched(shallow_clone: tuple[Path, str]) -> None:
    clone, release = shallow_clone
    assert make_baseline.resolve("release") == release
    assert make_baseline.resolve("main") == git(clone, "rev-parse", "HEAD")


def test_an_unknown_ref_is_a_clear_error(shallow_clone: tuple[Path, str]) -> None:
    with pytest.raises(make_baseline.BaselineError, match="'no-such-branch' is neither a local ref nor fetchable"):
        make_baseline.resolve("no-such-branch")


def test_a_worktree_left_by_an_interrupted_run_is_removed(shallow_clone: tuple[Path, str]) -> None:
    clone, _ = shallow_clone
    git(clone, "worktree", "add", "--detach", str(clone / ".baseline"), "HEAD")
    (clone / ".baseline" / "half-written").write_text("x")
    make_baseline.clean_worktree()
    assert not (clone / ".baseline").exists()
    assert ".baseline" not in git(clone, "worktree", "list")
    (clone / ".baseline").mkdir()  # a directory git no longer knows of
    make_baseline.clean_worktree()
    assert not (clone / ".baseline").exists()


def test_an_assembly_is_taken_as_it_is_and_recorded(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "baseline"
    assert make_baseline.main(["--from", str(platform("dev").outdir), "--out", str(out)]) == 0
    # An assembly records no commit: the line says so in full (it once cut "commit unknown" to 12 characters).
    assert f"baseline: {out} from directory {platform('dev').outdir} (commit unknown), environments dev" in (
        capsys.readouterr().out
    )
    record = json.loads((out / "baseline.json").read_text())
    assert record["environments"] == ["dev"]
    assert record["ref"].startswith("directory ")
    assert make_baseline.main(["--from", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert (out / "baseline.json").is_file()  # a failed run keeps the previous baseline
    assert make_baseline.main(["--from", str(out), "--out", str(out)]) == 0  # its own output, as a source
    assert json.loads((out / "baseline.json").read_text())["environments"] == ["dev"]


@pytest.mark.slow  # synthesises dev of HEAD through the CDK CLI, as `make baseline` does
def test_make_baseline_synthesises_a_ref_and_records_it(tmp_path: Path) -> None:
    out = tmp_path / "baseline"
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "--no-print-directory", "baseline", "BASE_REF=HEAD", "ENV=dev", f"BASELINE={out}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((out / "baseline.json").read_text())
    assert record["commit"] == git(ROOT, "rev-parse", "HEAD")
    assert record["environments"] == ["dev"]
    assert not (ROOT / ".baseline").exists()
    assert (out / "manifest.json").is_file()
