"""Network stack: the VPC every other stack of an environment lives in, and the origin-header secret.

The secret lives here, below the services stack (destroyed and deployed again at will) and the edge
stack, which both read it by its fixed name (`physical_names.origin_header_secret_name`): the header CloudFront
sends survives a new services stack, and no cross-stack output carries it (docs/runbooks/origin-header.md).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ec2 as ec2, aws_secretsmanager as secretsmanager
from constructs import Construct

from config.edge import EDGE_REGION
from config.schema import ISOLATED_SUBNET_MASK, PRIVATE_SUBNET_MASK, PUBLIC_SUBNET_MASK, EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.log_retention import retention_from_days
from platform_constructs.network import PrivateNetwork
from platform_constructs.physical_names import origin_header_secret_name
from platform_constructs.protect_retained import kept_unless_disposable
from stacks.platform_stack import PlatformStack

#: The JSON key of the origin-header secret holding the header's value.
ORIGIN_SECRET_KEY = "value"
#: Letters and digits of a generated header value.
ORIGIN_SECRET_LENGTH = 48


class NetworkStack(PlatformStack):
    """VPC over the configured AZs, NAT per config, endpoints, flow logs.

    Exposes ``network`` (the construct), ``vpc`` and ``service_security_group`` for the stacks
    that depend on it, and ``origin_secret`` (named ``origin_secret_name``, replicated to us-east-1).
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

        self.origin_secret_name = origin_header_secret_name(config.name)
        self.origin_secret = self._origin_secret()

    def _origin_secret(self) -> secretsmanager.Secret:
        """The origin header's value: generated, never in a template, replicated to the edge's region.

        Kept when this stack is deleted or the secret replaced (staging, prod): the distribution keeps
        sending its value. Not kept from a failed create (`RetainExceptOnCreate`), so a retried first
        deploy does not find its fixed name taken. dev, torn down on purpose, deletes it: a retained
        fixed name would block dev's next deploy.
        """
        config = self.config
        key = customer_managed_key(
            self, "OriginHeaderKey", description=f"ticketing {config.name}: the origin header secret"
        )
        secret = secretsmanager.Secret(
            self,
            "OriginHeader",  # not the services stack's former OriginHeaderSecret: another secret, another value
            secret_name=self.origin_secret_name,
            description=f"ticketing {config.name}: value of the header CloudFront sends to the ALB",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key=ORIGIN_SECRET_KEY,
                exclude_punctuation=True,
                password_length=ORIGIN_SECRET_LENGTH,
            ),
            # The replica keeps the name: the edge stack resolves it by name in us-east-1.
            replica_regions=[secretsmanager.ReplicaRegion(region=EDGE_REGION)]
            if config.region != EDGE_REGION
            else None,
            removal_policy=kept_unless_disposable(config.is_disposable),
        )
        acknowledge(
            secret.node.default_child or secret,
            "AwsSolutions-SMG4",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "PCI.DSS.321-SecretsManagerRotationEnabled",
            reason="The origin header value is changed by the procedure in the README (the listener accepts the "
            "previous value meanwhile); a rotation Lambda would change it under a distribution that still sends "
            "the old value",
        )
        return secret
