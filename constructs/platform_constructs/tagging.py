"""Tag every taggable resource in a scope, including the raw ones `Tags.of` cannot reach."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jsii
from aws_cdk import CfnResource, IAspect, TagManager, Tags
from constructs import IConstruct

from platform_constructs.batched_aspects import add_aspect

#: Resource types whose aws-cdk-lib L1 class is taggable although CloudFormation rejects `Tags`.
UNTAGGABLE_TYPES = ("AWS::RDS::DBProxyTargetGroup",)

#: Resource types that aws-cdk-lib's own custom-resource providers create as plain CfnResource
#: (not taggable L1 classes), so `Tags.of` skips them. All of them accept a `Tags` list.
RAW_TAGGABLE_TYPES = frozenset({"AWS::IAM::Role", "AWS::Lambda::Function"})


def apply_tags(scope: IConstruct, tags: Mapping[str, str]) -> None:
    """Add `tags` to every taggable resource under `scope`."""
    for key, value in tags.items():
        Tags.of(scope).add(key, value, exclude_resource_types=list(UNTAGGABLE_TYPES))
    add_aspect(scope, _TagRawResources(tags))


@jsii.implements(IAspect)
class _TagRawResources:
    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = [{"Key": key, "Value": tags[key]} for key in sorted(tags)]

    def visit(self, node: IConstruct) -> None:
        if (
            isinstance(node, CfnResource)
            and (_declared_type(type(node)) or node.cfn_resource_type) in RAW_TAGGABLE_TYPES
            and not TagManager.is_taggable(node)
        ):
            node.add_property_override("Tags", self._tags)


@functools.cache
def _declared_type(cls: type) -> str | None:
    """The resource type an aws-cdk-lib L1 class declares (one call per class), None for raw CfnResource."""
    if "CFN_RESOURCE_TYPE_NAME" not in vars(cls):
        return None
    declared: str = cls.CFN_RESOURCE_TYPE_NAME  # type: ignore[attr-defined]  # it is in vars(cls)
    return declared
