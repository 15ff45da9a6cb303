"""Day-2 changes to the data tier, judged by the CDK CLI's own offline diff.

Each test synthesises the data tier before and after a config change a platform engineer would make
after the first deploy, and runs `cdk diff --template <before> --fail-on destructive` on the after
assembly (tools/diff_stacks.py), asserting what CloudFormation would do: update in place, or remove
exactly what the change means to remove. Slow tier: a synth and a CLI run per change.
"""

from __future__ import annotations

import copy
import re
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
    import json

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
