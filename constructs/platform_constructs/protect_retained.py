"""Tag what a stack retains on purpose with the protection tag, so no clean-up ever deletes it.

A resource whose `DeletionPolicy` is `Retain` or `Snapshot` outlives its stack by design: the data,
the secrets and keys that open it, the logs an auditor needs. Once its stack is gone an
unused-resource finder sees it as left behind; this tag makes it report such a resource and never
delete it, until someone removes the tag on purpose.
"""

from __future__ import annotations

import jsii
from aws_cdk import CfnDeletionPolicy, CfnResource, IAspect, RemovalPolicy, TagManager
from constructs import IConstruct

#: The tag's value says why it is there.
REASON = "retained-by-its-stack"
_KEPT = (CfnDeletionPolicy.RETAIN, CfnDeletionPolicy.SNAPSHOT, CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE)

#: How a resource with a fixed name is kept: on update and on delete, but not when the create that made it
#: fails (DeletionPolicy RetainExceptOnCreate). A rolled-back first deploy then deletes it, and the retry
#: does not collide with a left-over name ("already exists"); once created, it outlives its stack as
#: Retain would. What it can hold by then (the logs of the failed attempt, nothing else) is in the
#: stack's events; `--no-rollback` keeps everything in place (docs/first-deploy.md, "Retry a failed first deploy").
KEPT = RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE


def kept_unless_disposable(disposable: bool) -> RemovalPolicy:
    """DESTROY in an environment that is torn down and deployed again (dev), else `KEPT`."""
    return RemovalPolicy.DESTROY if disposable else KEPT


@jsii.implements(IAspect)
class ProtectRetained:
    """Add with `add_aspect(scope, ProtectRetained(tag_key))` (batched_aspects) or `Aspects.of(scope).add(...)`."""

    def __init__(self, tag_key: str) -> None:
        if not tag_key or tag_key.lower().startswith("aws:"):
            raise ValueError(f"tag_key: a tag key not starting with aws:, got {tag_key!r}")
        self._key = tag_key

    def visit(self, node: IConstruct) -> None:
        if (
            isinstance(node, CfnResource)
            and _has_tags(node)  # asked once per class: no call to Node.js for the rest
            and node.cfn_options.deletion_policy in _KEPT
        ):
            manager = TagManager.of(node)  # `tags` (ITaggable) or `cdk_tag_manager` (ITaggableV2)
            if manager is not None:
                manager.set_tag(self._key, REASON)


#: Whether the resources of an L1 class carry tags, by class (a few dozen classes per environment).
_TAGGABLE_CLASSES: dict[type, bool] = {}


def _has_tags(resource: CfnResource) -> bool:
    """Whether `resource` is taggable: ITaggable, or ITaggableV2 (which newer L1 classes, AWS::Backup::BackupVault
    among them, implement alone).

    An L1 class makes its tag manager in its constructor for every resource or for none, so the first resource
    of a class answers for all of them.
    """
    cls = type(resource)
    taggable = _TAGGABLE_CLASSES.get(cls)
    if taggable is None:
        taggable = _TAGGABLE_CLASSES[cls] = TagManager.is_taggable(resource) or TagManager.is_taggable_v2(resource)
    return taggable
