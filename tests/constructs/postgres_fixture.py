"""The PostgresDatabase test app: one synthesised stack under every compliance pack, shared by the tests of
each part (``test_postgres_*.py``) through the session fixture ``postgres`` (tests/constructs/conftest.py).

The App holds two databases in one VPC and is synthesised once with the AwsSolutions, NIST 800-53 R5,
PCI DSS 3.2.1 and Serverless packs registered: any open finding fails the fixture.

- ``Postgres``: the defaults (Multi-AZ, port 5432, SNAPSHOT) with two read replicas on Graviton.
- ``Small``: no replicas, a single-AZ primary pinned to one zone, port 6543, IAM auth at the proxy,
  an AWS Backup plan, RETAIN, an explicit identifier, and the first database's reader zone.

``throwaway_database`` builds one more database in a stack of its own that is never synthesised, for the
checks that need a construct but no template.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    App,
    CfnElement,
    Duration,
    Environment,
    RemovalPolicy,
    Stack,
    aws_backup as backup,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_logs as logs,
)
from aws_cdk.assertions import Template
from constructs import Construct, IConstruct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.postgres import (
    BackupProps,
    InstanceProps,
    LogProps,
    MonitoringProps,
    ParameterProps,
    PostgresDatabase,
    ProxyProps,
    ReaderProps,
    ReplicaProps,
    RotationProps,
    StorageProps,
)
from platform_constructs.zoned_stack import ZonedStack
from stacks.compliance import register_compliance_packs
from stacks.platform_app import feature_flags

ZONES = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]
ENV = Environment(account="111111111111", region="ap-northeast-2")
DB_INSTANCE = "AWS::RDS::DBInstance"
STACK = "PostgresTest"
#: The primary every throwaway database starts from.
INSTANCE = InstanceProps(database_name="ticketing", instance_type=ec2.InstanceType("r7g.large"))


def fixture_vpc(scope: Construct) -> ec2.Vpc:
    """Three isolated subnets, nothing else: the fixture network, never deployed."""
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


def throwaway_database(scope: Construct, **props: Any) -> PostgresDatabase:
    """A valid database in a fresh throwaway stack, with `props` (keyword arguments of PostgresDatabase)
    applied; never synthesised."""
    stack = ZonedStack(scope, f"Throwaway{len(scope.node.children)}", availability_zones=ZONES, env=ENV)
    arguments: dict[str, Any] = {
        "vpc": fixture_vpc(stack),
        "encryption_key": kms.Key(stack, "Key"),
        "instance": INSTANCE,
    }
    arguments.update(props)
    return PostgresDatabase(stack, "Postgres", **arguments)


@dataclass
class PostgresApp:
    stack: Stack
    template: Template
    main: PostgresDatabase
    small: PostgresDatabase
    key: kms.Key
    vpc: ec2.Vpc
    client_sg: ec2.SecurityGroup
    app_role: iam.Role
    plan: backup.BackupPlan
    assembly_dir: Path
    template_json: dict[str, Any]

    def id_of(self, construct: IConstruct) -> str:
        """Logical ID of `construct` if it is an L1, else of its default child."""
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        assert isinstance(element, CfnElement), construct
        return self.stack.get_logical_id(element)

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        resource: dict[str, Any] = self.template_json["Resources"][self.id_of(construct)]
        return resource

    def props(self, construct: IConstruct) -> dict[str, Any]:
        props: dict[str, Any] = self.resource(construct)["Properties"]
        return props

    def sg_id(self, group: ec2.ISecurityGroup) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.id_of(group), "GroupId"]}

    def key_arn(self) -> dict[str, Any]:
        return {"Fn::GetAtt": [self.id_of(self.key), "Arn"]}


def build_postgres_app() -> PostgresApp:
    """The two databases in one stack, synthesised under every compliance pack."""
    # cdk.json's feature flags, so the template is what `cdk synth` would produce.
    app = App(context=feature_flags(), stack_traces=False)
    register_compliance_packs(app)
    stack = ZonedStack(app, STACK, availability_zones=ZONES, env=ENV)
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
            "Test fixture VPC of the PostgresDatabase unit tests; it is synthesised offline and never "
            "deployed, so it carries no traffic to log or restrict. The real VPC is PrivateNetwork."
        ),
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.RETAIN)
    plan = backup.BackupPlan.daily35_day_retention(stack, "BackupPlan")

    main = PostgresDatabase(
        stack,
        "Postgres",
        vpc=vpc,
        encryption_key=key,
        instance=INSTANCE,
        storage=StorageProps(allocated_gib=50, max_allocated_gib=200),
        replicas=ReplicaProps(count=2, instance_type=ec2.InstanceType("m7g.large")),
        backups=BackupProps(retention_days=14),
        parameters=ParameterProps(slow_query_threshold_ms=500, idle_in_transaction_timeout_ms=60_000),
        logs=LogProps(retention=logs.RetentionDays.ONE_YEAR),
    )
    small = PostgresDatabase(
        stack,
        "Small",
        vpc=vpc,
        encryption_key=key,
        instance=InstanceProps(
            database_name="events",
            instance_type=ec2.InstanceType("t4g.medium"),
            multi_az=False,
            availability_zone="ap-northeast-2b",
            port=6543,
            identifier="events-db",
            removal_policy=RemovalPolicy.RETAIN,
        ),
        backups=BackupProps(plan=plan),
        proxy=ProxyProps(
            iam_users=["app"],
            borrow_timeout=Duration.seconds(10),
            max_connections_percent=75,
            max_idle_connections_percent=25,
        ),
        monitoring=MonitoringProps(interval=Duration.seconds(15)),
        rotation=RotationProps(interval=Duration.days(7)),
        logs=LogProps(retention=logs.RetentionDays.ONE_MONTH),
        reader=ReaderProps(zone=main.read_endpoint_zone, name="events-reader"),
    )
    # The caller's decision, acknowledged where the caller makes it (as a dev stack would).
    acknowledge(
        small.primary,
        "AwsSolutions-RDS3",
        "NIST.800.53.R5-RDSMultiAZSupport",
        reason=(
            "Test fixture of a single-AZ primary pinned to one zone, which is what the reader and AZ "
            "placement tests need; it is never deployed."
        ),
    )

    client_sg = ec2.SecurityGroup(stack, "ClientSg", vpc=vpc, allow_all_outbound=False, description="A service")
    main.allow_from(client_sg)
    small.allow_from(client_sg)
    app_role = iam.Role(stack, "AppRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    main.grant_connect(app_role, "app")
    small.grant_connect(app_role, "app")
    acknowledge(
        app_role,
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
        reason=(
            "Test fixture role that only proves grant_connect writes the right rds-db:connect statements; "
            "the platform's task roles are built by the services stack."
        ),
    )

    assembly = app.synth()  # runs all four packs: raises ValidationFailed on any open finding
    template = Template.from_stack(stack)
    return PostgresApp(
        stack,
        template,
        main,
        small,
        key,
        vpc,
        client_sg,
        app_role,
        plan,
        Path(assembly.directory),
        dict(template.to_json()),
    )
