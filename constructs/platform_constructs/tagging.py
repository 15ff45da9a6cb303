"""Tag every taggable resource in a scope, including the raw ones `Tags.of` cannot reach.

A tag goes on every resource whose CloudFormation schema accepts it; a kind whose schema is narrower than AWS's
general tag rule (tag_rules.NARROW_TAG_RULES) goes without the tags it cannot carry where tag_rules.TAGS_LEFT_OFF
says that is harmless, and any other kind that cannot carry one is an error here (the config schema refuses
such a tag first, with the same words).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jsii
from aws_cdk import CfnResource, IAspect, TagManager, Tags
from constructs import IConstruct

from platform_constructs.batched_aspects import add_aspect
from platform_constructs.tag_rules import TAGS_LEFT_OFF, required_tag_problems, tag_problems, types_refusing

#: Resource types whose aws-cdk-lib L1 class is taggable although CloudFormation rejects `Tags`.
UNTAGGABLE_TYPES = ("AWS::RDS::DBProxyTargetGroup",)

#: Resource types that aws-cdk-lib's own custom-resource providers create as plain CfnResource
#: (not taggable L1 classes), so `Tags.of` skips them. All of them accept a `Tags` list.
RAW_TAGGABLE_TYPES = frozenset({"AWS::IAM::Role", "AWS::Lambda::Function"})


def apply_tags(scope: IConstruct, tags: Mapping[str, str]) -> None:
    """Add `tags` to every taggable resource under `scope` that can carry them (module docstring).

    Raises ValueError, naming the tag and the resource kinds, for a tag that a kind which must carry every
    tag cannot carry.
    """
    problems = [
        f"tag {key!r}: {'; '.join(found)}"
        for key, value in tags.items()
        if (found := required_tag_problems(key, value))
    ]
    if problems:
        raise ValueError("; ".join(problems))
    for key, value in tags.items():
        left_off = [t for t in types_refusing(key, value) if t in TAGS_LEFT_OFF]
        Tags.of(scope).add(key, value, exclude_resource_types=[*UNTAGGABLE_TYPES, *left_off])
    add_aspect(scope, _TagRawResources(tags))


@jsii.implements(IAspect)
class _TagRawResources:
    def __init__(self, tags: Mapping[str, str]) -> None:
        self._tags = dict(tags)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource):
            resource_type = _declared_type(type(node)) or node.cfn_resource_type
            if resource_type in RAW_TAGGABLE_TYPES and not TagManager.is_taggable(node):
                node.add_property_override("Tags", self._tags_for(resource_type))

    @functools.cache  # noqa: B019  # one aspect per stage, a handful of types: the cache stays small
    def _tags_for(self, resource_type: str) -> list[dict[str, str]]:
        """The tags `resource_type` can carry, as a CloudFormation Tags list."""
        return [
            {"Key": key, "Value": self._tags[key]}
            for key in sorted(self._tags)
            if not tag_problems(resource_type, key, self._tags[key])
        ]


@functools.cache
def _declared_type(cls: type) -> str | None:
    """The resource type an aws-cdk-lib L1 class declares (one call per class), None for raw CfnResource."""
    if "CFN_RESOURCE_TYPE_NAME" not in vars(cls):
        return None
    declared: str = cls.CFN_RESOURCE_TYPE_NAME  # type: ignore[attr-defined]  # it is in vars(cls)
    return declared
