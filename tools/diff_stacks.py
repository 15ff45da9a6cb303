"""`make diff`: compare a synthesised change with a baseline synth, and refuse what would lose data.

    python -m tools.diff_stacks --baseline cdk.out.baseline [--current cdk.out] [--env prod] [--allow FILE]

Stacks are paired by what CloudFormation sees, (account, region, stack name), over the stacks of both
assemblies. Per stack it prints how many resources are added, changed (in place), replaced and
removed, and one line per unsafe change:

- a stateful resource (a database instance or replica, a cache, a retained bucket or log group, a
  KMS key, a secret, a backup vault) that would be replaced or removed;
- a property change CloudFormation refuses (a KMS key's spec);
- a stack of the baseline that is gone from the change (removed, renamed, or moved to another
  account or region) while it holds stateful resources.

Replacement is decided per property from CloudFormation's resource schemas (tools/replacement_rules.py),
so routine changes (a backup retention, a maintenance window) pass. An unsafe change passes only when
the allow-list names its stack and logical ID with a reason. No AWS credentials are used.

Exit status: 0 safe; 1 unsafe (each cause printed); 2 could not compare (an assembly missing or
refused by the compliance gate, an environment the baseline does not have, a filter that matches
no stack).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks.validation_report import read_findings
from tools.cloud_assembly import AssemblyError, AssemblyStack, read_baseline_record, read_stacks
from tools.replacement_rules import create_only_references, is_stateful, update_behaviour

ROOT = Path(__file__).resolve().parent.parent
ALLOW_FILE = ROOT / "diff-allowlist.toml"
SAFE, UNSAFE, CANNOT_COMPARE = 0, 1, 2


class CannotCompareError(Exception):
    """The two assemblies cannot be compared; the message says why."""


@dataclass(frozen=True)
class Allowance:
    stack: str
    logical_id: str
    reason: str


@dataclass
class StackReport:
    where: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    note: str = ""

    def summary(self) -> str:
        counts = f"{len(self.added)} added, {len(self.changed)} changed, {len(self.replaced)} replaced, "
        counts += f"{len(self.removed)} removed"
        return f"== {self.where}{f' ({self.note})' if self.note else ''}: {counts}"


def load_allowances(path: Path) -> list[Allowance]:
    if not path.is_file():
        return []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    allowances = []
    for index, entry in enumerate(data.get("allow", [])):
        missing = [key for key in ("stack", "logical_id", "reason") if not str(entry.get(key, "")).strip()]
        if missing:
            raise CannotCompareError(
                f"{path.name}: allow[{index}] lacks {', '.join(missing)} (each entry needs all three)"
            )
        allowances.append(Allowance(str(entry["stack"]), str(entry["logical_id"]), str(entry["reason"])))
    return allowances


def resources(stack: AssemblyStack) -> dict[str, Any]:
    """The stack's resources, without the CDK's version-reporting metadata (the CLI adds it, tests do not)."""
    found = stack.template.get("Resources", {})
    return {k: r for k, r in found.items() if isinstance(r, dict) and r.get("Type") != "AWS::CDK::Metadata"}


def compare_stack(before: AssemblyStack, after: AssemblyStack, allowances: Sequence[Allowance]) -> StackReport:
    report = StackReport(after.where)
    old, new = resources(before), resources(after)
    kept = sorted(set(old) & set(new))
    behaviours = {logical_id: update_behaviour(old[logical_id], new[logical_id], after.region) for logical_id in kept}
    # A resource whose create-only property refers to a replaced (or removed) one is replaced with it: a new
    # subnet group means a new database. Repeat until nothing more follows.
    gone = {k for k, (behaviour, _) in behaviours.items() if behaviour in ("replace", "refused")} | (
        set(old) - set(new)
    )
    following = True
    while following:
        following = False
        for logical_id in kept:
            if behaviours[logical_id][0] in ("replace", "refused"):
                continue
            causes = create_only_references(new[logical_id], after.region) & gone
            if causes:
                behaviours[logical_id] = ("replace", [f"a create-only property refers to {', '.join(sorted(causes))}, "
                                                      "which is replaced or removed"])  # fmt: skip
                gone.add(logical_id)
                following = True
    report.added = sorted(set(new) - set(old))
    for logical_id in kept:
        behaviour, reasons = behaviours[logical_id]
        if behaviour == "update":
            report.changed.append(logical_id)
        elif behaviour in ("replace", "refused"):
            (report.replaced if behaviour == "replace" else report.changed).append(logical_id)
            if behaviour == "refused" or is_stateful(old[logical_id]):
                what = "CloudFormation refuses the change" if behaviour == "refused" else "would be replaced"
                cause = f"{old[logical_id]['Type']} {logical_id} {what}: {'; '.join(reasons)}"
                _judge(report, after.name, logical_id, cause, allowances)
    for logical_id in sorted(set(old) - set(new)):
        report.removed.append(logical_id)
        if is_stateful(old[logical_id]):
            policy = old[logical_id].get("DeletionPolicy", "Delete")
            fate = "left behind, no longer managed" if policy in ("Retain", "RetainExceptOnCreate") else "deleted"
            cause = f"{old[logical_id]['Type']} {logical_id} would be removed ({fate}; DeletionPolicy {policy})"
            _judge(report, after.name, logical_id, cause, allowances)
    return report


def _judge(report: StackReport, stack: str, logical_id: str, cause: str, allowances: Sequence[Allowance]) -> None:
    for allowance in allowances:
        if allowance.stack == stack and allowance.logical_id == logical_id:
            report.allowed.append(f"{cause} (allowed: {allowance.reason})")
            return
    report.unsafe.append(cause)


def gone_stack(before: AssemblyStack, current: Sequence[AssemblyStack], allowances: Sequence[Allowance]) -> StackReport:
    """A baseline stack no stack of the change deploys as: moved, renamed, or removed."""
    moved = [s for s in current if s.name == before.name]
    stateful_ids = {k for k, r in resources(before).items() if is_stateful(r)}
    siblings = [s for s in current if s.environment == before.environment and s.account == before.account]
    renamed = [s for s in siblings if stateful_ids and stateful_ids <= set(resources(s))]
    if moved:
        fate = f"moved to {moved[0].account}/{moved[0].region}: a new stack there, this one left deployed"
    elif renamed:
        fate = f"renamed to {renamed[0].name}: a new stack with new resources, this one left deployed"
    elif not any(s.environment == before.environment for s in current):
        fate = (f"gone with its whole environment {before.environment} (if you synthesised only some "
                "environments, compare with ENV=<env>)")  # fmt: skip
    else:
        fate = "removed from the app: it stays deployed until someone deletes it, and its resources with it"
    report = StackReport(before.where, removed=sorted(resources(before)), note=fate)
    for logical_id in sorted(stateful_ids):
        resource = before.template["Resources"][logical_id]
        cause = f"stack {before.name} {fate.split(':')[0]}, with {resource['Type']} {logical_id}"
        _judge(report, before.name, logical_id, cause, allowances)
    return report


def git_head() -> str | None:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def baseline_notes(record: dict[str, Any] | None, environments: set[str]) -> list[str]:
    """What the baseline says about itself; CannotCompareError when it lacks a compared environment."""
    if record is None:
        return ["note: the baseline records no commit (not made by `make baseline`); what it was built from is unknown"]
    missing = sorted(environments - set(record.get("environments", [])))
    if missing:
        raise CannotCompareError(
            f"the baseline was built for {', '.join(record.get('environments', [])) or 'no environment'}, not "
            f"{', '.join(missing)}: run `make baseline ENV={missing[0]}` (or ENV=all)"
        )
    notes = [f"baseline: {record.get('ref', '?')} at {str(record.get('commit', '?'))[:12]}"]
    head = git_head()
    commit = record.get("commit")
    if head and commit:
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", str(commit), head], cwd=ROOT,
                                  capture_output=True, check=False)  # fmt: skip
        if ancestor.returncode == 1:
            notes.append(
                f"note: the baseline's commit {str(commit)[:12]} is not an ancestor of HEAD: stale or unrelated"
            )
    return notes


def compare(
    baseline: Path, current: Path, environment: str, allowances: Sequence[Allowance]
) -> tuple[list[str], list[StackReport]]:
    findings = read_findings(current)
    if findings:
        raise CannotCompareError(f"{current} has {len(findings)} open compliance finding(s); fix them first")
    before_all, after_all = read_stacks(baseline), read_stacks(current)
    after = [s for s in after_all if environment == "all" or s.environment == environment]
    if not after:
        available = ", ".join(sorted({s.environment for s in after_all}))
        raise CannotCompareError(f"no stack of environment {environment!r} in {current} (it has {available})")
    environments = {s.environment for s in after}
    notes = baseline_notes(read_baseline_record(baseline), environments)
    # With ENV=all every baseline stack must be paired: an environment the change no longer has is a change.
    before = [s for s in before_all if environment == "all" or s.environment in environments]
    if not any(s.environment in environments for s in before):
        raise CannotCompareError(f"the baseline {baseline} has no stack of {', '.join(sorted(environments))}")
    by_key = {s.key: s for s in before}
    reports = []
    for stack in after:
        if stack.key in by_key:
            reports.append(compare_stack(by_key[stack.key], stack, allowances))
        else:
            reports.append(StackReport(stack.where, added=sorted(resources(stack)), note="new stack"))
    current_keys = {s.key for s in after}
    reports += [gone_stack(s, after, allowances) for s in before if s.key not in current_keys]
    return notes, reports


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="cloud assembly of the baseline (make baseline)")
    parser.add_argument("--current", type=Path, default=Path("cdk.out"), help="cloud assembly of this change")
    parser.add_argument("--env", default="all", help="dev, staging, prod or all (default)")
    parser.add_argument("--allow", type=Path, default=ALLOW_FILE, help="allow-list (default diff-allowlist.toml)")
    args = parser.parse_args(argv)
    try:
        allowances = load_allowances(args.allow)
        notes, reports = compare(args.baseline, args.current, args.env.lower(), allowances)
    except (AssemblyError, CannotCompareError) as error:
        print(f"diff: could not compare: {error}", file=sys.stderr)
        return CANNOT_COMPARE
    except Exception as error:  # an unreadable template or allow-list: never reported as "unsafe" or "safe"
        print(f"diff: could not compare: {type(error).__name__}: {error}", file=sys.stderr)
        return CANNOT_COMPARE
    for line in notes:
        print(line)
    for report in reports:
        print(report.summary())
        for logical_id in report.replaced:
            print(f"   replaced: {logical_id}")
        for line in report.allowed:
            print(f"   allowed: {line}")
    unsafe = [line for report in reports for line in report.unsafe]
    if unsafe:
        print(f"diff: {len(unsafe)} unsafe change(s):", file=sys.stderr)
        for line in unsafe:
            print(f"  - {line}", file=sys.stderr)
        print("Each would lose or strand data. If one is intended, name its stack and logical ID with a reason in "
              "diff-allowlist.toml (README: Diff a change).", file=sys.stderr)  # fmt: skip
        return UNSAFE
    print("diff: no unsafe changes")
    return SAFE


if __name__ == "__main__":
    sys.exit(main())
