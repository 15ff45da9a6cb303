"""Every physical name and SSM path that something outside its own construct depends on.

A physical name is a contract: another stack resolves it (an SSM parameter, a secret, a topic's ARN), a
tool or a runbook addresses it (`docker push`, `make restore-drill`, an operator's `aws logs tail`), or a
test looks for it. Renaming one is never a refactoring: CloudFormation creates the new resource before it
deletes the old one, every reader of the old name breaks, and a resource moved under a new logical ID with
the same name fails to deploy ("already exists"; `make diff` refuses it). So each name is spelled once,
here, and `tests/test_physical_names.py` pins every one of them: a rename fails a test, on purpose.

Pure functions of the environment's name (and a service's), with no aws-cdk-lib import: config, tools and
the functions' own tests import this module too. A new named resource gets a function here (its docstring
says who depends on the name) and a row in the pinning test.
"""

from __future__ import annotations

from enum import StrEnum

#: The platform's name: the first word of every name below, and the `Project` tag.
PROJECT = "ticketing"


# --- stacks ---------------------------------------------------------------------------------------------


class Tier(StrEnum):
    """The stacks of an environment, as their names end: `ticketing-<env>-<tier>`."""

    NETWORK = "network"
    BACKUP_VAULT = "backup-vault"
    BACKUP_COPIES = "backup-copies"
    DATA = "data"
    ALERTS = "alerts"
    COST = "cost"
    REGISTRY = "registry"
    SERVICES = "services"
    EDGE = "edge"
    MONITORING = "monitoring"


def stack_name(environment: str, tier: Tier) -> str:
    """`ticketing-<env>-<tier>`: the CloudFormation stack. `cdk deploy` and the deploy guard
    (tools/deploy_guard.py, which looks the data stack up before any deploy) address stacks by it; a new
    stack name is a new stack, and the old one with its resources is left behind."""
    return f"{PROJECT}-{environment}-{tier.value}"


def environment_prefix(environment: str) -> str:
    """`ticketing-<env>`: the prefix of the environment's names in its main region (alarm topics, alarms,
    event rules, the dashboard). Alarms in other stacks find the topics by `<prefix>-<severity>`."""
    return f"{PROJECT}-{environment}"


def edge_prefix(environment: str) -> str:
    """`ticketing-<env>-edge`: the same for the edge's us-east-1 resources (its alarm topics, alarms and
    WAF metrics), so the two regions' names never meet in one account's alarm list."""
    return f"{environment_prefix(environment)}-edge"


def environment_resource_name(environment: str, suffix: str) -> str:
    """`ticketing-<env>-<suffix>`: an alarm, an event rule or a log resource policy of the main region.
    Alarm names are what the pager shows and what the alarm tests pin; event rule names are the
    dimension of the rules' MatchedEvents metric (the monitoring stack's alarms)."""
    return f"{environment_prefix(environment)}-{suffix}"


def dashboard_name(environment: str) -> str:
    """`ticketing-<env>`: the environment's CloudWatch dashboard, which the runbooks and alarm texts send
    operators to."""
    return environment_prefix(environment)


# --- alarms and their topics ----------------------------------------------------------------------------


def alarm_topic_name(prefix: str, severity: str) -> str:
    """`<prefix>-critical` / `<prefix>-warning`: the SNS topics. Every alarm, budget and report in another
    stack builds the topic's ARN from this name (no cross-stack reference)."""
    return f"{prefix}-{severity}"


def alarm_topics_key_alias(prefix: str) -> str:
    """`alias/<prefix>-alarm-topics`: the topics' key. Publishers in other stacks are granted the key by this
    alias (`kms:ResourceAliases`), not by its ARN."""
    return f"alias/{prefix}-alarm-topics"


def low_available_seats_alarm_name(environment: str) -> str:
    """`ticketing-<env>-low-available-seats`: the services' seat alarm, which scales out as well as warns."""
    return environment_resource_name(environment, "low-available-seats")


# --- network and services -------------------------------------------------------------------------------


def origin_header_secret_name(environment: str) -> str:
    """`ticketing/<env>/origin-header`: the secret holding the value of the header CloudFront sends to the ALB.

    A fixed name, so that the edge (us-east-1, the secret's replica) and the services stack resolve it by
    name, without a cross-stack output. Refer to it by this name, never by a partial ARN: a name that ends
    in a hyphen and six characters (`-header`) reads to Secrets Manager as a complete ARN's suffix.
    """
    return f"{PROJECT}/{environment}/origin-header"


def cluster_name(environment: str) -> str:
    """`ticketing-<env>`: the ECS cluster. The monitoring stack's alarms and dashboard key the services'
    metrics by it, the service-events rule matches it, and operators `aws ecs ... --cluster` it."""
    return environment_prefix(environment)


