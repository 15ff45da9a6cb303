"""A Stack whose availability zones are given, never looked up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Stack, aws_ec2 as ec2
from constructs import Construct


class ZonedStack(Stack):
    """`Stack.availability_zones` returns ``availability_zones`` instead of a context lookup.

    A Stack with an explicit account and region otherwise asks AWS for its zones at synthesis
    (or emits placeholders such as ``dummy1a`` without credentials). Any VPC in this stack
    created with the same zones then synthesises offline and deterministically.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, availability_zones: Sequence[str], **kwargs: Any
    ) -> None:
        if not availability_zones:
            raise ValueError("availability_zones: give at least one zone name, e.g. ['ap-northeast-2a']")
        self._zones = list(availability_zones)
        super().__init__(scope, construct_id, **kwargs)

    @property
    def availability_zones(self) -> list[str]:
        return list(self._zones)


def select_subnets(vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """`vpc.select_subnets` for a SubnetSelection object (the Python binding takes keywords only).

    The result's ``availability_zones`` may hold tokens for imported VPCs.
    """
    return vpc.select_subnets(
        availability_zones=subnets.availability_zones,
        one_per_az=subnets.one_per_az,
        subnet_filters=subnets.subnet_filters,
        subnet_group_name=subnets.subnet_group_name,
        subnets=subnets.subnets,
        subnet_type=subnets.subnet_type,
    )
