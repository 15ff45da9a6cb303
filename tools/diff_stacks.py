"""`make diff`: compare a synthesised change with a baseline synth, and refuse what would lose data.

    python -m tools.diff_stacks --baseline cdk.out.baseline [--current cdk.out] [--env prod] [--allow FILE]

Stacks are paired by what CloudFormation sees, (account, region, stack name), over the stacks of both
assemblies. Per stack it prints how many resources are added, changed (in place), replaced and
removed, the changed and replaced logical IDs, and one line per unsafe change, naming its stack:

- a resource that holds data (tools/replacement_rules.py: a database or replica, a cache, a container
  repository, a KMS key, a secret, a backup vault, a queue or stream, a retained bucket or log group, ...)
  that would be replaced or removed;
- a resource of the network a data holder sits in (its VPC, subnets, subnet group or security group,
  found by following the holder's references within its stack and across stacks in the baseline) that
  would be replaced or removed: the holder cannot move into a new one in place;
- a property change CloudFormation refuses (a KMS key's spec);
- a stack of the baseline that is gone from the change (removed, renamed, or moved to another
  account or region) while it holds data or the network of data;
- a resource added under a logical ID while a removed one (in its stack or another stack of the same
  account and region) holds the same physical name (tools/name_collisions.py): CloudFormation creates
  the new one first, and the deploy fails with "already exists". Names known only at deploy time are
  not compared; the output lists them.

Replacement is decided per property from CloudFormation's resource schemas (tools/replacement_rules.py),
so routine changes (a maintenance window, Multi-AZ) pass, and follows create-only references within a
stack and across stacks (`Fn::GetStackOutput`, `Fn::ImportValue`): a new VPC means new security groups in
every stack that reads its ID. An unsafe change passes only when the allow-list names its stack and
logical ID with a reason. No AWS credentials are used.

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
from tools.name_collisions import Named, collisions, named, unresolved
from tools.replacement_rules import create_only_values, is_placement, is_stateful, update_behaviour
from tools.stack_references import Node, References, StackKey, resources

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
    #: The CloudFormation stack name: what an allow-list entry names.
    name: str
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


Behaviour = tuple[str, list[str]]


def describe(node: Node, resource: dict[str, Any], stacks: dict[StackKey, AssemblyStack]) -> str:
    return f"{resource['Type']} {node[1]} ({stacks[node[0]].name})"


def judge_changes(
    pairs: Sequence[tuple[AssemblyStack, AssemblyStack]], gone_stacks: Sequence[AssemblyStack], after: References
) -> dict[Node, Behaviour]:
    """What CloudFormation does with each resource both sides have, replacements followed across stacks.

    A resource whose create-only property refers to a replaced or removed one (in its stack, or in another
    through a cross-stack reference) is replaced with it: a new subnet group means a new database, a new VPC a
    new security group in every stack that reads its ID. Repeated until nothing more follows."""
    behaviours: dict[Node, Behaviour] = {}
    gone: set[Node] = {(stack.key, logical_id) for stack in gone_stacks for logical_id in resources(stack)}
    for before, current in pairs:
        old, new = resources(before), resources(current)
        gone |= {(current.key, logical_id) for logical_id in set(old) - set(new)}
        for logical_id in sorted(set(old) & set(new)):
            behaviours[(current.key, logical_id)] = update_behaviour(old[logical_id], new[logical_id], current.region)
    gone |= {node for node, (behaviour, _) in behaviours.items() if behaviour in ("replace", "refused")}
    following = True
    while following:
        following = False
        for node, (behaviour, _) in behaviours.items():
            if behaviour in ("replace", "refused"):
                continue
            stack = after.stacks[node[0]]
            resource = resources(stack)[node[1]]
            causes = after.targets(stack, create_only_values(resource, stack.region)) & gone
            if causes:
                named = ", ".join(sorted(i if k == node[0] else f"{i} of {after.stacks[k].name}" for k, i in causes))
                behaviours[node] = (
                    "replace",
                    [f"a create-only property refers to {named}, which is replaced or removed"],
                )
                gone.add(node)
                following = True
    return behaviours


def data_networks(stacks: Sequence[AssemblyStack], references: References) -> dict[Node, list[str]]:
    """Each resource of the network data holders sit in (their VPCs, subnets, subnet groups and security
    groups, followed through references within and across stacks), with the holders that sit in it."""
    placements: dict[Node, set[str]] = {}
    for stack in stacks:
        for logical_id, resource in resources(stack).items():
            if not is_stateful(resource):
                continue
            holder = describe((stack.key, logical_id), resource, references.stacks)
            frontier = [(stack, resource)]
            seen: set[Node] = set()
            while frontier:
                user, used = frontier.pop()
                for node in references.targets(user, used.get("Properties")) - seen:
                    seen.add(node)
                    target = references.resource(node)
                    if target is not None and is_placement(str(target.get("Type"))):
                        placements.setdefault(node, set()).add(holder)
                        frontier.append((references.stacks[node[0]], target))
    return {node: sorted(holders) for node, holders in placements.items()}


def network_cause(networks: dict[Node, list[str]], node: Node, kind: str) -> str:
    holders = networks[node]
    shown = ", ".join(holders[:3]) + (f" and {len(holders) - 3} more" if len(holders) > 3 else "")
    if kind == "AWS::EC2::SecurityGroup":
        return (f"; it is the security group of {shown}: they move to a new group in place only within one VPC, "
                "and the old group cannot be deleted while anything else (another stack's rules, a stack not yet "
                "redeployed) still uses it")  # fmt: skip
    return (f"; it is the network of {shown}, which cannot move into a new one in place (and the old one cannot "
            "be deleted under them)")  # fmt: skip


def compare_stack(
    before: AssemblyStack,
    after: AssemblyStack,
    allowances: Sequence[Allowance],
    behaviours: dict[Node, Behaviour],
    networks: dict[Node, list[str]],
) -> StackReport:
    report = StackReport(after.where, after.name)
    old, new = resources(before), resources(after)
    report.added = sorted(set(new) - set(old))
    for logical_id in sorted(set(old) & set(new)):
        behaviour, reasons = behaviours[(after.key, logical_id)]
        if behaviour == "update":
            report.changed.append(logical_id)
        elif behaviour in ("replace", "refused"):
            (report.replaced if behaviour == "replace" else report.changed).append(logical_id)
            node = (before.key, logical_id)
            if behaviour == "refused" or is_stateful(old[logical_id]) or node in networks:
                what = "CloudFormation refuses the change" if behaviour == "refused" else "would be replaced"
                cause = f"{old[logical_id]['Type']} {logical_id} {what}: {'; '.join(reasons)}"
                if node in networks and not is_stateful(old[logical_id]):
                    cause += network_cause(networks, node, str(old[logical_id]["Type"]))
                _judge(report, after.name, logical_id, cause, allowances)
    for logical_id in sorted(set(old) - set(new)):
        report.removed.append(logical_id)
        node = (before.key, logical_id)
        if is_stateful(old[logical_id]) or node in networks:
            policy = old[logical_id].get("DeletionPolicy", "Delete")
            fate = "left behind, no longer managed" if policy in ("Retain", "RetainExceptOnCreate") else "deleted"
            cause = f"{old[logical_id]['Type']} {logical_id} would be removed ({fate}; DeletionPolicy {policy})"
            if node in networks and not is_stateful(old[logical_id]):
                cause += network_cause(networks, node, str(old[logical_id]["Type"]))
            _judge(report, after.name, logical_id, cause, allowances)
    return report


def _judge(report: StackReport, stack: str, logical_id: str, cause: str, allowances: Sequence[Allowance]) -> None:
    for allowance in allowances:
        if allowance.stack == stack and allowance.logical_id == logical_id:
            report.allowed.append(f"{cause} (allowed: {allowance.reason})")
            return
    report.unsafe.append(cause)


def gone_stack(
    before: AssemblyStack,
    current: Sequence[AssemblyStack],
    allowances: Sequence[Allowance],
    networks: dict[Node, list[str]],
) -> StackReport:
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
    report = StackReport(before.where, before.name, removed=sorted(resources(before)), note=fate)
    network_ids = {logical_id for key, logical_id in networks if key == before.key}
    for logical_id in sorted(stateful_ids | network_ids):
        resource = before.template["Resources"][logical_id]
        cause = f"stack {before.name} {fate.split(':')[0]}, with {resource['Type']} {logical_id}"
        if logical_id not in stateful_ids:
            cause += network_cause(networks, (before.key, logical_id), str(resource["Type"]))
        _judge(report, before.name, logical_id, cause, allowances)
    return report


def moved_names(
    pairs: Sequence[tuple[AssemblyStack, AssemblyStack]],
    new_stacks: Sequence[AssemblyStack],
    gone_stacks: Sequence[AssemblyStack],
) -> tuple[list[Named], list[Named]]:
    """(removed, added): the named resources that leave a logical ID and those that arrive at one, over
    every compared stack, a new or gone stack's resources included."""
    removed = [n for before, now in pairs for n in named(before, set(resources(before)) - set(resources(now)))]
    removed += [n for stack in gone_stacks for n in named(stack, resources(stack))]
    added = [n for before, now in pairs for n in named(now, set(resources(now)) - set(resources(before)))]
    added += [n for stack in new_stacks for n in named(stack, resources(stack))]
    return removed, added


