"""Secrets Manager single-user rotation of the PostgreSQL master password.

Event (from Secrets Manager): ``SecretId``, ``ClientRequestToken`` (the version being rotated in),
``Step``: ``createSecret`` | ``setSecret`` | ``testSecret`` | ``finishSecret``. Any other step, a
missing key, or a token that is not staged ``AWSPENDING`` raises before anything changes.

Environment: ``CA_FILE``, the CA bundle path in the package: connections require TLS and a
certificate valid for the secret's ``host``.

The secret is the RDS master secret (JSON: ``username``, ``password``, ``host``, ``port``, ``dbname``;
other keys are carried over unchanged). Each step can run again without harm:

- createSecret: stores a new random password as the AWSPENDING version, unless that version already
  has a value.
- setSecret: logs in with the AWSCURRENT password and runs ``ALTER ROLE ... PASSWORD``; if that
  password no longer works but the pending one does, the step was already done. The password is
  sent as a SCRAM-SHA-256 verifier computed here, so its clear text never reaches the server or
  its statement log.
- testSecret: logs in with the pending password.
- finishSecret: moves AWSCURRENT to the new version. It is the only step that touches AWSCURRENT,
  so a failure in any earlier step leaves the current password in the secret and on the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from typing import Any, Literal, Protocol

import boto3  # type: ignore[import-untyped]
import pg_common
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from pg_common import (
    INVALID_PASSWORD,
    Connection,
    DatabaseError,
    MasterSecret,
    get_secret_json,
    quote_ident,
    quote_literal,
    scalar,
    sqlstate,
)
from pydantic import BaseModel, ConfigDict, Field

SERVICE = "secret-rotation"
#: Characters that break connection strings and URIs, or need quoting in shells and JSON.
EXCLUDE_CHARACTERS = '/@"\\ '
PASSWORD_LENGTH = 32
#: PostgreSQL's default ``scram_iterations``.
SCRAM_ITERATIONS = 4096
CONNECT_TIMEOUT_SECONDS = 10.0

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)


class RotationError(Exception):
    """A step cannot complete; AWSCURRENT is left where it is."""


class RotationEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    secret_id: str = Field(alias="SecretId", min_length=1)
    token: str = Field(alias="ClientRequestToken", min_length=32, max_length=64)
    step: Literal["createSecret", "setSecret", "testSecret", "finishSecret"] = Field(alias="Step")


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    ca_file: str = Field(alias="CA_FILE", min_length=1)


class DatabaseCredentials(MasterSecret):
    """The master secret with the endpoint it belongs to (rotation connects to ``host``)."""

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class SecretsManagerClient(Protocol):
    """The Secrets Manager calls rotation makes (a boto3 ``secretsmanager`` client provides them)."""

    def describe_secret(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]: ...
    def put_secret_value(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_random_password(self, **kwargs: Any) -> dict[str, Any]: ...
    def update_secret_version_stage(self, **kwargs: Any) -> dict[str, Any]: ...


class Connect(Protocol):
    """``pg_common.connect``'s signature, so tests may wrap it."""

    def __call__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        database: str,
        *,
        ca_file: str | None,
        timeout_seconds: float | None = ...,
        application_name: str | None = ...,
    ) -> Connection: ...


def scram_sha_256_verifier(password: str, *, iterations: int = SCRAM_ITERATIONS, salt: bytes | None = None) -> str:
    """The verifier PostgreSQL stores for ``password`` (as libpq's PQencryptPasswordConn computes it).

    PostgreSQL normalises non-ASCII passwords with SASLprep first; generated passwords are ASCII,
    and anything else is refused rather than stored under a different normalisation.
    """
    if not password.isascii():
        raise RotationError("the pending password contains non-ASCII characters; generate an ASCII password")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


