"""The RDS Proxy: the writers' entry point, pooling connections in front of the primary.

The proxy logs in to the primary either with the master secret (clients then use passwords) or, with
``iam_users``, end to end with IAM as the same users the clients present tokens for; its role gets exactly
what that takes from a customer-managed policy (a versioned object auditors can review, NIST/PCI
IAMNoInlinePolicy), not the inline policy CDK would add.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import (
    Duration,
    Stack,
    Token,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_rds as rds,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs import limits
from platform_constructs.postgres.engine import RESERVED_USERNAMES, check_identifier, check_pg_name
from platform_constructs.postgres.iam_auth import dbi_resource_id, dbuser_arn
from platform_constructs.zoned_stack import select_subnets

DEFAULT_PROXY_BORROW_TIMEOUT = Duration.seconds(30)


@dataclass(frozen=True)
class ProxyProps:
    """The proxy's name, connection pool and how it logs in (each checked when the props are made).

    :param name_prefix: the proxy's name before ``-proxy-<digest of its subnets>`` (default: the primary's
        identifier). The name is create-only: pass the identifier the primary had before any restore, so that
        a restore (a new identifier) re-targets the proxy in place instead of replacing it, and clients keep
        its endpoint.
    :param borrow_timeout: how long the proxy waits for a free connection, 1 to 3600 s (default: 30 s, the
        services' pool timeout).
    :param max_connections_percent: share of ``max_connections`` the proxy may open, 1 to 100 (default: 90;
        the rest is for rotation, administrators and monitoring).
    :param max_idle_connections_percent: share of ``max_connections`` the proxy keeps idle, 0 to
        ``max_connections_percent`` (default: 50).
    :param iam_users: database users that log in through the proxy with IAM, end to end (default: None, the
        proxy logs in with the master secret and clients with passwords). With a list, the proxy holds no
        secret: clients present IAM tokens (``iam_auth`` required) and the proxy itself connects to the
        primary with IAM as the same user, which its role may do for exactly these users (``rds-db:connect``
        on the primary's ``dbuser`` ARNs). Each user must exist in the database and be granted ``rds_iam``.
    """

    name_prefix: str | None = None
    borrow_timeout: Duration = DEFAULT_PROXY_BORROW_TIMEOUT
    max_connections_percent: int = 90
    max_idle_connections_percent: int = 50
    iam_users: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.name_prefix is not None:
            check_identifier("ProxyProps.name_prefix", self.name_prefix)
        limits.PROXY_BORROW_TIMEOUT_SECONDS.check("ProxyProps.borrow_timeout", int(self.borrow_timeout.to_seconds()))
        limits.PROXY_MAX_CONNECTIONS_PERCENT.check("ProxyProps.max_connections_percent", self.max_connections_percent)
        if not 0 <= self.max_idle_connections_percent <= self.max_connections_percent:
            raise ValueError(
                f"ProxyProps.max_idle_connections_percent: must be between 0 and {self.max_connections_percent} "
                f"(max_connections_percent), got {self.max_idle_connections_percent}"
            )
        for user in self.iam_users or ():
            check_pg_name("ProxyProps.iam_users", user, RESERVED_USERNAMES)


@dataclass(frozen=True)
class Proxy:
    """The proxy, its name (its metrics' dimension, known at synthesis), its role and the role's policy
    (None when end-to-end IAM has no users yet)."""

    proxy: rds.DatabaseProxy
    name: str
    role: iam.Role
    policy: iam.ManagedPolicy | None


def proxy_name(base_identifier: str, vpc: ec2.IVpc, subnets: ec2.SubnetSelection) -> str:
    """``<prefix>-proxy-<digest of its subnets>``: a new name whenever the subnets change, never with a restore.

    A proxy's subnets are create-only, and its name is required and account-unique, so a fixed name
    would turn a subnet change into a failed replacement. The digest covers each subnet's zone and
    CIDR (both create-only on the subnet), which this app knows at synthesis.
    """
    selected = select_subnets(vpc, subnets)
    placement = sorted(
        f"{subnet.availability_zone}={subnet.ipv4_cidr_block}"
        for subnet in selected.subnets
        if not Token.is_unresolved(subnet.ipv4_cidr_block)
    )
    digest = hashlib.sha256("|".join(placement).encode()).hexdigest()[:8]
    # Cut to fit RDS's 60 characters; a cut that ends in a hyphen would make a double one, which RDS refuses.
    return f"{base_identifier[: 60 - len('-proxy-') - 8].rstrip('-')}-proxy-{digest}"


def _create_role(
    scope: Construct,
    props: ProxyProps,
    *,
    primary: rds.IDatabaseInstance,
    secret: secretsmanager.ISecret,
    encryption_key: kms.IKey,
) -> tuple[iam.Role, iam.ManagedPolicy | None]:
    """``ProxyRole`` and its customer-managed policy: log in with IAM as the given users
    (``ProxyConnectPolicy``), or read the master secret (``ProxySecretPolicy``)."""
    if props.iam_users is not None:
        role = iam.Role(
            scope,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description="Lets the RDS Proxy log in to the PostgreSQL primary with IAM as the service users",
        )
        if not props.iam_users:
            return role, None
        primary_id = dbi_resource_id(primary)
        policy = iam.ManagedPolicy(
            scope,
            "ProxyConnectPolicy",
            description="Log in to one PostgreSQL instance with IAM as the listed database users",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["rds-db:connect"],
                    resources=[dbuser_arn(scope, primary_id, user) for user in props.iam_users],
                )
            ],
        )
        return role, policy
    role = iam.Role(
        scope,
        "ProxyRole",
        assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
        description="Lets the RDS Proxy read the PostgreSQL master secret",
    )
    secret_policy = iam.ManagedPolicy(
        scope,
        "ProxySecretPolicy",
        description="Read one database secret and decrypt it through Secrets Manager",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secret.secret_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{Stack.of(scope).region}.amazonaws.com"}
                },
            ),
        ],
    )
    return role, secret_policy


def create_proxy(
    scope: Construct,
    props: ProxyProps,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    primary: rds.IDatabaseInstance,
    primary_identifier: str,
    replicas: Sequence[rds.IDatabaseInstance],
    secret: secretsmanager.ISecret,
    encryption_key: kms.IKey,
    security_group: ec2.ISecurityGroup,
    port: int,
) -> Proxy:
    """The proxy as ``Proxy`` in `scope`: TLS required, created once its policy and all replicas exist."""
    role, policy = _create_role(scope, props, primary=primary, secret=secret, encryption_key=encryption_key)
    name = proxy_name(props.name_prefix or primary_identifier, vpc, subnets)
    end_to_end_iam = props.iam_users is not None
    proxy = rds.DatabaseProxy(
        scope,
        "Proxy",
        proxy_target=rds.ProxyTarget.from_instance(primary),
        db_proxy_name=name,
        vpc=vpc,
        vpc_subnets=subnets,
        # End to end IAM: no secret at all. Otherwise the secret without its key: CDK would add a key-policy
        # statement naming the proxy role, created in the same deploy (an IAM propagation race); the managed
        # policy grants the decrypt.
        secrets=None
        if end_to_end_iam
        else [secretsmanager.Secret.from_secret_complete_arn(scope, "ProxySecret", secret.secret_arn)],
        default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH if end_to_end_iam else None,
        iam_auth=end_to_end_iam,
        role=role.without_policy_updates(),
        security_groups=[security_group],
        require_tls=True,
        borrow_timeout=props.borrow_timeout,
        max_connections_percent=props.max_connections_percent,
        max_idle_connections_percent=props.max_idle_connections_percent,
        debug_logging=False,
    )
    # The role gets its permissions from the managed policy, which CloudFormation would otherwise
    # attach in parallel: the proxy's first connection attempts would then fail to read the secret.
    if policy is not None:
        proxy.node.add_dependency(policy)
    # Registering the primary as the proxy's target is another operation on the primary: do it
    # once the replicas exist, for the same reason the replicas are created one by one.
    if replicas:
        proxy.node.add_dependency(replicas[-1])
    # Binding the proxy opened the primary to it on the instance's port attribute (a GetAtt).
    # Write the port literally, so the rules read as what they are and rule checks can read them.
    _literal_ports(scope, port)
    return Proxy(proxy=proxy, name=name, role=role, policy=policy)


def _literal_ports(scope: Construct, port: int) -> None:
    for child in scope.node.find_all():
        if isinstance(child, ec2.CfnSecurityGroupIngress | ec2.CfnSecurityGroupEgress) and (
            Token.is_unresolved(child.from_port) or Token.is_unresolved(child.to_port)
        ):
            child.from_port = port
            child.to_port = port
