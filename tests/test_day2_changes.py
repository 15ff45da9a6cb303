"""Day-2 changes to the data tier, judged by the CDK CLI's own offline diff and by `make diff`.

Each test synthesises the data tier before and after a config change a platform engineer would make
after the first deploy, and runs `cdk diff --template <before> --fail-on destructive` on the after
assembly (tools/cli_diff.py) or `make diff` with the before assembly as its baseline (tools/diff_stacks.py),
asserting what CloudFormation would do: update in place, or replace or remove exactly what the change
means to. Slow tier: a synth and a CLI run per change.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config import CONFIG_DIR
from config.loader import load_services, validate_environment
from config.schema import ServiceConfig
from stacks.compliance import synthesize
from stacks.platform_app import build_app, feature_flags, new_app
from tests.conftest import SynthesizedEnvironment
from tools.cli_diff import diff_stack
from tools.compliance_report import stack_artifacts
from tools.replacement_rules import create_only

pytestmark = pytest.mark.slow


def synth_changed(name: str, outdir: Path, *, services: dict[str, ServiceConfig] | None = None, **changes: Any) -> Path:
    """Synthesise config/<name>.toml with dotted-key `changes` (a__b means a.b) into `outdir`
    (and `services` instead of config/services.toml when given)."""
    data = tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    config = validate_environment(data, source=f"{name}.toml", expected_name=name, services=services)
    synthesize(build_app([config], new_app(outdir=str(outdir), context=feature_flags())))
    return outdir


def template_of(assembly: Path, stack: str) -> Path:
    for _, directory, artifact in stack_artifacts(assembly):
        if artifact["displayName"] == stack:
            return directory / str(artifact["properties"]["templateFile"])
    raise KeyError(f"{stack} is not in {assembly}")


def changed_lines(output: str) -> list[str]:
    """The resource lines of a CLI diff: `[~] AWS::Type Id ...`, `[-] ...`, `[+] ...`."""
    return [line.strip() for line in output.splitlines() if re.match(r"^\s*\[[-+~]\] AWS::", line)]


def test_more_cache_replicas_update_the_group_in_place(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    before = platform("staging")
    after = synth_changed("staging", tmp_path, cache__replicas=before.config.cache.replicas + 1)
    result = diff_stack(after, template_of(before.outdir, "Staging/Data"), "Staging/Data")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = changed_lines(output)
    assert any(line.startswith("[~] AWS::ElastiCache::ReplicationGroup") for line in lines), output
    assert "NumCacheClusters" in output
    assert "replace" not in output.lower(), output


def test_fewer_read_replicas_remove_exactly_the_last_replica(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    after = platform("dev")  # read_replicas = 1
    before = synth_changed("dev", tmp_path / "before", database__read_replicas=after.config.database.read_replicas + 1)
    result = diff_stack(after.outdir, template_of(before, "Dev/Data"), "Dev/Data")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # a destroy: make diff stops for a review, as it should
    removed = [line for line in changed_lines(output) if line.startswith("[-]")]
    assert removed, output
    assert all("Replica2" in line for line in removed), removed
    assert not [line for line in changed_lines(output) if "replace" in line.lower()], output
    # ...and CloudFormation can carry the removal out: the removed replica was never deletion-protected.
    template = json.loads(template_of(before, "Dev/Data").read_text(encoding="utf-8"))
    replica2 = next(r for k, r in template["Resources"].items() if k.startswith("PostgresReplica2") and
                    r["Type"] == "AWS::RDS::DBInstance")  # fmt: skip
    assert replica2["Properties"]["DeletionProtection"] is False
    assert replica2["DeletionPolicy"] == "Delete"


def test_a_major_upgrade_updates_the_database_in_place(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    before = platform("staging")
    after = synth_changed(
        "staging", tmp_path, database__engine_version="18", database__allow_major_version_upgrade=True
    )
    result = diff_stack(after, template_of(before.outdir, "Staging/Data"), "Staging/Data")
    output = result.stdout + result.stderr
    lines = changed_lines(output)
    # Modified, never removed and re-added.
    instances = [line for line in lines if "AWS::RDS::DBInstance" in line]
    assert instances, output
    assert all(line.startswith("[~]") for line in instances), instances
    # The version itself changes in place; the CLI's only "may cause replacement" is the parameter group
    # reference (family postgres18 replaces the group), which RDS applies to the instance with a reboot.
    assert re.search(r"\[~\] EngineVersion\n\s+.*\[-\] 17\n\s+.*\[\+\] 18", output), output
    conditional = re.findall(r"\[~\] (\w+) \((?:may cause|requires) replacement\)", output)
    assert set(conditional) == {"DBParameterGroupName", "Family"}, conditional
    replaced = [line for line in lines if line.endswith(" replace")]
    assert all("AWS::RDS::DBParameterGroup" in line for line in replaced), replaced


def test_a_zone_change_is_refused_by_make_diff_and_never_collides_on_the_proxy_name(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """Zones are a migration: the subnets and with them the database would be replaced, so the diff fails.

    The proxy, whose subnets are create-only, is replaced under a new name (a digest of its subnets),
    so CloudFormation can create the new one before deleting the old instead of failing on the name.
    """
    before = platform("dev")
    zones = list(before.config.availability_zones)
    other = next(z for z in ("ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c") if z not in zones)
    after = synth_changed("dev", tmp_path, availability_zones=[zones[0], other])
    result = diff_stack(after, template_of(before.outdir, "Dev/Network"), "Dev/Network")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "AWS::EC2::Subnet" in result.stdout + result.stderr
    result = diff_stack(after, template_of(before.outdir, "Dev/Data"), "Dev/Data")
    output = result.stdout + result.stderr
    proxy_lines = [line for line in changed_lines(output) if "AWS::RDS::DBProxy " in line]
    assert proxy_lines, output
    assert re.search(r"\[~\] DBProxyName \(requires replacement\)", output), output
    old = re.search(r"\[-\] (ticketing-dev-postgres-proxy-[0-9a-f]{8})", output)
    new = re.search(r"\[\+\] (ticketing-dev-postgres-proxy-[0-9a-f]{8})", output)
    assert old, output
    assert new, output
    assert old[1] != new[1]


def test_adding_a_service_is_config_only_and_adds_without_replacing(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """A sixth service: one entry; the diff only adds (its policy, parameter, cache user) and updates."""
    before = platform("dev")
    services = {
        **load_services(),
        "search": ServiceConfig(database="ticketing_search", cache_key_prefixes=("search:",)),
    }
    after = synth_changed("dev", tmp_path, services=services)
    result = diff_stack(after, template_of(before.outdir, "Dev/Data"), "Dev/Data")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = changed_lines(output)
    added = [line for line in lines if line.startswith("[+]")]
    assert any("AWS::ElastiCache::User " in line and "TicketingDevSearch" in line for line in added), added
    assert any("AWS::IAM::ManagedPolicy" in line and "SearchDataAccess" in line for line in added), added
    assert not [line for line in lines if line.startswith("[-]")], output
    # The bootstrap runs again with the new database in its spec; the proxy may log in as the new role.
    assert "ticketing_search" in output
    assert "svc_search" in output


# --- Through `make diff`, as a platform engineer reviews a change ----------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
RESTORE_RUNBOOK = ROOT / "docs" / "runbooks" / "restore.md"


def make_diff(baseline: Path, current: Path, environment: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    command = ["make", "--no-print-directory", "diff", f"OUT={current}", f"BASELINE={baseline}", f"ENV={environment}"]
    command += extra
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def stack_lines(output: str) -> dict[str, tuple[str, list[str], list[str]]]:
    """Per stack `make diff` printed: (its counts, the changed IDs, the replaced IDs)."""
    stacks: dict[str, tuple[str, list[str], list[str]]] = {}
    current = ""
    for line in output.splitlines():
        header = re.match(r"^== ([\w-]+) \([^)]*\)(?: \(.*\))?: (.*)$", line)
        if header:
            current = header[1]
            stacks[current] = (header[2], [], [])
        elif line.startswith("   changed: "):
            stacks[current][1].append(line.removeprefix("   changed: "))
        elif line.startswith("   replaced: "):
            stacks[current][2].append(line.removeprefix("   replaced: "))
    return stacks


def named_unsafe(stderr: str) -> set[tuple[str, str]]:
    """(stack, logical ID) of every unsafe change `make diff` names."""
    return set(re.findall(r"^  - ([\w-]+): AWS::\w+::\w+ (\w+) ", stderr, flags=re.MULTILINE))


def test_a_retention_change_changes_only_the_backup_plan(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """AWS Backup's continuous rule owns the primary's retention: a new database.backup_retention_days changes the
    plan's rule and nothing else (the instance states no BackupRetentionPeriod, which RDS would refuse)."""
    before = platform("staging")
    days = before.config.database.backup_retention_days
    after = synth_changed("staging", tmp_path, database__backup_retention_days=days + 7 if days <= 28 else days - 7)
    result = make_diff(before.outdir, after, "staging")
    assert result.returncode == 0, result.stdout + result.stderr
    stacks = stack_lines(result.stdout)
    assert stacks, result.stdout
    changed = {(stack, logical_id) for stack, (_, ids, _) in stacks.items() for logical_id in ids}
    replaced = [logical_id for _, (_, _, ids) in stacks.items() for logical_id in ids]
    plan = next(k for k, r in json.loads(template_of(after, "Staging/Data").read_text())["Resources"].items()
                if r["Type"] == "AWS::Backup::BackupPlan")  # fmt: skip
    assert changed == {("ticketing-staging-data", plan)}, result.stdout
    assert replaced == []
    assert stacks["ticketing-staging-data"][0] == "0 added, 1 changed, 0 replaced, 0 removed"


