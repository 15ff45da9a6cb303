"""The identifiers of what the main region's alarms and dashboard watch.

The stack fills them with names fixed by config and with tokens of names other stacks publish in SSM
(read at each deploy); the alarm reference page fills the latter with placeholders. The alarms and
their names depend only on these, so both describe the same alarms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WatchedResources:
    """:param target_groups: each routed service's target group full name, by service.
    :param instances: the database instances' identifiers, the primary first.
    :param cache_nodes: the cache nodes' cluster ids, member 001 first.
    :param daily_tasks: each scheduled maintenance task, and whether it runs daily (else weekly).
    :param restore_drill: the restore drill's state machine ARN.
    :param service_arn_prefix: the ARN prefix of the cluster's ECS services (`...:service/<cluster>/`).
    """

    cluster_name: str
    load_balancer: str
    target_groups: Mapping[str, str]
    instances: Sequence[str]
    proxy_name: str
    cache_nodes: Sequence[str]
    maintenance_function: str
    daily_tasks: Mapping[str, bool]
    restore_drill: str
    service_arn_prefix: str
