"""Resources that give up a physical name while another takes it in the same deploy: a refused move.

CloudFormation creates a new resource before it deletes the old one. A resource with a fixed name (an
alarm, an SSM parameter, a log group, a topic, the ECS cluster) that moves to a new logical ID, in its
stack or into another stack of the same account and region, is therefore created while the old one still
holds the name: the create fails with "already exists" and the deploy rolls back. When the old resource is
retained, the name stays taken for good. `make diff` (tools/diff_stacks.py) reports each such pair.

Which property is a resource's name is read from CloudFormation's resource schemas (cfn-lint's copy,
`replacement_rules.resource_schema`):

- the `primaryIdentifier`, when none of its properties is read-only: the template sets the identity itself
  (an alarm's `AlarmName`, a parameter's `Name`, a log group's `LogGroupName`, a record set's name, zone,
  type and set identifier together);
- otherwise (the identity is an ARN or ID AWS generates), the create-only property called `Name` or
  `<Type>Name` (a topic's `TopicName`, a secret's `Name`, a state machine's `StateMachineName`, a budget's
  `Budget/BudgetName`); other create-only `...Name` properties refer to other resources (a permission's
  `FunctionName`) and are not this resource's name.

`EXTRA_NAME_PATHS` adds the few names the schemas do not mark (neither identifier nor create-only) and
`NOT_UNIQUE` removes those that several resources may share. Only literal names are compared: a literal,
`Fn::Join`/`Fn::Sub` of literals, and the pseudo parameters `AWS::StackName`, `AWS::Region`,
`AWS::AccountId`, `AWS::Partition` and `AWS::URLSuffix` resolve; a name built from another resource's
attribute or a parameter cannot be known before the deploy and is left out (listed as not compared).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tools.cloud_assembly import AssemblyStack
from tools.replacement_rules import resource_schema, resource_types
from tools.stack_references import resources

#: Names the schemas mark neither as the identifier nor as create-only, though AWS refuses a second
#: resource with the same one: type -> property paths (keys joined by '/').
EXTRA_NAME_PATHS: Mapping[str, tuple[str, ...]] = {
    # CreateBackupPlan fails with AlreadyExistsException for a plan name already in use; the schema's
    # identifier is the generated plan ID and the name may be updated in place.
    "AWS::Backup::BackupPlan": ("BackupPlan/BackupPlanName",),
}
#: Types whose schema name is not unique: several resources may carry it, so a move cannot collide.
NOT_UNIQUE: Mapping[str, str] = {
    "AWS::Route53::HostedZone": "several hosted zones (public and private) may serve one domain name",
}
#: Namespaces wider than one region: a name there is taken in every region of the account (IAM, CloudFront,
#: Route 53) or of every account (S3 buckets).
GLOBAL_PREFIXES = ("AWS::IAM::", "AWS::CloudFront::", "AWS::Route53::", "AWS::S3::Bucket")
#: The schemas this reads: one region's, the same in every region for the types that matter here.
SCHEMA_REGION = "us-east-1"


@functools.cache
def name_paths(kind: str) -> tuple[str, ...]:
    """The property paths that together name a resource of `kind` ((), when it has no name of its own)."""
    if kind in NOT_UNIQUE:
        return ()
    if kind in EXTRA_NAME_PATHS:
        return EXTRA_NAME_PATHS[kind]
    schema = resource_schema(kind, SCHEMA_REGION)
    read_only = set(schema.get("readOnlyProperties", []))
    identifier = [str(p) for p in schema.get("primaryIdentifier", [])]
    if identifier and not read_only & set(identifier):
        return tuple(p.removeprefix("/properties/") for p in identifier)
    own = {"Name", f"{kind.rsplit('::', 1)[-1]}Name"}
    created = [str(p).removeprefix("/properties/") for p in schema.get("createOnlyProperties", [])]
    return tuple(p for p in created if p.rsplit("/", 1)[-1] in own and "*" not in p.split("/"))


@functools.cache
def named_types() -> tuple[str, ...]:
    """Every resource type (of the schemas' region) that has a name of its own, sorted."""
    return tuple(sorted(kind for kind in resource_types(SCHEMA_REGION) if name_paths(kind)))


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def pseudo_parameters(stack: AssemblyStack) -> dict[str, str]:
    """The pseudo parameters whose values the assembly fixes for `stack`."""
    partition = _partition(stack.region)
    return {
        "AWS::StackName": stack.name,
        "AWS::Region": stack.region,
        "AWS::AccountId": stack.account,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
    }


def resolve(value: Any, pseudo: Mapping[str, str]) -> str | None:
    """`value` as the literal string CloudFormation will see, or None when it is known only at deploy time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref":
        return pseudo.get(str(argument))
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        if not isinstance(separator, str) or not isinstance(parts, list):
            return None
        resolved = [resolve(part, pseudo) for part in parts]
        return None if any(part is None for part in resolved) else separator.join(str(p) for p in resolved)
    if function == "Fn::Sub" and isinstance(argument, str):
        unknown = [name for name in re.findall(r"\$\{([^}!]+)\}", argument) if name not in pseudo]
        if unknown:
            return None
        return re.sub(r"\$\{([^}!]+)\}", lambda match: pseudo[match.group(1)], argument).replace("${!", "${")
    return None


def _at(properties: Mapping[str, Any], path: str) -> Any:
    node: Any = properties
    for key in path.split("/"):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


@dataclass(frozen=True)
class Named:
    """A resource that has a fixed name: where it is, and the name (None when it cannot be resolved)."""

    stack: AssemblyStack
    logical_id: str
    kind: str
    name: str | None

    def namespace(self) -> tuple[str, str, str, str]:
        """Where the name must be unique: (account, region or '' for a global namespace, type, name)."""
        region = "" if self.kind.startswith(GLOBAL_PREFIXES) else self.stack.region
        return self.stack.account, region, self.kind, self.name or ""

    def describe(self) -> str:
        return f"{self.logical_id} ({self.stack.name})"


def named(stack: AssemblyStack, logical_ids: Iterable[str]) -> list[Named]:
    """The resources among `logical_ids` of `stack` that set a name of their own (an unnamed one gets a
    generated name and cannot collide)."""
    found = []
    pseudo = pseudo_parameters(stack)
    template = resources(stack)
    for logical_id in sorted(logical_ids):
        resource = template[logical_id]
        kind = str(resource.get("Type", ""))
        paths = name_paths(kind)
        if not paths:
            continue
        properties = resource.get("Properties", {}) or {}
        values = [_at(properties, path) for path in paths]
        if all(value is None for value in values):
            continue  # CloudFormation generates the name
        parts = [resolve(value, pseudo) if value is not None else "" for value in values]
        name = None if any(part is None for part in parts) else "|".join(str(part) for part in parts)
        found.append(Named(stack, logical_id, kind, name))
    return found


@dataclass(frozen=True)
class Collision:
    """An added resource that takes the name a removed one gives up in the same deploy."""

    removed: Named
    added: Named

    def cause(self) -> str:
        removed, added = self.removed, self.added
        retained = resources(removed.stack)[removed.logical_id].get("DeletionPolicy") in (
            "Retain",
            "RetainExceptOnCreate",
        )
        fate = "is retained, so the name stays taken" if retained else "is deleted only after the new one exists"
        return (
            f"{added.kind} {added.logical_id} would be created with the name {added.name!r} that "
            f"{removed.describe()} holds: CloudFormation creates the new resource before it deletes the old one "
            f'(which {fate}), so the deploy fails with "already exists". Keep the logical ID '
            "(`override_logical_id`, or the construct's id and scope), or move it with CloudFormation's stack "
            "refactoring"
        )


def collisions(removed: Sequence[Named], added: Sequence[Named]) -> list[Collision]:
    """Each added resource whose resolved name a removed one of the same type held in the same namespace."""
    holders: dict[tuple[str, str, str, str], list[Named]] = {}
    for resource in removed:
        if resource.name is not None:
            holders.setdefault(resource.namespace(), []).append(resource)
    return [Collision(old, new) for new in added if new.name is not None for old in holders.get(new.namespace(), [])]


def unresolved(resources_: Iterable[Named]) -> list[Named]:
    """Those whose name is known only at deploy time: not compared."""
    return [resource for resource in resources_ if resource.name is None]
