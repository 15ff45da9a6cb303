"""The contract between the data stack and the services: SSM parameter names.

The data stack writes its endpoints and secret ARNs to SSM Parameter Store under
`/ticketing/<env>/data/`. Consumers resolve them at deploy time (`{{resolve:ssm:...}}`-style
CloudFormation parameters), not through CloudFormation exports, so the data stack can change
an endpoint without first removing every importing stack (export lock-in), and the services
stack can be deployed, destroyed and redeployed on its own.
"""

from __future__ import annotations

from enum import StrEnum


class DataParameter(StrEnum):
    """Each value is the parameter's path below `/ticketing/<env>/data/`."""

    DATABASE_WRITER_HOST = "database/writer-host"  # RDS Proxy endpoint: all writes
    DATABASE_READER_HOST = "database/reader-host"  # private DNS name spanning the read replicas
    DATABASE_PRIMARY_HOST = "database/primary-host"  # the instance itself: migrations, admin only
    DATABASE_PORT = "database/port"  # the writer's port: RDS Proxy's
    DATABASE_READER_PORT = "database/reader-port"
    DATABASE_NAME = "database/name"
    DATABASE_SECRET_ARN = "database/secret-arn"  # JSON: username, password, host, port, dbname
    CACHE_PRIMARY_HOST = "cache/primary-host"
    CACHE_READER_HOST = "cache/reader-host"
    CACHE_PORT = "cache/port"
    CACHE_AUTH_SECRET_ARN = "cache/auth-secret-arn"  # plain-text AUTH token
    ENCRYPTION_KEY_ARN = "encryption-key-arn"  # KMS key of both secrets: readers need kms:Decrypt on it


def parameter_name(environment: str, parameter: DataParameter) -> str:
    return f"/ticketing/{environment}/data/{parameter.value}"
