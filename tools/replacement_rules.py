"""What CloudFormation does with a changed resource: update it in place, replace it, or refuse.

Read from cfn-lint's copy of the CloudFormation resource schemas (`createOnlyProperties`: a change
replaces the resource), with the schemas' `conditionalCreateOnlyProperties` ("may be replaced")
decided here, one property at a time: the routine ones this platform changes (a backup retention, a
maintenance window, Multi-AZ, a parameter group) update in place; every other conditional change of
a stateful resource counts as a replacement. Some changes CloudFormation cannot make at all (a KMS
key's spec): those are refused. Which resources hold data, and which resources they sit in (their
network), is decided here too.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Resource names (the last part of a CloudFormation type) that name a store of data in every service that
#: uses them: databases, caches, buckets, repositories, secrets, vaults, log groups, file systems, volumes,
#: snapshots, streams, queues, tables, ledgers, brokers and archives. Together with cfn-lint's own list of
#: stateful types (`StatefulResources.json`, which misses container repositories, serverless caches, Kafka,
#: replica keys, ...) and `OTHER_DATA_HOLDERS`, they decide which types hold data (`holds_data`).
DATA_NOUNS = (
    "DBInstance", "DBCluster", "Database", "Keyspace", "Table", "Ledger", "Cache", "Bucket", "Repository",
    "Secret", "BackupVault", "LogGroup", "LogStream", "FileSystem", "Volume", "Snapshot", "Stream", "Queue",
    "Broker", "Archive", "EventDataStore",
)  # fmt: skip
#: Data holders whose names say nothing of it, with what they hold.
OTHER_DATA_HOLDERS: Mapping[str, str] = {
    "AWS::KMS::Key": "key material: what it encrypted is unreadable without it",
    "AWS::KMS::ReplicaKey": "key material: what it encrypted is unreadable without it",
    "AWS::ACMPCA::CertificateAuthority": "the authority's private key, which never leaves it",
    "AWS::CloudHSM::Cluster": "keys in its HSMs",
    "AWS::Cognito::UserPool": "the users and their credentials",
    "AWS::MSK::Cluster": "the topics' messages",
    "AWS::MSK::ServerlessCluster": "the topics' messages",
    "AWS::MemoryDB::Cluster": "a durable in-memory database",
    "AWS::MemoryDB::MultiRegionCluster": "a durable in-memory database",
    "AWS::DocDB::GlobalCluster": "the database its clusters replicate",
    "AWS::DocDBElastic::Cluster": "a database",
    "AWS::RDS::GlobalCluster": "the database its clusters replicate",
    "AWS::DSQL::Cluster": "a database",
    "AWS::RedshiftServerless::Namespace": "the warehouse's data",
    "AWS::NeptuneGraph::Graph": "a graph database",
    "AWS::OpenSearchServerless::Collection": "the indexed documents",
    "AWS::APS::Workspace": "the metrics written to it",
}
#: Types whose name ends in a data noun but which hold nothing a deploy cannot make again, with why.
NOT_DATA_HOLDERS: Mapping[str, str] = {
    **dict.fromkeys(
        ("AWS::EC2::RouteTable", "AWS::EC2::LocalGatewayRouteTable", "AWS::EC2::TransitGatewayRouteTable",
         "AWS::EC2::TransitGatewayPolicyTable"),
        "routes, which the template writes",
    ),
    **dict.fromkeys(
        ("AWS::Glue::Database", "AWS::Glue::Table"),
        "catalog entries describing data kept elsewhere (S3); the template writes them again",
    ),
    **dict.fromkeys(
        ("AWS::CleanRooms::ConfiguredTable", "AWS::CleanRooms::IdMappingTable", "AWS::CleanRooms::IntermediateTable"),
        "settings that point at data kept elsewhere",
    ),
    **dict.fromkeys(
        ("AWS::Batch::JobQueue", "AWS::Deadline::Queue", "AWS::PCS::Queue", "AWS::GameLift::GameSessionQueue",
         "AWS::MediaConvert::Queue", "AWS::Connect::Queue"),
        "a scheduler's settings: the work it queues is submitted again",
    ),
    **dict.fromkeys(
        ("AWS::CloudWatch::MetricStream", "AWS::KinesisFirehose::DeliveryStream", "AWS::Pinpoint::EventStream",
         "AWS::CustomerProfiles::EventStream", "AWS::QLDB::Stream", "AWS::IoT::Stream"),
        "a pipe into a destination that keeps the data",
    ),
    **dict.fromkeys(
        ("AWS::CodeStar::GitHubRepository", "AWS::SageMaker::CodeRepository"),
        "a link to a Git repository kept outside AWS",
    ),
    **dict.fromkeys(("AWS::AppSync::ApiCache", "AWS::Omics::RunCache"), "results cached again on demand"),
    "AWS::MSK::BatchScramSecret": "an association of secrets kept elsewhere with a cluster",
}  # fmt: skip
#: Types that hold data only when the stack keeps them (a bucket or log group it deletes holds nothing
#: anyone kept: build output, operational logs); the retained ones hold data (access logs, audit logs).
STATEFUL_WHEN_RETAINED = frozenset({"AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::Logs::LogStream"})
RETAINING = frozenset({"Retain", "Snapshot", "RetainExceptOnCreate"})
#: What a data holder sits in: its network. A new VPC, subnet, subnet group (every `*SubnetGroup` type) or
#: security group of a data holder strands it (RDS, ElastiCache and file systems cannot follow into a new
#: network in place; the old one cannot be deleted while they use it), even when no data holder is replaced.
#: Not here, on purpose: parameter and option groups (the instance moves to a new one in place, with a
#: reboot), roles, topics and keys (a key holds data itself, so its replacement is judged as such).
PLACEMENT_TYPES = frozenset({"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::SecurityGroup"})

#: Conditional create-only properties that update in place for this platform's resources, with why.
IN_PLACE: Mapping[tuple[str, str], str] = {
    ("AWS::RDS::DBInstance", "AutoMinorVersionUpgrade"): "a setting of the instance",
    ("AWS::RDS::DBInstance", "BackupRetentionPeriod"): "updated in place (never 0 here: the schema refuses it)",
    ("AWS::RDS::DBInstance", "DBParameterGroupName"): "applied with a reboot, not a replacement",
    ("AWS::RDS::DBInstance", "MultiAZ"): "RDS adds or removes the standby in place",
    ("AWS::RDS::DBInstance", "PreferredMaintenanceWindow"): "a setting of the instance",
}
#: Changes that keep the resource but lose what it holds: a secret's generated value is generated anew.
REGENERATES: Mapping[tuple[str, str], str] = {
    ("AWS::SecretsManager::Secret", "GenerateSecretString"): "a new value is generated: the stored one is lost",
}
#: What CloudFormation assumes when a property is absent (an explicit default is no change).
DEFAULTS: Mapping[tuple[str, str], Any] = {
    ("AWS::KMS::Key", "KeySpec"): "SYMMETRIC_DEFAULT",
    ("AWS::KMS::Key", "KeyUsage"): "ENCRYPT_DECRYPT",
    ("AWS::KMS::Key", "MultiRegion"): False,
    ("AWS::KMS::Key", "Origin"): "AWS_KMS",
}
#: Changes CloudFormation cannot make: the update fails (or would need a new resource it cannot create).
#: Performance Insights' key is refused only when one was set before (setting a first one is allowed).
REFUSED: Mapping[tuple[str, str], str] = {
    ("AWS::KMS::Key", "KeySpec"): "KMS cannot change a key's spec; a new key cannot read what the old one encrypted",
    ("AWS::KMS::Key", "KeyUsage"): "KMS cannot change a key's usage",
    ("AWS::KMS::Key", "MultiRegion"): "KMS cannot turn a key into a multi-Region key or back",
    ("AWS::KMS::Key", "Origin"): "KMS cannot change where a key's material comes from",
    ("AWS::RDS::DBInstance", "PerformanceInsightsKMSKeyId"): "Performance Insights' key cannot change once set",
}


@functools.cache
def upstream_stateful_types() -> frozenset[str]:
    """cfn-lint's list of stateful resource types (its rule I3011 reads it)."""
    path = _schemas_dir().parent / "AdditionalSpecs" / "StatefulResources.json"
    return frozenset(json.loads(path.read_text(encoding="utf-8"))["ResourceTypes"])


