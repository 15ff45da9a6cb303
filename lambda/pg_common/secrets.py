"""Reading the master secret from Secrets Manager (the client is injected: boto3 in Lambda, moto in tests)."""

from __future__ import annotations

from typing import Any, Protocol

from pg_common.models import MasterSecret, secret_string_to_dict


class SecretsClient(Protocol):
    """The Secrets Manager calls the functions make (a boto3 ``secretsmanager`` client provides them)."""

    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]: ...


def get_secret_json(
    client: SecretsClient,
    secret_id: str,
    *,
    version_stage: str = "AWSCURRENT",
    version_id: str | None = None,
) -> dict[str, Any]:
    """The secret's JSON object at a stage (and, if given, a version)."""
    request: dict[str, Any] = {"SecretId": secret_id, "VersionStage": version_stage}
    if version_id is not None:
        request["VersionId"] = version_id
    response = client.get_secret_value(**request)
    return secret_string_to_dict(str(response["SecretString"]))


def read_master_secret(client: SecretsClient, secret_id: str) -> MasterSecret:
    """The current master credentials."""
    return MasterSecret.model_validate(get_secret_json(client, secret_id))
