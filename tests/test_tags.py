"""Every taggable resource of every environment carries the five required tags."""

from __future__ import annotations

from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from platform_constructs.tagging import UNTAGGABLE_TYPES
from tests.conftest import SynthesizedEnvironment

REQUIRED = ("Project", "Environment", "CostCenter", "Owner", "ManagedBy")


def is_taggable(resource_type: str, region: str) -> bool:
    """Whether CloudFormation's own resource schema (as shipped with cfn-lint) has a Tags property.

    UNTAGGABLE_TYPES are the exceptions where CloudFormation's deploy-time validation (aws-cdk-lib's
    built-in validator) rejects Tags although the schema lists them.
    """
    if resource_type.startswith("Custom::") or resource_type == "AWS::CDK::Metadata":
        return False
    if resource_type in UNTAGGABLE_TYPES:
        return False
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    return "Tags" in schema.get("properties", {})


def tag_map(tags: Any) -> dict[str, str]:
    if isinstance(tags, list):
        return {t["Key"]: t["Value"] for t in tags}
    return dict(tags or {})


def test_every_taggable_resource_has_the_required_tags(env: SynthesizedEnvironment) -> None:
    expected = {
        "Project": "ticketing",
        "Environment": env.config.name,
        "ManagedBy": "aws-cdk",
        "CostCenter": env.config.tags["CostCenter"],
        "Owner": env.config.tags["Owner"],
    }
    checked = 0
    untagged = []
    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            if not is_taggable(resource["Type"], env.config.region):
                continue
            checked += 1
            tags = tag_map(resource.get("Properties", {}).get("Tags"))
            wrong = {k: tags.get(k) for k in REQUIRED if tags.get(k) != expected[k]}
            if wrong:
                untagged.append(f"{stack.node.id}/{logical_id} ({resource['Type']}): {wrong}")
    assert checked > 20  # the walk is not vacuous
    assert untagged == []


def test_no_resource_can_exceed_awss_50_tags(env: SynthesizedEnvironment) -> None:
    """The schema leaves room for every tag the app and aws-cdk-lib add (MAX_CONFIG_TAGS)."""
    from config.schema import MAX_CONFIG_TAGS, MAX_TAGS_PER_RESOURCE

    for stack in env.stacks:
        for logical_id, resource in env.template_json(stack.node.id)["Resources"].items():
            tags = resource.get("Properties", {}).get("Tags")
            if not isinstance(tags, list):
                continue
            added = [t["Key"] for t in tags if isinstance(t, dict) and t.get("Key") not in env.config.tags]
            assert len(added) <= MAX_TAGS_PER_RESOURCE - MAX_CONFIG_TAGS, (logical_id, added)
