"""The exported log groups of every instance, created before the instances so retention and KMS apply.

RDS would create ``/aws/rds/instance/<id>/<type>`` itself on first export, unencrypted and kept forever;
creating the groups first (the instances have explicit identifiers for this) sets both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, aws_kms as kms, aws_logs as logs
from constructs import Construct

from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.postgres.engine import LOG_EXPORTS


@dataclass(frozen=True)
class LogProps:
    """Where the database's logs are kept: the exported logs and the rotation function's.

    :param retention: retention of the logs (default: one year, PCI DSS 10.7).
    :param removal_policy: RETAIN (default) keeps the log groups after the stack is deleted; DESTROY deletes
        them, for disposable environments that are torn down and deployed again (their names are fixed by
        RDS, so a retained group would collide with the next deploy).
    """

    retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN


def owner_of(index: int) -> str:
    """``Primary`` for the first instance, ``ReplicaN`` for the N-th replica: the log groups' key and id prefix."""
    return "Primary" if index == 0 else f"Replica{index}"


def create_log_groups(
    scope: Construct, identifiers: Sequence[str], props: LogProps, encryption_key: kms.IKey
) -> dict[str, logs.LogGroup]:
    """The exported log groups of every instance, keyed ``Primary/<type>`` and ``ReplicaN/<type>``.

    `identifiers` holds the primary's DB identifier first, then each replica's. The key policy of
    `encryption_key` is extended for exactly these log groups.
    """
    log_groups: dict[str, logs.LogGroup] = {}
    log_group_arns: list[str] = []
    for index, identifier in enumerate(identifiers):
        owner = owner_of(index)
        for log_type in LOG_EXPORTS:
            name = f"/aws/rds/instance/{identifier}/{log_type}"
            log_groups[f"{owner}/{log_type}"] = encrypted_log_group(
                scope,
                f"{owner}{log_type.capitalize()}Logs",
                log_group_name=name,
                retention=props.retention,
                encryption_key=encryption_key,
                removal_policy=props.removal_policy,
                admit_in_key_policy=False,  # one statement below admits every group of the database
            )
            log_group_arns.append(log_group_arn(scope, name))
    allow_cloudwatch_logs(encryption_key, scope, log_group_arns=log_group_arns)
    return log_groups
