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

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.python_function import (
    DEFAULT_TIMEOUT,
    FunctionNetwork,
    PythonFunction,
    send_traces,
    write_own_logs,
)

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


class DatabaseFunction(PythonFunction):
    """One Python function in the VPC (a `PythonFunction`): its role, its encrypted log group and the function.

    - Runs in ``subnets`` with ``security_group`` (the caller opens the database to that group).
    - Reads ``secret`` if given (and decrypts it through Secrets Manager only); nothing else unless the
      caller adds statements with ``add_to_policy`` or ``extra_statements``.
    - Logs go to ``log_group_name`` with ``log_retention``, encrypted with ``encryption_key``.
    - ``reserved_concurrency`` reserves and caps how many run at once (default None: no reservation, the
      account's unreserved pool; a reservation takes executions from the account's quota, of which Lambda
      keeps 100 unreserved, so reserve only where one run at a time protects something); ``retry_attempts``
      for asynchronous invocations (default: Lambda's two); with it, ``async_failure_reason`` must say
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
        if retry_attempts is not None and not async_failure_reason:
            raise ValueError("async_failure_reason: say where failures of the asynchronous invocations are seen")
        region = Stack.of(scope).region
        super().__init__(
            scope,
            construct_id,
            code=code,
            runtime=runtime,
            architecture=architecture,
            description=description,
            role_description=f"Runs one function: {description}",
            policy_description=f"What one function may do: {description}",
            statements=[
                write_own_logs(scope, log_group_name),
                iam.PolicyStatement(actions=list(VPC_ACCESS_ACTIONS), resources=["*"]),
                send_traces(),
                *(DatabaseFunction._secret_statements(secret, encryption_key, region) if secret else []),
                *extra_statements,
            ],
            log_group_id="LogGroup",
            log_group_name=log_group_name,
            log_retention=log_retention,
            log_removal_policy=log_removal_policy,
            encryption_key=encryption_key,
            log_streams_reason=(
                f"The function ({description}) writes into its own log group only; CloudWatch Logs needs the "
                "group's ARN with ':*' (its log streams) for CreateLogStream and PutLogEvents."
            ),
            no_reservation_reason=(
                f"The function ({description}) has no reserved concurrency: a reservation takes executions "
                "from the account's quota for good, and Lambda keeps 100 of the quota unreserved, so in an account "
                "whose quota is still 10 or 50 any reservation fails the deploy. Its callers start few runs, "
                "bounded by the caller (CloudFormation once per deploy, a state machine one step at a time, Secrets "
                "Manager one rotation of a secret at a time, schedules that start a handful of jobs together, which "
                "then overlap); the caller reserves where one run at a time protects something (config's "
                "[reserved_concurrency])."
            ),
            network=FunctionNetwork(vpc, subnets, security_group),
            environment=environment,
            timeout=timeout or DEFAULT_TIMEOUT,
            memory_size_mib=memory_size_mib,
            reserved_concurrency=reserved_concurrency,
            retry_attempts=retry_attempts,
        )
        self._acknowledge_findings(description)
        if retry_attempts is not None and async_failure_reason:
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
