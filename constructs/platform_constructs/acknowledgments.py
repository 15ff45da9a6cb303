"""Accepting a compliance finding on one construct, with the reason on record.

The policy-validation packs (cdk-nag v3) report findings per construct path. A finding that is
accepted by design is acknowledged on the construct that causes it, never on a stack or app, so
every other resource is still checked by the same rule.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, *rules: str, reason: str) -> None:
    """Accept the findings `rules` (e.g. ``AwsSolutions-EC23``) on `construct` and its children.

    `reason` must say why this resource may deviate from the rule; the repository's tests reject
    empty or generic reasons.
    """
    if not rules:
        raise ValueError("acknowledge: name at least one rule id")
    if not reason.strip():
        raise ValueError(f"acknowledge {list(rules)}: reason must not be empty")
    Validations.of(construct).acknowledge(*(Acknowledgment(id=rule, reason=reason) for rule in rules))


def log_streams_as_nag_shows(scope: IConstruct, log_group_name: str) -> str:
    """The ARN of a log group's streams as cdk-nag writes it in a finding's id: pseudo parameters still
    unresolved appear as <AWS::Partition> and the like (without the partition-literals feature flag)."""
    stack = Stack.of(scope)
    partition, region, account = (
        placeholder if Token.is_unresolved(value) else value
        for value, placeholder in (
            (stack.partition, "<AWS::Partition>"),
            (stack.region, "<AWS::Region>"),
            (stack.account, "<AWS::AccountId>"),
        )
    )
    return f"arn:{partition}:logs:{region}:{account}:log-group:{log_group_name}:*"
