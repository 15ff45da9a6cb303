"""How long the commands on every engineer's critical path take, against the toolchain's floor.

    python tools/benchmark.py [--repeat N] [--only GROUP,...] [--json PATH]

A script, not a timed test: it prints numbers and writes them as JSON, and fails only if a command
fails. Every case runs as a user runs it (a subprocess with the Makefile's environment, offline),
the cases alternate (one of each per round, N rounds), and each is summarised by its median and
range. Groups:

- `synth`: the floor (`tools/bench_floor.py`: an App with one stack holding one resource, the same
  four compliance packs registered, aws-cdk-lib's built-in validation on), the main job (all
  environments, every pack) and one environment alone (prod, the largest), each with `python` and
  with `cdk synth`; ratios against the floor of the same runner.
- `tools`: `make diff` (all environments, one process) and `make audit` on a warm assembly.
- `tests`: the fast tier (`make test-fast`), the whole suite (`make unit`) and `make test` (lint,
  types, the suite) on a warm set-up.

Targets (issue: speed), checked on the medians: all environments at most 2.0 x the floor, one
environment at most 1.4 x, the fast tier under 60 s, the whole suite under 5 minutes, `make diff`
under 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GROUPS = ("synth", "tools", "tests")
ONE_ENVIRONMENT = "prod"


@dataclass(frozen=True)
class Case:
    """One command to time. `command` gets a fresh scratch folder for each run."""

    name: str
    group: str
    command: Callable[[Path], list[str]]
    extra_env: dict[str, str] = field(default_factory=dict)
    outdir_env: bool = False  # give the run CDK_OUTDIR=<scratch>/out (`python app.py`)


@dataclass(frozen=True)
class Target:
    """`case`'s median at most `limit` seconds, or at most `limit` x the median of `floor`."""

    case: str
    limit: float
    floor: str | None = None

    def describe(self) -> str:
        return f"<= {self.limit:g} x {self.floor}" if self.floor else f"< {self.limit:g} s"


