"""Service principals that assume a role or invoke a function, limited to this account's own sources.

A service that acts for many accounts can be steered by another account into using a role or function of
this one (the confused deputy). Where the service's own documentation says it sends `aws:SourceAccount` and
`aws:SourceArn` when it assumes a role or invokes a function, the trust carries both: the account, and the
ARN (a pattern) of the resource it acts for. Where the documentation names no such key, none is added: a
key the service does not send makes the condition false and denies the service at run time. The services of
each kind, and why, are in docs/tiers/data.md ("Service principals and their source conditions") and in
`tests/test_service_principal_conditions.py`, which reads every template.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack, aws_iam as iam
from constructs import Construct

#: The schedule group a schedule belongs to when it names none.
DEFAULT_SCHEDULE_GROUP = "default"


def source_conditions(scope: Construct, source_arn: str) -> dict[str, dict[str, str]]:
    """`aws:SourceAccount` this stack's account and `aws:SourceArn` like `source_arn` (a pattern may hold `*`)."""
    return {
        "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
        "ArnLike": {"aws:SourceArn": source_arn},
    }


def from_own_source(scope: Construct, service: str, source_arn: str) -> iam.PrincipalWithConditions:
    """`service` (e.g. ``states.amazonaws.com``), trusted only when acting for `source_arn` in this account."""
    return iam.PrincipalWithConditions(iam.ServicePrincipal(service), source_conditions(scope, source_arn))


def scheduler_principal(scope: Construct, group: str = DEFAULT_SCHEDULE_GROUP) -> iam.PrincipalWithConditions:
    """EventBridge Scheduler for the schedules of `group` in this account and region (Scheduler sends the
    schedule group's ARN as `aws:SourceArn` when it assumes a schedule's execution role)."""
    arn = Stack.of(scope).format_arn(
        service="scheduler", resource="schedule-group", resource_name=group, arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )
    return from_own_source(scope, "scheduler.amazonaws.com", arn)


def ecs_task_role_principal(scope: Construct) -> iam.PrincipalWithConditions:
    """ECS tasks of this account and region, for a task role (the role a task definition's containers use).

    ECS's task IAM role page recommends `aws:SourceAccount` and `aws:SourceArn` in the task role's trust and
    gives `arn:<partition>:ecs:<region>:<account>:*`: naming one cluster in `aws:SourceArn` is not supported,
    so the ARN matches every ECS resource of the account and region. Not for a task execution role: ECS's
    execution-role page gives that trust without the keys (see the table in docs/tiers/data.md).
    """
    arn = Stack.of(scope).format_arn(service="ecs", resource="*")
    return from_own_source(scope, "ecs-tasks.amazonaws.com", arn)
