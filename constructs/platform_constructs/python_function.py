"""What every Python function of the platform shares: its encrypted log group, its role and reviewable policy,
the runtime it runs on, X-Ray tracing, reserved concurrency and its environment.

`DatabaseFunction` (in the VPC, with the database's secret) and `ScheduledFunction` (outside any VPC, on an
EventBridge Scheduler schedule) are subclasses: they decide the policy's statements, the network and their
acknowledgments' reasons; this class makes the resources. The children are created on the subclass's own
construct (``LogGroup`` or ``Logs``, ``Role``, ``Policy``, ``Function``), so their logical IDs are those the
two constructs had before they shared this code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import (
    Duration,
    RemovalPolicy,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
)
from constructs import Construct, IConstruct

from platform_constructs.acknowledgments import acknowledge, log_streams_as_nag_shows
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_encryption import log_group_arn

#: How long a run may take when the caller says nothing.
DEFAULT_TIMEOUT = Duration.minutes(5)
#: Lambda's limits on a function's memory, in MiB.
MEMORY_RANGE_MIB = (128, 10240)
#: What a reservation may be: at least one run, and no more than the account's default quota.
RESERVED_CONCURRENCY_RANGE = (1, 1000)


def write_own_logs(scope: IConstruct, log_group_name: str) -> iam.PolicyStatement:
    """Writing into the function's own log group: CloudWatch Logs needs the group's ARN with ':*'."""
    return iam.PolicyStatement(
        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
        resources=[f"{log_group_arn(scope, log_group_name)}:*"],
    )


def send_traces() -> iam.PolicyStatement:
    """Sending X-Ray traces (Tracing ACTIVE); X-Ray offers no resource-level permissions for these."""
    return iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"])


class FunctionNetwork:
    """Where a function in a VPC runs: ``subnets`` of ``vpc``, with ``security_group``."""

    def __init__(self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection, security_group: ec2.ISecurityGroup) -> None:
        self.vpc = vpc
        self.subnets = subnets
        self.security_group = security_group


class PythonFunction(Construct):
    """One Python function: its log group, role, customer-managed policy and the function itself.

    - Logs go to ``log_group_name`` (child ``log_group_id``) with ``log_retention``, encrypted with
      ``encryption_key``, whose key policy admits CloudWatch Logs for that group only.
    - Its permissions are one customer-managed policy (reviewable; NIST/PCI IAMNoInlinePolicy) holding
      ``statements`` in the order given; the function waits for it (Lambda checks a VPC function's
      permissions when it creates it).
    - Active X-Ray tracing (the handlers add Powertools' tracer).
    - ``reserved_concurrency`` reserves and caps how many run at once (default None: the account's
      unreserved pool, acknowledged with ``no_reservation_reason``); ``retry_attempts`` for asynchronous
      invocations (default None: Lambda's two).
    - In ``network`` if given, else outside any VPC.

    Exposes ``function``, ``role``, ``policy``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        description: str,
        role_description: str,
        policy_description: str,
        statements: Sequence[iam.PolicyStatement],
        log_group_id: str,
        log_group_name: str,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy,
        encryption_key: kms.IKey,
        log_streams_reason: str,
        no_reservation_reason: str,
        network: FunctionNetwork | None = None,
        environment: Mapping[str, str] | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size_mib: int = 256,
        reserved_concurrency: int | None = None,
        retry_attempts: int | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        low, high = MEMORY_RANGE_MIB
        if not low <= memory_size_mib <= high:
            raise ValueError(f"memory_size_mib: must be between {low} and {high}, got {memory_size_mib}")
        low, high = RESERVED_CONCURRENCY_RANGE
        if reserved_concurrency is not None and not low <= reserved_concurrency <= high:
            raise ValueError(
                f"reserved_concurrency: must be between {low} and {high}, or None for no reservation, "
                f"got {reserved_concurrency}"
            )
        self.log_group = encrypted_log_group(
            self,
            log_group_id,
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=log_removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=role_description[:1000],
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=policy_description[:1000],
            roles=[self.role],
            statements=list(statements),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description[:256],
            runtime=runtime,
            architecture=architecture,
            handler="index.handler",
            code=code,
            vpc=network.vpc if network else None,
            vpc_subnets=network.subnets if network else None,
            security_groups=[network.security_group] if network else None,
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout,
            memory_size=memory_size_mib,
            reserved_concurrent_executions=reserved_concurrency,
            retry_attempts=retry_attempts,
            environment=dict(environment or {}),
        )
        self.function.node.add_dependency(self.policy)
        if reserved_concurrency is None:
            acknowledge(self.function, "NIST.800.53.R5-LambdaConcurrency", reason=no_reservation_reason)
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{log_streams_as_nag_shows(self, log_group_name)}]",
            reason=log_streams_reason,
        )
