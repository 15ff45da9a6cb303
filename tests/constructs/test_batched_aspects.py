"""BatchedAspectsStage: Python aspects in one walk per synthesis, with the result of Aspects.of."""

from __future__ import annotations

from collections import Counter
from typing import Any

import jsii
import pytest
from aws_cdk import (
    App,
    Aspects,
    CfnResource,
    IAspect,
    RemovalPolicy,
    Stack,
    Stage,
    assertions,
    aws_backup as backup,
    aws_iam as iam,
    aws_s3 as s3,
    aws_sqs as sqs,
)
from constructs import IConstruct

from platform_constructs.batched_aspects import BatchedAspectsStage, add_aspect
from platform_constructs.protect_retained import ProtectRetained
from platform_constructs.tagging import apply_tags


@jsii.implements(IAspect)
class CountVisits:
    def __init__(self) -> None:
        self.visits: Counter[str] = Counter()

    def visit(self, node: IConstruct) -> None:
        self.visits[node.node.path] += 1


def build(stage: Stage) -> Stack:
    """Resources each aspect acts on: retained and destroyed ones, a raw IAM role, an L1 role."""
    stack = Stack(stage, "Stack")
    s3.Bucket(stack, "Kept", removal_policy=RemovalPolicy.RETAIN)
    sqs.Queue(stack, "Dropped", removal_policy=RemovalPolicy.DESTROY)
    CfnResource(
        stack,
        "RawRole",
        type="AWS::IAM::Role",
        properties={"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
    )
    iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    return stack


def template_of(stage_class: type[Stage]) -> dict[str, Any]:
    stage = stage_class(App(), "Dev")
    stack = build(stage)
    apply_tags(stage, {"Project": "ticketing"})
    add_aspect(stage, ProtectRetained("Protected"))
    return dict(assertions.Template.from_stack(stack).to_json())


def test_batched_aspects_give_the_template_aspects_of_gives() -> None:
    batched = template_of(BatchedAspectsStage)
    assert batched == template_of(Stage)  # in a plain Stage, add_aspect is Aspects.of(scope).add
    resources = batched["Resources"]
    tags = {logical_id: resource["Properties"].get("Tags") for logical_id, resource in resources.items()}
    kept = next(key for key in resources if key.startswith("Kept"))
    dropped = next(key for key in resources if key.startswith("Dropped"))
    assert {"Key": "Protected", "Value": "retained-by-its-stack"} in tags[kept]
    assert all(tag["Key"] != "Protected" for tag in tags[dropped])
    assert tags["RawRole"] == [{"Key": "Project", "Value": "ticketing"}]  # Tags.of cannot reach it


def visits_over_three_syntheses(stage: Stage, add: Any) -> tuple[dict[str, int], dict[str, int]]:
    """Visits after a synthesis and a second `synth()`, then after a construct is added and synth is forced."""
    stack = build(stage)
    counter = CountVisits()
    add(stack, counter)
    assert not counter.visits  # nothing before synthesis
    assertions.Template.from_stack(stack)
    stage.synth()  # already synthesised: the same assembly, nothing visited
    first = dict(counter.visits)
    sqs.Queue(stack, "Later")
    stage.synth(force=True)
    return first, dict(counter.visits)


def test_each_construct_is_visited_once_per_synthesis_as_with_aspects_of() -> None:
    first, forced = visits_over_three_syntheses(BatchedAspectsStage(App(), "Dev"), add_aspect)
    assert set(first.values()) == {1}
    assert {"Dev/Stack", "Dev/Stack/Kept/Resource"} <= set(first)
    assert {"Dev/Stack/Later", "Dev/Stack/Later/Resource"} <= set(forced)  # added since: visited when forced
    assert forced["Dev/Stack/Kept/Resource"] == 2  # a forced synthesis visits everything again

    def aspects_of(scope: IConstruct, aspect: IAspect) -> None:
        Aspects.of(scope).add(aspect)

    assert (first, forced) == visits_over_three_syntheses(Stage(App(), "Dev"), aspects_of)


def test_outside_a_batched_stage_the_aspect_is_registered_with_aws_cdk_lib() -> None:
    stage = Stage(App(), "Dev")
    stack = build(stage)
    counter = CountVisits()
    add_aspect(stack, counter)
    assert counter in Aspects.of(stack).all
    assertions.Template.from_stack(stack)
    assert counter.visits["Dev/Stack/Kept/Resource"] == 1


def test_the_same_aspect_added_twice_runs_once_as_with_aspects_of() -> None:
    stage = BatchedAspectsStage(App(), "Dev")
    stack = build(stage)
    counter = CountVisits()
    add_aspect(stack, counter)
    add_aspect(stack, counter)
    assertions.Template.from_stack(stack)
    assert set(counter.visits.values()) == {1}


def test_resources_that_carry_tags_only_through_itaggable_v2_get_the_protection_tag() -> None:
    stage = BatchedAspectsStage(App(), "Dev")
    stack = Stack(stage, "Stack")
    backup.BackupVault(stack, "Vault", removal_policy=RemovalPolicy.RETAIN)  # AWS::Backup::BackupVault: V2 only
    add_aspect(stage, ProtectRetained("Protected"))
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::Backup::BackupVault", {"BackupVaultTags": {"Protected": "retained-by-its-stack"}}
    )


def test_a_nested_stage_is_refused_naming_it() -> None:
    stage = BatchedAspectsStage(App(), "Dev")
    build(stage)
    build(Stage(stage, "Inner"))
    add_aspect(stage, CountVisits())
    with pytest.raises(ValueError, match=r"Dev: a BatchedAspectsStage holds no nested stage .*found Dev/Inner"):
        stage.apply_batched_aspects()
