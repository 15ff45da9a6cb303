"""What CloudFormation does with a changed resource: update it in place, replace it, or refuse.

Read from cfn-lint's copy of the CloudFormation resource schemas (`createOnlyProperties`: a change
replaces the resource), with the schemas' `conditionalCreateOnlyProperties` ("may be replaced")
decided here, one property at a time: the routine ones this platform changes (a backup retention, a
maintenance window, Multi-AZ, a parameter group) update in place; every other conditional change of
a stateful resource counts as a replacement. Some changes CloudFormation cannot make at all (a KMS
key's spec): those are refused. Which resources hold state is decided here too.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Types whose replacement or removal loses data (or, for keys, makes data unreadable).
ALWAYS_STATEFUL = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::ElastiCache::CacheCluster",
        "AWS::KMS::Key",
        "AWS::SecretsManager::Secret",
        "AWS::Backup::BackupVault",
        "AWS::DynamoDB::Table",
        "AWS::EFS::FileSystem",
    }
)
#: Types that hold data only when the stack keeps them (a bucket or log group it deletes holds nothing
#: anyone kept: build output, operational logs); the retained ones hold data (access logs, audit logs).
STATEFUL_WHEN_RETAINED = frozenset({"AWS::S3::Bucket", "AWS::Logs::LogGroup"})
RETAINING = frozenset({"Retain", "Snapshot", "RetainExceptOnCreate"})

#: Conditional create-only properties that update in place for this platform's resources, with why.
IN_PLACE: Mapping[tuple[str, str], str] = {
    ("AWS::RDS::DBInstance", "AutoMinorVersionUpgrade"): "a setting of the instance",
    ("AWS::RDS::DBInstance", "BackupRetentionPeriod"): "updated in place (never 0 here: the schema refuses it)",
    ("AWS::RDS::DBInstance", "DBParameterGroupName"): "applied with a reboot, not a replacement",
    ("AWS::RDS::DBInstance", "MultiAZ"): "RDS adds or removes the standby in place",
    ("AWS::RDS::DBInstance", "PreferredMaintenanceWindow"): "a setting of the instance",
}
#: Changes CloudFormation cannot make: the update fails (or would need a new resource it cannot create).
REFUSED: Mapping[tuple[str, str], str] = {
    ("AWS::KMS::Key", "KeySpec"): "KMS cannot change a key's spec; a new key cannot read what the old one encrypted",
    ("AWS::KMS::Key", "KeyUsage"): "KMS cannot change a key's usage",
    ("AWS::KMS::Key", "MultiRegion"): "KMS cannot turn a key into a multi-Region key or back",
    ("AWS::KMS::Key", "Origin"): "KMS cannot change where a key's material comes from",
    ("AWS::RDS::DBInstance", "PerformanceInsightsKMSKeyId"): "Performance Insights' key cannot change once set",
}


def is_stateful(resource: Mapping[str, Any]) -> bool:
    kind = resource.get("Type", "")
    if kind in ALWAYS_STATEFUL:
        return True
    return kind in STATEFUL_WHEN_RETAINED and resource.get("DeletionPolicy") in RETAINING


@functools.cache
def _schemas_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("cfn-lint is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@functools.cache
def _provider_index(region: str) -> dict[str, str]:
    providers = _schemas_dir() / "providers"
    path = providers / f"{region}.json"
    if not path.is_file():
        path = providers / "us-east-1.json"
    index: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return index


@functools.cache
def create_only(kind: str, region: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(create-only, conditionally create-only) property paths of `kind`, as tuples of keys joined by '/'."""
    digest = _provider_index(region).get(kind)
    if digest is None:
        return (), ()
    schema = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text(encoding="utf-8"))

    def paths(key: str) -> tuple[str, ...]:
        return tuple(p.removeprefix("/properties/") for p in schema.get(key, []) if p.startswith("/properties/"))

    return paths("createOnlyProperties"), paths("conditionalCreateOnlyProperties")


def _value(properties: Mapping[str, Any], path: str) -> Any:
    node: Any = properties
    for key in path.split("/"):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _differs(before: Mapping[str, Any], after: Mapping[str, Any], path: str) -> bool:
    return json.dumps(_value(before, path), sort_keys=True) != json.dumps(_value(after, path), sort_keys=True)


def update_behaviour(before: Mapping[str, Any], after: Mapping[str, Any], region: str) -> tuple[str, list[str]]:
    """("none" | "update" | "replace" | "refused", the properties that decide it) for one logical ID."""
    if before.get("Type") != after.get("Type"):
        return "replace", [f"Type {before.get('Type')} -> {after.get('Type')}"]
    kind = str(after.get("Type"))
    old, new = before.get("Properties", {}) or {}, after.get("Properties", {}) or {}
    refused = [f"{path}: {reason}" for (k, path), reason in REFUSED.items() if k == kind and _differs(old, new, path)]
    if refused:
        return "refused", refused
    always, conditional = create_only(kind, region)
    replacing = [path for path in always if _differs(old, new, path)]
    replacing += [path for path in conditional if (kind, path) not in IN_PLACE and _differs(old, new, path)]
    if replacing:
        return "replace", replacing
    compared = ("Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy")
    if any(json.dumps(before.get(k), sort_keys=True) != json.dumps(after.get(k), sort_keys=True) for k in compared):
        return "update", []
    return "none", []
