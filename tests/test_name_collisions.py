"""tools/name_collisions.py: which property names a resource, how a name resolves, and which moves collide."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from tools.cloud_assembly import AssemblyStack
from tools.name_collisions import EXTRA_NAME_PATHS, NOT_UNIQUE, collisions, name_paths, named, named_types, resolve
from tools.replacement_rules import resource_schema


def stack(name: str, resources: dict[str, Any], region: str = "ap-northeast-2") -> AssemblyStack:
    return AssemblyStack(
        account="111111111111",
        region=region,
        name=name,
        display_name=f"Dev/{name}",
        environment="dev",
        template={"Resources": resources},
    )


@pytest.mark.parametrize(
    ("kind", "paths"),
    [
        # the schema's identifier, set by the template
        ("AWS::SSM::Parameter", ("Name",)),
        ("AWS::CloudWatch::Alarm", ("AlarmName",)),
        ("AWS::Logs::LogGroup", ("LogGroupName",)),
        ("AWS::ECS::Cluster", ("ClusterName",)),
        ("AWS::RDS::DBInstance", ("DBInstanceIdentifier",)),
        ("AWS::Route53::RecordSet", ("Name", "HostedZoneId", "Type", "SetIdentifier")),
        # a generated identifier: the create-only `Name` or `<Type>Name`
        ("AWS::SNS::Topic", ("TopicName",)),
        ("AWS::SecretsManager::Secret", ("Name",)),
        ("AWS::ECS::Service", ("ServiceName",)),
        ("AWS::StepFunctions::StateMachine", ("StateMachineName",)),
        ("AWS::Events::Rule", ("Name",)),
        ("AWS::Budgets::Budget", ("Budget/BudgetName",)),
        # the explicit table
        ("AWS::Backup::BackupPlan", ("BackupPlan/BackupPlanName",)),
        # no name of their own: a task definition family has revisions, a permission names its function
        ("AWS::ECS::TaskDefinition", ()),
        ("AWS::Lambda::Permission", ()),
        ("AWS::EC2::Route", ()),
        ("AWS::Route53::HostedZone", ()),
    ],
)
def test_the_name_property_comes_from_the_schema(kind: str, paths: tuple[str, ...]) -> None:
    assert name_paths(kind) == paths


def test_the_explicit_tables_name_real_types_the_schemas_leave_out() -> None:
    for kind, paths in EXTRA_NAME_PATHS.items():
        schema = resource_schema(kind, "us-east-1")
        assert schema, kind
        marked = {*schema.get("createOnlyProperties", []), *schema.get("primaryIdentifier", [])}
        assert not {f"/properties/{path}" for path in paths} & marked, f"{kind}: the schema says it; drop the row"
    assert all(resource_schema(kind, "us-east-1") for kind in NOT_UNIQUE)


PSEUDO = {"AWS::StackName": "ticketing-dev-data", "AWS::Region": "ap-northeast-2", "AWS::AccountId": "111111111111"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/ticketing/dev/data/database/port", "/ticketing/dev/data/database/port"),
        ({"Fn::Join": ["", ["/aws/vendedlogs/", {"Ref": "AWS::StackName"}]]}, "/aws/vendedlogs/ticketing-dev-data"),
        ({"Fn::Join": ["/", ["sns", {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}]]},
         "sns/ap-northeast-2/111111111111"),
        ({"Fn::Sub": "${AWS::StackName}-alarms-${!Literal}"}, "ticketing-dev-data-alarms-${Literal}"),
        ({"Fn::Join": ["-", ["x", {"Fn::GetAtt": ["Function", "Arn"]}]]}, None),
        ({"Ref": "Parameter"}, None),
        ({"Fn::Sub": "${Function}-name"}, None),
        (True, None),
    ],
)  # fmt: skip
def test_names_resolve_from_literals_and_pseudo_parameters_only(value: Any, expected: str | None) -> None:
    assert resolve(value, PSEUDO) == expected


def test_a_move_within_a_stack_and_across_stacks_collides_but_not_across_regions() -> None:
    def parameter(name: Any) -> dict[str, Any]:
        return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": "x"}}

    old = stack("ticketing-dev-data", {"Old": parameter("/p"), "Joined": parameter({"Fn::Join": ["", ["/j"]]})})
    same = stack("ticketing-dev-data", {"New": parameter("/p")})
    other = stack("ticketing-dev-services", {"Moved": parameter("/j")})
    elsewhere = stack("ticketing-dev-edge", {"Far": parameter("/p")}, region="us-east-1")
    removed = named(old, ["Old", "Joined"])
    found = collisions(removed, [*named(same, ["New"]), *named(other, ["Moved"]), *named(elsewhere, ["Far"])])
    assert [(c.removed.logical_id, c.added.logical_id, c.added.name) for c in found] == [
        ("Old", "New", "/p"),
        ("Joined", "Moved", "/j"),
    ]
    cause = found[0].cause()
    assert "New would be created with the name '/p' that Old (ticketing-dev-data) holds" in cause
    assert "creates the new resource before it deletes the old one" in cause
    assert '"already exists"' in cause


def test_iam_names_are_one_namespace_across_regions_and_unresolved_names_are_not_compared() -> None:
    role = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "ticketing-dev-deployer"}}
    unknown = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::GetAtt": ["X", "Name"]}}}
    unnamed = {"Type": "AWS::IAM::Role", "Properties": {}}
    before = stack("a", {"Role": role, "Unknown": unknown, "Unnamed": unnamed})
    after = stack("b", {"Role2": role, "Unknown2": unknown, "Unnamed2": unnamed}, region="us-east-1")
    removed, added = named(before, ["Role", "Unknown", "Unnamed"]), named(after, ["Role2", "Unknown2", "Unnamed2"])
    assert [n.logical_id for n in removed] == ["Role", "Unknown"]  # the unnamed one gets a generated name
    assert [(c.removed.logical_id, c.added.logical_id) for c in collisions(removed, added)] == [("Role", "Role2")]


# --- property: a move collides exactly when a name leaves one logical ID and arrives at another -----------


def properties_naming(kind: str, name: str) -> dict[str, Any]:
    """Properties that give a resource of `kind` the name `name` (every part of a composite name)."""
    properties: dict[str, Any] = {}
    for index, path in enumerate(name_paths(kind)):
        node = properties
        *parents, last = path.split("/")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = f"{name}-{index}"
    return properties


resource_kinds = st.sampled_from(named_types())
names = st.sampled_from(["alpha", "beta", "gamma"])
logical_ids = st.sampled_from([f"Resource{index}" for index in range(8)])
stack_names = st.sampled_from(["ticketing-dev-data", "ticketing-dev-monitoring"])
Model = dict[tuple[str, str], tuple[str, str]]  # (stack, logical id) -> (type, name)
models = st.dictionaries(st.tuples(stack_names, logical_ids), st.tuples(resource_kinds, names), max_size=6)


def stacks_of(model: Model) -> dict[str, AssemblyStack]:
    by_stack: dict[str, dict[str, Any]] = {name: {} for name in ("ticketing-dev-data", "ticketing-dev-monitoring")}
    for (where, logical_id), (kind, name) in model.items():
        by_stack[where][logical_id] = {"Type": kind, "Properties": properties_naming(kind, name)}
    return {where: stack(where, resources) for where, resources in by_stack.items()}


@settings(max_examples=150, deadline=None)
@given(before=models, moves=st.dictionaries(st.tuples(stack_names, logical_ids), st.tuples(stack_names, logical_ids)),
       added=models)  # fmt: skip
def test_unsafe_exactly_when_a_name_moves_to_another_logical_id(before: Model, moves: Model, added: Model) -> None:
    after: Model = {key: value for key, value in before.items() if key not in moves}
    for source, target in moves.items():
        if source in before:
            after[target] = before[source]
    for key, value in added.items():
        after.setdefault(key, value)
    old, new = stacks_of(before), stacks_of(after)
    removed = [n for where, s in old.items() for n in named(s, {i for w, i in before if w == where} - {
        i for w, i in after if w == where})]  # fmt: skip
    arrived = [n for where, s in new.items() for n in named(s, {i for w, i in after if w == where} - {
        i for w, i in before if w == where})]  # fmt: skip
    found = {((c.removed.stack.name, c.removed.logical_id), (c.added.stack.name, c.added.logical_id))
             for c in collisions(removed, arrived)}  # fmt: skip
    expected = {
        (gone, came)
        for gone in set(before) - set(after)
        for came in set(after) - set(before)
        if before[gone] == after[came]
    }
    assert found == expected