def judge_moved_names(
    removed: Sequence[Named],
    added: Sequence[Named],
    reports: dict[tuple[str, str, str], StackReport],
    allowances: Sequence[Allowance],
) -> list[str]:
    """Report each added resource that takes a removed one's name in its stack's report; return the notes
    on the names that could not be compared."""
    for collision in collisions(removed, added):
        new = collision.added
        _judge(reports[new.stack.key], new.stack.name, new.logical_id, collision.cause(), allowances)
    unknown = unresolved([*removed, *added])
    if not unknown:
        return []
    shown = ", ".join(f"{n.kind} {n.describe()}" for n in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return [f"note: names known only at deploy time, not compared for collisions: {shown}{more}"]


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
    commit = record.get("commit")
    where = f"at {str(commit)[:12]}" if commit else "(commit unknown)"
    notes = [f"baseline: {record.get('ref', '?')} {where}"]
    head = git_head()
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
    current_keys = {s.key for s in after}
    pairs = [(by_key[stack.key], stack) for stack in after if stack.key in by_key]
    gone_stacks = [s for s in before if s.key not in current_keys]
    behaviours = judge_changes(pairs, gone_stacks, References(after_all))
    # The network data sits in is read from the baseline: what is deployed, and what a change would strand.
    networks = data_networks(before_all, References(before_all))
    reports = []
    for stack in after:
        if stack.key in by_key:
            reports.append(compare_stack(by_key[stack.key], stack, allowances, behaviours, networks))
        else:
            reports.append(StackReport(stack.where, stack.name, added=sorted(resources(stack)), note="new stack"))
    by_stack = {stack.key: report for stack, report in zip(after, reports, strict=True)}
    new_stacks = [stack for stack in after if stack.key not in by_key]
    notes += judge_moved_names(*moved_names(pairs, new_stacks, gone_stacks), by_stack, allowances)
    reports += [gone_stack(s, after, allowances, networks) for s in gone_stacks]
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
        for logical_id in report.changed:
            print(f"   changed: {logical_id}")
        for logical_id in report.replaced:
            print(f"   replaced: {logical_id}")
        for line in report.allowed:
            print(f"   allowed: {line}")
    unsafe = [f"{report.name}: {line}" for report in reports for line in report.unsafe]
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
