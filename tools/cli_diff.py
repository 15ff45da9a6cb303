"""The CDK CLI's own offline diff of one stack against a template: what `cdk diff` prints.

The tests of day-2 changes use it to see exactly what CloudFormation would be asked to do. No AWS
credentials are used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cdk_executable() -> str:
    local = ROOT / "node_modules" / ".bin" / "cdk"
    found = str(local) if local.exists() else shutil.which("cdk")
    if not found:
        raise SystemExit("diff: the cdk CLI is not installed; run `make setup`")
    return found


def diff_stack(current: Path, baseline_template: Path, stack: str) -> subprocess.CompletedProcess[str]:
    """`cdk diff --app <current> --template <baseline_template> --fail-on destructive <stack>`."""
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
