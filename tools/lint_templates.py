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


def run_cfn_lint(templates: list[Path]) -> list[Finding]:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--format",
            "json",
            "--include-checks",
            "I",
            "--",
            *map(str, templates),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit status is a bitmask (2 error, 4 warning, 8 informational); anything else is a crash.
    if result.returncode & ~(2 | 4 | 8):
        raise SystemExit(f"cfn-lint failed to run (exit {result.returncode}):\n{result.stderr}")
    findings = []
    for match in json.loads(result.stdout or "[]"):
        path = match["Location"].get("Path") or []
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else ""
        findings.append(
            Finding(
                rule=match["Rule"]["Id"],
                resource=str(resource),
                template=match["Filename"],
                message=match["Message"],
            )
        )
    return findings


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
