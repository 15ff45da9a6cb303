"""The validation report of a cloud assembly: the open findings of every policy-validation plugin.

aws-cdk-lib writes `<outdir>/validation-report.json` whenever a plugin (the cdk-nag packs, its
built-in CloudFormation validation) reports anything. Pure JSON reading, no CDK import, so the
report tools start fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Written by aws-cdk-lib into the assembly's root directory whenever a plugin reports anything.
VALIDATION_REPORT = "validation-report.json"


@dataclass(frozen=True)
class Finding:
    """One open finding: a rule of a pack that one construct breaks."""

    pack: str
    rule: str
    path: str
    message: str
    severity: str

    def __str__(self) -> str:
        return f"[{self.pack}] {self.rule} ({self.severity}) at {self.path}: {self.message}"


def read_findings(outdir: Path) -> list[Finding]:
    """Every violation in `<outdir>/validation-report.json`, one Finding per construct (none if absent)."""
    report = outdir / VALIDATION_REPORT
    if not report.exists():
        return []
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    findings = []
    for plugin in data.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            constructs = violation.get("violatingConstructs") or [{"constructPath": "(no construct path)"}]
            for construct in constructs:
                findings.append(
                    Finding(
                        pack=str(plugin.get("pluginName", "?")),
                        rule=str(violation.get("ruleName", "?")),
                        path=str(construct.get("constructPath", "?")),
                        message=" ".join(str(violation.get("description", "")).split()),
                        severity=str(violation.get("severity", "error")),
                    )
                )
    return sorted(findings, key=lambda f: (f.path, f.pack, f.rule))


class ComplianceError(Exception):
    """Synthesis finished but the validation plugins reported open findings."""

    def __init__(self, findings: list[Finding], outdir: Path) -> None:
        self.findings = findings
        self.outdir = outdir
        lines = [
            f"{len(findings)} open compliance finding(s); nothing may be deployed until each is fixed or "
            "acknowledged on its construct with a specific reason (platform_constructs.acknowledgments):",
            *(f"  - {finding}" for finding in findings),
            f"(full report: {outdir / VALIDATION_REPORT})",
        ]
        super().__init__("\n".join(lines))