def service_connect_namespace(environment: str) -> str:
    """`<env>.ticketing.internal`: the Cloud Map namespace the services reach each other in."""
    return f"{environment}.{PROJECT}.internal"


def task_family(environment: str, service: str) -> str:
    """`ticketing-<env>-<service>`: a service's task definition family, which `aws ecs` commands and the
    task-definition revisions in the console are keyed by."""
    return f"{PROJECT}-{environment}-{service}"


def repository_name(environment: str, service: str) -> str:
    """`ticketing/<env>/<service>`: a service's ECR repository, which `docker push`, the preflight's image
    check (tools/preflight/images.py) and the first-deploy runbook use."""
    return f"{PROJECT}/{environment}/{service}"


def service_secret_name(environment: str, service: str, reference: str) -> str:
    """`ticketing/<env>/<service>/<name>` for a service's secret `name[:json-key]` (config/services.toml).
    An operator creates it before the first image runs; the services stack reads it by this name and the
    preflight (tools/preflight/images.py) checks it exists."""
    return f"{PROJECT}/{environment}/{service}/{reference.partition(':')[0]}"


def load_balancer_parameter_name(environment: str) -> str:
    """`/ticketing/<env>/services/load-balancer-full-name`: the SSM parameter holding the ALB's full name
    (`app/<name>/<id>`), which its metrics are keyed by; the monitoring stack reads it."""
    return f"/{PROJECT}/{environment}/services/load-balancer-full-name"


def target_group_parameter_name(environment: str, service: str) -> str:
    """`/ticketing/<env>/services/<service>/target-group-full-name`: the SSM parameter holding a routed
    service's target group full name (`targetgroup/<name>/<id>`), the dimension of its health metrics; the
    monitoring stack reads it."""
    return f"/{PROJECT}/{environment}/services/{service}/target-group-full-name"


# --- the data tier's contract with the services ---------------------------------------------------------


class DataParameter(StrEnum):
    """The data tier's SSM parameters: each value is the path below `/ticketing/<env>/data/`.

    The services and the monitoring stack read them at deploy time (docs/tiers/data.md, "Endpoints services use").
    """

    DATABASE_WRITER_HOST = "database/writer-host"  # RDS Proxy endpoint: all writes
    DATABASE_READER_HOST = "database/reader-host"  # private DNS name spanning the read replicas
    DATABASE_PRIMARY_HOST = "database/primary-host"  # the instance itself: administration and the functions
    DATABASE_PORT = "database/port"  # the writer's port: RDS Proxy's
    DATABASE_READER_PORT = "database/reader-port"
    DATABASE_REPLICA_HOSTS = "database/replica-hosts"  # every replica's endpoint, comma-separated: IAM tokens per host
    DATABASE_NAME = "database/name"
    CACHE_PRIMARY_HOST = "cache/primary-host"
    CACHE_READER_HOST = "cache/reader-host"
    CACHE_PORT = "cache/port"
    CACHE_REPLICATION_GROUP_ID = "cache/replication-group-id"  # what an ElastiCache IAM token is signed for
    MAINTENANCE_FUNCTION_NAME = "maintenance/function-name"  # the monitoring stack's alarms watch its errors


def data_parameter_name(environment: str, parameter: DataParameter) -> str:
    """`/ticketing/<env>/data/<path>`: one of the data tier's SSM parameters (see `DataParameter`)."""
    return f"/{PROJECT}/{environment}/data/{parameter.value}"


#: Per service: the ARN of the managed policy its task role attaches (IAM login to its role and cache user).
SERVICE_ACCESS_POLICY = "data-access-policy-arn"


def service_data_parameter_name(environment: str, service: str, name: str) -> str:
    """`/ticketing/<env>/data/services/<service>/<name>`: a per-service value the data stack writes and the
    services stack reads (`SERVICE_ACCESS_POLICY`)."""
    return f"/{PROJECT}/{environment}/data/services/{service}/{name}"


# --- database and cache ---------------------------------------------------------------------------------

#: The PostgreSQL database the services share (their schemas live in it); the bootstrap, the maintenance
#: function and the restore drill connect to it, and the data stack publishes it (DATABASE_NAME).
DATABASE_NAME = PROJECT


def postgres_identifier(environment: str) -> str:
    """`ticketing-<env>-postgres`: the primary's DB identifier before any restore, and the RDS Proxy's name
    prefix. The replicas are `<identifier>-replica<N>`; RDS names its log groups after it
    (`/aws/rds/instance/<identifier>/...`), and operators address the instance by it."""
    return f"{PROJECT}-{environment}-postgres"


