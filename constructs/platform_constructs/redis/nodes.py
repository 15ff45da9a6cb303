"""The nodes: their type, how many replicas, where they run and the port they listen on."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Token, aws_ec2 as ec2, aws_elasticache as elasticache
from constructs import Construct

from platform_constructs import limits
from platform_constructs.accepted_values import CACHE_NODE_FAMILIES
from platform_constructs.zoned_stack import select_subnets

#: Graviton families that ElastiCache offers for Valkey/Redis OSS today. Older x86 (m4/m5/r4/r5/t2/t3)
#: generations are refused: they cost more per GiB and miss engine features (e.g. enhanced I/O).
ALLOWED_NODE_FAMILIES: tuple[str, ...] = CACHE_NODE_FAMILIES
#: ElastiCache allows at most five read replicas per node group (shard).
MAX_REPLICAS_PER_NODE_GROUP = limits.CACHE_REPLICAS.high

_NODE_TYPE_PATTERN = re.compile(r"^cache\.(?P<family>[a-z0-9]+)\.(?P<size>micro|small|medium|large|\d*xlarge)$")


@dataclass(frozen=True)
class NodeProps:
    """The group's one shard: a primary and its replicas (checked when the props are made).

    :param node_type: ``cache.<family>.<size>`` of a current Graviton family (see ``ALLOWED_NODE_FAMILIES``),
        e.g. ``cache.r7g.large``.
    :param replicas_per_node_group: read replicas next to the primary, 1 to 5 (default 1). At least one is
        required because automatic failover promotes a replica.
    :param multi_az: place replicas in other AZs than the primary and fail over across AZs (default True).
        Needs subnets in at least two AZs.
    :param port: TCP port of the endpoints (default 6379), 1024 to 65535.
    """

    node_type: str
    replicas_per_node_group: int = 1
    multi_az: bool = True
    port: int = 6379

    def __post_init__(self) -> None:
        node_type_match = _NODE_TYPE_PATTERN.fullmatch(self.node_type)
        if node_type_match is None:
            raise ValueError(
                f"NodeProps.node_type: expected 'cache.<family>.<size>', e.g. 'cache.r7g.large', got {self.node_type!r}"
            )
        if node_type_match["family"] not in ALLOWED_NODE_FAMILIES:
            raise ValueError(
                f"NodeProps.node_type: family {node_type_match['family']!r} of {self.node_type!r} is not allowed; "
                f"allowed families (current-generation Graviton): {list(ALLOWED_NODE_FAMILIES)}"
            )
        if self.replicas_per_node_group < limits.CACHE_REPLICAS.low:
            raise ValueError(
                f"NodeProps.replicas_per_node_group: must be at least 1 (automatic failover promotes a replica), "
                f"got {self.replicas_per_node_group}"
            )
        if self.replicas_per_node_group > MAX_REPLICAS_PER_NODE_GROUP:
            raise ValueError(
                f"NodeProps.replicas_per_node_group: ElastiCache allows at most {MAX_REPLICAS_PER_NODE_GROUP} "
                f"replicas per node group, got {self.replicas_per_node_group}"
            )
        limits.CACHE_PORT.check("NodeProps.port", self.port)


def node_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection | None, props: NodeProps) -> ec2.SelectedSubnets:
    """The nodes' subnets (default: PRIVATE_ISOLATED); Multi-AZ needs them in at least two AZs."""
    selection = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    selected = select_subnets(vpc, selection)
    zones = selected.availability_zones
    if props.multi_az and not any(Token.is_unresolved(zone) for zone in zones) and len(set(zones)) < 2:
        raise ValueError(
            f"NodeProps.multi_az: needs subnets in at least 2 availability zones, got {sorted(set(zones))}"
        )
    return selected


# While the replication group is retained, the subnet group and the security group must stay: CloudFormation
# could not delete them while the group uses them. Hence the removal policy each takes.
def create_subnet_group(
    scope: Construct, selected: ec2.SelectedSubnets, label: str, removal_policy: RemovalPolicy
) -> elasticache.CfnSubnetGroup:
    """The nodes' subnets as ``SubnetGroup``."""
    subnet_group = elasticache.CfnSubnetGroup(
        scope,
        "SubnetGroup",
        description=f"Subnets of the {label} replication group {scope.node.path}",
        subnet_ids=selected.subnet_ids,
    )
    subnet_group.apply_removal_policy(removal_policy)
    return subnet_group


def create_security_group(scope: Construct, vpc: ec2.IVpc, removal_policy: RemovalPolicy) -> ec2.SecurityGroup:
    """``SecurityGroup`` with no rules at all: peers are granted ingress through ``connections``; nodes never
    send first."""
    security_group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        # Engine-neutral: changing a security group's description replaces it.
        description=f"ElastiCache replication group {scope.node.path}; ingress only from granted peers",
        allow_all_outbound=False,
    )
    security_group.apply_removal_policy(removal_policy)
    return security_group
