"""PythonFunction, the part DatabaseFunction and ScheduledFunction share: what it makes and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import (
    App,
    RemovalPolicy,
    Stack,
    assertions,
    aws_ec2 as ec2,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
)

from platform_constructs.python_function import FunctionNetwork, PythonFunction, send_traces, write_own_logs


def make(stack: Stack, *, network: FunctionNetwork | None = None, **overrides: Any) -> PythonFunction:
    key = stack.node.try_find_child("Key") or kms.Key(stack, "Key")
    assert isinstance(key, kms.Key)
    arguments: dict[str, Any] = {
        "code": lambda_.Code.from_inline("def handler(event, context): pass"),
        "runtime": lambda_.Runtime.PYTHON_3_13,
        "architecture": lambda_.Architecture.ARM_64,
        "description": "probe",
        "role_description": "runs the probe",
        "policy_description": "what the probe may do",
        "statements": [write_own_logs(stack, "/probe"), send_traces()],
        "log_group_id": "Logs",
        "log_group_name": "/probe",
        "log_retention": logs.RetentionDays.ONE_WEEK,
        "log_removal_policy": RemovalPolicy.DESTROY,
        "encryption_key": key,
        "log_streams_reason": "its own log group only",
        "no_reservation_reason": "one run at a time",
        "network": network,
        **overrides,
    }
    return PythonFunction(stack, "Probe", **arguments)


def probe_stack() -> Stack:
    return Stack(App(), "Probe", env={"account": "111111111111", "region": "ap-northeast-2"})


def test_children_are_made_on_the_construct_under_the_ids_given() -> None:
    stack = probe_stack()
    function = make(stack)
    # Role.without_policy_updates() adds "ImmutableRoleRole", a view of the role with no resource of its own.
    made = [child.node.id for child in function.node.children if child.node.id != "ImmutableRoleRole"]
    assert made == ["Logs", "Role", "Policy", "Function"]
    template = assertions.Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "TracingConfig": {"Mode": "Active"},
            "Architectures": ["arm64"],
            "MemorySize": 256,
            "Timeout": 300,
            "VpcConfig": assertions.Match.absent(),
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/probe", "RetentionInDays": 7, "KmsKeyId": assertions.Match.any_value()},
    )
    template.has_resource("AWS::Lambda::Function", {"DependsOn": assertions.Match.array_with([
        stack.resolve(function.policy.node.default_child.logical_id)  # type: ignore[union-attr]
    ])})  # fmt: skip


def test_in_a_network_it_runs_in_the_subnets_with_the_group() -> None:
    stack = probe_stack()
    isolated = ec2.SubnetType.PRIVATE_ISOLATED
    subnets = [ec2.SubnetConfiguration(name="isolated", subnet_type=isolated)]
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=subnets)
    group = ec2.SecurityGroup(stack, "Group", vpc=vpc)
    make(stack, network=FunctionNetwork(vpc, ec2.SubnetSelection(subnet_type=isolated), group))
    group_id = stack.resolve(group.security_group_id)
    assertions.Template.from_stack(stack).has_resource_properties(
        "AWS::Lambda::Function", {"VpcConfig": {"SecurityGroupIds": [group_id]}}
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"memory_size_mib": 64}, "memory_size_mib: must be between 128 and 10240, got 64"),
        ({"memory_size_mib": 10241}, "memory_size_mib: must be between 128 and 10240, got 10241"),
        ({"reserved_concurrency": 0}, "reserved_concurrency: must be between 1 and 1000, or None for no reservation"),
        ({"reserved_concurrency": 1001}, "reserved_concurrency: must be between 1 and 1000, or None"),
    ],
)
def test_what_lambda_would_refuse_is_refused_by_name(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(probe_stack(), **overrides)
