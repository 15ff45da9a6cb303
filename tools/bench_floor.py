"""The floor `make bench` measures synthesis against: the least an App of ours can cost.

One stack holding one resource (an SSM parameter, which no pack flags), the same compliance packs
registered as `app.py` registers, aws-cdk-lib's built-in validation on, synthesised into CDK_OUTDIR
(the CLI sets it; `python tools/bench_floor.py` without it writes to a temporary folder). What it
costs is starting Python, Node.js and aws-cdk-lib, the packs and the validation engine: what every
synthesis pays before it builds anything.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script, like app.py

from aws_cdk import App, Stack, aws_ssm as ssm

from stacks.compliance import FAIL_SYNTH_ON_VALIDATION_ERRORS, register_compliance_packs, synthesize_or_report


def main() -> int:
    # The App as stacks.platform_app.new_app makes it, without importing our stacks (the floor builds none)
    # and without cdk.json's feature flags under `python` (the CLI passes them; no flag changes its cost).
    app = App(
        outdir=os.environ.get("CDK_OUTDIR") or tempfile.mkdtemp(prefix="floor-"),
        stack_traces=False,
        post_cli_context={FAIL_SYNTH_ON_VALIDATION_ERRORS: False},
    )
    ssm.StringParameter(Stack(app, "Floor"), "Parameter", string_value="floor")
    register_compliance_packs(app)
    return synthesize_or_report(app)


if __name__ == "__main__":
    sys.exit(main())
