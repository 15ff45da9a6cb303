"""The nodes' network (``nodes``): the security group, who it admits, the subnets."""

from __future__ import annotations

import json

from aws_cdk import aws_ec2 as ec2

from platform_constructs.redis import NodeProps
from tests.constructs.cache_fixture import (
    NODES,
    CacheApp,
    throwaway_group,
)


def test_security_group_has_no_open_ingress_and_no_egress(cache: CacheApp) -> None:
    sg_id = cache.id_of(cache.valkey.security_group)
    props = cache.template.find_resources("AWS::EC2::SecurityGroup")[sg_id]["Properties"]
    assert "SecurityGroupIngress" not in props
    # CDK's placeholder rule for "no egress at all".
    assert props["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    template = json.dumps(cache.template.to_json())
    assert "0.0.0.0/0" not in template
    assert "::/0" not in template


def test_allow_default_port_from_opens_only_the_port_to_the_given_group(cache: CacheApp) -> None:
    sg_id = cache.id_of(cache.valkey.security_group)
    ingress = [
        resource["Properties"]
        for resource in cache.template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if resource["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
    ]
    assert len(ingress) == 1
    rule = ingress[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 6379, 6379)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [cache.id_of(cache.client_sg), "GroupId"]}
    assert "CidrIp" not in rule
    assert cache.redis.connections.default_port is not None
    assert cache.redis.connections.default_port.to_string() == "6380"


def test_subnet_group_uses_the_isolated_subnets(cache: CacheApp) -> None:
    vpc = cache.stack.node.find_child("Vpc")
    assert isinstance(vpc, ec2.Vpc)
    expected = [{"Ref": cache.id_of(subnet)} for subnet in vpc.isolated_subnets]
    cache.template.has_resource_properties("AWS::ElastiCache::SubnetGroup", {"SubnetIds": expected})


def test_single_zone_is_fine_without_multi_az() -> None:
    group = throwaway_group(
        nodes=NodeProps(node_type=NODES.node_type, multi_az=False),
        subnets=ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, availability_zones=["ap-northeast-2a"]
        ),
    )
    assert group.replication_group.multi_az_enabled is False
