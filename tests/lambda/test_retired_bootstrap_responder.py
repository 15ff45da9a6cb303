"""lambda/retired_bootstrap_responder: SUCCESS to every request for the retired custom resource, at its
ResponseURL (a local HTTP server here), and nothing else: no database, no AWS call."""

from __future__ import annotations

import ast
import socket
from types import ModuleType
from typing import Any

import pytest
from pg_testing import (  # type: ignore[import-not-found]
    LAMBDA_DIR,
    FakeLambdaContext,
    ResponseServer,
    cfn_event,
    load_function,
)
from pydantic import ValidationError

#: The retired resource's properties as CloudFormation last saw them (never read by the responder).
RETIRED_PROPERTIES = {
    "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:database-bootstrap",
    "SecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:data/master",
    "Host": "primary.example.internal",
    "Port": "5432",
    "CaFile": "/var/task/pg_common/rds-ca-bundle.pem",
    "Spec": "{}",
}


@pytest.fixture(scope="module")
def responder() -> ModuleType:
    module: ModuleType = load_function("retired_bootstrap_responder")
    return module


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the function opens a connection to."""
    opened: list[tuple[str, int]] = []
    create_connection = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append((address[0], int(address[1])))
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return opened


@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_every_request_gets_success_at_its_response_url_and_nothing_else(
    responder: ModuleType,
    response_server: ResponseServer,
    connections: list[tuple[str, int]],
    request_type: str,
) -> None:
    extra = {} if request_type == "Create" else {"PhysicalResourceId": "database-bootstrap"}
    event = cfn_event(request_type, response_server.url, RETIRED_PROPERTIES, **extra)
    returned = responder.handler(event, FakeLambdaContext())

    [response] = response_server.responses
    assert response.path == "/cfn-response?X-Amz-Signature=test"
    assert response.headers["Content-Type"] == ""
    assert response.body == returned
    assert response.body["Status"] == "SUCCESS"
    assert response.body["PhysicalResourceId"] == "database-bootstrap"
    assert response.body["RequestId"] == event["RequestId"]
    assert response.body["StackId"] == event["StackId"]
    assert response.body["LogicalResourceId"] == event["LogicalResourceId"]
    assert response.body["Data"] == {}
    # One connection, to the response URL: not the database's host, nor any AWS endpoint.
    assert connections == [("127.0.0.1", int(response_server.url.split(":")[2].split("/")[0]))]


def test_a_request_without_a_response_url_raises_and_sends_nothing(
    responder: ModuleType, response_server: ResponseServer, connections: list[tuple[str, int]]
) -> None:
    event = cfn_event("Delete", response_server.url, RETIRED_PROPERTIES)
    del event["ResponseURL"]
    with pytest.raises(ValidationError, match="ResponseURL"):
        responder.handler(event, FakeLambdaContext())
    assert response_server.responses == []
    assert connections == []


def test_the_responder_cannot_reach_the_database() -> None:
    """It imports neither the database driver nor the shared database package: nothing in it can connect."""
    tree = ast.parse((LAMBDA_DIR / "retired_bootstrap_responder" / "index.py").read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"pg8000", "pg_common", "boto3", "botocore"}, imported
