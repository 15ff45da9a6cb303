"""Reading a synthesised cloud assembly (cdk.out): its stacks as CloudFormation sees them.

A stack is identified by what CloudFormation deploys it as, (account, region, stack name), never by
its CDK display path. `make baseline` also writes `baseline.json` beside the manifest: the git
commit and the environments the assembly was built from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.compliance_report import stack_artifacts

BASELINE_RECORD = "baseline.json"


class AssemblyError(ValueError):
    """The directory is not a cloud assembly this tool can read."""


@dataclass(frozen=True)
class AssemblyStack:
    account: str
    region: str
    name: str
    display_name: str
    environment: str
    template: dict[str, Any]
    metadata: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    termination_protection: bool = False
    #: The stack names it depends on (deployed before it), from the manifest.
    dependencies: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return self.account, self.region, self.name

    @property
    def where(self) -> str:
        return f"{self.name} ({self.account}/{self.region})"


def read_stacks(outdir: Path) -> list[AssemblyStack]:
    """Every stack of the assembly in `outdir`; AssemblyError when it is none."""
    if not (outdir / "manifest.json").is_file():
        raise AssemblyError(f"{outdir} is not a cloud assembly (no manifest.json); synthesise it first (make synth)")
    artifacts = stack_artifacts(outdir)
    names = {
        artifact_id: artifact["properties"].get("stackName") or artifact.get("displayName", "")
        for _, directory, _ in artifacts
        for artifact_id, artifact in json.loads((directory / "manifest.json").read_text(encoding="utf-8"))[
            "artifacts"
        ].items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
    stacks = []
    for stage, directory, artifact in artifacts:
        properties = artifact["properties"]
        _, _, account_region = str(artifact.get("environment", "aws://unknown/unknown")).partition("aws://")
        account, _, region = account_region.partition("/")
        metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata", {}))
        if artifact.get("additionalMetadataFile"):
            extra = json.loads((directory / artifact["additionalMetadataFile"]).read_text(encoding="utf-8"))
            for path, entries in extra.items():
                metadata[path] = [*metadata.get(path, []), *entries]
        stacks.append(
            AssemblyStack(
                account=account,
                region=region,
                name=properties.get("stackName") or artifact.get("displayName", ""),
                display_name=artifact.get("displayName", ""),
                environment=stage.lower(),
                template=json.loads((directory / properties["templateFile"]).read_text(encoding="utf-8")),
                metadata=metadata,
                termination_protection=bool(properties.get("terminationProtection")),
                dependencies=tuple(sorted(names[d] for d in artifact.get("dependencies", []) if d in names)),
            )
        )
    if not stacks:
        raise AssemblyError(f"{outdir} holds no stacks")
    return stacks


def read_baseline_record(outdir: Path) -> dict[str, Any] | None:
    """What `make baseline` recorded about the assembly (commit, ref, environments), or None."""
    path = outdir / BASELINE_RECORD
    if not path.is_file():
        return None
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record
