"""Credential rotation: the master password rotated on a schedule, by the caller's single-user rotation
function or by Secrets Manager's hosted one.

The hosted function is created at deploy time by the ``AWS::SecretsManager-2024-09-16`` transform, so
synthesis needs no Lambda asset or Docker. Either function runs in the database's subnets with its own
security group, and needs a Secrets Manager interface endpoint reachable on 443 from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import (
    Duration,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_rds as rds,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs import limits
from platform_constructs.database_function import DatabaseFunction
from platform_constructs.postgres.engine import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME
from platform_constructs.postgres.log_groups import LogProps

DEFAULT_CREDENTIAL_ROTATION = Duration.days(30)


@dataclass(frozen=True)
class RotationProps:
    """How often the master password is rotated, and by which function (checked when the props are made).

    :param interval: rotation interval, 1 to 365 days (default: 30).
    :param code: code of a single-user rotation function of the caller's (handler ``index.handler``, Python
        3.14 on ARM64), run in the database's subnets with its rotation security group, with ``environment``,
        permission to read, stage and write the master secret and to generate a password (default: None,
        Secrets Manager's hosted rotation function). A schedule change never rotates at deploy time.
    :param environment: environment variables of that function (default: none).
    :param reserved_concurrency: reserved concurrency of that function (default: None, no reservation:
        Secrets Manager already runs one rotation of a secret at a time).
    """

    interval: Duration = DEFAULT_CREDENTIAL_ROTATION
    code: lambda_.Code | None = None
    environment: Mapping[str, str] | None = None
    reserved_concurrency: int | None = None

    def __post_init__(self) -> None:
        days = self.interval.to_seconds() / 86_400
        rotation = limits.CREDENTIAL_ROTATION_DAYS
        if not rotation.low <= days <= rotation.high:
            raise ValueError(
                f"RotationProps.interval: must be between {rotation.low} and {rotation.high} days, got {days:g} days"
            )


@dataclass(frozen=True)
class Rotation:
    """The schedule, and the caller's function when one was given (None for the hosted one)."""

    schedule: secretsmanager.RotationSchedule
    function: DatabaseFunction | None


def rotate_credentials(
    scope: Construct,
    props: RotationProps,
    *,
    vpc: ec2.IVpc,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    secret: secretsmanager.ISecret,
    primary: rds.IDatabaseInstance,
    primary_identifier: str,
    port: int,
    encryption_key: kms.IKey,
    logs: LogProps,
) -> Rotation:
    """Single-user rotation (``RotationSchedule``, and ``RotationFunction`` when the caller gives code), allowed
    to reach the primary on its port."""
    function: DatabaseFunction | None = None
    if props.code is None:
        schedule = secret.add_rotation_schedule(
            "RotationSchedule",
            automatically_after=props.interval,
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                vpc=vpc, vpc_subnets=subnets, security_groups=[security_group]
            ),
        )
    else:
        region = Stack.of(scope).region
        function = DatabaseFunction(
            scope,
            "RotationFunction",
            code=props.code,
            runtime=FUNCTION_RUNTIME,
            architecture=FUNCTION_ARCHITECTURE,
            description=f"Rotates the master password of {primary_identifier} (single user)",
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            secret=secret,
            encryption_key=encryption_key,
            log_group_name=f"/{primary_identifier}/secret-rotation",
            log_retention=logs.retention,
            log_removal_policy=logs.removal_policy,
            environment=props.environment,
            reserved_concurrency=props.reserved_concurrency,
            timeout=Duration.minutes(1),
            extra_statements=[
                iam.PolicyStatement(
                    actions=["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
                    resources=[secret.secret_arn],
                ),
                iam.PolicyStatement(actions=["secretsmanager:GetRandomPassword"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["kms:Encrypt", "kms:GenerateDataKey"],
                    resources=[encryption_key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
                ),
            ],
        )
        # The schedule sees the secret without its key: given the key, aws-cdk-lib would add a key-policy
        # statement naming the function's role, created in the same deploy (an IAM propagation race).
        # The function's managed policy already grants the decrypt and encrypt through Secrets Manager.
        schedule = secretsmanager.RotationSchedule(
            scope,
            "RotationSchedule",
            secret=secretsmanager.Secret.from_secret_complete_arn(scope, "RotatedSecret", secret.secret_arn),
            automatically_after=props.interval,
            rotation_lambda=function.function,
            rotate_immediately_on_update=False,
        )
        _invoked_by_secrets_manager_for(function.function, secret.secret_arn)
    primary.connections.allow_from(security_group, ec2.Port.tcp(port), "Secrets Manager rotation function")
    return Rotation(schedule=schedule, function=function)


def _invoked_by_secrets_manager_for(function: lambda_.Function, secret_arn: str) -> None:
    """Secrets Manager may invoke the rotation function only for this account's secret: it sends both keys
    when it invokes a rotation function (Secrets Manager's "Permissions for rotation"), and the function
    rotates this one secret only."""
    permissions = [
        child
        for child in function.node.children
        if isinstance(child, lambda_.CfnPermission) and child.principal == "secretsmanager.amazonaws.com"
    ]
    if len(permissions) != 1:
        raise RuntimeError("rotation: expected one permission for Secrets Manager")  # pragma: no cover
    permissions[0].source_account = Stack.of(function).account
    permissions[0].source_arn = secret_arn
