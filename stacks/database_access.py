"""The services' side of the database: their databases and roles, IAM access, and the guide's maintenance.

- A custom resource runs `lambda/database_bootstrap` with the master secret on deploy: every service
  database, its login role (granted `rds_iam`, no password), grants and extensions from config. It
  runs again whenever the spec or the function changes; it never drops anything. aws-cdk-lib's provider
  framework answers CloudFormation for it, so the function in the VPC needs no way out to the internet.
- For one release, `lambda/retired_bootstrap_responder` keeps the logical ID of the function the previous
  custom resource named (see `RetiredBootstrapResponder`).
- `lambda/database_maintenance` runs on EventBridge Scheduler in the configured time zone: nightly
  VACUUM (ANALYZE) of the listed tables, monthly partitions kept ahead, and a weekly report of unused
  indexes and the slowest statements (structured logs and EMF metrics).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import (
    CustomResource,
    Duration,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_rds as rds,
    aws_scheduler as scheduler,
    custom_resources as cr,
)
from constructs import Construct, IConstruct

from config.schema import EnvironmentConfig, database_role
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.database_function import DatabaseFunction
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.log_retention import retention_from_days
from platform_constructs.naming import pascal_case
from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME, PostgresCluster
from platform_constructs.protect_retained import kept_unless_disposable
from platform_constructs.service_principals import scheduler_principal
from stacks.lambda_code import CA_FILE, function_code

#: The role RDS for PostgreSQL grants IAM authentication with.
IAM_ROLE = "rds_iam"
#: CloudWatch namespace of the maintenance metrics.
METRICS_NAMESPACE = "Ticketing/Database"


class DatabaseAccess(Construct):
    """Exposes ``bootstrap_function``, ``bootstrap_provider``, ``bootstrap``, ``retired_bootstrap``,
    ``maintenance_function``, ``schedules``, ``daily_tasks``, ``bootstrap_security_group``,
    ``maintenance_security_group`` and ``retired_bootstrap_security_group``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        postgres: PostgresCluster,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._postgres = postgres
        self._primary_ingress: dict[str, list[IConstruct]] = {}
        databases = {name: s.database for name, s in config.services.items() if s.database}

        # Both reach the primary and Secrets Manager's endpoint in the VPC, nothing else: the provider
        # framework's function, outside the VPC, answers CloudFormation for the bootstrap.
        self.bootstrap_security_group = self._create_security_group(
            vpc, "BootstrapHandlerSecurityGroup", "Database bootstrap function", ec2.Peer.ipv4(vpc.vpc_cidr_block)
        )
        self.maintenance_security_group = self._create_security_group(
            vpc, "MaintenanceSecurityGroup", "Database maintenance function", ec2.Peer.ipv4(vpc.vpc_cidr_block)
        )
        common: dict[str, Any] = {
            "runtime": FUNCTION_RUNTIME,
            "architecture": FUNCTION_ARCHITECTURE,
            "vpc": vpc,
            "subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            "secret": postgres.secret,
            "encryption_key": encryption_key,
            "log_retention": retention_from_days(config.database.log_retention_days),
            "log_removal_policy": kept_unless_disposable(config.is_disposable),
        }
        self.retired_bootstrap = RetiredBootstrapResponder(self, vpc=vpc, common=common, config_name=config.name)
        self.retired_bootstrap_security_group = self.retired_bootstrap.security_group
        self.bootstrap_function = DatabaseFunction(
            self,
            "BootstrapHandler",
            code=function_code("database_bootstrap"),
            description=f"ticketing {config.name}: creates the service databases, roles, grants and extensions",
            log_group_name=f"/ticketing/{config.name}/database/bootstrap-handler",
            security_group=self.bootstrap_security_group,
            reserved_concurrency=config.reserved_concurrency.of("database_bootstrap"),
            retry_attempts=0,
            async_failure_reason=(
                "The provider framework's function invokes the bootstrap synchronously and answers CloudFormation "
                "with its result or its error, which fails the deploy where the operator sees it; a retry or a "
                "failure destination would add nothing but a second run."
            ),
            **common,
        )
        self.bootstrap_provider = self._create_provider(config, encryption_key)
        self.bootstrap = self._create_bootstrap(databases) if databases else None
        if self.bootstrap is not None:
            self._proxy_waits_for(self.bootstrap)
        self.maintenance_function = DatabaseFunction(
            self,
            "MaintenanceFunction",
            code=function_code("database_maintenance"),
            description=f"ticketing {config.name}: VACUUM (ANALYZE), monthly partitions, unused-index report",
            log_group_name=f"/ticketing/{config.name}/database/maintenance",
            security_group=self.maintenance_security_group,
            timeout=Duration.minutes(15),
            # The jobs below start at the same minute; with a reservation of 1 they run one after another on
            # the primary (Lambda queues a throttled asynchronous call for up to six hours), config's choice.
            reserved_concurrency=config.reserved_concurrency.of("database_maintenance"),
            retry_attempts=0,
            async_failure_reason=(
                "EventBridge Scheduler starts the maintenance jobs; each run logs a structured report and the "
                "MaintenanceProblems metric, every job is idempotent and runs again at its next schedule, so a "
                "failed run is seen in the logs and metrics rather than in a failure destination."
            ),
            environment={
                "SECRET_ARN": postgres.secret.secret_arn,
                "DB_HOST": postgres.writer_endpoint_address,
                "DB_PORT": str(postgres.port),
                "CA_FILE": CA_FILE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_SERVICE_NAME": "database-maintenance",
            },
            **common,
        )
        self.schedules = self._create_schedules(databases)

    # --- The provider framework ------------------------------------------------------------------
    def _create_provider(self, config: EnvironmentConfig, encryption_key: kms.IKey) -> cr.Provider:
        """aws-cdk-lib's provider framework with the bootstrap as its onEvent handler. Its own function runs
        outside the VPC (it calls Lambda and answers CloudFormation's pre-signed S3 URL, and reaches no data),
        logging to a log group of its own, encrypted with the data key, kept for the database's log retention."""
        name = f"/ticketing/{config.name}/database/bootstrap-provider"
        log_group = logs.LogGroup(
            self,
            "BootstrapProviderLogs",
            log_group_name=name,
            retention=retention_from_days(config.database.log_retention_days),
            encryption_key=encryption_key,
            removal_policy=kept_unless_disposable(config.is_disposable),
        )
        allow_cloudwatch_logs(encryption_key, log_group, log_group_arns=[log_group_arn(self, name)])
        provider = cr.Provider(
            self, "BootstrapProvider", on_event_handler=self.bootstrap_function.function, log_group=log_group
        )
        self._acknowledge_provider(provider)
        return provider

    def _acknowledge_provider(self, provider: cr.Provider) -> None:
        framework = provider.node.find_child("framework-onEvent")
        role = framework.node.find_child("ServiceRole")
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            reason="aws-cdk-lib's provider framework gives its function the AWS managed policy for writing its logs; "
            "the framework creates that role itself and offers no way to replace the policy.",
        )
        handler = self.bootstrap_function.function.node.default_child
        assert isinstance(handler, lambda_.CfnFunction)
        handler_id = Stack.of(self).resolve(handler.logical_id)
        acknowledge(
            role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::<{handler_id}.Arn>:*]",
            reason="The provider framework may invoke every version of the bootstrap function (its ARN with ':*'), "
            "which aws-cdk-lib grants on its own; it names that one function and nothing else.",
        )

        acknowledge(
            role.node.find_child("DefaultPolicy"),
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "PCI.DSS.321-IAMNoInlinePolicy",
            reason="aws-cdk-lib's provider framework grants its function the right to invoke the bootstrap function "
            "in its role's inline default policy; the framework makes the role and the grant itself.",
        )
        acknowledge(
            framework.node.find_child("Resource"),
            "NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321-LambdaInsideVPC",
            reason="The provider framework's function only invokes the bootstrap function and answers CloudFormation "
            "at its pre-signed S3 URL; it reaches no data, so it stays outside the VPC (in it, it would need a way "
            "to S3 and Lambda), and the function that reaches the database is the one in the VPC.",
        )
        acknowledge(
            framework.node.find_child("Resource"),
            "NIST.800.53.R5-LambdaDLQ",
            "Serverless-LambdaDLQ",
            reason="CloudFormation invokes the provider framework's function for the bootstrap resource and waits for "
            "its answer: a failure fails the deploy where the operator sees it, and a dead-letter queue would hold "
            "a request nobody can answer any more.",
        )
        acknowledge(
            framework.node.find_child("Resource"),
            "NIST.800.53.R5-LambdaConcurrency",
            reason="The provider framework's function runs once per deploy of the data stack, started by "
            "CloudFormation; a reservation would take executions from the account's quota for good.",
        )
        acknowledge(
            framework.node.find_child("Resource"),
            "Serverless-LambdaDefaultMemorySize",
            "Serverless-LambdaTracing",
            reason="aws-cdk-lib's provider framework sets its own function's memory and tracing and offers no setting "
            "for either; it relays one request and waits for the bootstrap, whose own function is traced.",
        )

    # --- Network ----------------------------------------------------------------------------------
    def _create_security_group(
        self, vpc: ec2.IVpc, construct_id: str, label: str, https_peer: ec2.IPeer
    ) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            construct_id,
            vpc=vpc,
            description=f"{label}: the PostgreSQL primary, and HTTPS to AWS endpoints",
            allow_all_outbound=False,
        )
        group.add_egress_rule(https_peer, ec2.Port.tcp(443), "HTTPS to AWS endpoints")
        port = ec2.Port.tcp(self._postgres.port)
        group.add_egress_rule(ec2.Peer.security_group_id(self._postgres.security_group.security_group_id), port,
                              "PostgreSQL primary")  # fmt: skip
        before = {child.node.id for child in self._postgres.security_group.node.children}
        self._postgres.security_group.add_ingress_rule(group, port, label)
        self._primary_ingress[construct_id] = [
            child for child in self._postgres.security_group.node.children if child.node.id not in before
        ]
        return group

    # --- Bootstrap --------------------------------------------------------------------------------
    def _create_bootstrap(self, databases: dict[str, str]) -> CustomResource:
        spec = {
            "databases": [
                {
                    "name": database,
                    "owner_role": database_role(service),
                    "extensions": list(self._config.database.extensions),
                }
                for service, database in databases.items()
            ],
            "iam_role": IAM_ROLE,
        }
        spec_json = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        # A new logical ID: the resource that named the function itself ("Bootstrap") cannot change its token.
        bootstrap = CustomResource(
            self,
            "BootstrapResource",
            service_token=self.bootstrap_provider.service_token,
            resource_type="Custom::DatabaseBootstrap",
            properties={
                "SecretArn": self._postgres.secret.secret_arn,
                "Host": self._postgres.writer_endpoint_address,
                "Port": str(self._postgres.port),
                "CaFile": CA_FILE,
                "Spec": spec_json,
                # The function's code (its asset's S3 key is the digest of what ships): new code converges again
                # even when the spec is unchanged.
                "CodeVersion": self._code_key(self.bootstrap_function),
            },
            removal_policy=RemovalPolicy.RETAIN,
            # A provider that never answers fails the deploy after ten minutes instead of CloudFormation's hour
            # (the framework answers as soon as the handler returns or fails).
            service_timeout=Duration.minutes(10),
        )
        # Host (a GetAtt) already makes it wait for the primary; the function must also reach it, through
        # its own group's egress and the primary group's ingress rule (a resource of its own).
        bootstrap.node.add_dependency(
            self.bootstrap_security_group, *self._primary_ingress["BootstrapHandlerSecurityGroup"]
        )
        return bootstrap

    def _proxy_waits_for(self, bootstrap: CustomResource) -> None:
        """The proxy logs in to the primary as the service roles the bootstrap creates (end-to-end IAM): its
        target group registers the primary only once they exist. Nothing else orders the two (the bootstrap
        waits for the primary; the proxy, for the replicas); a DependsOn makes it explicit."""
        target_group = self._postgres.proxy.node.try_find_child("ProxyTargetGroup")
        if not isinstance(target_group, rds.CfnDBProxyTargetGroup):
            raise RuntimeError("DatabaseAccess: the RDS Proxy has no target group to order")  # pragma: no cover
        target_group.node.add_dependency(bootstrap)

    @staticmethod
    def _code_key(function: DatabaseFunction) -> str:
        cfn = function.function.node.default_child
        if not isinstance(cfn, lambda_.CfnFunction) or not isinstance(cfn.code, lambda_.CfnFunction.CodeProperty):
            raise RuntimeError("DatabaseAccess: the bootstrap function has no asset code")  # pragma: no cover
        return str(cfn.code.s3_key)

    # --- Maintenance ------------------------------------------------------------------------------
    def _create_schedules(self, databases: dict[str, str]) -> list[scheduler.CfnSchedule]:
        services = self._config.services
        maintenance = self._config.maintenance
        timeout = maintenance.statement_timeout_seconds
        vacuum = {s.database: list(s.vacuum_tables) for s in services.values() if s.database and s.vacuum_tables}
        partitions = [
            {"database": s.database, "table": t.table, "column": t.column, "months_ahead": t.months_ahead}
            for s in services.values()
            for t in s.partitioned_tables
            if s.database
        ]
        hour, minute = (int(part) for part in maintenance.daily_at.split(":"))
        daily, weekly = f"cron({minute} {hour} * * ? *)", f"cron({minute} {hour} ? * MON *)"
        tasks: list[tuple[str, str, dict[str, Any]]] = []
        # One run per database: a run may take at most a Lambda's 15 minutes, and the schema keeps each
        # database's tables times the statement timeout below that.
        for database, tables in vacuum.items():
            name = "Vacuum" + pascal_case(database)
            tasks.append((name, daily, {"task": "vacuum", "databases": {database: tables}}))
        if partitions:
            tasks.append(("Partitions", daily, {"task": "partitions", "tables": partitions}))
        if databases:
            tasks.append(("Report", weekly, {"task": "report", "databases": sorted(set(databases.values()))}))
        #: Each maintenance task that is scheduled, and whether it runs daily (else weekly).
        self.daily_tasks = {payload["task"]: expression == daily for _, expression, payload in tasks}
        for _, _, payload in tasks:
            payload["statement_timeout_seconds"] = timeout if payload["task"] != "report" else min(timeout, 60)
        if not tasks:
            return []
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=scheduler_principal(self),
            description=f"ticketing {self._config.name}: lets EventBridge Scheduler start database maintenance",
        )
        policy = iam.ManagedPolicy(
            self,
            "SchedulerPolicy",
            description="Invoke the database maintenance function",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"], resources=[self.maintenance_function.function.function_arn]
                )
            ],
        )
        schedules = []
        for name, expression, payload in tasks:
            schedule = scheduler.CfnSchedule(
                self,
                f"{name}Schedule",
                description=f"ticketing {self._config.name}: database maintenance, {payload['task']}"
                + (f" of {next(iter(payload['databases']))}" if payload["task"] == "vacuum" else ""),
                schedule_expression=expression,
                schedule_expression_timezone=maintenance.time_zone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=self.maintenance_function.function.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps(payload, sort_keys=True),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
                ),
            )
            schedule.node.add_dependency(policy)
            schedules.append(schedule)
        return schedules