#: What the restore runbook (docs/runbooks/restore.md) says each listed ID is named in: the condition column,
#: word for word.
WHEN = {
    "primary": "always",
    "replica": "`read_replicas` ≥ {n}",
    "primary-logs": "log groups retained (staging, prod)",
    "replica-logs": "`read_replicas` ≥ {n}, log groups retained (staging, prod)",
}


def runbook_ids() -> dict[str, str]:
    """The logical IDs the restore runbook lists, with the condition it gives for each."""
    text = RESTORE_RUNBOOK.read_text(encoding="utf-8")
    section = text.split("## Runbook: restore the primary into the stack", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(Postgres\w+)` \| ([^|]+?) \|", section, flags=re.MULTILINE))


def expected_when(logical_id: str) -> str:
    replica = re.match(r"PostgresReplica(\d)", logical_id)
    logs = "Logs" in logical_id or "LogGroup" in logical_id
    kind = ("replica" if replica else "primary") + ("-logs" if logs else "")
    return WHEN[kind].format(n=replica[1] if replica else "")


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_a_restore_replaces_the_primary_and_replicas_never_the_proxy(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path, name: str
) -> None:
    """restore_from with a new suffix: `make diff` names the primary, each replica and (where they are retained)
    their log groups, exactly the IDs the restore runbook lists for that environment; the proxy keeps its name
    and its target group re-targets in place (DBInstanceIdentifiers is not create-only); the proxy's endpoint,
    which services read as database/writer-host, is unchanged."""
    before = platform(name)
    restore = {"snapshot_arn": f"arn:aws:rds:{before.config.region}:{before.config.account}:snapshot:awsbackup:job-1",
               "identifier_suffix": "r1"}  # fmt: skip
    after = synth_changed(name, tmp_path, database__restore_from=restore)
    result = make_diff(before.outdir, after, name)
    assert result.returncode != 0, result.stdout
    data = f"ticketing-{name}-data"
    named = named_unsafe(result.stderr)
    assert {stack for stack, _ in named} == {data}, result.stderr
    listed = runbook_ids()
    assert listed, "the restore runbook lists no logical IDs"
    for logical_id, when in listed.items():
        assert when == expected_when(logical_id), (logical_id, when)
    replicas = before.config.database.read_replicas
    retained = not before.config.is_disposable
    applies = {
        logical_id
        for logical_id in listed
        if int((re.match(r"PostgresReplica(\d)", logical_id) or [0, 0])[1]) <= replicas
        and (retained or not ("Logs" in logical_id or "LogGroup" in logical_id))
    }
    assert {logical_id for _, logical_id in named} == applies, result.stderr
    # Step 3 of the runbook: allow-listing exactly those IDs, with a reason, lets the reviewed restore through.
    allow = tmp_path / "allow.toml"
    allow.write_text("".join(f'[[allow]]\nstack = "{data}"\nlogical_id = "{i}"\nreason = "restored from job-1"\n'
                             for i in sorted(applies)))  # fmt: skip
    reviewed = make_diff(before.outdir, after, name, f"ALLOW={allow}")
    assert reviewed.returncode == 0, reviewed.stderr
    assert reviewed.stdout.count("(allowed: restored from job-1)") == len(applies)

    old = json.loads(template_of(before.outdir, f"{before.stage.node.id}/Data").read_text(encoding="utf-8"))
    new = json.loads(template_of(after, f"{before.stage.node.id}/Data").read_text(encoding="utf-8"))
    (proxy,) = [k for k, r in new["Resources"].items() if r["Type"] == "AWS::RDS::DBProxy"]
    (targets,) = [k for k, r in new["Resources"].items() if r["Type"] == "AWS::RDS::DBProxyTargetGroup"]
    assert proxy not in stack_lines(result.stdout)[data][2], result.stdout
    assert new["Resources"][proxy]["Properties"]["DBProxyName"] == old["Resources"][proxy]["Properties"]["DBProxyName"]
    (primary,) = [i for _, i in named if re.fullmatch(r"PostgresPrimary[0-9A-F]{8}", i)]
    assert new["Resources"][targets]["Properties"]["DBInstanceIdentifiers"] == [{"Ref": primary}]
    always, conditional = create_only("AWS::RDS::DBProxyTargetGroup", before.config.region)
    assert "DBInstanceIdentifiers" not in always + conditional
    parameters = [r["Properties"] for r in new["Resources"].values() if r["Type"] == "AWS::SSM::Parameter"]
    writer = [p["Value"] for p in parameters if str(p["Name"]).endswith("/database/writer-host")]
    assert writer == [{"Fn::GetAtt": [proxy, "Endpoint"]}]