def user_environment() -> dict[str, str]:
    """The Makefile's environment: the virtualenv's Node and Python first, offline, no credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "CDK_"))}
    env.update(
        PATH=f"{BIN}:{ROOT / 'node_modules' / '.bin'}:{env.get('PATH', '')}",
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    return env


def cases(warm_assembly: Path | None, baseline: Path | None) -> list[Case]:
    python = str(BIN / "python")
    floor_app = f"{python} tools/bench_floor.py"
    found = [
        Case("floor: python", "synth", lambda _: [python, "tools/bench_floor.py"], outdir_env=True),
        Case("floor: cdk synth", "synth", lambda d: ["cdk", "synth", "--quiet", "--app", floor_app, "-o", str(d)]),
        Case("all environments: python app.py", "synth", lambda _: [python, "app.py"], outdir_env=True),
        Case("all environments: cdk synth", "synth", lambda d: ["cdk", "synth", "--quiet", "-o", str(d)]),
        Case(
            f"{ONE_ENVIRONMENT} alone: python app.py",
            "synth",
            lambda _: [python, "app.py"],
            extra_env={"CDK_CONTEXT_JSON": json.dumps({"env": ONE_ENVIRONMENT})},
            outdir_env=True,
        ),
        Case(
            f"{ONE_ENVIRONMENT} alone: cdk synth",
            "synth",
            lambda d: ["cdk", "synth", "--quiet", "-o", str(d), "-c", f"env={ONE_ENVIRONMENT}"],
        ),
        Case("fast tier: make test-fast", "tests", lambda _: ["make", "--no-print-directory", "test-fast"]),
        Case("whole suite: make unit", "tests", lambda _: ["make", "--no-print-directory", "unit"]),
        Case("make test (lint, types, suite)", "tests", lambda _: ["make", "--no-print-directory", "test"]),
    ]
    if warm_assembly is not None and baseline is not None:
        make = ["make", "--no-print-directory"]
        diff = [*make, "diff", f"OUT={warm_assembly}", f"BASELINE={baseline}"]
        audit = [*make, "audit", f"OUT={warm_assembly}"]
        found += [
            Case("make diff (all environments)", "tools", lambda _: diff),
            Case("make audit (all environments)", "tools", lambda _: audit),
        ]
    return found


TARGETS = (
    Target("all environments: python app.py", 2.0, "floor: python"),
    Target("all environments: cdk synth", 2.0, "floor: cdk synth"),
    Target(f"{ONE_ENVIRONMENT} alone: python app.py", 1.4, "floor: python"),
    Target(f"{ONE_ENVIRONMENT} alone: cdk synth", 1.4, "floor: cdk synth"),
    Target("fast tier: make test-fast", 60.0),
    Target("whole suite: make unit", 300.0),
    Target("make diff (all environments)", 10.0),
)


def run_once(case: Case, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        run_env = dict(env, **case.extra_env)
        if case.outdir_env:
            run_env["CDK_OUTDIR"] = str(Path(scratch) / "out")
        start = time.perf_counter()
        result = subprocess.run(
            case.command(Path(scratch) / "out"), cwd=ROOT, env=run_env, capture_output=True, text=True, check=False
        )
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"{case.name}: exit {result.returncode}\n{tail}")
    return seconds


def summarise(runs: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": len(times)}
        for name, times in runs.items()
        if times
    }


def check_targets(summary: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    checked = []
    for target in TARGETS:
        if target.case not in summary or (target.floor and target.floor not in summary):
            continue
        median = summary[target.case]["median"]
        value = median / summary[target.floor]["median"] if target.floor else median
        met = value <= target.limit if target.floor else value < target.limit
        checked.append({"case": target.case, "target": target.describe(), "value": round(value, 2), "met": met})
    return checked


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                      if line.startswith("model name")), "")  # fmt: skip
    memory_gib = 0.0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = next(int(line.split()[1]) for line in meminfo.read_text().splitlines() if line.startswith("MemTotal"))
        memory_gib = round(kib / 1024 / 1024, 1)

    def version(command: Sequence[str]) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=user_environment(), check=False)
        except OSError:
            return "not found"
        return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr) else ""

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gib": memory_gib,
        "system": platform.platform(),
        "python": platform.python_version(),
        "node": version([str(BIN / "node"), "--version"]),
        "cdk_cli": version([str(ROOT / "node_modules" / ".bin" / "cdk"), "--version"]),
    }


def report(summary: dict[str, dict[str, float]], checked: list[dict[str, Any]], repeat: int) -> str:
    floors = {"python": summary.get("floor: python"), "cdk synth": summary.get("floor: cdk synth")}
    lines = [f"{'case':40} {'median s':>9} {'min-max s':>15} {'x floor':>8}   (n={repeat}, alternating)"]
    for name, row in summary.items():
        runner = "cdk synth" if name.endswith("cdk synth") else "python" if "python" in name else None
        floor = floors.get(runner) if runner and not name.startswith("floor") else None
        ratio = f"{row['median'] / floor['median']:8.2f}" if floor else f"{'':8}"
        lines.append(f"{name:40} {row['median']:9.2f} {row['min']:7.2f}-{row['max']:<7.2f} {ratio}")
    if checked:
        lines.append("")
        lines.append("targets:")
        for item in checked:
            mark = "met" if item["met"] else "MISSED"
            unit = " x floor" if " x " in item["target"] else " s"
            lines.append(f"  {mark:6} {item['case']}: {item['value']}{unit} (target {item['target']})")
    return "\n".join(lines)


def warm_assemblies(scratch: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """An assembly of every environment and a baseline recorded from it, as `make diff` needs them."""
    current = scratch / "cdk.out"
    baseline = scratch / "cdk.out.baseline"
    python = str(BIN / "python")
    make_baseline = ["make", "--no-print-directory", "baseline", f"BASELINE_FROM={current}", f"BASELINE={baseline}"]
    for command, extra in (([python, "app.py"], {"CDK_OUTDIR": str(current)}), (make_baseline, {})):
        done = subprocess.run(command, cwd=ROOT, env=dict(env, **extra), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise RuntimeError(f"preparing the warm assembly: {' '.join(command)}: exit {done.returncode}\n{tail}")
    return current, baseline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; every case runs once per round (default 5)")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    parser.add_argument("--json", type=Path, default=ROOT / "cdk.out.bench" / "bench.json", help="where to write it")
    args = parser.parse_args(argv)
    groups = [group.strip() for group in args.only.split(",") if group.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown or args.repeat < 1:
        parser.error(f"--only takes {', '.join(GROUPS)} (got {', '.join(unknown)}); --repeat at least 1"
                     if unknown else "--repeat: at least 1")  # fmt: skip

    env = user_environment()
    scratch = Path(tempfile.mkdtemp(prefix="bench-assembly-"))
    try:
        warm, baseline = warm_assemblies(scratch, env) if "tools" in groups else (None, None)
        selected = [case for case in cases(warm, baseline) if case.group in groups]
        runs: dict[str, list[float]] = {case.name: [] for case in selected}
        for round_number in range(1, args.repeat + 1):
            for case in selected:
                runs[case.name].append(run_once(case, env))
                print(f"round {round_number}/{args.repeat}: {case.name}: {runs[case.name][-1]:.2f} s", file=sys.stderr)
    except RuntimeError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    summary = summarise(runs)
    checked = check_targets(summary)
    print(report(summary, checked, args.repeat))
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "machine": machine(),
        "runs": runs,
        "summary": summary,
        "targets": checked,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
