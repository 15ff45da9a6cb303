"""Every alarm of the main region's monitoring stack, as specs: the list the stack creates and the reference
page describes. A new alarm of this stack is a spec in one of the tier modules this list draws on."""

from __future__ import annotations

from config.schema import EnvironmentConfig
from platform_constructs.alarm_spec import AlarmSpec
from stacks.monitoring.backups import backup_freshness_alarms, restore_drill_alarm
from stacks.monitoring.bookings import booking_alarms
from stacks.monitoring.cache import cache_alarms
from stacks.monitoring.database import database_alarms
from stacks.monitoring.events import event_watches
from stacks.monitoring.load_balancer import load_balancer_alarms
from stacks.monitoring.maintenance import maintenance_alarms
from stacks.monitoring.services import service_alarms
from stacks.monitoring.watched import WatchedResources


def monitoring_alarms(config: EnvironmentConfig, prefix: str, watched: WatchedResources) -> list[AlarmSpec]:
    return [
        *load_balancer_alarms(config, watched.load_balancer, watched.target_groups),
        *booking_alarms(config),
        *(spec for name in config.services for spec in service_alarms(config, watched.cluster_name, name)),
        *(watch.alarm for watch in event_watches(config, prefix, watched)),
        *backup_freshness_alarms(config),
        restore_drill_alarm(config, watched.restore_drill),
        *database_alarms(config, prefix, watched.instances, watched.proxy_name),
        *cache_alarms(config, watched.cache_nodes),
        *maintenance_alarms(config, prefix, watched.maintenance_function, watched.daily_tasks),
    ]
