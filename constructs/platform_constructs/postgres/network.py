"""The database's security groups: one each for the primary, the replicas, the proxy and the rotation function.

Every group denies outbound traffic by default. Callers never reach the primary itself: writers reach the
proxy, readers the replicas; the primary admits only the proxy and the rotation function (each part opens
its own way in when it is created).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from platform_constructs.postgres.engine import PROXY_PORT


@dataclass(frozen=True)
class SecurityGroups:
    """The four groups, and the connections callers are let in through."""

    primary: ec2.SecurityGroup
    reader: ec2.SecurityGroup
    proxy: ec2.SecurityGroup
    rotation: ec2.SecurityGroup
    #: Writing clients: the proxy, on its port.
    connections: ec2.Connections
    #: Reading clients: the replicas (the reader name resolves to them), on the instances' port.
    reader_connections: ec2.Connections


def create_security_groups(scope: Construct, vpc: ec2.IVpc, *, port: int) -> SecurityGroups:
    """The groups, created in `scope` (ids ``SecurityGroup``, ``ReaderSecurityGroup``, ``ProxySecurityGroup``,
    ``RotationSecurityGroup``). Only the rotation function may send: to the Secrets Manager endpoint."""
    primary = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description="PostgreSQL primary: only the RDS Proxy and the rotation function connect",
        allow_all_outbound=False,
    )
    reader = ec2.SecurityGroup(
        scope,
        "ReaderSecurityGroup",
        vpc=vpc,
        description="PostgreSQL read replicas: read-only clients connect here",
        allow_all_outbound=False,
    )
    proxy = ec2.SecurityGroup(
        scope,
        "ProxySecurityGroup",
        vpc=vpc,
        description="RDS Proxy in front of the PostgreSQL primary: writing clients connect here",
        allow_all_outbound=False,
    )
    rotation = ec2.SecurityGroup(
        scope,
        "RotationSecurityGroup",
        vpc=vpc,
        description="Secrets Manager hosted rotation function for the PostgreSQL master secret",
        allow_all_outbound=False,
    )
    # The rotation function calls the Secrets Manager API through the VPC's interface endpoint.
    rotation.add_egress_rule(
        ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "Secrets Manager endpoint in the VPC"
    )
    return SecurityGroups(
        primary=primary,
        reader=reader,
        proxy=proxy,
        rotation=rotation,
        connections=ec2.Connections(security_groups=[proxy], default_port=ec2.Port.tcp(PROXY_PORT)),
        reader_connections=ec2.Connections(security_groups=[reader], default_port=ec2.Port.tcp(port)),
    )