@functools.cache
def holds_data(kind: str) -> bool:
    """Whether a resource of `kind` holds data a deploy cannot make again (whatever its deletion policy)."""
    if kind in NOT_DATA_HOLDERS:
        return False
    name = kind.rsplit("::", 1)[-1]
    return kind in upstream_stateful_types() or kind in OTHER_DATA_HOLDERS or name.endswith(DATA_NOUNS)


def is_stateful(resource: Mapping[str, Any]) -> bool:
    """Whether replacing or removing `resource` loses data: a data holder, kept by its stack where that decides."""
    kind = str(resource.get("Type", ""))
    if kind in STATEFUL_WHEN_RETAINED:
        return resource.get("DeletionPolicy") in RETAINING
    return holds_data(kind)


def is_placement(kind: str) -> bool:
    """Whether `kind` is part of the network a data holder sits in (`PLACEMENT_TYPES`, any subnet group)."""
    return kind in PLACEMENT_TYPES or kind.endswith("SubnetGroup")


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


def resource_types(region: str) -> list[str]:
    """Every resource type whose schema cfn-lint bundles for `region`."""
    return sorted(_provider_index(region))


@functools.cache
def resource_schema(kind: str, region: str) -> dict[str, Any]:
    """CloudFormation's resource schema of `kind` in `region` (cfn-lint's copy); {} for an unknown type."""
    digest = _provider_index(region).get(kind)
    if digest is None:
        return {}
    schema: dict[str, Any] = json.loads((_schemas_dir() / "resources" / f"{digest}.json").read_text(encoding="utf-8"))
    return schema


