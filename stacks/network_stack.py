"""Network stack: the VPC every other stack of an environment lives in."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from config.schema import ISOLATED_SUBNET_MASK, PRIVATE_SUBNET_MASK, PUBLIC_SUBNET_MASK, EnvironmentConfig
from platform_constructs.log_retention import retention_from_days
from platform_constructs.network import PrivateNetwork
from stacks.platform_stack import PlatformStack


class NetworkStack(PlatformStack):
    """VPC over the configured AZs, NAT per config, endpoints, flow logs.

    Exposes ``network`` (the construct), ``vpc`` and ``service_security_group`` for the stacks
    that depend on it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.network = PrivateNetwork(
            self,
            "Network",
            cidr=config.network.vpc_cidr,
            availability_zones=config.availability_zones,
            nat_gateways=config.network.nat_gateways,
            flow_log_retention=retention_from_days(config.network.flow_log_retention_days),
            public_subnet_mask=PUBLIC_SUBNET_MASK,
            private_subnet_mask=PRIVATE_SUBNET_MASK,
            isolated_subnet_mask=ISOLATED_SUBNET_MASK,
        )
        self.vpc = self.network.vpc

        # The one security group every service task runs with. The data tier admits exactly this
        # group, so it lives here, below both the data and the services stacks.
        self.service_security_group = ec2.SecurityGroup(
            self,
            "ServiceSecurityGroup",
            vpc=self.vpc,
            description="Fargate tasks of the platform services - the data tier admits only this group",
            # Narrowed: HTTPS here (AWS APIs through the endpoints and the NAT, image layers from S3);
            # the data stack adds the database and cache ports towards exactly their security
            # groups, the services stack the container ports between the services.
            allow_all_outbound=False,
        )
        self.service_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS: AWS APIs, image pulls, external services"
        )
