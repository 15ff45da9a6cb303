"""What the replication group's removal policy means for the resources around it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy


def supporting_policy(removal_policy: RemovalPolicy) -> RemovalPolicy:
    """Removal policy of the subnet, parameter and security groups and the users: they must stay while the
    group is retained."""
    if removal_policy in (RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE):
        return removal_policy
    return RemovalPolicy.DESTROY


def data_policy(removal_policy: RemovalPolicy) -> RemovalPolicy:
    """Removal policy of the secrets and the log groups: they have no snapshot, so SNAPSHOT keeps them."""
    return RemovalPolicy.RETAIN if removal_policy == RemovalPolicy.SNAPSHOT else removal_policy