class Rotation:
    """The four steps for one secret version; ``run`` checks the version's stage, then does the step."""

    def __init__(
        self, event: RotationEvent, client: SecretsManagerClient, *, ca_file: str | None, connect: Connect
    ) -> None:
        self.event = event
        self.client = client
        self.ca_file = ca_file
        self.connect = connect

    def run(self) -> str:
        """Do the event's step; returns what was done, for the log."""
        stages = self.client.describe_secret(SecretId=self.event.secret_id).get("VersionIdsToStages", {})
        token = self.event.token
        if token not in stages:
            raise RotationError(f"version {token} of the secret has no stage: this is not a rotation in progress")
        if "AWSCURRENT" in stages[token]:
            return f"version {token} is already AWSCURRENT; nothing to do"
        if "AWSPENDING" not in stages[token]:
            raise RotationError(f"version {token} is not staged AWSPENDING (stages: {stages[token]})")
        steps = {
            "createSecret": self.create_secret,
            "setSecret": self.set_secret,
            "testSecret": self.test_secret,
            "finishSecret": self.finish_secret,
        }
        return steps[self.event.step]()

    # --- steps ---

    def create_secret(self) -> str:
        current = get_secret_json(self.client, self.event.secret_id)
        DatabaseCredentials.model_validate(current)  # a rotation needs a usable current secret
        try:
            get_secret_json(self.client, self.event.secret_id, version_stage="AWSPENDING", version_id=self.event.token)
            return "the pending version already has a password"
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        password = self.client.get_random_password(
            PasswordLength=PASSWORD_LENGTH, ExcludeCharacters=EXCLUDE_CHARACTERS, RequireEachIncludedType=True
        )["RandomPassword"]
        self.client.put_secret_value(
            SecretId=self.event.secret_id,
            ClientRequestToken=self.event.token,
            SecretString=json.dumps({**current, "password": password}),
            VersionStages=["AWSPENDING"],
        )
        return "stored a new password as AWSPENDING"

    def set_secret(self) -> str:
        current = self._credentials("AWSCURRENT")
        pending = self._credentials("AWSPENDING")
        if (pending.username, pending.host, pending.port) != (current.username, current.host, current.port):
            raise RotationError(
                "single-user rotation changes only the password; the pending version differs in user or endpoint"
            )
        connection = self._login(current)
        if connection is None:
            already = self._login(pending)
            if already is None:
                raise RotationError(
                    f"neither the current nor the pending password logs in as {current.username}; nothing was changed"
                )
            already.close()
            return "the pending password is already set"
        try:
            verifier = scram_sha_256_verifier(pending.password.get_secret_value())
            connection.run(f"ALTER ROLE {quote_ident(current.username)} PASSWORD {quote_literal(verifier)}")
        finally:
            connection.close()
        return f"set the pending password for {current.username}"

    def test_secret(self) -> str:
        pending = self._credentials("AWSPENDING")
        connection = self._open(pending)
        try:
            user = scalar(connection, "SELECT current_user")
        finally:
            connection.close()
        if user != pending.username:
            raise RotationError(f"the pending secret logged in as {user}, expected {pending.username}")
        return f"the pending password logs in as {pending.username}"

    def finish_secret(self) -> str:
        stages = self.client.describe_secret(SecretId=self.event.secret_id).get("VersionIdsToStages", {})
        current_version = next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)
        request: dict[str, Any] = {
            "SecretId": self.event.secret_id,
            "VersionStage": "AWSCURRENT",
            "MoveToVersionId": self.event.token,
        }
        if current_version is not None:
            request["RemoveFromVersionId"] = current_version
        self.client.update_secret_version_stage(**request)
        return f"moved AWSCURRENT from {current_version} to {self.event.token}"

    # --- helpers ---

    def _credentials(self, stage: Literal["AWSCURRENT", "AWSPENDING"]) -> DatabaseCredentials:
        version_id = self.event.token if stage == "AWSPENDING" else None
        raw = get_secret_json(self.client, self.event.secret_id, version_stage=stage, version_id=version_id)
        return DatabaseCredentials.model_validate(raw)

    def _open(self, credentials: DatabaseCredentials) -> Connection:
        return self.connect(
            credentials.host,
            credentials.port,
            credentials.username,
            credentials.password.get_secret_value(),
            credentials.dbname,
            ca_file=self.ca_file,
            timeout_seconds=CONNECT_TIMEOUT_SECONDS,
            application_name=SERVICE,
        )

    def _login(self, credentials: DatabaseCredentials) -> Connection | None:
        """A connection, or None when the server rejects the password (any other failure raises)."""
        try:
            return self._open(credentials)
        except DatabaseError as error:
            if sqlstate(error) == INVALID_PASSWORD:
                return None
            raise


def rotate(
    event: RotationEvent,
    client: SecretsManagerClient,
    *,
    ca_file: str | None,
    connect: Connect = pg_common.connect,
) -> str:
    """Run one rotation step; raises (leaving AWSCURRENT alone) when it cannot be completed."""
    return Rotation(event, client, ca_file=ca_file, connect=connect).run()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> None:
    request = parse(event=event, model=RotationEvent)  # a malformed event raises here
    settings = Settings.model_validate(dict(os.environ))
    outcome = rotate(request, boto3.client("secretsmanager"), ca_file=settings.ca_file)
    logger.info(outcome, extra={"step": request.step, "version": request.token})
