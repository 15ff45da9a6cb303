"""Letting CloudWatch Logs encrypt log groups with a customer-managed KMS key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, Names, Stack, aws_iam as iam, aws_kms as kms
from constructs import IConstruct


def allow_cloudwatch_logs(key: kms.IKey, scope: IConstruct, *, log_group_arns: Sequence[str] = ()) -> None:
    """Add a key-policy statement so CloudWatch Logs of `scope`'s region may use `key`.

    Follows the CloudWatch Logs KMS guide: the principal is the regional service principal
    (``logs.<region>.amazonaws.com``; the global ``logs.amazonaws.com`` is refused when the log
    group is created), limited by the ``aws:logs:arn`` encryption context to `log_group_arns` or,
    when none are given (names not known yet), to any log group of this account and region.
    Statements naming log groups get an id unique per `scope`, so several constructs can share
    one key; the account-wide statement is the same for all and appears once. No-op for an
    imported key, whose policy must already allow this.
    """
    stack = Stack.of(scope)
    condition: dict[str, dict[str, Any]]
    if log_group_arns:
        sid = f"CloudWatchLogsFor{Names.unique_id(scope)}"
        condition = {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": list(log_group_arns)}}
    else:
        sid = "CloudWatchLogsOfThisAccount"  # identical for every caller, so it is added once
        pattern = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
        condition = {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": pattern}}
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions=condition,
        )
    )


def log_group_arn(scope: IConstruct, name: str) -> str:
    """ARN of the log group `name` in `scope`'s account and region, known before the group exists."""
    return Stack.of(scope).format_arn(
        service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
