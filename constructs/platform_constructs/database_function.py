"""A Lambda function that works on a database from inside the VPC (with the database's master secret, if given)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import (
    Duration,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge, log_streams_as_nag_shows
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn

#: How long a run may take when the caller says nothing.
DEFAULT_TIMEOUT = Duration.minutes(5)
#: Actions a function attached to a VPC needs for its network interfaces (what AWS's
#: AWSLambdaVPCAccessExecutionRole grants); EC2 offers no resource-level permissions for them.
VPC_ACCESS_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class DatabaseFunction(Construct):
    """One Python function in the VPC: its role, its encrypted log group and the function.

    - Runs in ``subnets`` with ``security_group`` (the caller opens the database to that group).
    - Reads ``secret`` if given (and decrypts it through Secrets Manager only); nothing else unless the
      caller adds statements with ``add_to_policy``.
    - Its permissions live in a customer-managed policy (reviewable; NIST/PCI IAMNoInlinePolicy), which
      the function waits for: Lambda checks the VPC permissions when it creates the function.
    - Logs go to ``log_group_name`` with ``log_retention``, encrypted with ``encryption_key``.
    - Active X-Ray tracing; ``reserved_concurrency`` reserves and caps how many run at once (default
      None: no reservation, the account's unreserved pool; a reservation takes executions from the
      account's quota, of which Lambda keeps 100 unreserved, so reserve only where one run at a time
      protects something); ``retry_attempts`` for
      asynchronous invocations (default: Lambda's two); with it, ``async_failure_reason`` must say
      why the function needs no failure destination (where its failures are seen instead).

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
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        secret: secretsmanager.ISecret | None,
        encryption_key: kms.IKey,
        log_group_name: str,
        log_retention: logs.RetentionDays,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        environment: Mapping[str, str] | None = None,
        timeout: Duration | None = None,
        memory_size_mib: int = 256,
        reserved_concurrency: int | None = None,
        retry_attempts: int | None = None,
        async_failure_reason: str | None = None,
        extra_statements: Sequence[iam.PolicyStatement] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._log_group_name = log_group_name
        if not 128 <= memory_size_mib <= 10240:
            raise ValueError(f"memory_size_mib: must be between 128 and 10240, got {memory_size_mib}")
        if reserved_concurrency is not None and not 1 <= reserved_concurrency <= 1000:
            raise ValueError(
                "reserved_concurrency: must be between 1 and 1000, or None for no reservation, "
                f"got {reserved_concurrency}"
            )
        stack = Stack.of(self)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=log_removal_policy,
        )
        allow_cloudwatch_logs(encryption_key, self, log_group_arns=[log_group_arn(self, log_group_name)])

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs one function: {description}"[:1000],
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"What one function may do: {description}"[:1000],
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{log_group_arn(self, log_group_name)}:*"],
                ),
                iam.PolicyStatement(actions=list(VPC_ACCESS_ACTIONS), resources=["*"]),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
                *(self._secret_statements(secret, encryption_key, stack.region) if secret else []),
                *extra_statements,
            ],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=description[:256],
            runtime=runtime,
            architecture=architecture,
            handler="index.handler",
            code=code,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[security_group],
            role=self.role.without_policy_updates(),
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=timeout or DEFAULT_TIMEOUT,
            memory_size=memory_size_mib,
            reserved_concurrent_executions=reserved_concurrency,
            retry_attempts=retry_attempts,
            environment=dict(environment or {}),
        )
        self.function.node.add_dependency(self.policy)
        self._acknowledge_findings(description)
        if reserved_concurrency is None:
            acknowledge(
                self.function,
                "NIST.800.53.R5-LambdaConcurrency",
                reason=f"The function ({description}) has no reserved concurrency: a reservation takes executions "
                "from the account's quota for good, and Lambda keeps 100 of the quota unreserved, so in an account "
                "whose quota is still 10 or 50 any reservation fails the deploy. Its callers start few runs, "
                "bounded by the caller (CloudFormation once per deploy, a state machine one step at a time, Secrets "
                "Manager one rotation of a secret at a time, schedules that start a handful of jobs together, which "
                "then overlap); the caller reserves where one run at a time protects something (config's "
                "[reserved_concurrency]).",
            )
        if retry_attempts is not None:
            if not async_failure_reason:
                raise ValueError("async_failure_reason: say where failures of the asynchronous invocations are seen")
            acknowledge(
                self.function.node.find_child("EventInvokeConfig"),
                "Serverless-LambdaAsyncFailureDestination",
                reason=async_failure_reason,
            )

    @staticmethod
    def _secret_statements(
        secret: secretsmanager.ISecret, encryption_key: kms.IKey, region: str
    ) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secret.secret_arn],
            ),
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            ),
        ]

    def add_to_policy(self, statement: iam.PolicyStatement) -> None:
        """Let the function do more (the policy is customer-managed, so this stays reviewable)."""
        self.policy.add_statements(statement)

    def _acknowledge_findings(self, description: str) -> None:
        streams = log_streams_as_nag_shows(self, self._log_group_name)
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{streams}]",
            reason=(
                f"The function ({description}) writes into its own log group only; CloudWatch Logs needs the "
                "group's ARN with ':*' (its log streams) for CreateLogStream and PutLogEvents."
            ),
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Serverless-LambdaDLQ",
            reason=(
                f"The function ({description}) fails visibly where it is invoked: Secrets Manager records a "
                "failed rotation and keeps the current password, a custom resource answers FAILED to "
                "CloudFormation and fails the deploy, a scheduled job logs a structured report and the "
                "MaintenanceProblems metric before it ends, and a state machine's step fails its execution, "
                "which cleans up after it and raises an alarm; every one is idempotent and runs again, so an "
                "unprocessed event in a dead-letter queue would hold nothing to replay."
            ),
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason=(
                f"The function ({description}) runs in the VPC: creating and removing its network interfaces "
                "(ec2:CreateNetworkInterface and the rest of what AWSLambdaVPCAccessExecutionRole grants) and "
                "sending X-Ray traces have no resource-level permissions, so these two statements must name '*'. "
                "Every other statement names its resource."
            ),
        )
