"""A Python function (a `PythonFunction`) outside any VPC that EventBridge Scheduler starts on a schedule:
a report or a sweep.

- Its log group (`log_group_name`, `log_retention`, encrypted with `encryption_key`) is created with it.
- Its permissions are one customer-managed policy: `statements`, plus writing its own logs and X-Ray.
  Statements on `*` (calls without resource-level permissions) need `wildcard_reason`.
- EventBridge Scheduler invokes it with `payload` (JSON) on `schedule` (a cron expression) in `time_zone`,
  without retries and no Lambda retries either: the next scheduled run is the retry, and a failure is
  in the log group. ``reserved_concurrency`` reserves executions for it (default None: none; a schedule
  that starts one run a week needs no cap, and a reservation takes from the account's quota, of which
  Lambda keeps 100 unreserved).

Exposes ``function``, ``role``, ``policy``, ``log_group`` and ``schedule``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import (
    Duration,
    RemovalPolicy,
    Stack,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_scheduler as scheduler,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.python_function import DEFAULT_TIMEOUT, PythonFunction, send_traces, write_own_logs
from platform_constructs.service_principals import scheduler_principal


class ScheduledFunction(PythonFunction):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        description: str,
        log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        statements: Sequence[iam.PolicyStatement],
        schedule: str,
        time_zone: str,
        payload: Mapping[str, Any],
        environment: Mapping[str, str],
        wildcard_reason: str | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size_mib: int = 256,
        reserved_concurrency: int | None = None,
    ) -> None:
        if not schedule.startswith("cron(") and not schedule.startswith("rate("):
            raise ValueError(f"schedule: a cron(...) or rate(...) expression, got {schedule!r}")
        wildcards = any("*" in resource for statement in statements for resource in statement.resources)
        if wildcards and not wildcard_reason:
            raise ValueError("wildcard_reason: say why statements on '*' are needed (no resource-level permissions)")
        super().__init__(
            scope,
            construct_id,
            code=code,
            runtime=runtime,
            architecture=architecture,
            description=description,
            role_description=description,
            policy_description=description,
            statements=[*statements, write_own_logs(scope, log_group_name), send_traces()],
            log_group_id="Logs",
            log_group_name=log_group_name,
            log_retention=log_retention,
            # A fixed name: the stack must deploy again after a teardown.
            log_removal_policy=RemovalPolicy.DESTROY,
            encryption_key=encryption_key,
            log_streams_reason=f"The function ({description}) writes to its own log group only; CloudWatch Logs "
            "needs the group's ARN with ':*' (its log streams)",
            no_reservation_reason=f"The function ({description}) has no reserved concurrency: its schedule starts "
            "one run at a time, far apart, and a reservation takes executions from the account's quota for good "
            "(Lambda keeps 100 of it unreserved, so in an account whose quota is still 10 or 50 any reservation "
            "fails the deploy).",
            environment=environment,
            timeout=timeout,
            memory_size_mib=memory_size_mib,
            reserved_concurrency=reserved_concurrency,
            retry_attempts=0,
        )
        self._statements = list(statements)
        self.schedule = self._schedule(description, schedule, time_zone, payload)
        self._acknowledge(Stack.of(self), description, wildcard_reason)

    def _schedule(
        self, description: str, expression: str, time_zone: str, payload: Mapping[str, Any]
    ) -> scheduler.CfnSchedule:
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=scheduler_principal(self),
            description=f"EventBridge Scheduler starts: {description}"[:1000],
        )
        policy = iam.ManagedPolicy(
            self,
            "SchedulerPolicy",
            description=f"Invoke: {description}"[:1000],
            roles=[role],
            statements=[iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])],
        )
        schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=description[:512],
            schedule_expression=expression,
            schedule_expression_timezone=time_zone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps(dict(payload), sort_keys=True),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )
        schedule.node.add_dependency(policy)
        return schedule

    def _acknowledge(self, stack: Stack, description: str, wildcard_reason: str | None) -> None:
        for resource in sorted({r for statement in self._statements for r in statement.resources}):
            shown = _as_nag_shows(stack.resolve(resource))
            if "*" in shown and shown != "*" and wildcard_reason:
                acknowledge(self.policy, f"AwsSolutions-IAM5[Resource::{shown}]", reason=wildcard_reason)
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason=(wildcard_reason + "; " if wildcard_reason else "")
            + "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Serverless-LambdaDLQ",
            "NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321-LambdaInsideVPC",
            reason=f"The function ({description}) runs on a schedule and is idempotent: a failed run is in its log "
            "group and the next scheduled run does the work again, so a dead-letter queue would hold nothing worth "
            "replaying; it calls AWS APIs only and reaches none of the platform's data, so it runs outside the VPC",
        )
        acknowledge(
            self.function.node.find_child("EventInvokeConfig"),
            "Serverless-LambdaAsyncFailureDestination",
            reason="EventBridge Scheduler starts it without retries; a failure is in its log group and the next "
            "scheduled run does the work again",
        )


def _as_nag_shows(value: Any) -> str:
    """A resolved ARN as cdk-nag writes it in a finding: pseudo parameters as <AWS::Partition> and the like."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_as_nag_shows(part) for part in parts)
    return json.dumps(value, sort_keys=True)
