"""Tag steady-state resources with the commitment meant to cover them (reservations, Savings Plans).

A coverage report matches these tags against the account's active commitments; the tags also make
the intent visible in Cost Explorer. Which resources are steady-state:

| Resource | `Commitment` | `CommitmentSize` |
|---|---|---|
| `AWS::RDS::DBInstance` | `rds-reserved-instance` | its `DBInstanceClass` |
| `AWS::ElastiCache::ReplicationGroup` | `elasticache-reserved-node` | `<CacheNodeType> x <nodes>` |
| `AWS::ECS::Service` with an on-demand `FARGATE` base | `compute-savings-plan` | `<base> tasks` |

Fargate has no reservations: its commitment is a Compute Savings Plan.

`CommitmentTerm` is the term (`1-year`, `3-year`), or `none` for resources deliberately left on demand.
Spot tasks and services without a base are never tagged: nothing steady to commit to.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import IAspect, Stack, aws_ecs as ecs, aws_elasticache as elasticache, aws_rds as rds
from constructs import IConstruct

TERMS = ("none", "1-year", "3-year")
COMMITMENT_TAG = "Commitment"
TERM_TAG = "CommitmentTerm"
SIZE_TAG = "CommitmentSize"


@jsii.implements(IAspect)
class CommitmentTags:
    """Add with `add_aspect(scope, CommitmentTags(term))` (batched_aspects) or `Aspects.of(scope).add(...)`."""

    def __init__(self, term: str) -> None:
        if term not in TERMS:
            raise ValueError(f"term: must be one of {', '.join(TERMS)}, got {term!r}")
        self._term = term

    def visit(self, node: IConstruct) -> None:
        found = _commitment(node)
        if found is None:
            return
        kind, size = found
        tags = node.tags  # type: ignore[attr-defined]  # every class _commitment accepts is taggable
        for key, value in ((COMMITMENT_TAG, kind), (TERM_TAG, self._term), (SIZE_TAG, size)):
            tags.set_tag(key, value)


def _commitment(node: IConstruct) -> tuple[str, str] | None:
    if isinstance(node, rds.CfnDBInstance) and isinstance(node.db_instance_class, str):
        return "rds-reserved-instance", node.db_instance_class
    if isinstance(node, elasticache.CfnReplicationGroup) and isinstance(node.cache_node_type, str):
        nodes = node.num_cache_clusters or (node.replicas_per_node_group or 0) + 1
        return "elasticache-reserved-node", f"{node.cache_node_type} x {nodes}"
    if isinstance(node, ecs.CfnService):
        base = _fargate_base(Stack.of(node).resolve(node.capacity_provider_strategy))
        if base:
            return "compute-savings-plan", f"{base} tasks"
    return None


def _fargate_base(strategy: Any) -> int:
    if not isinstance(strategy, list):
        return 0
    # Resolved from the L1 properties: the keys are the Python classes' (camelCase), not CloudFormation's.
    return sum(
        int(item.get("base", 0) or 0)
        for item in strategy
        if isinstance(item, dict) and item.get("capacityProvider") == "FARGATE"
    )
