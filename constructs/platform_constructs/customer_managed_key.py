"""A customer-managed KMS key with the settings every key of the platform shares.

Every key rotates its material yearly (KMS keeps the old versions, so nothing re-encrypts) and is kept
when its stack or construct is deleted: whatever it encrypted (a database, recovery points, secrets,
logs) outlives the stack and is unreadable without it. What differs between keys is what they are for
(the description), and whether CloudWatch Logs may use them for log groups of the account whose names are
not known when the key is made.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, aws_kms as kms
from constructs import Construct

from platform_constructs.log_encryption import allow_cloudwatch_logs


def customer_managed_key(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    logs_of_this_account: bool = False,
) -> kms.Key:
    """A rotating key created as `construct_id` in `scope` (no construct level of its own: the ids stay).

    :param description: what the key encrypts, shown in the KMS console.
    :param removal_policy: default: RETAIN (the data it encrypted outlives the stack).
    :param logs_of_this_account: the key policy lets CloudWatch Logs of this account and region use the key
        for any of its log groups (needed for log groups with generated names, whose ARNs are not known
        in advance). Default: no such statement; a named log group adds one naming just itself
        (`encrypted_log_group`).
    """
    key = kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
    )
    if logs_of_this_account:
        allow_cloudwatch_logs(key, key)
    return key