class RetiredBootstrapResponder:
    """For one release: the function the previous bootstrap custom resource named as its service token.

    Remove it, with its security group and that group's HTTPS egress, in the next release, once every
    environment has deployed the new resource (``DatabaseAccess/BootstrapResource``).

    The previous custom resource (``DatabaseAccess/Bootstrap``) named this function's ARN; CloudFormation
    refuses to change a custom resource's service token, so the bootstrap now answered through the
    provider framework is a new resource under a new logical ID, and the old one leaves the template. Its
    DeletionPolicy is Retain, so CloudFormation normally forgets it without a Delete request; a request that
    does still arrive for it comes here as CloudFormation sends it, with a pre-signed ``ResponseURL``, and
    ``lambda/retired_bootstrap_responder`` answers SUCCESS and does nothing else. Reusing
    the bootstrap function as the provider's handler under the old ID would leave such a request
    unanswered (the handler returns its answer to the framework instead of sending it) until the
    resource's ten-minute timeout.

    Not a construct of its own: its security group and function are created in ``scope`` under the ids
    the previous bootstrap had (``BootstrapSecurityGroup``, ``BootstrapFunction``), so their logical IDs,
    the log group's fixed name and the role stay where they are. The group keeps its description (changing
    it would replace the group) and its HTTPS egress to any address (S3's pre-signed URL, through the
    gateway endpoint; S3's addresses are not known at synthesis); the way to the PostgreSQL primary goes:
    the responder never connects to the database and holds no secret.
    """

    def __init__(self, scope: Construct, *, vpc: ec2.IVpc, common: dict[str, Any], config_name: str) -> None:
        self.security_group = ec2.SecurityGroup(
            scope,
            "BootstrapSecurityGroup",
            vpc=vpc,
            description="Database bootstrap function: the PostgreSQL primary, and HTTPS to AWS endpoints",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS endpoints")
        self.function = DatabaseFunction(
            scope,
            "BootstrapFunction",
            code=function_code("retired_bootstrap_responder"),
            description=f"ticketing {config_name}: answers SUCCESS to the retired database bootstrap resource "
            "(remove in the next release)",
            log_group_name=f"/ticketing/{config_name}/database/bootstrap",
            security_group=self.security_group,
            retry_attempts=0,
            async_failure_reason=(
                "CloudFormation invokes it for the retired custom resource and waits for its answer at the "
                "response URL; a failure shows in the stack's events and its log group, and a retry would only "
                "answer the same request again."
            ),
            **{**common, "secret": None},
        )
