"""RDS for PostgreSQL: a primary, read replicas, an RDS Proxy for writes and one DNS name for reads.

The parts live in their own modules, each with the props it takes and the findings it accepts:
``instance`` (the primary), ``replicas``, ``reader`` (the reader name), ``proxy``, ``rotation``, ``backups``,
``parameters``, ``log_groups``, ``instance_settings`` (what the instances share) and ``network``. This
construct composes them. Every part creates its resources directly in this construct, with the ids it has
always had, so the construct paths (and with them the logical IDs) do not depend on how the code is split.
"""

from __future__ import annotations

import re

from aws_cdk import (
    Duration,
    Fn,
    Names,
    aws_cloudwatch as cloudwatch,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_rds as rds,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs.postgres.backups import BackupProps, add_to_backup_plan
from platform_constructs.postgres.engine import (
    MAX_IDENTIFIER_LENGTH,
    PROXY_PORT,
    check_identifier,
    follows_minor_versions,
)
from platform_constructs.postgres.iam_auth import dbi_resource_id, dbuser_arn
from platform_constructs.postgres.instance import InstanceProps, create_master_secret, create_primary
from platform_constructs.postgres.instance_settings import (
    MonitoringProps,
    StorageProps,
    create_monitoring_role,
    create_subnet_group,
    instance_settings,
)
from platform_constructs.postgres.log_groups import LogProps, create_log_groups
from platform_constructs.postgres.network import create_security_groups
from platform_constructs.postgres.parameters import ParameterProps, create_parameter_group
from platform_constructs.postgres.proxy import ProxyProps, create_proxy
from platform_constructs.postgres.reader import ReaderProps, create_reader_name
from platform_constructs.postgres.replicas import ReplicaProps, create_replicas, replica_identifiers, replica_zones
from platform_constructs.postgres.rotation import RotationProps, rotate_credentials


class PostgresDatabase(Construct):
    """An RDS for PostgreSQL primary (an instance, not an Aurora cluster) with read replicas, an RDS Proxy and
    a stable reader name.

    Writes go through ``proxy`` (``proxy_endpoint``), which pools connections in front of the primary. Reads
    use ``reader_endpoint_hostname``, a weighted DNS name over the replicas (see ``reader``); connect to
    ``reader_port``: the proxy's 5432 without replicas, the instances' port with them.

    Network: the primary accepts connections only from the proxy and the credential-rotation function.
    ``allow_from(peer)`` (or ``connections`` / ``reader_connections``) opens the proxy and the replicas to a
    caller, never the primary itself. All security groups deny outbound by default.

    Secure defaults: storage, Performance Insights, the master secret and the log groups are all encrypted
    with ``encryption_key``; TLS is forced (``rds.force_ssl``, proxy ``require_tls``); IAM database
    authentication, Enhanced Monitoring, deletion protection, Multi-AZ and automated backups are on; the
    master password is rotated on a schedule.

    Physical names: the instances get explicit identifiers so their log groups
    (``/aws/rds/instance/<id>/postgresql`` and ``.../upgrade``) can be created before the instances, with
    retention and KMS encryption, instead of by RDS. A change that would replace an instance therefore fails
    instead of silently creating an empty database.

    Exposes ``primary``, ``replicas``, ``proxy``, ``secret``, ``parameter_group``, ``subnet_group``,
    ``writer_endpoint_address``, ``proxy_endpoint``, ``reader_endpoint_hostname``, ``reader_port``,
    ``read_endpoint_zone``, ``reader_records``, ``log_groups``, ``monitoring_role``, ``proxy_role``,
    ``rotation_schedule``, ``backup_selection``, ``security_group`` (primary), ``proxy_security_group``,
    ``reader_security_group``, ``rotation_security_group``, ``connections`` (the proxy), ``reader_connections``
    (the replicas), metric helpers and ``grant_connect``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        instance: InstanceProps,
        subnets: ec2.SubnetSelection | None = None,
        storage: StorageProps | None = None,
        monitoring: MonitoringProps | None = None,
        parameters: ParameterProps | None = None,
        backups: BackupProps | None = None,
        logs: LogProps | None = None,
        replicas: ReplicaProps | None = None,
        reader: ReaderProps | None = None,
        proxy: ProxyProps | None = None,
        rotation: RotationProps | None = None,
    ) -> None:
        """
        :param vpc: where the instances, the proxy and the rotation function run.
        :param encryption_key: encrypts storage (and so snapshots and replicas), Performance Insights, the
            master secret and the log groups. A ``kms.Key`` from the same app gets a key-policy statement
            letting CloudWatch Logs use it for exactly these log groups; an imported key must already allow that.
        :param instance: the primary (see ``InstanceProps``).
        :param subnets: subnets for instances, proxy and rotation function (default: PRIVATE_ISOLATED).
        :param storage: gp3 storage of every instance (default: ``StorageProps()``).
        :param monitoring: Enhanced Monitoring and Performance Insights (default: ``MonitoringProps()``).
        :param parameters: the parameter group's thresholds (default: ``ParameterProps()``).
        :param backups: the primary's backups (default: ``BackupProps()``, 7 days of automated backups).
        :param logs: retention and removal of the log groups (default: ``LogProps()``).
        :param replicas: read replicas (default: none).
        :param reader: the reader name (default: ``reader.db.internal`` in a new zone).
        :param proxy: the RDS Proxy (default: ``ProxyProps()``, logging in with the master secret).
        :param rotation: credential rotation (default: every 30 days by Secrets Manager's hosted function).
        """
        super().__init__(scope, construct_id)
        storage = storage or StorageProps()
        monitoring = monitoring or MonitoringProps()
        parameters = parameters or ParameterProps()
        backups = backups or BackupProps()
        logs = logs or LogProps()
        replicas = replicas or ReplicaProps()
        reader = reader or ReaderProps()
        proxy = proxy or ProxyProps()
        rotation = rotation or RotationProps()
        subnets = subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        # --- What needs the construct: the identifier and the zones (props check the rest) ----------------
        #: The primary's DB identifier (its metrics' dimension).
        self.primary_identifier: str = instance.identifier or check_identifier(
            "InstanceProps.identifier", self._default_identifier(), derived=True
        )
        #: The AZ of each replica, in order.
        self.replica_availability_zones: list[str] = replica_zones(vpc, subnets, replicas, instance)
        #: The replicas' DB identifiers (their metrics' dimension), in order.
        self.replica_identifiers: list[str] = replica_identifiers(self.primary_identifier, replicas.count)
        self.proxy_iam_users: tuple[str, ...] | None = None if proxy.iam_users is None else tuple(proxy.iam_users)
        self.port: int = instance.port
        self.engine_version: rds.PostgresEngineVersion = instance.engine_version
        self.auto_minor_version_upgrade: bool = follows_minor_versions(instance.engine_version)

        # --- Network ------------------------------------------------------------------------------
        groups = create_security_groups(self, vpc, port=instance.port)
        self.security_group = groups.primary
        self.reader_security_group = groups.reader
        self.proxy_security_group = groups.proxy
        self.rotation_security_group = groups.rotation
        self.connections = groups.connections
        self.reader_connections = groups.reader_connections

        # --- Parameters, subnets, credentials, monitoring -----------------------------------------
        self.parameter_group = create_parameter_group(
            self, rds.DatabaseInstanceEngine.postgres(version=instance.engine_version), parameters
        )
        self.subnet_group = create_subnet_group(self, vpc, subnets)
        master_secret = create_master_secret(self, instance, encryption_key)
        self.monitoring_role = create_monitoring_role(self)

        # --- Log groups (created before the instances so retention and KMS apply) -----------------
        self.log_groups = create_log_groups(
            self, [self.primary_identifier, *self.replica_identifiers], logs, encryption_key
        )

        # --- Instances ----------------------------------------------------------------------------
        settings = instance_settings(
            vpc=vpc,
            subnet_group=self.subnet_group,
            parameter_group=self.parameter_group,
            monitoring_role=self.monitoring_role,
            encryption_key=encryption_key,
            port=instance.port,
            storage=storage,
            monitoring=monitoring,
            auto_minor_version_upgrade=self.auto_minor_version_upgrade,
            removal_policy=instance.removal_policy,
            maintenance_window=instance.maintenance_window,
        )
        self.primary = create_primary(
            self,
            instance,
            settings,
            identifier=self.primary_identifier,
            security_group=self.security_group,
            master_secret=master_secret,
            encryption_key=encryption_key,
            backups=backups,
            log_groups=self.log_groups,
        )
        if self.primary.secret is None:  # pragma: no cover - from_secret always attaches
            raise RuntimeError("PostgresDatabase: the primary has no attached secret")
        #: The master secret as attached to the primary, which the proxy and the rotation use.
        self.secret: secretsmanager.ISecret = self.primary.secret
        self.replicas = create_replicas(
            self,
            settings,
            source=self.primary,
            instance_type=replicas.instance_type or instance.instance_type,
            identifiers=self.replica_identifiers,
            zones=self.replica_availability_zones,
            security_group=self.reader_security_group,
            log_groups=self.log_groups,
            engine_version=instance.engine_version,
        )

        # --- Credential rotation ------------------------------------------------------------------
        rotated = rotate_credentials(
            self,
            rotation,
            vpc=vpc,
            subnets=subnets,
            security_group=self.rotation_security_group,
            secret=self.secret,
            primary=self.primary,
            primary_identifier=self.primary_identifier,
            port=instance.port,
            encryption_key=encryption_key,
            logs=logs,
        )
        self.rotation_schedule = rotated.schedule
        self.rotation_function = rotated.function

        # --- RDS Proxy ----------------------------------------------------------------------------
        writer = create_proxy(
            self,
            proxy,
            vpc=vpc,
            subnets=subnets,
            primary=self.primary,
            primary_identifier=self.primary_identifier,
            replicas=self.replicas,
            secret=self.secret,
            encryption_key=encryption_key,
            security_group=self.proxy_security_group,
            port=instance.port,
        )
        self.proxy = writer.proxy
        self.proxy_role = writer.role
        self.proxy_policy = writer.policy
        #: The proxy's name (its metrics' dimension), known at synthesis.
        self.proxy_name: str = writer.name
        self.proxy_endpoint: str = self.proxy.endpoint
        self.writer_endpoint_address: str = self.primary.db_instance_endpoint_address

        # --- Reader name --------------------------------------------------------------------------
        reader_name = create_reader_name(self, vpc, reader, replicas=self.replicas, proxy_endpoint=self.proxy_endpoint)
        self.read_endpoint_zone = reader_name.zone
        self.reader_records = reader_name.records
        self.reader_endpoint_hostname: str = reader_name.hostname
        self.reader_port: int = instance.port if self.replicas else PROXY_PORT

        # --- Backups ------------------------------------------------------------------------------
        self.backup_selection = add_to_backup_plan(self, self.primary, backups)

    def _default_identifier(self) -> str:
        name = Names.unique_resource_name(self, max_length=MAX_IDENTIFIER_LENGTH, separator="-").lower()
        name = re.sub(r"[^a-z0-9-]", "", name)
        return re.sub(r"-{2,}", "-", name).strip("-")

    # --- Wiring helpers ---------------------------------------------------------------------------
    def allow_from(self, peer: ec2.IConnectable, description: str | None = None) -> None:
        """Let `peer` reach the proxy (writes, port 5432) and the replicas (reads), never the primary."""
        self.connections.allow_default_port_from(peer, description or "PostgreSQL writes through RDS Proxy")
        self.reader_connections.allow_default_port_from(peer, description or "PostgreSQL reads from the replicas")

    def connect_resources(self, db_user: str) -> list[str]:
        """The ``rds-db:connect`` ARNs a client needs to log in as `db_user` with IAM where clients
        connect (see ``grant_connect``), for a policy of the caller's own."""
        return self._connect_resources("connect_resources", db_user)

    def _connect_resources(self, caller: str, db_user: str) -> list[str]:
        resources = [dbuser_arn(self, dbi_resource_id(replica), db_user) for replica in self.replicas]
        if self.proxy_iam_users is None:
            return [dbuser_arn(self, dbi_resource_id(self.primary), db_user), *resources]
        if db_user not in self.proxy_iam_users:
            raise ValueError(
                f"{caller}: {db_user!r} is not one of ProxyProps.iam_users {list(self.proxy_iam_users)}; "
                "the proxy could not log in as it"
            )
        # arn:aws:rds:<region>:<account>:db-proxy:prx-<id>: the proxy's resource id is the 7th field.
        proxy_id = Fn.select(6, Fn.split(":", self.proxy.db_proxy_arn))
        return [dbuser_arn(self, proxy_id, db_user), *resources]

    def grant_connect(self, grantee: iam.IGrantable, db_user: str) -> iam.Grant:
        """IAM database authentication as `db_user` where clients connect: directly to each replica, and
        through the proxy when it uses end-to-end IAM (otherwise the primary itself, the only place an IAM
        login to the writer can then go)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["rds-db:connect"],
            resource_arns=self._connect_resources("grant_connect", db_user),
        )

    # --- Metrics ----------------------------------------------------------------------------------
    def metric_cpu_utilization(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Primary CPU utilisation in percent (average over `period`, default 5 minutes)."""
        return self.primary.metric_cpu_utilization(period=period)

    def metric_database_connections(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Connections open on the primary (average over `period`, default 5 minutes)."""
        return self.primary.metric_database_connections(period=period)

    def metric_free_storage_space(self, *, period: Duration | None = None) -> cloudwatch.Metric:
        """Free storage on the primary in bytes (average over `period`, default 5 minutes)."""
        return self.primary.metric_free_storage_space(period=period)

    def metric_replica_lag(self, *, period: Duration | None = None) -> list[cloudwatch.Metric]:
        """ReplicaLag in seconds of each replica, in replica order (maximum over `period`, default 1 minute)."""
        return [
            replica.metric("ReplicaLag", period=period or Duration.minutes(1), statistic="Maximum")
            for replica in self.replicas
        ]
