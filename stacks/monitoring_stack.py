"""Monitoring stack: the main region's alarms and the environment's dashboard.

Deployed last in its region. It holds no reference to another stack's resources: what it watches has
a name fixed by config (the cluster, the services, the database instances, the proxy) or a name
another stack publishes in SSM (the ALB, the cache group, the maintenance function), read as a
CloudFormation parameter at each deploy. So each watched stack deploys, and is replaced, on its
own. The seat alarm lives in the services stack (its step policies act on the scalable targets
there); CloudFront's and WAF's alarms live in the edge stack (us-east-1).

Outside prod the night schedule stops every service; the one alarm here that the stop trips (the load
balancer's own 5XX: with no target it answers 503) is muted exactly while the services are stopped
(`stacks/night_mute.py`); every other alarm here treats the stopped services as no breach.

Every alarm states what to check first, treats missing data deliberately and notifies its topic
when it fires and when it recovers. The choices and the reasons are in docs/tiers/observability.md.

The stack composes the parts in `stacks/monitoring/`: the alarms as specs (`catalogue`), the event
rules and their log groups (`events`) and the dashboard (`dashboard`), each created here, with this
stack as scope, so that every construct keeps the id, and so the logical ID, it has always had.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Fn, aws_cloudwatch as cloudwatch, aws_sns as sns, aws_ssm as ssm
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import create_alarms
from platform_constructs.alarm_topics import topic_arn
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.physical_names import (
    DataParameter,
    cluster_name as ecs_cluster_name,
    data_parameter_name,
    environment_prefix,
    load_balancer_parameter_name,
    target_group_parameter_name,
)
from platform_constructs.severity import Severity
from stacks.data_stack import DataStack
from stacks.monitoring.catalogue import monitoring_alarms
from stacks.monitoring.dashboard import monitoring_dashboard
from stacks.monitoring.events import event_watches, record_events
from stacks.monitoring.watched import WatchedResources
from stacks.night_mute import night_mute_rules
from stacks.platform_stack import PlatformStack
from stacks.restore_drill import drill_state_machine_arn


class MonitoringStack(PlatformStack):
    """Exposes ``alarms`` (by alarm name), ``dashboard``, ``start_failures_rule`` and ``mute_rules``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, data: DataStack, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.prefix = environment_prefix(config.name)
        self.topics: dict[Severity, sns.ITopic] = {
            severity: sns.Topic.from_topic_arn(
                self, f"{severity.value.capitalize()}Topic", topic_arn(self, self.prefix, severity)
            )
            for severity in Severity
        }
        self.watched = self._watched_resources(data)
        self.cluster_name = self.watched.cluster_name
        # The alarms come before the key, the event logs and the dashboard, as they always did: the template's
        # CDK metadata lists the construct types in the order they are first created.
        specs = monitoring_alarms(config, self.prefix, self.watched)
        self.alarms: dict[str, cloudwatch.Alarm] = create_alarms(self, self.prefix, specs, self.topics)
        #: Alarms the night schedule's stop trips: muted while the services are stopped.
        self.tripped_by_night = [self.alarms[spec.name(self.prefix)] for spec in specs if spec.muted_at_night]
        self.key = customer_managed_key(
            self,
            "MonitoringKey",
            description=f"ticketing {config.name}: the event logs (ECS service events, AWS Backup job failures, "
            "failed secret rotations)",
        )
        records = record_events(self, config, self.prefix, event_watches(config, self.prefix, self.watched), self.key)
        self.event_log_groups = records.log_groups
        self.start_failures_rule, self.backup_failures_rule, self.rotation_failures_rule = records.rules
        self.dashboard = monitoring_dashboard(self, config, self.prefix, self.watched)
        self.mute_rules = night_mute_rules(self, config, self.tripped_by_night)

    def _watched_resources(self, data: DataStack) -> WatchedResources:
        """Names fixed by config or by the data stack, and the names other stacks publish in SSM (tokens)."""
        config = self.config

        def published(name: str) -> str:
            return ssm.StringParameter.value_for_string_parameter(self, name)

        # In this order: each read adds a template parameter.
        load_balancer = published(load_balancer_parameter_name(config.name))
        target_groups = {
            name: published(target_group_parameter_name(config.name, name))
            for name, service in config.services.items()
            if service.paths
        }
        cache_group = published(data_parameter_name(config.name, DataParameter.CACHE_REPLICATION_GROUP_ID))
        maintenance_function = published(data_parameter_name(config.name, DataParameter.MAINTENANCE_FUNCTION_NAME))
        cluster_name = ecs_cluster_name(config.name)
        return WatchedResources(
            cluster_name=cluster_name,
            load_balancer=load_balancer,
            target_groups=target_groups,
            instances=[data.postgres.primary_identifier, *data.postgres.replica_identifiers],
            proxy_name=data.postgres.proxy_name,
            cache_nodes=[
                Fn.join("-", [cache_group, f"{member:03d}"]) for member in range(1, config.cache.replicas + 2)
            ],
            maintenance_function=maintenance_function,
            daily_tasks=data.access.daily_tasks,
            restore_drill=drill_state_machine_arn(self, config.name),
            service_arn_prefix=self.format_arn(service="ecs", resource="service", resource_name=f"{cluster_name}/"),
        )
