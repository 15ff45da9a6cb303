"""Print how long the commands on every engineer's critical path take.

    python tools/benchmark.py [--repeat N] [--with-tests]

Measures wall-clock time of: importing aws_cdk, `python app.py` for one and all environments
(with and without aws-cdk-lib's built-in CloudFormation validation), the CDK CLI's `cdk synth`,
and optionally the whole pytest suite. Prints the best and median of N runs. Numbers, not
assertions: compare them before and after a change.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(command: list[str], extra_env: dict[str, str] | None = None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PATH=f"{BIN}:{ROOT / 'node_modules' / '.bin'}:{env.get('PATH', '')}", AWS_EC2_METADATA_DISABLED="true")
    env.update(extra_env or {})
    with tempfile.TemporaryDirectory() as out:
        env.setdefault("CDK_OUTDIR", out)
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time synth and tests")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--with-tests", action="store_true", help="also time the whole pytest suite (once)")
    args = parser.parse_args(argv)

    python = sys.executable
    cases: list[tuple[str, list[str], dict[str, str]]] = [
        ("import aws_cdk", [python, "-c", "import aws_cdk"], {}),
        ("python app.py (dev)", [python, "app.py"], {"CDK_CONTEXT_JSON": '{"env": "dev"}'}),
        ("python app.py (all 3 envs)", [python, "app.py"], {}),
        ("python app.py (all, no built-in validation)", [python, "app.py"], {"CDK_VALIDATION": "false"}),
    ]
    with tempfile.TemporaryDirectory() as out:
        cases.append(("cdk synth --quiet (all 3 envs, CLI)", ["cdk", "synth", "--quiet", "--output", out], {}))
        print(f"{'command':48} {'best s':>8} {'median s':>9}  (n={args.repeat})")
        for label, command, extra in cases:
            runs = [timed(command, extra) for _ in range(args.repeat)]
            print(f"{label:48} {min(runs):8.2f} {statistics.median(runs):9.2f}")
    if args.with_tests:
        seconds = timed([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
        print(f"{'pytest (whole suite, once)':48} {seconds:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
