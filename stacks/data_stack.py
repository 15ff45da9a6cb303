"""Data stack: PostgreSQL (primary, read replicas, RDS Proxy) and the Redis-compatible cache.

The one stack whose mistakes cannot be undone. Everything in it is RETAINed or SNAPSHOTted,
deletion-protected in prod, encrypted with the stack's customer-managed key, and admits
connections only from the services' security group (created by the network stack). The primary is
in an AWS Backup plan whose daily recovery points are copied to the backup copy stack's vault in
another region (README: Recovery).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import (
    Duration,
    Fn,
    RemovalPolicy,
    aws_backup,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_rds as rds,
    aws_ssm as ssm,
)
from constructs import Construct

from config.backup import database_windows
from config.fields import clock_time
from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.backup_plan import CopyDestination, DatabaseBackupPlan
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.log_retention import retention_from_days
from platform_constructs.naming import pascal_case
from platform_constructs.physical_names import (
    DATABASE_NAME,
    backup_plan_name,
    cache_log_group_prefix,
    cache_user,
    database_role,
    postgres_identifier,
    restored_postgres_identifier,
)
from platform_constructs.postgres import (
    PROXY_PORT,
    BackupProps,
    InstanceProps,
    LogProps,
    ParameterProps,
    PostgresDatabase,
    ProxyProps,
    ReplicaProps,
    RotationProps,
    StorageProps,
)
from platform_constructs.protect_retained import KEPT, kept_unless_disposable
from platform_constructs.recovery_vault import copy_key_statement, deny_key_destruction, vault_arn
from platform_constructs.redis import (
    AuthProps,
    EngineProps,
    LogProps as CacheLogProps,
    MaintenanceProps,
    NodeProps,
    RedisReplicationGroup,
)
from stacks.backup_vault_stack import backup_vault_name, copy_vault_name
from stacks.data_parameters import SERVICE_ACCESS_POLICY, DataParameter, parameter_name, service_parameter_name
from stacks.database_access import DatabaseAccess
from stacks.lambda_code import CA_FILE, function_code
from stacks.network_stack import NetworkStack
from stacks.platform_stack import PlatformStack
from stacks.restore_drill import RestoreDrill


def primary_identifier(config: EnvironmentConfig) -> str:
    """`ticketing-<env>-postgres`, or with `-<suffix>` once restored from a snapshot (database.restore_from)."""
    restore = config.database.restore_from
    if restore is None:
        return postgres_identifier(config.name)
    return restored_postgres_identifier(config.name, restore.identifier_suffix)


def instance_type(instance_class: str) -> ec2.InstanceType:
    """`db.r7g.large` / `cache.r7g.large` (config) -> `r7g.large` (EC2 instance type)."""
    return ec2.InstanceType(instance_class.split(".", 1)[1])


class DataStack(PlatformStack):
    """Exposes ``key``, ``postgres`` and ``cache``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, network: NetworkStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        db = config.database
        services = network.service_security_group

        self.key = customer_managed_key(
            self, "DataKey", description=f"ticketing {config.name}: database storage, cache, secrets and data-tier logs"
        )
        # The database and its recovery points in the main region are encrypted with this key.
        deny_key_destruction(self.key)

        self.backup_plan = self._backups(config)
        windows = database_windows(config.backup.daily_at, config.maintenance.time_zone)

        self.postgres = PostgresDatabase(
            self,
            "Postgres",
            vpc=network.vpc,
            encryption_key=self.key,
            instance=InstanceProps(
                database_name=DATABASE_NAME,
                instance_type=instance_type(db.instance_class),
                engine_version=rds.PostgresEngineVersion.of(db.engine_version, db.engine_version.split(".")[0]),
                identifier=primary_identifier(config),
                snapshot_identifier=db.restore_from.snapshot_arn if db.restore_from else None,
                multi_az=db.multi_az,
                deletion_protection=db.deletion_protection,
                allow_major_version_upgrade=db.allow_major_version_upgrade,
                removal_policy=RemovalPolicy.SNAPSHOT,
                # RDS's own maintenance ends before AWS Backup's daily snapshot, which cannot run during it.
                maintenance_window=windows[1],
            ),
            storage=StorageProps(
                allocated_gib=db.allocated_storage_gib, max_allocated_gib=db.max_allocated_storage_gib
            ),
            parameters=ParameterProps(
                slow_query_threshold_ms=db.slow_query_threshold_ms,
                idle_in_transaction_timeout_ms=db.idle_in_transaction_timeout_ms,
            ),
            backups=BackupProps(
                # The plan's PointInTime rule (continuous backup, db.backup_retention_days) owns the instance's
                # retention: RDS refuses a BackupRetentionPeriod from the template once AWS Backup manages it.
                retention_days=None,
                plan=self.backup_plan.plan,
                role=self.backup_plan.role,
                # RDS's own backup ends before AWS Backup's daily snapshot, which cannot run during it.
                window=windows[0],
            ),
            logs=LogProps(
                retention=retention_from_days(db.log_retention_days),
                # dev is deployed again after a teardown: retained log groups of fixed names would collide.
                removal_policy=kept_unless_disposable(config.is_disposable),
            ),
            replicas=ReplicaProps(
                count=db.read_replicas,
                instance_type=instance_type(db.replica_instance_class),
                availability_zones=config.availability_zones,
            ),
            proxy=ProxyProps(
                # The proxy keeps its name (create-only) through a restore: its target follows the new primary
                # in place.
                name_prefix=postgres_identifier(config.name),
                borrow_timeout=Duration.seconds(db.proxy.borrow_timeout_seconds),
                max_connections_percent=db.proxy.max_connections_percent,
                max_idle_connections_percent=db.proxy.max_idle_connections_percent,
                # Services log in with IAM through the proxy, as their own roles; nothing of theirs can go stale.
                iam_users=[database_role(name) for name, service in config.services.items() if service.database],
            ),
            rotation=RotationProps(
                interval=Duration.days(db.credential_rotation_days),
                code=function_code("secret_rotation"),
                environment={"CA_FILE": CA_FILE},
                reserved_concurrency=config.reserved_concurrency.of("secret_rotation"),
            ),
        )
        self.postgres.allow_from(services, "Service tasks")
        self.restore_drill = RestoreDrill(
            self,
            "RestoreDrill",
            config=config,
            postgres=self.postgres,
            vpc=network.vpc,
            encryption_key=self.key,
            vault_name=backup_vault_name(config.name),
            restore_role=self.backup_plan.role,
        )
        self.access = DatabaseAccess(self, "DatabaseAccess", config=config, postgres=self.postgres, vpc=network.vpc,
                                     encryption_key=self.key)  # fmt: skip
        self._acknowledge_dev_trade_offs()

        cache = config.cache
        self.cache = RedisReplicationGroup(
            self,
            "Cache",
            vpc=network.vpc,
            encryption_key=self.key,
            engine=EngineProps(
                engine=cache.engine, version=cache.engine_version, maxmemory_policy=cache.maxmemory_policy
            ),
            nodes=NodeProps(node_type=cache.node_type, replicas_per_node_group=cache.replicas, multi_az=cache.multi_az),
            maintenance=MaintenanceProps(snapshot_retention_days=cache.snapshot_retention_days),
            logs=CacheLogProps(
                retention=retention_from_days(cache.log_retention_days),
                group_prefix=cache_log_group_prefix(config.name),
                removal_policy=kept_unless_disposable(config.is_disposable),
            ),
            description=f"ticketing {config.name} cache",
            # dev is torn down with its stack: a final snapshot, then the nodes go. Elsewhere the
            # group outlives its stack, and so do its users, user group and the groups it uses; a
            # failed first create deletes them all (nothing is cached before the services deploy), so a
            # retry does not collide with the users' fixed ids.
            removal_policy=RemovalPolicy.SNAPSHOT if config.is_disposable else KEPT,
            # One IAM user per service, limited to its key prefixes; no shared AUTH token.
            auth=AuthProps(
                iam_users={
                    cache_user(config.name, name): s.cache_key_prefixes
                    for name, s in config.services.items()
                    if s.cache_key_prefixes
                }
            ),
        )
        self.cache.connections.allow_default_port_from(services, "Service tasks")
        self._acknowledge_cache_choices()
        self.service_access = self._create_service_access()

        self._publish(
            {
                DataParameter.DATABASE_WRITER_HOST: self.postgres.proxy_endpoint,
                DataParameter.DATABASE_READER_HOST: self.postgres.reader_endpoint_hostname,
                DataParameter.DATABASE_PRIMARY_HOST: self.postgres.writer_endpoint_address,
                DataParameter.DATABASE_PORT: str(PROXY_PORT),
                DataParameter.DATABASE_READER_PORT: str(self.postgres.reader_port),
                DataParameter.DATABASE_REPLICA_HOSTS: Fn.join(
                    ",", [replica.db_instance_endpoint_address for replica in self.postgres.replicas]
                )
                if self.postgres.replicas
                else "none",
                DataParameter.DATABASE_NAME: DATABASE_NAME,
                DataParameter.CACHE_PRIMARY_HOST: self.cache.primary_endpoint_address,
                DataParameter.CACHE_READER_HOST: self.cache.reader_endpoint_address,
                DataParameter.CACHE_PORT: self.cache.primary_endpoint_port,
                DataParameter.CACHE_REPLICATION_GROUP_ID: self.cache.replication_group_id,
                DataParameter.MAINTENANCE_FUNCTION_NAME: self.access.maintenance_function.function.function_name,
            }
        )

    def _backups(self, config: EnvironmentConfig) -> DatabaseBackupPlan:
        """The primary's backup plan into the backup vault stack's vault, copying to the copy region's
        vault (and, in prod if configured, to a vault of a separate backup account, with the data key
        shared to it). Both vaults are named, not referenced: their stacks deploy first."""
        backup = config.backup
        vault = aws_backup.BackupVault.from_backup_vault_name(self, "Backups", backup_vault_name(config.name))
        copies = [
            CopyDestination(
                vault_arn=vault_arn(config.account, backup.copy_region, copy_vault_name(config.name)),
                delete_after=Duration.days(backup.copy_retention_days),
                key_statement=copy_key_statement(self, backup.copy_region, copy_vault_name(config.name)),
            )
        ]
        if backup.backup_account is not None:
            account = backup.backup_account
            copies.append(
                CopyDestination(
                    vault_arn=vault_arn(account.account, config.region, account.vault_name),
                    delete_after=Duration.days(backup.copy_retention_days),
                )
            )
            # RDS recovery points are encrypted with the instance's key: the backup account copies from it.
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="BackupAccountCopiesRecoveryPoints",
                    principals=[iam.AccountPrincipal(account.account)],
                    actions=["kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant", "kms:ReEncryptFrom"],
                    resources=["*"],
                )
            )
        plan = DatabaseBackupPlan(
            self,
            "BackupPlan",
            plan_name=backup_plan_name(config.name),
            vault=vault,
            point_in_time_days=config.database.backup_retention_days,
            daily_retention=Duration.days(backup.daily_retention_days),
            daily_at=clock_time(backup.daily_at),
            time_zone=config.maintenance.time_zone,
            copies=copies,
        )
        return plan

    def _acknowledge_dev_trade_offs(self) -> None:
        """Findings that follow from a cost choice config makes for non-prod (the schema forbids it in prod)."""
        db = self.config.database
        if not db.deletion_protection:
            for instance in [self.postgres.primary]:
                acknowledge(
                    instance.node.default_child,  # type: ignore[arg-type]
                    "AwsSolutions-RDS10",
                    "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled",
                    reason=(
                        f"{self.config.name} holds disposable test data and is torn down with its stack, so "
                        "config turns RDS deletion protection off here (the schema requires it in prod); the "
                        "primary still leaves a final snapshot (DeletionPolicy Snapshot)."
                    ),
                )
        if not db.multi_az:
            acknowledge(
                self.postgres.primary.node.default_child,  # type: ignore[arg-type]
                "AwsSolutions-RDS3",
                "NIST.800.53.R5-RDSMultiAZSupport",
                reason=(
                    f"{self.config.name} runs its primary in one AZ (database.multi_az = false) to halve the "
                    "instance cost; an AZ outage there is tolerable, and the schema requires Multi-AZ in prod."
                ),
            )

    def _create_service_access(self) -> dict[str, iam.ManagedPolicy]:
        """One policy per service: IAM login as its own database role (proxy and replicas) and as its own
        cache user. The services stack attaches it to the task role (ARN published in SSM)."""
        policies = {}
        for service, settings in self.config.services.items():
            statements = []
            if settings.database:
                statements.append(
                    iam.PolicyStatement(
                        actions=["rds-db:connect"], resources=self.postgres.connect_resources(database_role(service))
                    )
                )
            if settings.cache_key_prefixes:
                statements.append(
                    iam.PolicyStatement(
                        actions=["elasticache:Connect"],
                        resources=self.cache.connect_resources(cache_user(self.config.name, service)),
                    )
                )
            if not statements:
                continue
            construct_id = pascal_case(service) + "DataAccess"
            policy = iam.ManagedPolicy(
                self,
                construct_id,
                description=f"ticketing {self.config.name}: {service} logs in to PostgreSQL and the cache with IAM "
                "as itself",
                statements=statements,
            )
            ssm.StringParameter(
                self,
                f"{construct_id}Parameter",
                parameter_name=service_parameter_name(self.config.name, service, SERVICE_ACCESS_POLICY),
                string_value=policy.managed_policy_arn,
                description=f"ticketing {self.config.name}: the policy {service}'s task role attaches",
            )
            policies[service] = policy
        return policies

    def _acknowledge_cache_choices(self) -> None:
        """Findings that follow from cache options the schema allows (engine, Multi-AZ outside prod)."""
        cache = self.config.cache
        group = self.cache.replication_group
        if cache.engine == "redis":
            acknowledge(
                group,
                "AwsSolutions-AEC5",
                reason=(
                    "Redis OSS keeps its default port 6379 (the rule does not check Valkey, which uses the same "
                    "port): every Redis client defaults to it, and another port hides nothing from a scanner "
                    "inside the VPC. The group admits only the services' security group, requires TLS and an IAM "
                    "token per service user, and lives in isolated subnets."
                ),
            )
        if not cache.multi_az:
            acknowledge(
                group,
                "AwsSolutions-AEC4",
                reason=(
                    f"{self.config.name} places the cache nodes without Multi-AZ (cache.multi_az = false) to save "
                    "the cross-AZ replica cost; the cache is rebuilt from the database after an AZ outage, and "
                    "the schema requires Multi-AZ in prod."
                ),
            )

    def _publish(self, values: dict[DataParameter, str]) -> None:
        """One SSM String parameter per endpoint (names are the contract in data_parameters.py)."""
        for parameter, value in values.items():
            construct_id = pascal_case(parameter.name) + "Parameter"
            ssm.StringParameter(
                self,
                construct_id,
                parameter_name=parameter_name(self.config.name, parameter),
                string_value=value,
                description=f"ticketing {self.config.name}: {parameter.name.lower().replace('_', ' ')}",
            )
