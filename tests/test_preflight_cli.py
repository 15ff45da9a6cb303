"""`make preflight` and `python -m tools.preflight` as a user runs them, without AWS credentials: one line
that says so, exit 2, no traceback; and every preflight or deploy-guard command the manual shows, run as
written the same way."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SynthesizedEnvironment

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
#: The pages that show these commands: the front door and the deploy runbooks.
MANUAL = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NO_CREDENTIALS = "no AWS credentials found"
#: The commands of this topic in the manual (inline or fenced), `<env>` standing for an environment.
#: make's own closing line for a failed recipe (`make: *** [Makefile:N: preflight] Error 2`).
MAKE_ERROR = re.compile(r"make(\[\d+\])?: \*\*\* ")
README_COMMAND = re.compile(r"`((?:make preflight|\.venv/bin/python -m tools\.(?:preflight|deploy_guard))[^`]*)`")


def without_credentials(tmp_path: Path) -> dict[str, str]:
    """The environment of a shell with no AWS credentials anywhere (no keys, profile, files or metadata)."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if (not key.startswith("AWS_") or key in ("AWS_EC2_METADATA_DISABLED",))
        # A user's shell is not inside make: under `make test` these would make the inner make print
        # `make[1]: ...` and pass the outer make's flags down.
        and key not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
    }
    environment.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_EC2_METADATA_DISABLED="true",
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{environment.get('PATH', '')}",
    )
    return environment


def run(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=ROOT, env=without_credentials(tmp_path), capture_output=True, text=True, timeout=600, check=False
    )


def assert_one_line_without_credentials(result: subprocess.CompletedProcess[str], prefix: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if not MAKE_ERROR.match(line)]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prefix}: {NO_CREDENTIALS}"), lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_make_preflight_without_credentials_says_so_in_one_line(tmp_path: Path) -> None:
    """The target checks the credentials before it synthesises: the answer comes in seconds, and the
    assembly directory is left alone."""
    out = tmp_path / "cdk.out"
    result = run(["make", "preflight", "ENV=dev", f"OUT={out}"], tmp_path)
    assert_one_line_without_credentials(result, "preflight")
    assert not out.exists()


def test_the_module_without_credentials_exits_2(
    tmp_path: Path, platform: Callable[[str], SynthesizedEnvironment]
) -> None:
    outdir = platform("dev").outdir
    result = run([sys.executable, "-m", "tools.preflight", "--env", "dev", "--assembly", str(outdir)], tmp_path)
    assert_one_line_without_credentials(result, "preflight")
    assert result.stdout == ""


def test_make_preflight_refuses_every_environment_at_once(tmp_path: Path) -> None:
    result = run(["make", "preflight", "ENV=all"], tmp_path)
    assert result.returncode == 2
    assert "preflight: name one environment, e.g. make preflight ENV=staging" in result.stderr


def test_an_unreadable_assembly_or_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "tools.preflight", "--env", "dev", "--assembly", str(tmp_path)], tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    result = run([sys.executable, "-m", "tools.preflight", "--env", "qa"], tmp_path)
    assert result.returncode == 2
    assert "environment 'qa' is unknown" in result.stderr


def test_the_environments_to_synthesise_are_those_of_the_account(tmp_path: Path) -> None:
    """The committed environments each have an account of their own: each is synthesised alone."""
    for name in ("dev", "staging", "prod"):
        result = run([sys.executable, "-m", "tools.preflight", "--env", name, "--list-environments"], tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == name


def readme_commands() -> list[str]:
    return sorted({command for page in MANUAL for command in README_COMMAND.findall(page.read_text(encoding="utf-8"))})


def test_the_readme_shows_the_preflight_and_the_guard() -> None:
    commands = readme_commands()
    assert any(c.startswith("make preflight ENV=") for c in commands), commands
    assert any("FIX=1" in c for c in commands), commands
    assert any("tools.deploy_guard" in c for c in commands), commands


@pytest.mark.parametrize("command", readme_commands())
def test_each_readme_command_runs_as_written(
    command: str, tmp_path: Path, platform: Callable[[str], SynthesizedEnvironment]
) -> None:
    """Run as written (`<env>` as dev, `cdk.out` as dev's synthesised assembly) in a shell without credentials."""
    words = shlex.split(command.replace("<env>", "dev"))
    words = [str(ROOT / ".venv" / "bin" / "python") if w == ".venv/bin/python" else w for w in words]
    words = [str(platform("dev").outdir) if w == "cdk.out" else w for w in words]
    if words[0] == "make":
        words.append(f"OUT={tmp_path / 'cdk.out'}")  # never the shared cdk.out of the working tree
    result = run(words, tmp_path)
    if words[0] == "make" and not any(w.startswith("ENV=") for w in words):
        assert result.returncode == 2  # ENV defaults to all, which it refuses by name
        assert "preflight: name one environment" in result.stderr
        return
    prefix = "deploy guard" if "deploy_guard" in command else "preflight"
    assert_one_line_without_credentials(result, prefix)
