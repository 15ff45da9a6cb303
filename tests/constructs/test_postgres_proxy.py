"""The RDS Proxy (``proxy``): TLS, its pool, its role's policy, end-to-end IAM and its name."""

from __future__ import annotations

import json
import re

from aws_cdk import App, Duration, aws_backup as backup, aws_ec2 as ec2, aws_kms as kms
from aws_cdk.assertions import Template

from platform_constructs.postgres import BackupProps, InstanceProps, PostgresDatabase, ProxyProps
from platform_constructs.postgres.proxy import proxy_name
from platform_constructs.zoned_stack import ZonedStack
from tests.constructs.postgres_fixture import (
    ENV,
    ZONES,
    PostgresApp,
    fixture_vpc,
)


def test_proxy_requires_tls_and_pools_connections(postgres: PostgresApp) -> None:
    proxy = postgres.props(postgres.main.proxy)
    assert proxy["RequireTLS"] is True
    assert proxy["DebugLogging"] is False
    assert proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["Auth"][0]["AuthScheme"] == "SECRETS"
    assert proxy["Auth"][0]["IAMAuth"] == "DISABLED"
    assert proxy["VpcSecurityGroupIds"] == [postgres.sg_id(postgres.main.proxy_security_group)]
    # The name changes with the proxy's subnets (create-only), so a replacement never collides with itself.
    assert re.fullmatch(
        re.escape(postgres.props(postgres.main.primary)["DBInstanceIdentifier"]) + r"-proxy-[0-9a-f]{8}",
        proxy["DBProxyName"],
    )
    postgres.template.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "DBProxyName": {"Ref": postgres.id_of(postgres.main.proxy)},
            "DBInstanceIdentifiers": [{"Ref": postgres.id_of(postgres.main.primary)}],
            "ConnectionPoolConfigurationInfo": {
                "ConnectionBorrowTimeout": 30,
                "MaxConnectionsPercent": 90,
                "MaxIdleConnectionsPercent": 50,
            },
        },
    )
    postgres.template.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {
            "DBProxyName": {"Ref": postgres.id_of(postgres.small.proxy)},
            "ConnectionPoolConfigurationInfo": {
                "ConnectionBorrowTimeout": 10,
                "MaxConnectionsPercent": 75,
                "MaxIdleConnectionsPercent": 25,
            },
        },
    )
    # End-to-end IAM: clients authenticate with IAM tokens by default, and no secret is configured.
    assert postgres.props(postgres.small.proxy)["DefaultAuthScheme"] == "IAM_AUTH"
    assert "Auth" not in postgres.props(postgres.small.proxy)


def test_proxy_waits_for_its_secret_policy(postgres: PostgresApp) -> None:
    """Without the dependency CloudFormation may start the proxy before it may read the secret."""
    assert postgres.main.proxy_policy is not None
    policy_id = postgres.id_of(postgres.main.proxy_policy)
    assert policy_id in postgres.resource(postgres.main.proxy)["DependsOn"]


def test_proxy_reads_the_secret_through_a_managed_policy(postgres: PostgresApp) -> None:
    assert postgres.props(postgres.main.proxy)["RoleArn"] == {
        "Fn::GetAtt": [postgres.id_of(postgres.main.proxy_role), "Arn"]
    }
    postgres.template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "Roles": [{"Ref": postgres.id_of(postgres.main.proxy_role)}],
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                        "Effect": "Allow",
                        "Resource": {"Ref": postgres.id_of(postgres.main.secret)},
                    },
                    {
                        "Action": "kms:Decrypt",
                        "Effect": "Allow",
                        "Resource": postgres.key_arn(),
                        "Condition": {
                            "StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-2.amazonaws.com"}
                        },
                    },
                ]
            },
        },
    )
    roles = postgres.template.find_resources("AWS::IAM::Policy")
    assert all(
        {"Ref": postgres.id_of(postgres.main.proxy_role)} not in policy["Properties"]["Roles"]
        for policy in roles.values()
    )


def test_end_to_end_iam_proxy_holds_no_secret_and_may_log_in_as_its_users(postgres: PostgresApp) -> None:
    proxy = postgres.props(postgres.small.proxy)
    assert proxy["DefaultAuthScheme"] == "IAM_AUTH"
    assert all("SecretArn" not in auth for auth in proxy.get("Auth", [])), proxy.get("Auth")
    assert postgres.small.proxy_policy is not None
    statement = postgres.resource(postgres.small.proxy_policy)["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Action"] == "rds-db:connect"
    assert json.dumps({"Fn::GetAtt": [postgres.id_of(postgres.small.primary), "DbiResourceId"]}) in json.dumps(
        statement["Resource"]
    )
    assert json.dumps(statement["Resource"]).endswith('/app"]]}')
    assert postgres.id_of(postgres.small.proxy_policy) in postgres.resource(postgres.small.proxy)["DependsOn"]


def test_a_continuous_backup_plan_owns_the_retention_and_a_restore_keeps_the_proxy_name() -> None:
    """With BackupProps.retention_days=None the primary states no retention (AWS Backup's continuous rule owns
    it; RDS refuses another value from the template); a restored primary under a new identifier keeps the
    proxy's name when the caller passes the original one as ProxyProps.name_prefix."""
    names = []
    for identifier, snapshot in (("orders-db", None), ("orders-db-r1", "arn:aws:rds:ap-northeast-2:1:snapshot:s")):
        stack = ZonedStack(App(), "Restore", availability_zones=ZONES, env=ENV)
        database = PostgresDatabase(
            stack,
            "Postgres",
            vpc=fixture_vpc(stack),
            encryption_key=kms.Key(stack, "Key"),
            instance=InstanceProps(
                database_name="orders",
                instance_type=ec2.InstanceType("r7g.large"),
                identifier=identifier,
                snapshot_identifier=snapshot,
            ),
            backups=BackupProps(
                retention_days=None,
                plan=backup.BackupPlan(
                    stack,
                    "Plan",
                    backup_plan_rules=[
                        backup.BackupPlanRule(enable_continuous_backup=True, delete_after=Duration.days(7))
                    ],
                ),
            ),
            proxy=ProxyProps(name_prefix="orders-db"),
        )
        primary = Template.from_stack(stack).find_resources("AWS::RDS::DBInstance")
        (props,) = [r["Properties"] for r in primary.values()]
        assert props["DBInstanceIdentifier"] == identifier
        assert "BackupRetentionPeriod" not in props
        names.append(database.proxy_name)
    assert names[0] == names[1]
    assert re.fullmatch(r"orders-db-proxy-[0-9a-f]{8}", names[0])


def test_a_long_proxy_prefix_is_cut_without_leaving_a_double_hyphen() -> None:
    """RDS refuses a proxy name with two hyphens in a row or over 60 characters: the cut prefix loses a
    trailing hyphen."""
    stack = ZonedStack(App(), "LongProxy", availability_zones=ZONES, env=ENV)
    vpc = fixture_vpc(stack)
    prefix = "a" * 44 + "-" + "b" * 9  # 54 characters, a hyphen where the cut falls
    name = proxy_name(prefix, vpc, ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED))
    assert "--" not in name
    assert len(name) <= 60
    assert re.fullmatch(r"a{44}-proxy-[0-9a-f]{8}", name)
