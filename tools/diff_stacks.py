"""Diff synthesised stacks against a baseline synth; fail on destructive changes.

    python tools/diff_stacks.py --baseline cdk.out.baseline [--current cdk.out] [--env prod]

For every stack of the selected environment(s) in the current cloud assembly, runs the CDK CLI's
own offline diff (`cdk diff --app <current> --template <baseline template> --fail-on destructive`)
and prints it. Exit status 1 when any stack would replace or destroy a resource, which for the
stateful stacks means a database, cache, key or secret would be lost. New stacks (absent from
the baseline) are listed and not diffed. No AWS credentials are used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from stacks.validation_report import read_findings
from tools.compliance_report import stack_artifacts

ROOT = Path(__file__).resolve().parent.parent


def cdk_executable() -> str:
    local = ROOT / "node_modules" / ".bin" / "cdk"
    found = str(local) if local.exists() else shutil.which("cdk")
    if not found:
        raise SystemExit("diff: the cdk CLI is not installed; run `make setup`")
    return found


def diff_stack(current: Path, baseline_template: Path, stack: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "CDK_DISABLE_CLI_TELEMETRY": "true"}
    return subprocess.run(
        [
            cdk_executable(),
            "diff",
            "--app",
            str(current),
            "--template",
            str(baseline_template),
            "--fail-on",
            "destructive",
            "--exclusively",
            "--no-notices",
            "--no-color",
            stack,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="cloud assembly of the baseline (e.g. main)")
    parser.add_argument("--current", type=Path, default=Path("cdk.out"), help="cloud assembly of this change")
    parser.add_argument("--env", default="all", help="dev, staging, prod or all (default)")
    args = parser.parse_args(argv)

    for directory in (args.baseline, args.current):
        if not (directory / "manifest.json").exists():
            print(f"diff: {directory} is not a cloud assembly; synthesise it first", file=sys.stderr)
            return 2
    findings = read_findings(args.current)
    if findings:
        print(f"diff: {args.current} has {len(findings)} open compliance finding(s); fix them first:", file=sys.stderr)
        for finding in findings:
            print(f"  - {finding}", file=sys.stderr)
        return 2

    baseline = {artifact["displayName"]: directory / artifact["properties"]["templateFile"]
                for _, directory, artifact in stack_artifacts(args.baseline)}  # fmt: skip
    destructive: list[str] = []
    for environment, _, artifact in stack_artifacts(args.current):
        name = artifact["displayName"]
        if args.env != "all" and environment.lower() != args.env.lower():
            continue
        if name not in baseline:
            print(f"== {name}: new stack (not in the baseline)\n")
            continue
        result = diff_stack(args.current, baseline[name], name)
        print(f"== {name}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            destructive.append(name)
    if destructive:
        print(f"diff: destructive changes (replace/destroy) in {', '.join(destructive)}", file=sys.stderr)
        return 1
    print("diff: no destructive changes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
