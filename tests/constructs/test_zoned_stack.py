"""ZonedStack: explicit availability zones instead of a context lookup."""

from __future__ import annotations

import json

import pytest
from aws_cdk import App, Environment, assertions, aws_ec2 as ec2

from platform_constructs.zoned_stack import ZonedStack, select_subnets

ENV = Environment(account="111111111111", region="ap-northeast-2")


def test_vpc_uses_the_given_zones_without_a_lookup() -> None:
    app = App()
    stack = ZonedStack(app, "Zoned", availability_zones=["ap-northeast-2a", "ap-northeast-2c"], env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=3)
    assert stack.availability_zones == ["ap-northeast-2a", "ap-northeast-2c"]
    assert sorted({subnet.availability_zone for subnet in vpc.private_subnets}) == [
        "ap-northeast-2a",
        "ap-northeast-2c",
    ]
    isolated = select_subnets(vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS))
    assert isolated.availability_zones == ["ap-northeast-2a", "ap-northeast-2c"]
    template = json.dumps(assertions.Template.from_stack(stack).to_json())
    assert "dummy" not in template  # no placeholder zones from a failed lookup
    assert "Fn::GetAZs" not in template


def test_zones_are_required() -> None:
    with pytest.raises(ValueError, match=r"availability_zones: give at least one zone name"):
        ZonedStack(App(), "Zoned", availability_zones=[], env=ENV)