@functools.cache
def create_only(kind: str, region: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(create-only, conditionally create-only) property paths of `kind`, as tuples of keys joined by '/'."""
    schema = resource_schema(kind, region)

    def paths(key: str) -> tuple[str, ...]:
        return tuple(p.removeprefix("/properties/") for p in schema.get(key, []) if p.startswith("/properties/"))

    return paths("createOnlyProperties"), paths("conditionalCreateOnlyProperties")


def _value(properties: Mapping[str, Any], path: str) -> Any:
    """The value at `path`; a path through a list (`*`) compares the list as a whole."""
    node: Any = properties
    for key in path.split("/"):
        if key == "*":
            return node
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _differs(before: Mapping[str, Any], after: Mapping[str, Any], path: str, default: Any = None) -> bool:
    old, new = _value(before, path), _value(after, path)
    old = default if old is None else old
    new = default if new is None else new
    return json.dumps(old, sort_keys=True) != json.dumps(new, sort_keys=True)


def referenced_ids(value: Any) -> set[str]:
    """Logical IDs `value` refers to (Ref, Fn::GetAtt, Fn::Sub's ${X} and ${X.Attr})."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute:
            found.add(str(attribute[0]))
        elif isinstance(attribute, str):
            found.add(attribute.split(".", 1)[0])
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str):
            found |= {name.split(".", 1)[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
        for item in value.values():
            found |= referenced_ids(item)
    elif isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    return found


def create_only_values(resource: Mapping[str, Any], region: str) -> list[Any]:
    """The values of the create-only properties of `resource` (those `IN_PLACE` does not update in place)."""
    kind = str(resource.get("Type"))
    properties = resource.get("Properties", {}) or {}
    always, conditional = create_only(kind, region)
    paths = [*always, *(p for p in conditional if (kind, p) not in IN_PLACE)]
    return [value for value in (_value(properties, path) for path in paths) if value is not None]


def update_behaviour(before: Mapping[str, Any], after: Mapping[str, Any], region: str) -> tuple[str, list[str]]:
    """("none" | "update" | "replace" | "refused", the properties that decide it) for one logical ID."""
    if before.get("Type") != after.get("Type"):
        return "replace", [f"Type {before.get('Type')} -> {after.get('Type')}"]
    kind = str(after.get("Type"))
    old, new = before.get("Properties", {}) or {}, after.get("Properties", {}) or {}
    refused = [
        f"{path}: {reason}"
        for (k, path), reason in REFUSED.items()
        if k == kind
        and _differs(old, new, path, DEFAULTS.get((k, path)))
        and (path != "PerformanceInsightsKMSKeyId" or _value(old, path) is not None)
    ]
    if refused:
        return "refused", refused
    always, conditional = create_only(kind, region)
    replacing = [path for path in always if _differs(old, new, path)]
    replacing += [path for path in conditional if (kind, path) not in IN_PLACE and _differs(old, new, path)]
    replacing += [f"{path}: {why}" for (k, path), why in REGENERATES.items() if k == kind and _differs(old, new, path)]
    if before.get("Condition") != after.get("Condition"):
        replacing.append(f"Condition {before.get('Condition')} -> {after.get('Condition')}: it may not be created")
    if replacing:
        return "replace", replacing
    compared = ("Properties", "DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "UpdatePolicy")
    if any(json.dumps(before.get(k), sort_keys=True) != json.dumps(after.get(k), sort_keys=True) for k in compared):
        return "update", []
    return "none", []
