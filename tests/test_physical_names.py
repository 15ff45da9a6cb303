"""Every physical name and SSM path, spelled out for one environment and one service.

Deliberately literal: each row is what another stack, a tool, a runbook or an operator's command depends
on. A failing row means a rename, which replaces the resource (and, under a new logical ID, fails the
deploy with "already exists"). Change a row only together with a plan for what depends on the old name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

from platform_constructs import physical_names as names
from platform_constructs.physical_names import DataParameter, LogGroup, Tier

ENV = "dev"
SERVICE = "api-gateway"

PINNED: list[tuple[str, Callable[[], str], str]] = [
    ("project", lambda: names.PROJECT, "ticketing"),
    ("network stack", lambda: names.stack_name(ENV, Tier.NETWORK), "ticketing-dev-network"),
    ("backup vault stack", lambda: names.stack_name(ENV, Tier.BACKUP_VAULT), "ticketing-dev-backup-vault"),
    ("backup copies stack", lambda: names.stack_name(ENV, Tier.BACKUP_COPIES), "ticketing-dev-backup-copies"),
    ("data stack", lambda: names.stack_name(ENV, Tier.DATA), "ticketing-dev-data"),
    ("alerts stack", lambda: names.stack_name(ENV, Tier.ALERTS), "ticketing-dev-alerts"),
    ("cost stack", lambda: names.stack_name(ENV, Tier.COST), "ticketing-dev-cost"),
    ("registry stack", lambda: names.stack_name(ENV, Tier.REGISTRY), "ticketing-dev-registry"),
    ("services stack", lambda: names.stack_name(ENV, Tier.SERVICES), "ticketing-dev-services"),
    ("edge stack", lambda: names.stack_name(ENV, Tier.EDGE), "ticketing-dev-edge"),
    ("monitoring stack", lambda: names.stack_name(ENV, Tier.MONITORING), "ticketing-dev-monitoring"),
    ("environment prefix", lambda: names.environment_prefix(ENV), "ticketing-dev"),
    ("edge prefix", lambda: names.edge_prefix(ENV), "ticketing-dev-edge"),
    ("dashboard", lambda: names.dashboard_name(ENV), "ticketing-dev"),
    (
        "an environment resource",
        lambda: names.environment_resource_name(ENV, "backup-failures"),
        "ticketing-dev-backup-failures",
    ),
    ("critical topic", lambda: names.alarm_topic_name("ticketing-dev", "critical"), "ticketing-dev-critical"),
    ("warning topic", lambda: names.alarm_topic_name("ticketing-dev", "warning"), "ticketing-dev-warning"),
    (
        "edge critical topic",
        lambda: names.alarm_topic_name(names.edge_prefix(ENV), "critical"),
        "ticketing-dev-edge-critical",
    ),
    (
        "alarm topics key alias",
        lambda: names.alarm_topics_key_alias("ticketing-dev"),
        "alias/ticketing-dev-alarm-topics",
    ),
    ("seat alarm", lambda: names.low_available_seats_alarm_name(ENV), "ticketing-dev-low-available-seats"),
    ("origin header secret", lambda: names.origin_header_secret_name(ENV), "ticketing/dev/origin-header"),
    ("ECS cluster", lambda: names.cluster_name(ENV), "ticketing-dev"),
    ("service connect namespace", lambda: names.service_connect_namespace(ENV), "dev.ticketing.internal"),
    ("task family", lambda: names.task_family(ENV, SERVICE), "ticketing-dev-api-gateway"),
    ("repository", lambda: names.repository_name(ENV, SERVICE), "ticketing/dev/api-gateway"),
    (
        "service secret",
        lambda: names.service_secret_name(ENV, SERVICE, "jwt-signing-key"),
        "ticketing/dev/api-gateway/jwt-signing-key",
    ),
    (
        "service secret, a JSON key of it",
        lambda: names.service_secret_name(ENV, SERVICE, "payments:api_key"),
        "ticketing/dev/api-gateway/payments",
    ),
    (
        "load balancer parameter",
        lambda: names.load_balancer_parameter_name(ENV),
        "/ticketing/dev/services/load-balancer-full-name",
    ),
    (
        "target group parameter",
        lambda: names.target_group_parameter_name(ENV, SERVICE),
        "/ticketing/dev/services/api-gateway/target-group-full-name",
    ),
    (
        "service data parameter",
        lambda: names.service_data_parameter_name(ENV, SERVICE, names.SERVICE_ACCESS_POLICY),
        "/ticketing/dev/data/services/api-gateway/data-access-policy-arn",
    ),
    ("database name", lambda: names.DATABASE_NAME, "ticketing"),
    ("postgres identifier", lambda: names.postgres_identifier(ENV), "ticketing-dev-postgres"),
    (
        "restored postgres identifier",
        lambda: names.restored_postgres_identifier(ENV, "r1"),
        "ticketing-dev-postgres-r1",
    ),
    ("backup plan", lambda: names.backup_plan_name(ENV), "ticketing-dev-database"),
    ("cache user", lambda: names.cache_user(ENV, SERVICE), "ticketing-dev-api-gateway"),
    ("database role", lambda: names.database_role(SERVICE), "svc_api_gateway"),
    ("backup vault", lambda: names.backup_vault_name(ENV), "ticketing-dev-backups"),
    ("copy vault", lambda: names.copy_vault_name(ENV), "ticketing-dev-copies"),
    ("drill state machine", lambda: names.drill_state_machine_name(ENV), "ticketing-dev-restore-drill"),
    (
        "drill execution log",
        lambda: names.drill_execution_log_group_name(ENV),
        "/aws/vendedlogs/states/ticketing-dev-restore-drill",
    ),
    ("drill schedule", lambda: names.drill_schedule_name(ENV), "ticketing-dev-restore-drill-monthly"),
    ("drill instance prefix", lambda: names.drill_instance_prefix(ENV), "ticketing-dev-drill-"),
    ("log group prefix", lambda: names.log_group_prefix(ENV), "/ticketing/dev"),
    ("cache log group prefix", lambda: names.cache_log_group_prefix(ENV), "/ticketing/dev/cache"),
    ("WAF log group", lambda: names.waf_log_group_name(ENV), "aws-waf-logs-ticketing-dev-edge"),
]

DATA_PARAMETERS = {
    DataParameter.DATABASE_WRITER_HOST: "/ticketing/dev/data/database/writer-host",
    DataParameter.DATABASE_READER_HOST: "/ticketing/dev/data/database/reader-host",
    DataParameter.DATABASE_PRIMARY_HOST: "/ticketing/dev/data/database/primary-host",
    DataParameter.DATABASE_PORT: "/ticketing/dev/data/database/port",
    DataParameter.DATABASE_READER_PORT: "/ticketing/dev/data/database/reader-port",
    DataParameter.DATABASE_REPLICA_HOSTS: "/ticketing/dev/data/database/replica-hosts",
    DataParameter.DATABASE_NAME: "/ticketing/dev/data/database/name",
    DataParameter.CACHE_PRIMARY_HOST: "/ticketing/dev/data/cache/primary-host",
    DataParameter.CACHE_READER_HOST: "/ticketing/dev/data/cache/reader-host",
    DataParameter.CACHE_PORT: "/ticketing/dev/data/cache/port",
    DataParameter.CACHE_REPLICATION_GROUP_ID: "/ticketing/dev/data/cache/replication-group-id",
    DataParameter.MAINTENANCE_FUNCTION_NAME: "/ticketing/dev/data/maintenance/function-name",
}

LOG_GROUPS = {
    LogGroup.DATABASE_BOOTSTRAP: "/ticketing/dev/database/bootstrap",
    LogGroup.DATABASE_MAINTENANCE: "/ticketing/dev/database/maintenance",
    LogGroup.COMMITMENT_COVERAGE: "/ticketing/dev/cost/commitment-coverage",
    LogGroup.UNUSED_RESOURCES: "/ticketing/dev/cost/unused-resources",
    LogGroup.RESTORE_DRILL: "/ticketing/dev/backup/restore-drill",
    LogGroup.BACKUP_JOB_FAILURES: "/ticketing/dev/backup/job-failures",
    LogGroup.SERVICE_EVENTS: "/ticketing/dev/ecs/service-events",
    LogGroup.ROTATION_FAILURES: "/ticketing/dev/secrets/rotation-failures",
}


@pytest.mark.parametrize(("what", "name", "expected"), PINNED, ids=[row[0] for row in PINNED])
def test_name_is_pinned(what: str, name: Callable[[], str], expected: str) -> None:
    assert name() == expected, f"{what} renamed"


def test_every_name_function_has_a_row() -> None:
    """A function added to the module without its row here fails, so no name goes unpinned."""
    source = Path(__file__).read_text(encoding="utf-8")
    functions = [
        name
        for name, function in inspect.getmembers(names, inspect.isfunction)
        if function.__module__ == names.__name__ and not name.startswith("_")
    ]
    assert len(functions) >= 30
    assert [name for name in functions if f"names.{name}(" not in source] == []


def test_every_stack_tier_is_pinned() -> None:
    pinned = {row[2] for row in PINNED}
    assert {names.stack_name(ENV, tier) for tier in Tier} <= pinned


@pytest.mark.parametrize("parameter", list(DataParameter))
def test_data_parameter_is_pinned(parameter: DataParameter) -> None:
    assert names.data_parameter_name(ENV, parameter) == DATA_PARAMETERS[parameter]


@pytest.mark.parametrize("log_group", list(LogGroup))
def test_log_group_is_pinned(log_group: LogGroup) -> None:
    assert names.log_group_name(ENV, log_group) == LOG_GROUPS[log_group]


def test_the_module_needs_no_aws_cdk_lib() -> None:
    """Config, tools and the functions' tests import it: it must not pull aws-cdk-lib in."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(names))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert not {module for module in imported if module.startswith(("aws_cdk", "constructs"))}
