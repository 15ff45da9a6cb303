"""Write the compliance report an auditor reads: packs run, open findings, acknowledgments.

    python -m tools.compliance_report [cdk.out]     -> cdk.out/compliance-report.md

Reads the cloud assembly written by `make synth`: `validation-report.json` for open findings (a
successful synth has none; any open finding makes the exit status 1, after the report is written)
and each stack's `<Stack>.metadata.json` for the acknowledged rules,
the construct each sits on and its reason.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.validation_report import read_findings

#: Rule-id prefixes of the packs registered in stacks/compliance.py (one per pack).
PACK_PREFIXES = {
    "AwsSolutions": "AwsSolutions-",
    "NIST 800-53 Rev 5": "NIST.800.53.R5-",
    "PCI DSS 3.2.1": "PCI.DSS.321-",
    "Serverless": "Serverless-",
    # aws-cdk-lib's built-in plugin: cfn-lint rules run at synth; its warnings are findings too.
    "CloudFormation Validate (built into aws-cdk-lib)": "CloudFormation-Validate::",
}


@dataclass(frozen=True)
class Acknowledgment:
    environment: str
    stack: str
    path: str
    rule: str
    reason: str

    @property
    def pack(self) -> str:
        return next((pack for pack, prefix in PACK_PREFIXES.items() if self.rule.startswith(prefix)), "")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def stack_artifacts(outdir: Path) -> list[tuple[str, Path, dict[str, Any]]]:
    """(environment display name, assembly dir, artifact) for every stack in the assembly."""
    found = []
    for nested in _json(outdir / "manifest.json")["artifacts"].values():
        if nested["type"] != "cdk:cloud-assembly":
            continue
        directory = outdir / nested["properties"]["directoryName"]
        for artifact in _json(directory / "manifest.json")["artifacts"].values():
            if artifact["type"] == "aws:cloudformation:stack":
                found.append((nested["properties"]["displayName"], directory, artifact))
    return found


def collect_acknowledgments(outdir: Path) -> list[Acknowledgment]:
    acknowledgments = []
    for environment, directory, artifact in stack_artifacts(outdir):
        metadata_file = artifact.get("additionalMetadataFile")
        metadata: dict[str, list[dict[str, Any]]] = _json(directory / metadata_file) if metadata_file else {}
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] != "aws:cdk:acknowledged-rules":
                    continue
                for rule, reason in entry["data"].items():
                    acknowledgments.append(
                        Acknowledgment(
                            environment, artifact["displayName"], path, rule.removeprefix("Annotation::"), str(reason)
                        )
                    )
    return sorted(acknowledgments, key=lambda a: (a.environment, a.path, a.rule))


def render(outdir: Path) -> str:
    acknowledgments = collect_acknowledgments(outdir)
    findings = read_findings(outdir)
    stacks = stack_artifacts(outdir)
    lines = [
        "# Compliance report",
        "",
        f"Stacks checked: {len(stacks)} ({', '.join(a['displayName'] for _, _, a in stacks)}).",
        "",
        "Rule packs run on every synthesis (policy validation plugins; an open cdk-nag finding fails the synth):",
        *(f"- {pack} (rule ids `{prefix}*`)" for pack, prefix in PACK_PREFIXES.items()),
        "",
        f"Open findings: {len(findings)}.",
        *(f"- {finding.pack} {finding.rule} at `{finding.path}`: {finding.message}" for finding in findings),
        "",
        f"## Acknowledged findings ({len(acknowledgments)})",
        "",
        "Each is accepted on one construct (and its children) only, for the reason given.",
        "",
        "| Environment | Construct | Rule | Reason |",
        "|---|---|---|---|",
    ]
    for ack in acknowledgments:
        reason = " ".join(ack.reason.split()).replace("|", "\\|")
        lines.append(f"| {ack.environment} | `{ack.path}` | {ack.rule} | {reason} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    outdir = Path(argv[1] if len(argv) > 1 else "cdk.out")
    findings = read_findings(outdir)
    if findings and not (outdir / "manifest.json").exists():
        print(f"compliance report: synthesis was refused with {len(findings)} open finding(s):", file=sys.stderr)
        for finding in findings:
            print(f"  - {finding}", file=sys.stderr)
        return 1
    if not (outdir / "manifest.json").exists():
        print(f"compliance report: no cloud assembly in {outdir}; run `make synth` first", file=sys.stderr)
        return 1
    target = outdir / "compliance-report.md"
    target.write_text(render(outdir), encoding="utf-8")
    print(f"compliance report: {target} ({len(collect_acknowledgments(outdir))} acknowledgments)")
    if findings:
        print(f"compliance report: {len(findings)} open finding(s):", file=sys.stderr)
        for finding in findings:
            print(f"  - {finding}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
