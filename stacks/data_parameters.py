"""The contract between the data stack and the services: SSM parameter names.

The data stack writes its endpoints (and, per service, the ARN of the policy its task role attaches)
to SSM Parameter Store under `/ticketing/<env>/data/`; no secret is handed to the services.
Consumers resolve them at deploy time (`{{resolve:ssm:...}}`-style CloudFormation parameters), not
through CloudFormation exports, so the data stack can change an endpoint without first removing
every importing stack (export lock-in), and the services stack can be deployed, destroyed and
redeployed on its own.
"""

from __future__ import annotations

from enum import StrEnum


class DataParameter(StrEnum):
    """Each value is the parameter's path below `/ticketing/<env>/data/`."""

    DATABASE_WRITER_HOST = "database/writer-host"  # RDS Proxy endpoint: all writes
    DATABASE_READER_HOST = "database/reader-host"  # private DNS name spanning the read replicas
    DATABASE_PRIMARY_HOST = "database/primary-host"  # the instance itself: administration and the functions
    DATABASE_PORT = "database/port"  # the writer's port: RDS Proxy's
    DATABASE_READER_PORT = "database/reader-port"
    DATABASE_REPLICA_HOSTS = "database/replica-hosts"  # every replica's endpoint, comma-separated: IAM tokens per host
    DATABASE_NAME = "database/name"
    CACHE_PRIMARY_HOST = "cache/primary-host"
    CACHE_READER_HOST = "cache/reader-host"
    CACHE_PORT = "cache/port"
    CACHE_REPLICATION_GROUP_ID = "cache/replication-group-id"  # what an ElastiCache IAM token is signed for
    MAINTENANCE_FUNCTION_NAME = "maintenance/function-name"  # the monitoring stack's alarms watch its errors


def parameter_name(environment: str, parameter: DataParameter) -> str:
    return f"/ticketing/{environment}/data/{parameter.value}"


#: Per service: the ARN of the managed policy its task role attaches (IAM login to its role and cache user).
SERVICE_ACCESS_POLICY = "data-access-policy-arn"


def service_parameter_name(environment: str, service: str, name: str) -> str:
    """A per-service value: `/ticketing/<env>/data/services/<service>/<name>`."""
    return f"/ticketing/{environment}/data/services/{service}/{name}"
