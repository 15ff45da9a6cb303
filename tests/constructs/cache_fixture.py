"""The RedisReplicationGroup test app: one synthesised stack under every compliance pack, shared by the tests
of each part (``test_redis_*.py``) through the session fixture ``cache`` (tests/constructs/conftest.py).

The App holds two replication groups (the defaults on Valkey, and Redis OSS with a caller-supplied JSON
secret, another port and SNAPSHOT) and is synthesised once with the AwsSolutions, NIST 800-53 R5,
PCI DSS 3.2.1 and Serverless packs registered: any open finding fails the fixture.

``throwaway_group`` builds one more group in a stack of its own that is never synthesised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    App,
    CfnElement,
    Environment,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
)
from aws_cdk.assertions import Template
from constructs import Construct, IConstruct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.redis import (
    AuthProps,
    EngineProps,
    LogProps,
    MaintenanceProps,
    NodeProps,
    RedisReplicationGroup,
)
from platform_constructs.zoned_stack import ZonedStack
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ZONES = ["ap-northeast-2a", "ap-northeast-2b"]
ENV = Environment(account="111111111111", region="ap-northeast-2")
REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
#: The nodes and logs every throwaway group starts from.
NODES = NodeProps(node_type="cache.r7g.large")
LOGS = LogProps(retention=logs.RetentionDays.ONE_MONTH)


def fixture_vpc(scope: Construct) -> ec2.Vpc:
    """Two isolated subnets, nothing else: the fixture network, never deployed."""
    return ec2.Vpc(
        scope,
        "Vpc",
        availability_zones=ZONES,
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24)
        ],
    )


def fixture_key(scope: Construct) -> kms.Key:
    return kms.Key(scope, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)


def throwaway_group(**props: Any) -> RedisReplicationGroup:
    """One group with `props` (keyword arguments of RedisReplicationGroup) in a throwaway stack (no synth)."""
    stack = ZonedStack(App(), "Throwaway", availability_zones=ZONES, env=ENV)
    arguments: dict[str, Any] = {
        "vpc": fixture_vpc(stack),
        "encryption_key": fixture_key(stack),
        "nodes": NODES,
        "logs": LOGS,
    }
    arguments.update(props)
    return RedisReplicationGroup(stack, "Cache", **arguments)


def auth_secret_of(group: RedisReplicationGroup) -> secretsmanager.ISecret:
    """The AUTH secret of a group built with one (the fixtures that use a token)."""
    assert group.auth_secret is not None
    return group.auth_secret


@dataclass
class CacheApp:
    stack: Stack
    template: Template
    valkey: RedisReplicationGroup
    redis: RedisReplicationGroup
    key: kms.Key
    client_sg: ec2.SecurityGroup
    external_secret: secretsmanager.Secret
    assembly_dir: Path

    def id_of(self, construct: IConstruct) -> str:
        """Logical ID of `construct` if it is an L1, else of its default child."""
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        assert isinstance(element, CfnElement), construct
        return self.stack.get_logical_id(element)

    def group(self, group: RedisReplicationGroup) -> dict[str, Any]:
        """`group`'s replication group as the template holds it."""
        resources = self.template.find_resources(REPLICATION_GROUP)
        return dict(resources[self.id_of(group.replication_group)])


def build_cache_app() -> CacheApp:
    """The two groups in one stack, synthesised under every compliance pack."""
    # cdk.json's feature flags, so the template is what `cdk synth` would produce.
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    stack = ZonedStack(app, "RedisTest", availability_zones=ZONES, env=ENV)
    vpc = fixture_vpc(stack)
    acknowledge(
        vpc,
        "AwsSolutions-VPC7",
        "NIST.800.53.R5-VPCFlowLogsEnabled",
        "PCI.DSS.321-VPCFlowLogsEnabled",
        "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
        "CloudFormation-Validate::W3010",
        reason=(
            "Test fixture VPC of the RedisReplicationGroup unit tests; it is synthesised offline and never "
            "deployed, so it carries no traffic to log or restrict. The real VPC is PrivateNetwork."
        ),
    )
    key = fixture_key(stack)

    valkey = RedisReplicationGroup(
        stack,
        "Cache",
        vpc=vpc,
        encryption_key=key,
        nodes=NodeProps(node_type="cache.r7g.large", replicas_per_node_group=2),
        logs=LogProps(retention=logs.RetentionDays.ONE_MONTH),
    )
    client_sg = ec2.SecurityGroup(stack, "ClientSg", vpc=vpc, allow_all_outbound=False, description="A client")
    valkey.connections.allow_default_port_from(client_sg)
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    valkey.grant_read_auth_secret(reader)
    acknowledge(
        reader,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
        reason=(
            "Test fixture role that only proves grant_read_auth_secret writes the right statements; "
            "the platform's task roles are built by the services stack."
        ),
    )

    external_secret = secretsmanager.Secret(
        stack,
        "ExternalSecret",
        encryption_key=key,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"user": "app"}),
            generate_string_key="token",
            exclude_punctuation=True,
            password_length=48,
        ),
    )
    acknowledge(
        external_secret,
        "AwsSolutions-SMG4",
        "NIST.800.53.R5-SecretsManagerRotationEnabled",
        "PCI.DSS.321-SecretsManagerRotationEnabled",
        reason=(
            "Test fixture secret standing in for a caller-supplied AUTH secret; it is never deployed, "
            "and only shows that the token is read from its JSON field."
        ),
    )
    redis = RedisReplicationGroup(
        stack,
        "LegacyCache",
        vpc=vpc,
        encryption_key=key,
        nodes=NodeProps(node_type="cache.t4g.small", port=6380),
        logs=LogProps(retention=logs.RetentionDays.ONE_WEEK),
        engine=EngineProps(engine="redis", maxmemory_policy="allkeys-lfu"),
        auth=AuthProps(secret=external_secret, secret_json_field="token"),
        maintenance=MaintenanceProps(
            snapshot_retention_days=35,
            snapshot_window="23:30-00:30",
            preferred_maintenance_window="mon:01:00-mon:02:00",
        ),
        removal_policy=RemovalPolicy.SNAPSHOT,
    )

    assembly = app.synth()  # runs all four packs: raises ValidationFailed on any open finding
    return CacheApp(
        stack, Template.from_stack(stack), valkey, redis, key, client_sg, external_secret, Path(assembly.directory)
    )
