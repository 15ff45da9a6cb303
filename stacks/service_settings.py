"""What a service container is given to reach the data tier: endpoints, its own identities, pool numbers.

No password, secret or shared token: a service logs in to PostgreSQL as its own role and to the cache
as its own user, both with IAM tokens its task role signs (15 minutes each), so nothing it holds goes
stale when credentials rotate. `attach_data_access(task_role)` gives the task role exactly that (the
data stack's per-service policy, found through SSM).

Endpoints are read from the SSM parameters the data stack publishes (named in
`platform_constructs.physical_names`), resolved by CloudFormation when the consuming stack deploys;
pool settings come from config. The variable names follow the seed's split: writes go to
DATABASE_WRITER_HOST (MASTER_URL), reads to one of DATABASE_REPLICA_HOSTS (REPLICA_URL), picked per
new connection: an IAM token is signed for one host name, so the weighted reader name cannot be used
with IAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam, aws_ssm as ssm
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.physical_names import (
    SERVICE_ACCESS_POLICY,
    DataParameter,
    cache_user,
    data_parameter_name,
    database_role,
    service_data_parameter_name,
)

#: Environment variable -> the SSM parameter holding its value (the same for every service).
ENDPOINT_VARIABLES: dict[str, DataParameter] = {
    "DATABASE_WRITER_HOST": DataParameter.DATABASE_WRITER_HOST,
    "DATABASE_PORT": DataParameter.DATABASE_PORT,
    "DATABASE_REPLICA_HOSTS": DataParameter.DATABASE_REPLICA_HOSTS,
    "DATABASE_REPLICA_PORT": DataParameter.DATABASE_READER_PORT,
    "REDIS_HOST": DataParameter.CACHE_PRIMARY_HOST,
    "REDIS_READER_HOST": DataParameter.CACHE_READER_HOST,
    "REDIS_PORT": DataParameter.CACHE_PORT,
    "REDIS_REPLICATION_GROUP_ID": DataParameter.CACHE_REPLICATION_GROUP_ID,
}


@dataclass(frozen=True)
class ContainerSettings:
    """Pass `environment` to `TaskDefinition.add_container`, and call `attach_data_access(task_role)`."""

    service: str
    environment: dict[str, str]
    access_policy_arn: str | None

    def attach_data_access(self, scope: Construct, task_role: iam.IRole) -> None:
        """Attach the data stack's policy for this service: IAM login as its role and its cache user only."""
        if self.access_policy_arn is None:
            return
        policy = iam.ManagedPolicy.from_managed_policy_arn(scope, f"{self.service}DataAccess", self.access_policy_arn)
        task_role.add_managed_policy(policy)


def data_tier_settings(scope: Construct, config: EnvironmentConfig, service: str) -> ContainerSettings:
    """Container environment of `service` (a key of config/services.toml); call once per service."""
    if service not in config.services:
        raise ValueError(f"data_tier_settings: {service!r} is not in config/services.toml ({sorted(config.services)})")
    env = config.name
    settings = config.services[service]

    def endpoint(parameter: DataParameter) -> str:
        return ssm.StringParameter.value_for_string_parameter(scope, data_parameter_name(env, parameter))

    pool = config.database.pool
    environment = {name: endpoint(parameter) for name, parameter in ENDPOINT_VARIABLES.items()}
    environment.update(
        {
            # Verify the server: the proxy and every replica present RDS certificates for their own names.
            "DATABASE_SSLMODE": "verify-full",
            "DATABASE_AUTH": "iam",
            "DB_POOL_MIN": str(pool.min_connections),
            "DB_POOL_MAX": str(pool.max_connections),
            "DB_POOL_SIZE": str(pool.pool_size),
            "DB_MAX_OVERFLOW": str(pool.max_overflow),
            "DB_POOL_TIMEOUT": str(pool.pool_timeout_seconds),
            "DB_POOL_RECYCLE": str(pool.pool_recycle_seconds),
            "DB_POOL_PRE_PING": "true" if pool.pre_ping else "false",
            "REDIS_TLS": "true",  # in-transit encryption is required by the replication group
            "AWS_REGION": config.region,  # what IAM tokens are signed for
        }
    )
    if settings.database:
        environment.update({"DATABASE_NAME": settings.database, "DATABASE_USER": database_role(service)})
    if settings.cache_key_prefixes:
        environment.update(
            {
                "REDIS_USER": cache_user(env, service),
                "REDIS_AUTH": "iam",
                "REDIS_KEY_PREFIXES": ",".join(settings.cache_key_prefixes),
            }
        )
    has_access = bool(settings.database or settings.cache_key_prefixes)
    policy_arn = (
        ssm.StringParameter.value_for_string_parameter(
            scope, service_data_parameter_name(env, service, SERVICE_ACCESS_POLICY)
        )
        if has_access
        else None
    )
    return ContainerSettings(service, environment, policy_arn)
