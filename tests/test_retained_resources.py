"""No retained resource may block the retry of a failed first deploy.

A resource with `DeletionPolicy: Retain` survives a rolled-back create. If it has a fixed physical name,
the retry creates it again under the same name and fails ("already exists"). `RetainExceptOnCreate`
(`RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE`) keeps it on update and on delete, exactly as Retain does,
but lets the rollback of the create that made it delete it.

The audit reads every synthesised template of every environment, generically: a resource's physical
name is fixed when a property that names it (the type's writable primary identifier, or its create-only
`Name`, from CloudFormation's schema as cfn-lint ships it) is known at synthesis (text, or text joined
with pseudo parameters). Such a resource may keep plain Retain only if it holds data by the time its own
create can fail (`HOLDS_DATA_ON_A_FAILED_CREATE`, docs/first-deploy.md, "Retry a failed first deploy").
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SynthesizedEnvironment, copy_assembly
from tools.replacement_rules import resource_schema

#: Types that may hold data before the create that made them has finished, with why a failed create must
#: keep them (Retain). Only these may keep Retain with a fixed name; each then has a step in the clean-up list of
#: docs/first-deploy.md.
HOLDS_DATA_ON_A_FAILED_CREATE: dict[str, str] = {
    "AWS::S3::Bucket": "a log bucket receives objects while its stack is still creating, and CloudFormation cannot "
    "delete a bucket that is not empty: RetainExceptOnCreate would turn the rollback into ROLLBACK_FAILED",
}
#: Pseudo parameters whose value is fixed for a stack: a name built from them is as fixed as text.
FIXED_PSEUDO_PARAMETERS = frozenset(
    {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::StackName", "AWS::URLSuffix"}
)


@functools.cache
def name_properties(kind: str, region: str) -> tuple[str, ...]:
    """The properties that fix the physical name of `kind` (none for custom types, which have no schema)."""
    if not kind.startswith("AWS::"):
        return ()
    schema = resource_schema(kind, region)

    def top(key: str) -> set[str]:
        return {p.removeprefix("/properties/") for p in schema.get(key, []) if p.count("/") == 2}

    read_only = top("readOnlyProperties")
    primary = {p.removeprefix("/properties/") for p in schema.get("primaryIdentifier", [])} - read_only
    named = {"Name"} & top("createOnlyProperties") - read_only
    return tuple(sorted(primary | named))


def is_fixed(value: Any) -> bool:
    """Known at synthesis: text, or Fn::Join / Fn::Sub of text and fixed pseudo parameters."""
    if isinstance(value, str):
        return True
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return argument in FIXED_PSEUDO_PARAMETERS
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            return isinstance(argument[0], str) and all(is_fixed(part) for part in argument[1])
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            names = {part.split("}", 1)[0] for part in text.split("${")[1:]}
            return all(n in FIXED_PSEUDO_PARAMETERS or (n in variables and is_fixed(variables[n])) for n in names)
    return False


def retained_with_fixed_names(template: dict[str, Any], region: str) -> Iterator[tuple[str, str, str, str]]:
    """(logical id, type, name property, DeletionPolicy) of every kept resource whose name is fixed."""
    for logical_id, resource in template["Resources"].items():
        policy = resource.get("DeletionPolicy", "Delete")
        if policy not in ("Retain", "RetainExceptOnCreate"):
            continue
        properties = resource.get("Properties", {})
        for prop in name_properties(resource["Type"], region):
            if prop in properties and is_fixed(properties[prop]):
                yield logical_id, resource["Type"], prop, policy
                break


def templates(env: SynthesizedEnvironment) -> Iterator[tuple[Path, dict[str, Any], str]]:
    regions = {stack.template_file: str(stack.region) for stack in env.stacks}
    for path in env.template_files():
        yield path, json.loads(path.read_text(encoding="utf-8")), regions.get(path.name, env.config.region)


def test_no_retained_resource_with_a_fixed_name_blocks_a_retry(env: SynthesizedEnvironment) -> None:
    blocking = [
        f"{path.name} {logical_id} ({kind}, {prop})"
        for path, template, region in templates(env)
        for logical_id, kind, prop, policy in retained_with_fixed_names(template, region)
        if policy == "Retain" and kind not in HOLDS_DATA_ON_A_FAILED_CREATE
    ]
    assert blocking == [], "fixed names a rolled-back create would leave behind: use RETAIN_ON_UPDATE_OR_DELETE"


def test_the_audit_sees_the_fixed_names_it_must(env: SynthesizedEnvironment) -> None:
    """The audit is not vacuous: outside dev (whose fixed names go with its stacks) it finds the log groups,
    cache users and user group, repositories and vaults the issue was about, each kept except on create."""
    found = {
        (kind, policy)
        for _, template, region in templates(env)
        for _, kind, _, policy in retained_with_fixed_names(template, region)
    }
    kinds = {kind for kind, _ in found}
    always = {"AWS::Backup::BackupVault"}  # never torn down, dev included
    outside_dev = {
        "AWS::Logs::LogGroup",
        "AWS::ElastiCache::User",
        "AWS::ElastiCache::UserGroup",
        "AWS::ECR::Repository",
    }
    assert always | (set() if env.config.is_disposable else outside_dev) <= kinds
    assert {policy for _, policy in found} == {"RetainExceptOnCreate"}


def test_fixed_name_detection() -> None:
    region = "ap-northeast-2"
    assert name_properties("AWS::Logs::LogGroup", region) == ("LogGroupName",)
    assert name_properties("AWS::SecretsManager::Secret", region) == ("Name",)
    assert name_properties("AWS::ElastiCache::User", region) == ("UserId",)
    assert name_properties("AWS::KMS::Key", region) == ()
    assert name_properties("Custom::DatabaseBootstrap", region) == ()
    assert is_fixed("/ticketing/prod/database/bootstrap")
    assert is_fixed({"Fn::Join": ["", ["/aws/rds/", {"Ref": "AWS::Region"}, "/x"]]})
    assert is_fixed({"Fn::Sub": "/ticketing/${AWS::StackName}/logs"})
    assert not is_fixed({"Fn::Join": ["-", ["a", {"Ref": "SomeResource"}]]})
    assert not is_fixed({"Fn::Sub": "/x/${Function}"})
    assert not is_fixed({"Fn::GetAtt": ["Bucket", "Arn"]})
    template = {
        "Resources": {
            "Kept": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {"LogGroupName": "/a"}},
            "Generated": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "Properties": {}},
            "Gone": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/b"}},
            "Fine": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "RetainExceptOnCreate",
                     "Properties": {"RepositoryName": "r"}},
        }
    }  # fmt: skip
    assert sorted(retained_with_fixed_names(template, region)) == [
        ("Fine", "AWS::ECR::Repository", "RepositoryName", "RetainExceptOnCreate"),
        ("Kept", "AWS::Logs::LogGroup", "LogGroupName", "Retain"),
    ]


@pytest.mark.slow  # through make, as the manual runs it
def test_make_diff_accepts_retain_becoming_retain_except_on_create_without_a_replacement(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """The deployed stacks had Retain where the templates now have RetainExceptOnCreate: a DeletionPolicy change
    replaces nothing, and `make diff` passes it (prod, whose data stack holds the most of them)."""
    prod = platform("prod")
    baseline = copy_assembly(prod.outdir, tmp_path / "base")
    (baseline / "baseline.json").write_text(json.dumps({"ref": "main", "commit": None, "environments": ["prod"]}))
    changed: set[str] = set()
    for path in (baseline / "assembly-Prod").glob("*.template.json"):
        template = json.loads(path.read_text(encoding="utf-8"))
        for logical_id, resource in template["Resources"].items():
            if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
                resource["DeletionPolicy"] = "Retain"
                changed.add(logical_id)
        path.write_text(json.dumps(template), encoding="utf-8")
    assert len(changed) > 20  # the log groups, cache users, repositories, vaults...
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PATH": f"{root / '.venv' / 'bin'}:{os.environ['PATH']}"}
    command = ["make", "--no-print-directory", "diff", f"OUT={prod.outdir}", f"BASELINE={baseline}", "ENV=prod"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "diff: no unsafe changes" in result.stdout
    assert "replaced:" not in result.stdout
    reported = {line.split("changed: ", 1)[1].strip() for line in result.stdout.splitlines() if "changed: " in line}
    assert changed <= reported
