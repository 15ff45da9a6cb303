"""Lint every synthesised template with cfn-lint; fail on any finding not accepted on record.

    python tools/lint_templates.py [cdk.out]

Runs cfn-lint (informational checks included, e.g. I3011: stateful resource without deletion
policies) over every `*.template.json` under the given cloud-assembly directory. Findings listed
in `cfn-lint-accepted.toml` (rule + resource logical id, which may be a glob such as
`NetworkVpc*Subnet*`, optionally a glob the message must match, + reason) are reported as
accepted; any other finding makes the exit status 1.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED_FILE = ROOT / "cfn-lint-accepted.toml"


@dataclass(frozen=True)
class Finding:
    rule: str
    resource: str
    template: str
    message: str


def load_accepted(path: Path = ACCEPTED_FILE) -> dict[tuple[str, str, str], str]:
    """(rule, resource glob, message glob) -> reason; an entry without `message` matches any message."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("accepted", [])
    accepted: dict[tuple[str, str, str], str] = {}
    for entry in entries:
        missing = {"rule", "resource", "reason"} - entry.keys()
        if missing or not str(entry.get("reason", "")).strip():
            raise SystemExit(f"{path.name}: entry {entry} needs rule, resource and a non-empty reason")
        accepted[(entry["rule"], entry["resource"], entry.get("message", "*"))] = entry["reason"]
    return accepted


def is_accepted(finding: Finding, accepted: dict[tuple[str, str, str], str]) -> bool:
    return any(
        rule == finding.rule
        and fnmatch.fnmatchcase(finding.resource, resource)
        and fnmatch.fnmatchcase(finding.message, message)
        for rule, resource, message in accepted
    )


#: cfn-lint processes at most: each loads every resource schema (hundreds of MB).
MAX_WORKERS = 4


def run_cfn_lint(templates: list[Path], workers: int | None = None) -> list[Finding]:
    """cfn-lint over `templates`, in one process per usable core (at most MAX_WORKERS; templates shared out
    by size), findings in template order as one process gives them.

    cfn-lint checks one template at a time in one process; two processes halve the wall time on two cores.
    """
    chunks = _share_out(templates, workers or min(MAX_WORKERS, len(os.sched_getaffinity(0))))
    command = [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", "--include-checks", "I", "--"]
    processes: list[subprocess.Popen[str]] = []
    try:
        for chunk in chunks:
            processes.append(
                subprocess.Popen(
                    [*command, *map(str, chunk)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
            )
        findings = [finding for process in processes for finding in _findings_of(process)]
    finally:
        for process in processes:  # a failure above leaves no cfn-lint running
            if process.poll() is None:
                process.kill()
                process.wait()
    order = {str(template): index for index, template in enumerate(templates)}
    return sorted(findings, key=lambda finding: order.get(finding.template, len(order)))


def _findings_of(process: subprocess.Popen[str]) -> list[Finding]:
    stdout, stderr = process.communicate()
    # Exit status is a bitmask (2 error, 4 warning, 8 informational); anything else is a crash.
    if process.returncode & ~(2 | 4 | 8):
        raise SystemExit(f"cfn-lint failed to run (exit {process.returncode}):\n{stderr}")
    findings = []
    for match in json.loads(stdout or "[]"):
        path = match["Location"].get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        findings.append(
            Finding(
                rule=match["Rule"]["Id"], resource=str(resource), template=match["Filename"], message=match["Message"]
            )
        )
    return findings


def _share_out(templates: list[Path], workers: int) -> list[list[Path]]:
    """At most `workers` non-empty groups of about equal size in bytes, largest templates placed first."""
    groups: list[tuple[int, list[Path]]] = [(0, []) for _ in range(max(1, min(workers, len(templates))))]
    for template in sorted(templates, key=lambda path: path.stat().st_size, reverse=True):
        size, members = min(groups, key=lambda group: group[0])
        groups.remove((size, members))
        groups.append((size + template.stat().st_size, [*members, template]))
    return [members for _, members in groups if members]


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    templates = sorted(out_dir.rglob("*.template.json"))
    if not templates:
        print(f"lint: no templates under {out_dir}; run `make synth` first", file=sys.stderr)
        return 1
    accepted = load_accepted()
    findings = run_cfn_lint(templates)
    open_findings = [f for f in findings if not is_accepted(f, accepted)]
    for finding in findings:
        status = "accepted" if finding not in open_findings else "FAIL"
        print(f"{status:8} {finding.rule} {finding.template} {finding.resource}: {finding.message}")
    print(
        f"cfn-lint: {len(templates)} templates, {len(findings)} findings, "
        f"{len(findings) - len(open_findings)} accepted, {len(open_findings)} open"
    )
    return 1 if open_findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
