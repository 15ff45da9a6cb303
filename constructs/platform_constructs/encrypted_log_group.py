"""A CloudWatch Logs group encrypted with a customer-managed key, with a retention and a removal policy.

CloudWatch Logs encrypts a group with a KMS key only when the key's policy lets the regional logs
service principal use it (`log_encryption.allow_cloudwatch_logs`); creating the group fails otherwise.
So the group and that statement are made together: a named group's statement names just that group
(the `aws:logs:arn` encryption context), a group with a generated name gets the account-wide statement,
its ARN not being known in advance. A group is never left without a retention: CloudWatch Logs would
keep it forever.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_kms as kms, aws_logs as logs
from constructs import Construct

from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn


def encrypted_log_group(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    retention: logs.RetentionDays,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    log_group_name: str | None = None,
    admit_in_key_policy: bool = True,
) -> logs.LogGroup:
    """A log group created as `construct_id` in `scope` (no construct level of its own: the ids stay).

    :param log_group_name: default: a name CloudFormation generates.
    :param removal_policy: default: RETAIN. A group with a fixed name in an environment that is torn
        down and deployed again needs DESTROY, or the next deploy finds the name taken.
    :param admit_in_key_policy: add the key-policy statement that lets CloudWatch Logs use the key for
        this group (its statement's id is unique per `scope`, so one group per scope). False when the
        caller admits several groups in one statement, or the key's policy already admits them.
    """
    if admit_in_key_policy:
        if log_group_name is None:
            allow_cloudwatch_logs(encryption_key, scope)
        else:
            allow_cloudwatch_logs(encryption_key, scope, log_group_arns=[log_group_arn(scope, log_group_name)])
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_name,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
