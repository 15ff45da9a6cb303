"""`make baseline`: synthesise another revision (or take a ready assembly) as the baseline `make diff`
and `make cost-diff` compare with, and record what it was built from.

    python -m tools.make_baseline --ref main [--env prod] [--out cdk.out.baseline]
    python -m tools.make_baseline --from path/to/cdk.out [--out cdk.out.baseline]

A ref is resolved locally, then as `origin/<ref>`, then fetched (`git fetch --depth=1 origin <ref>`),
so a shallow or single-branch clone (CI's) works. The revision is checked out in a temporary worktree
that is removed afterwards, also when synthesis fails; a worktree left by an interrupted run is
cleaned up first. `baseline.json` in the output records the commit, the ref and the environments.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tools.cli_diff import cdk_executable
from tools.cloud_assembly import BASELINE_RECORD, AssemblyError, read_baseline_record, read_stacks

ROOT = Path(__file__).resolve().parent.parent
WORKTREE = ROOT / ".baseline"


class BaselineError(Exception):
    """The baseline cannot be made; the message says why."""


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise BaselineError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result


def resolve(ref: str) -> str:
    """The commit of `ref`: local, origin's, or fetched (shallow) from origin."""
    for candidate in (ref, f"origin/{ref}"):
        found = git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False)
        if found.returncode == 0:
            return found.stdout.strip()
    fetched = git("fetch", "--depth=1", "origin", ref, check=False)
    if fetched.returncode != 0:
        raise BaselineError(f"{ref!r} is neither a local ref nor fetchable from origin: {fetched.stderr.strip()}")
    return git("rev-parse", "FETCH_HEAD^{commit}").stdout.strip()


def clean_worktree() -> None:
    """Remove the temporary worktree, registered or left over by an interrupted run."""
    git("worktree", "remove", "--force", str(WORKTREE), check=False)
    if WORKTREE.exists():
        shutil.rmtree(WORKTREE)
    git("worktree", "prune", check=False)


def synthesise(commit: str, out: Path, environment: str) -> None:
    clean_worktree()
    try:
        git("worktree", "add", "--detach", str(WORKTREE), commit)
        deps = ROOT / ".lambda-deps"
        if deps.exists():  # the functions' packages are installed, not committed: the baseline bundles the same
            (WORKTREE / ".lambda-deps").symlink_to(deps)
        command = [cdk_executable(), "synth", "--quiet", "--output", str(out.resolve()),
                   "--app", f"{sys.executable} app.py"]  # fmt: skip
        if environment != "all":
            command += ["-c", f"env={environment}"]
        env = {**os.environ, "PYTHONPATH": str(WORKTREE / "constructs"), "AWS_EC2_METADATA_DISABLED": "true",
               "CDK_DISABLE_CLI_TELEMETRY": "true"}  # fmt: skip
        result = subprocess.run(command, cwd=WORKTREE, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BaselineError(f"synthesis of {commit[:12]} failed:\n{result.stderr[-3000:]}")
    finally:
        clean_worktree()


def record(out: Path, *, ref: str, commit: str | None) -> dict[str, object]:
    environments = sorted({stack.environment for stack in read_stacks(out)})
    data: dict[str, object] = {
        "ref": ref,
        "commit": commit,
        "environments": environments,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (out / BASELINE_RECORD).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ref", help="a git ref to synthesise (branch, tag or commit)")
    source.add_argument("--from", dest="from_dir", type=Path, help="a synthesised cloud assembly to use as it is")
    parser.add_argument("--env", default="all", help="dev, staging, prod or all (default)")
    parser.add_argument("--out", type=Path, default=ROOT / "cdk.out.baseline")
    args = parser.parse_args(argv)
    # Built beside the output and moved into place at the end: a failed run keeps the previous baseline.
    building = args.out.with_name(args.out.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    try:
        if args.from_dir is not None:
            read_stacks(args.from_dir)  # refuses what is not an assembly
            earlier = read_baseline_record(args.from_dir)
            shutil.copytree(args.from_dir, building)
            data = record(building, ref=f"directory {args.from_dir}", commit=earlier.get("commit") if earlier else None)
        else:
            commit = resolve(args.ref)
            synthesise(commit, building, args.env)
            data = record(building, ref=args.ref, commit=commit)
        if args.out.exists():
            shutil.rmtree(args.out)
        building.rename(args.out)
    except (BaselineError, AssemblyError) as error:
        shutil.rmtree(building, ignore_errors=True)
        print(f"baseline: {error}", file=sys.stderr)
        return 2
    environments = data["environments"]
    listed = ", ".join(str(e) for e in environments) if isinstance(environments, list) else "?"
    commit = str(data["commit"])[:12] if data["commit"] else "commit unknown"
    print(f"baseline: {args.out} from {data['ref']} ({commit}), environments {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