def restored_postgres_identifier(environment: str, suffix: str) -> str:
    """`ticketing-<env>-postgres-<suffix>`: the primary once restored from a snapshot under a new identifier
    (`database.restore_from.identifier_suffix`)."""
    return f"{postgres_identifier(environment)}-{suffix}"


def backup_plan_name(environment: str) -> str:
    """`ticketing-<env>-database`: the database's AWS Backup plan, which the recovery runbook names."""
    return f"{PROJECT}-{environment}-database"


def cache_user(environment: str, service: str) -> str:
    """`ticketing-<env>-<service>`: a service's ElastiCache user (id and name). The service signs its IAM
    token for this user name, and its access policy names the user's ARN."""
    return f"{PROJECT}-{environment}-{service}"


def database_role(service: str) -> str:
    """`svc_<service>` with `_` for `-`: a service's PostgreSQL login role. The bootstrap creates it, the
    service logs in as it (rds-db:connect names it) and the maintenance function grants to it."""
    return "svc_" + service.replace("-", "_")


# --- backups and the restore drill ----------------------------------------------------------------------


def backup_vault_name(environment: str) -> str:
    """`ticketing-<env>-backups`: the main region's backup vault. The data stack's backup plan and the
    restore drill name it (no cross-stack reference); the recovery runbook lists its recovery points."""
    return f"{PROJECT}-{environment}-backups"


def copy_vault_name(environment: str) -> str:
    """`ticketing-<env>-copies`: the copy region's vault, which the backup plan copies into by its ARN and
    the lost-region runbook restores from."""
    return f"{PROJECT}-{environment}-copies"


def drill_state_machine_name(environment: str) -> str:
    """`ticketing-<env>-restore-drill`: the restore drill's state machine. `make restore-drill`
    (tools/restore_drill.py) starts it by this name, the preflight finds it in the templates, and its
    role trusts only this ARN."""
    return f"{PROJECT}-{environment}-restore-drill"


def drill_execution_log_group_name(environment: str) -> str:
    """`/aws/vendedlogs/states/ticketing-<env>-restore-drill`: the state machine's execution log (Step
    Functions delivers logs only to groups below `/aws/vendedlogs/`)."""
    return f"/aws/vendedlogs/states/{drill_state_machine_name(environment)}"


def drill_schedule_name(environment: str) -> str:
    """`ticketing-<env>-restore-drill-monthly`: the EventBridge Scheduler schedule of the monthly drill."""
    return f"{drill_state_machine_name(environment)}-monthly"


def drill_instance_prefix(environment: str) -> str:
    """`ticketing-<env>-drill-`: the temporary instances the drill restores (a timestamp follows). The drill
    function names them so, and its policy may modify and delete only instances with this prefix."""
    return f"{PROJECT}-{environment}-drill-"


# --- log groups -----------------------------------------------------------------------------------------


class LogGroup(StrEnum):
    """The platform's own log groups: each value is the path below `/ticketing/<env>/`. Runbooks and alarm
    texts send operators to them by name (`aws logs tail`), and metric filters and alarms watch them."""

    DATABASE_BOOTSTRAP = "database/bootstrap"
    DATABASE_MAINTENANCE = "database/maintenance"
    COMMITMENT_COVERAGE = "cost/commitment-coverage"
    UNUSED_RESOURCES = "cost/unused-resources"
    RESTORE_DRILL = "backup/restore-drill"
    BACKUP_JOB_FAILURES = "backup/job-failures"
    SERVICE_EVENTS = "ecs/service-events"
    ROTATION_FAILURES = "secrets/rotation-failures"


def log_group_name(environment: str, log_group: LogGroup) -> str:
    """`/ticketing/<env>/<path>`: one of the platform's log groups (see `LogGroup`)."""
    return f"{log_group_prefix(environment)}/{log_group.value}"


def log_group_prefix(environment: str) -> str:
    """`/ticketing/<env>`: the root of the environment's own log groups; the services' groups and the
    cache's (`/ticketing/<env>/cache`) are named below it."""
    return f"/{PROJECT}/{environment}"


def waf_log_group_name(environment: str) -> str:
    """`aws-waf-logs-ticketing-<env>-edge`: the web ACL's log group in us-east-1 (WAF logs only to a group
    whose name starts with `aws-waf-logs-`). The edge's blocked-requests alarm sends operators to it."""
    return f"aws-waf-logs-{edge_prefix(environment)}"


def cache_log_group_prefix(environment: str) -> str:
    """`/ticketing/<env>/cache`: the cache's slow-log and engine-log groups are named below it."""
    return f"{log_group_prefix(environment)}/cache"
