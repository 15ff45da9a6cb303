"""What every service container is given to reach the data tier.

Endpoints are read from the SSM parameters the data stack publishes (see data_parameters.py),
resolved by CloudFormation when the consuming stack deploys; pool settings come from config;
credentials are ECS secrets (fetched by the ECS agent at task start), never plain variables.
The variable names follow the seed's split: writes go to DATABASE_WRITER_HOST (MASTER_URL),
reads to DATABASE_READER_HOST (REPLICA_URL).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ecs as ecs, aws_iam as iam, aws_secretsmanager as secretsmanager, aws_ssm as ssm
from constructs import Construct

from config.schema import EnvironmentConfig
from stacks.data_parameters import DataParameter, parameter_name

#: Environment variable -> the SSM parameter holding its value.
ENDPOINT_VARIABLES: dict[str, DataParameter] = {
    "DATABASE_WRITER_HOST": DataParameter.DATABASE_WRITER_HOST,
    "DATABASE_READER_HOST": DataParameter.DATABASE_READER_HOST,
    "DATABASE_PORT": DataParameter.DATABASE_PORT,
    "DATABASE_READER_PORT": DataParameter.DATABASE_READER_PORT,
    "DATABASE_NAME": DataParameter.DATABASE_NAME,
    "REDIS_HOST": DataParameter.CACHE_PRIMARY_HOST,
    "REDIS_READER_HOST": DataParameter.CACHE_READER_HOST,
    "REDIS_PORT": DataParameter.CACHE_PORT,
}


@dataclass(frozen=True)
class ContainerSettings:
    """Pass `environment` and `secrets` to `TaskDefinition.add_container` (ECS then grants the
    execution role read access to the secrets), and call `grant_decrypt(task_definition)`."""

    environment: dict[str, str]
    secrets: dict[str, ecs.Secret]
    encryption_key_arn: str
    region: str

    def grant_decrypt(self, task_definition: ecs.TaskDefinition) -> None:
        """Let the execution role decrypt the secrets' KMS key, through Secrets Manager only.

        Without it the ECS agent cannot fetch the secrets and tasks fail to start. (An imported
        key's own grant methods add nothing here: its account is unknown at synth time.)
        """
        task_definition.add_to_execution_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self.encryption_key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}},
            )
        )


def data_tier_settings(scope: Construct, config: EnvironmentConfig) -> ContainerSettings:
    """Container environment and secrets for one service; call once per consuming stack."""
    env = config.name

    def endpoint(parameter: DataParameter) -> str:
        return ssm.StringParameter.value_for_string_parameter(scope, parameter_name(env, parameter))

    pool = config.database.pool
    environment = {name: endpoint(parameter) for name, parameter in ENDPOINT_VARIABLES.items()}
    environment.update(
        {
            "DATABASE_SSLMODE": "require",  # the proxy and rds.force_ssl refuse plain connections
            "DB_POOL_MIN": str(pool.min_connections),
            "DB_POOL_MAX": str(pool.max_connections),
            "DB_POOL_SIZE": str(pool.pool_size),
            "DB_MAX_OVERFLOW": str(pool.max_overflow),
            "DB_POOL_TIMEOUT": str(pool.pool_timeout_seconds),
            "DB_POOL_RECYCLE": str(pool.pool_recycle_seconds),
            "DB_POOL_PRE_PING": "true" if pool.pre_ping else "false",
            "REDIS_TLS": "true",  # in-transit encryption is required by the replication group
        }
    )

    database_secret = secretsmanager.Secret.from_secret_complete_arn(
        scope, "DatabaseSecret", endpoint(DataParameter.DATABASE_SECRET_ARN)
    )
    cache_auth_secret = secretsmanager.Secret.from_secret_complete_arn(
        scope, "CacheAuthSecret", endpoint(DataParameter.CACHE_AUTH_SECRET_ARN)
    )
    secrets = {
        "DATABASE_USERNAME": ecs.Secret.from_secrets_manager(database_secret, "username"),
        "DATABASE_PASSWORD": ecs.Secret.from_secrets_manager(database_secret, "password"),
        "REDIS_AUTH_TOKEN": ecs.Secret.from_secrets_manager(cache_auth_secret),
    }
    return ContainerSettings(environment, secrets, endpoint(DataParameter.ENCRYPTION_KEY_ARN), config.region)
