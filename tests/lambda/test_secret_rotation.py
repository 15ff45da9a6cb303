"""secret_rotation: the four steps against a real server over verified TLS, with the secret in moto.

Each test rotates its own login role, created the way RDS creates its master user
(``pg_testing.create_master_like``: not a superuser, a member of rds_superuser), so rotations never
disturb the master that the other tests use.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from pg_testing import (  # type: ignore[import-not-found]
    TLS_HOST,
    Certificates,
    FakeLambdaContext,
    PostgresServer,
    TlsProxy,
    begin_rotation,
    create_master_like,
    free_port,
    load_pg_common,
    sqlstate,
)
from pydantic import ValidationError

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")


@dataclass
class RotatedSecret:
    arn: str
    role: str
    initial_password: str
    client: Any

    def value(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        response = self.client.get_secret_value(SecretId=self.arn, VersionStage=stage)
        value: dict[str, Any] = json.loads(response["SecretString"])
        return value

    def version(self, stage: str) -> str | None:
        stages = self.client.describe_secret(SecretId=self.arn)["VersionIdsToStages"]
        return next((version for version, labels in stages.items() if stage in labels), None)

    def event(self, step: str, token: str) -> dict[str, Any]:
        return {"SecretId": self.arn, "ClientRequestToken": token, "Step": step}


@pytest.fixture
def secret(
    aws: None,
    pg_server: PostgresServer,
    tls_proxy: TlsProxy,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> RotatedSecret:
    role = f"admin_{uuid.uuid4().hex[:8]}"
    password = f"initial-{uuid.uuid4().hex}"
    create_master_like(pg_server, role, password)
    client = boto3.client("secretsmanager", region_name=REGION)
    value = {
        "engine": "postgres",
        "username": role,
        "password": password,
        "host": TLS_HOST,
        "port": tls_proxy.port,
        "dbname": "postgres",
        "dbInstanceIdentifier": "data-primary",
    }
    arn = client.create_secret(Name=f"data/{role}", SecretString=json.dumps(value))["ARN"]
    monkeypatch.setenv("CA_FILE", str(certificates.ca_file))
    return RotatedSecret(arn=arn, role=role, initial_password=password, client=client)


def logs_in(server: PostgresServer, role: str, password: str) -> bool:
    try:
        server.connect(role, password).close()
    except Exception as error:
        if sqlstate(error) == "28P01":
            return False
        raise
    return True


def test_a_full_rotation_changes_the_password_everywhere(
    rotation: ModuleType, secret: RotatedSecret, pg_server: PostgresServer, tls_proxy: TlsProxy
) -> None:
    original_version = secret.version("AWSCURRENT")
    sessions_before = len(tls_proxy.sessions)
    token = begin_rotation(secret.arn, REGION)
    for step in STEPS:
        rotation.handler(secret.event(step, token), FakeLambdaContext())

    current = secret.value()
    new_password = current["password"]
    assert secret.version("AWSCURRENT") == token
    assert secret.version("AWSPREVIOUS") == original_version
    assert secret.value("AWSPREVIOUS")["password"] == secret.initial_password
    assert len(new_password) == rotation.PASSWORD_LENGTH
    assert not set(new_password) & set('/@"\\ ')
    # Everything but the password is carried over.
    assert {k: v for k, v in current.items() if k != "password"} == {
        k: v for k, v in secret.value("AWSPREVIOUS").items() if k != "password"
    }
    assert logs_in(pg_server, secret.role, new_password)
    assert not logs_in(pg_server, secret.role, secret.initial_password)
    # Stored as a SCRAM verifier computed by the function: the server never saw the clear text.
    assert pg_server.sql("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = :r", r=secret.role) == [
        ["SCRAM-SHA-256$"]
    ]
    # setSecret (current), testSecret (pending): both over verified TLS.
    assert len(tls_proxy.sessions) == sessions_before + 2


def test_every_step_can_run_again(rotation: ModuleType, secret: RotatedSecret, pg_server: PostgresServer) -> None:
    token = begin_rotation(secret.arn, REGION)
    outcomes: dict[str, list[str]] = {}
    for step in STEPS:
        event = rotation.RotationEvent.model_validate(secret.event(step, token))
        outcomes[step] = [
            rotation.rotate(event, secret.client, ca_file=None, connect=_plain(pg_server)) for _ in range(2)
        ]
        if step == "createSecret":
            pending_password = secret.value("AWSPENDING")["password"]

    assert outcomes["createSecret"] == [
        "stored a new password as AWSPENDING",
        "the pending version already has a password",
    ]
    assert outcomes["setSecret"] == [
        f"set the pending password for {secret.role}",
        "the pending password is already set",
    ]
    assert outcomes["finishSecret"][1] == f"version {token} is already AWSCURRENT; nothing to do"
    assert secret.value()["password"] == pending_password
    assert logs_in(pg_server, secret.role, pending_password)


def _plain(server: PostgresServer) -> Callable[..., Any]:
    """pg_common.connect to the plain server port, whatever host and port the secret names."""
    connect = load_pg_common().connect

    def plain(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return connect(server.host, server.port, *args, **kwargs)

    return plain


def test_unreachable_database_fails_set_secret_and_keeps_current(
    rotation: ModuleType, secret: RotatedSecret, pg_server: PostgresServer
) -> None:
    # The secret names a port nobody listens on.
    secret.client.put_secret_value(
        SecretId=secret.arn, SecretString=json.dumps({**secret.value(), "port": free_port()})
    )
    current_version = secret.version("AWSCURRENT")
    token = begin_rotation(secret.arn, REGION)
    rotation.handler(secret.event("createSecret", token), FakeLambdaContext())

    with pytest.raises(Exception, match="Can't create a connection"):
        rotation.handler(secret.event("setSecret", token), FakeLambdaContext())
    assert secret.version("AWSCURRENT") == current_version
    assert secret.value()["password"] == secret.initial_password
    assert logs_in(pg_server, secret.role, secret.initial_password)


def test_wrong_passwords_fail_set_secret_and_change_nothing(
    rotation: ModuleType, secret: RotatedSecret, pg_server: PostgresServer
) -> None:
    token = begin_rotation(secret.arn, REGION)
    rotation.handler(secret.event("createSecret", token), FakeLambdaContext())
    current_version = secret.version("AWSCURRENT")
    pg_server.sql(f"ALTER ROLE {secret.role} PASSWORD 'changed-by-someone-else'")

    with pytest.raises(rotation.RotationError, match="neither the current nor the pending password logs in"):
        rotation.handler(secret.event("setSecret", token), FakeLambdaContext())
    assert secret.version("AWSCURRENT") == current_version
    assert secret.value()["password"] == secret.initial_password
    assert logs_in(pg_server, secret.role, "changed-by-someone-else")


def test_a_failed_test_step_leaves_current_in_place(
    rotation: ModuleType, secret: RotatedSecret, pg_server: PostgresServer
) -> None:
    token = begin_rotation(secret.arn, REGION)
    rotation.handler(secret.event("createSecret", token), FakeLambdaContext())
    current_version = secret.version("AWSCURRENT")
    # setSecret never ran: the pending password does not log in.
    with pytest.raises(Exception, match="password authentication failed"):
        rotation.handler(secret.event("testSecret", token), FakeLambdaContext())
    assert secret.version("AWSCURRENT") == current_version
    assert logs_in(pg_server, secret.role, secret.initial_password)


def test_a_certificate_from_another_ca_fails_set_secret(
    rotation: ModuleType,
    secret: RotatedSecret,
    pg_server: PostgresServer,
    certificates: Certificates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = begin_rotation(secret.arn, REGION)
    rotation.handler(secret.event("createSecret", token), FakeLambdaContext())
    monkeypatch.setenv("CA_FILE", str(certificates.other_ca_file))
    with pytest.raises(Exception, match="certificate verify failed"):
        rotation.handler(secret.event("setSecret", token), FakeLambdaContext())
    assert secret.value()["password"] == secret.initial_password
    assert logs_in(pg_server, secret.role, secret.initial_password)


def test_ca_file_is_required(rotation: ModuleType, secret: RotatedSecret, monkeypatch: pytest.MonkeyPatch) -> None:
    token = begin_rotation(secret.arn, REGION)
    monkeypatch.delenv("CA_FILE")
    with pytest.raises(ValidationError, match="CA_FILE"):
        rotation.handler(secret.event("createSecret", token), FakeLambdaContext())
    assert secret.client.describe_secret(SecretId=secret.arn)["VersionIdsToStages"][token] == ["AWSPENDING"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SecretId": None}, "SecretId"),
        ({"ClientRequestToken": None}, "ClientRequestToken"),
        ({"Step": None}, "Step"),
        ({"Step": "deleteSecret"}, "Step"),
        ({"ClientRequestToken": "short"}, "at least 32 characters"),
    ],
)
def test_malformed_events_raise(
    rotation: ModuleType, secret: RotatedSecret, change: dict[str, Any], message: str
) -> None:
    token = begin_rotation(secret.arn, REGION)
    event = {
        key: value for key, value in {**secret.event("createSecret", token), **change}.items() if value is not None
    }
    before = secret.client.describe_secret(SecretId=secret.arn)["VersionIdsToStages"]
    with pytest.raises(ValidationError, match=message):
        rotation.handler(event, FakeLambdaContext())
    assert secret.client.describe_secret(SecretId=secret.arn)["VersionIdsToStages"] == before


def test_tokens_not_staged_pending_are_refused(rotation: ModuleType, secret: RotatedSecret) -> None:
    begin_rotation(secret.arn, REGION)
    before = secret.client.describe_secret(SecretId=secret.arn)["VersionIdsToStages"]
    with pytest.raises(rotation.RotationError, match="has no stage"):
        rotation.handler(secret.event("createSecret", str(uuid.uuid4())), FakeLambdaContext())

    # A version that exists but carries AWSPREVIOUS only: not the rotation in progress.
    first = begin_rotation(secret.arn, REGION)
    for step in STEPS:
        rotation.handler(secret.event(step, first), FakeLambdaContext())
    begin_rotation(secret.arn, REGION)
    previous = secret.version("AWSPREVIOUS")
    assert previous is not None
    with pytest.raises(rotation.RotationError, match="not staged AWSPENDING"):
        rotation.handler(secret.event("setSecret", previous), FakeLambdaContext())
    assert secret.version("AWSCURRENT") == first
    assert before  # the first refusal happened before anything was read or written


def test_scram_verifier_matches_postgresql(rotation: ModuleType, pg_server: PostgresServer) -> None:
    salt = bytes(range(16))
    verifier = rotation.scram_sha_256_verifier("correct horse", salt=salt)
    assert verifier.startswith("SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$")
    role = f"verifier_{uuid.uuid4().hex[:8]}"
    pg_server.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{verifier}'")
    assert logs_in(pg_server, role, "correct horse")
    assert not logs_in(pg_server, role, "correct horse!")
    with pytest.raises(rotation.RotationError, match="non-ASCII"):
        rotation.scram_sha_256_verifier("pässword")
