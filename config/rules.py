"""The config's cross-key rules: every rule that reads more than one section, in one place.

A section checks its own keys (types, ranges, the rules between keys of one table) in its module. What
needs two sections lives here: the zones against the region, the subnets against the zones, the classes
the region offers, prod's rules, the maintenance and backup windows against the services and the
retentions, the services' path patterns against each other. `environment_problems` runs from
`EnvironmentConfig`'s validator and `services_problems` from `ServicesConfig`'s, so each rule runs once,
and every problem has the one shape the loader prints: `ConfigFieldError(key, value, what is allowed)`.
Each function returns every problem it finds, so that a file with several is reported in one go.

The environment is read through `Environment`, the sections these rules read, rather than the
environment model itself: the model imports this module, and this module imports no model of its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Protocol

from config.aws_offerings import cache_node_types, postgres_instance_classes
from config.aws_regions import ZONES_BY_REGION
from config.backup import BackupConfig
from config.cache import CacheConfig
from config.cloudfront_prefix_lists import CLOUDFRONT_ORIGIN_PREFIX_LISTS, PREFIX_LIST_COMMAND
from config.compute import CERTIFICATE_ARN, ComputeConfig, LoadBalancerConfig, effective_sizing, image_problem
from config.cost import CostConfig
from config.database import DatabaseConfig
from config.edge import EDGE_REGION, EdgeConfig
from config.fields import ConfigFieldError, key_path
from config.maintenance import MAINTENANCE_RUN_SECONDS, MaintenanceConfig
from config.network import (
    ISOLATED_SUBNET_MASK,
    MIN_VPC_PREFIX,
    PRIVATE_SUBNET_MASK,
    PUBLIC_SUBNET_MASK,
    NetworkConfig,
    subnet_space_needed,
)
from config.observability import ObservabilityConfig
from config.path_patterns import overlap
from config.services import (
    MAX_LISTENER_RULES,
    PATHS_PER_LISTENER_RULE,
    PLATFORM_VARIABLE_PREFIXES,
    PLATFORM_VARIABLES,
    SERVICE_NAME,
    ServiceConfig,
)
from platform_constructs.fargate_sizes import size_problem


class Environment(Protocol):
    """The parts of an environment the cross-key rules read (`EnvironmentConfig` has them all)."""

    @property
    def name(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def availability_zones(self) -> tuple[str, ...]: ...
    @property
    def network(self) -> NetworkConfig: ...
    @property
    def database(self) -> DatabaseConfig: ...
    @property
    def cache(self) -> CacheConfig: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def maintenance(self) -> MaintenanceConfig: ...
    @property
    def compute(self) -> ComputeConfig: ...
    @property
    def load_balancer(self) -> LoadBalancerConfig: ...
    @property
    def edge(self) -> EdgeConfig: ...
    @property
    def observability(self) -> ObservabilityConfig: ...
    @property
    def cost(self) -> CostConfig: ...
    @property
    def backup(self) -> BackupConfig: ...
    @property
    def images(self) -> Mapping[str, str]: ...
    @property
    def services(self) -> Mapping[str, ServiceConfig]: ...
    @property
    def is_production(self) -> bool: ...
    @property
    def is_disposable(self) -> bool: ...


def environment_problems(config: Environment) -> list[ConfigFieldError]:
    """Every cross-key rule of one environment that fails, in the order of the file's sections.

    The rules that need the services run once the services are attached (services.toml is validated
    on its own first; an environment validated without them is checked for the rest only).
    """
    problems = [
        *zone_problems(config),
        *instance_class_problems(config),
        *network_problems(config),
        *production_problems(config),
        *protection_tag_problems(config),
        *restore_problems(config),
        *backup_problems(config),
        *edge_problems(config),
    ]
    if config.services:
        problems += [
            *maintenance_problems(config),
            *compute_problems(config),
            *load_balancer_problems(config),
            *observability_problems(config),
            *drill_query_problems(config),
        ]
    # A rule of [compute] checked per service names the same key for each service that inherits it: once is enough.
    unique = {(p.location, p.allowed): p for p in reversed(problems)}
    return [p for p in problems if unique[(p.location, p.allowed)] is p]


# --- the region and its zones ---------------------------------------------------------------------


def zone_problems(config: Environment) -> list[ConfigFieldError]:
    """`availability_zones` against `region`: zones of that region, none twice."""
    zones = config.availability_zones
    known = ZONES_BY_REGION[config.region]
    problems = [
        ConfigFieldError(
            key_path(("availability_zones", index)),
            zone,
            f"not an availability zone of {config.region}; its zones are {', '.join(known)}",
        )
        for index, zone in enumerate(zones)
        if zone not in known
    ]
    if len(set(zones)) != len(zones):
        problems.append(ConfigFieldError("availability_zones", list(zones), "zones must not repeat"))
    return problems


def instance_class_problems(config: Environment) -> list[ConfigFieldError]:
    """Every instance class and node type against what the region offers (cfn-lint's AWS data)."""
    problems = []
    for key, value, offered, kind in (
        ("database.instance_class", config.database.instance_class, postgres_instance_classes, "RDS for PostgreSQL"),
        ("database.replica_instance_class", config.database.replica_instance_class, postgres_instance_classes,
         "RDS for PostgreSQL"),
        ("cache.node_type", config.cache.node_type, cache_node_types, "ElastiCache"),
        ("backup.drill.instance_class", config.backup.drill.instance_class, postgres_instance_classes,
         "RDS for PostgreSQL"),
    ):  # fmt: skip
        available = offered(config.region)
        if available and value not in available:
            family = value.rsplit(".", 1)[0] + "."
            sizes = sorted(c.removeprefix(family) for c in available if c.startswith(family))
            problems.append(
                ConfigFieldError(
                    key,
                    value,
                    f"{kind} does not offer this class in {config.region}; "
                    + (f"sizes of {family[:-1]} there: {', '.join(sizes)}" if sizes else "no size of that family")
                    + " (list from cfn-lint's AWS data)",
                )
            )
    return problems


def network_problems(config: Environment) -> list[ConfigFieldError]:
    """`[network]` against the zones: NAT gateways per zone, and room for every zone's subnets."""
    problems = []
    zones = config.availability_zones
    nat = config.network.nat_gateways
    if nat > len(zones):
        problems.append(
            ConfigFieldError(
                "network.nat_gateways",
                nat,
                f"must be 1 to {len(zones)}: at least one, at most one per availability zone",
            )
        )
    elif config.is_production and nat != len(zones):
        problems.append(
            ConfigFieldError(
                "network.nat_gateways",
                nat,
                f"prod needs one NAT gateway per availability zone ({len(zones)}) so one AZ failing "
                "does not cut the others off",
            )
        )
    network = ipaddress.IPv4Network(config.network.vpc_cidr)
    needed = subnet_space_needed(len(zones))
    if needed > network.num_addresses:
        largest_prefix = max(p for p in range(MIN_VPC_PREFIX, 33) if 2 ** (32 - p) >= needed)
        problems.append(
            ConfigFieldError(
                "network.vpc_cidr",
                config.network.vpc_cidr,
                f"too small for {len(zones)} zones of public /{PUBLIC_SUBNET_MASK}, private /{PRIVATE_SUBNET_MASK} "
                f"and isolated /{ISOLATED_SUBNET_MASK} subnets as they are laid out ({needed} addresses needed, "
                f"{network.num_addresses} available): use /{MIN_VPC_PREFIX} to /{largest_prefix}",
            )
        )
    return problems


# --- prod, and what a disposable environment may not hold -----------------------------------------


def production_problems(config: Environment) -> list[ConfigFieldError]:
    """What prod needs of the data tier (survive a lost zone, no accidental deletion), and no commitment in
    an environment that is torn down."""
    if config.is_disposable and config.cost.commitment_term != "none":
        return [
            ConfigFieldError(
                "cost.commitment_term",
                config.cost.commitment_term,
                f'{config.name} is torn down and deployed again: a reservation would be paid for unused; set "none"',
            )
        ]
    if not config.is_production:
        return []
    problems = [
        ConfigFieldError(key, value, "prod must survive the loss of an availability zone: set true")
        for key, value in (("database.multi_az", config.database.multi_az), ("cache.multi_az", config.cache.multi_az))
        if not value
    ]
    if not config.database.deletion_protection:
        problems.append(
            ConfigFieldError(
                "database.deletion_protection", False, "prod databases must have deletion protection: set true"
            )
        )
    if config.database.read_replicas < 2:
        problems.append(
            ConfigFieldError(
                "database.read_replicas",
                config.database.read_replicas,
                "prod needs at least 2 read replicas, in different availability zones",
            )
        )
    return problems


def protection_tag_problems(config: Environment) -> list[ConfigFieldError]:
    """`tags` against `cost.unused.protection_tag`: on every resource it would protect everything."""
    key = config.cost.unused.protection_tag
    if key in config.tags:
        return [
            ConfigFieldError(
                key_path(("tags", key)),
                config.tags[key],
                f"{key} is cost.unused.protection_tag: on every resource it would keep the finder from "
                "deleting anything; tag only what must stay",
            )
        ]
    return []


# --- backups and restores -------------------------------------------------------------------------


def restore_problems(config: Environment) -> list[ConfigFieldError]:
    """`database.restore_from` against `region`: RDS restores only from a snapshot in its own region."""
    source = config.database.restore_from
    if source is None or source.region == config.region:
        return []
    return [
        ConfigFieldError(
            "database.restore_from.snapshot_arn",
            source.snapshot_arn,
            f"RDS restores only from a snapshot in the instance's region ({config.region}); copy it there first "
            "(aws rds copy-db-snapshot, or an AWS Backup copy job)",
        )
    ]


def backup_problems(config: Environment) -> list[ConfigFieldError]:
    """`[backup]` against `[database]` and the environment: the copy region, the vault lock (required in
    prod, refused in dev, holding every retention), the backup account and the drill outside prod."""
    backup = config.backup
    problems: list[ConfigFieldError] = []
    if backup.copy_region == config.region:
        problems.append(
            ConfigFieldError(
                "backup.copy_region", backup.copy_region, f"must differ from the main region {config.region}"
            )
        )
    lock = backup.vault_lock
    if config.is_production and lock is None:
        problems.append(
            ConfigFieldError(
                "backup.vault_lock",
                None,
                "prod's vaults must be locked: set min_retention_days, max_retention_days and changeable_for_days",
            )
        )
    if config.is_disposable and lock is not None:
        problems.append(
            ConfigFieldError(
                "backup.vault_lock",
                lock.model_dump(),
                f"{config.name} is torn down and deployed again; a locked vault could never be emptied: remove it",
            )
        )
    if lock is not None:
        retentions = {
            "database.backup_retention_days": config.database.backup_retention_days,
            "backup.daily_retention_days": backup.daily_retention_days,
            "backup.copy_retention_days": backup.copy_retention_days,
        }
        if lock.min_retention_days > lock.max_retention_days:
            problems.append(
                ConfigFieldError(
                    "backup.vault_lock.min_retention_days",
                    lock.min_retention_days,
                    f"must not exceed max_retention_days ({lock.max_retention_days})",
                )
            )
        for key, days in retentions.items():
            if not lock.min_retention_days <= days <= lock.max_retention_days:
                problems.append(
                    ConfigFieldError(
                        key,
                        days,
                        f"the locked vaults keep recovery points {lock.min_retention_days} to "
                        f"{lock.max_retention_days} days (backup.vault_lock); a job outside that fails",
                    )
                )
    if backup.backup_account is not None:
        if not config.is_production:
            problems.append(
                ConfigFieldError(
                    "backup.backup_account",
                    backup.backup_account.model_dump(),
                    "a separate backup account is for prod only",
                )
            )
        elif backup.backup_account.account == config.account:
            problems.append(
                ConfigFieldError(
                    "backup.backup_account.account",
                    backup.backup_account.account,
                    "must be another account than the environment's own",
                )
            )
        elif backup.backup_account.region not in (None, config.region):
            problems.append(
                ConfigFieldError(
                    "backup.backup_account.region",
                    backup.backup_account.region,
                    f"must be the environment's region {config.region}: AWS Backup copies an RDS recovery point "
                    "to another account or to another region, not both in one copy",
                )
            )
    if config.is_production and backup.drill.monthly:
        problems.append(
            ConfigFieldError(
                "backup.drill.monthly",
                True,
                "the scheduled drill runs outside prod (it restores "
                "prod's data into a temporary instance); set false and drill on staging",
            )
        )
    return problems


def drill_query_problems(config: Environment) -> list[ConfigFieldError]:
    """The drill's queries against the services: each names a database a service owns."""
    databases = sorted({service.database for service in config.services.values() if service.database})
    return [
        ConfigFieldError(
            key_path(("backup", "drill", "queries", index, "database")),
            query.database,
            f"not a database of a service; the services' databases: {', '.join(databases) or 'none'}",
        )
        for index, query in enumerate(config.backup.drill.queries)
        if query.database not in databases
    ]


def maintenance_problems(config: Environment) -> list[ConfigFieldError]:
    """`[maintenance]` against the services: one run over a service's tables fits in one function run."""
    timeout = config.maintenance.statement_timeout_seconds
    problems = []
    for name, service in config.services.items():
        worst = len(service.vacuum_tables) * timeout
        if worst > MAINTENANCE_RUN_SECONDS:
            most = max(MAINTENANCE_RUN_SECONDS // timeout, 0)
            problems.append(
                ConfigFieldError(
                    key_path(("services", name, "vacuum_tables")),
                    list(service.vacuum_tables),
                    f"{len(service.vacuum_tables)} tables at maintenance.statement_timeout_seconds = {timeout} could "
                    f"take {worst} s, and one run may take {MAINTENANCE_RUN_SECONDS} s: list at most {most} tables "
                    "or lower the timeout",
                )
            )
    return problems


# --- the services tier and the edge ---------------------------------------------------------------


def compute_problems(config: Environment) -> list[ConfigFieldError]:
    """`[compute]` and `images` against the services: known names, usable images, sizes Fargate offers,
    task bounds that fit, and prod's capacity rules."""
    problems: list[ConfigFieldError] = []
    compute = config.compute
    services = config.services
    known = ", ".join(services)
    for name, sizing in compute.services.items():
        if name not in services:
            problems.append(
                ConfigFieldError(
                    key_path(("compute", "services", name)),
                    sizing.model_dump(exclude_none=True),
                    f"no such service in services.toml ({known})",
                )
            )
    for name, image in config.images.items():
        if name not in services:
            problems.append(
                ConfigFieldError(key_path(("images", name)), image, f"no such service in services.toml ({known})")
            )
    for name, image in config.images.items():
        problem = image_problem(image)
        if problem:
            problems.append(ConfigFieldError(key_path(("images", name)), image, problem))
    for name in services:
        size = effective_sizing(config, name)
        override = compute.services.get(name)
        where = ("compute", "services", name) if override is not None else ("compute",)
        problem = size_problem(size.cpu, size.memory_mib)
        if problem:
            sized_here = override is not None and (override.cpu is not None or override.memory_mib is not None)
            problems.append(
                ConfigFieldError(
                    key_path((*(where if sized_here else ("services", name)), "memory_mib")),
                    size.memory_mib,
                    problem,
                )
            )
        if size.min_tasks > size.max_tasks:
            problems.append(
                ConfigFieldError(
                    key_path((*where, "min_tasks")), size.min_tasks, f"must not exceed max_tasks ({size.max_tasks})"
                )
            )
        if compute.on_demand_base > size.max_tasks:
            problems.append(
                ConfigFieldError(
                    "compute.on_demand_base",
                    compute.on_demand_base,
                    f"above max_tasks = {size.max_tasks} of {name}; the base must fit within the service's maximum",
                )
            )
        if config.is_production and size.min_tasks < 2:
            problems.append(
                ConfigFieldError(
                    key_path((*where, "min_tasks")),
                    size.min_tasks,
                    f"prod runs at least 2 tasks of {name}, in two zones",
                )
            )
    if config.is_production:
        if compute.on_demand_base < 1:
            problems.append(
                ConfigFieldError(
                    "compute.on_demand_base",
                    compute.on_demand_base,
                    "prod keeps at least 1 task per service on on-demand FARGATE, so a Spot reclaim never takes a "
                    "service to zero",
                )
            )
        if compute.night_scaling is not None:
            problems.append(
                ConfigFieldError(
                    "compute.night_scaling",
                    compute.night_scaling.model_dump(),
                    "prod never stops at night; remove the table",
                )
            )
        if compute.deployment.minimum_healthy_percent != 100:
            problems.append(
                ConfigFieldError(
                    "compute.deployment.minimum_healthy_percent",
                    compute.deployment.minimum_healthy_percent,
                    "prod keeps 100% of its tasks healthy during a deployment",
                )
            )
    return problems


def load_balancer_problems(config: Environment) -> list[ConfigFieldError]:
    """`[load_balancer]` against the environment: the certificate's region and account, and a prefix list
    for the region."""
    problems = []
    lb = config.load_balancer
    arn = CERTIFICATE_ARN.fullmatch(lb.certificate_arn)
    if arn and (arn["region"], arn["account"]) != (config.region, config.account):
        problems.append(
            ConfigFieldError(
                "load_balancer.certificate_arn",
                lb.certificate_arn,
                f"the certificate is in {arn['region']} / {arn['account']}; the ALB needs one in its own region and "
                f"account ({config.region} / {config.account})",
            )
        )
    if lb.cloudfront_prefix_list_id is None and config.region not in CLOUDFRONT_ORIGIN_PREFIX_LISTS:
        problems.append(
            ConfigFieldError(
                "load_balancer.cloudfront_prefix_list_id",
                None,
                f"config/cloudfront_prefix_lists.py has no id for {config.region}: set it; find it with: "
                f"{PREFIX_LIST_COMMAND} --region {config.region}",
            )
        )
    return problems


def edge_problems(config: Environment) -> list[ConfigFieldError]:
    """`[edge]` against the environment: a custom domain outside dev, the certificate in its account."""
    edge = config.edge
    problems = []
    if config.name != "dev" and not edge.domain_names:
        problems.append(
            ConfigFieldError(
                "edge.domain_names",
                list(edge.domain_names),
                f"{config.name} needs a custom domain with its certificate in {EDGE_REGION}: with the default "
                "*.cloudfront.net certificate CloudFront accepts TLS 1.0 whatever the security policy says",
            )
        )
    match = CERTIFICATE_ARN.fullmatch(edge.certificate_arn or "")
    if match and match["account"] != config.account:
        problems.append(
            ConfigFieldError(
                "edge.certificate_arn",
                edge.certificate_arn,
                f"the certificate is in account {match['account']}; the distribution is in {config.account}",
            )
        )
    return problems


def observability_problems(config: Environment) -> list[ConfigFieldError]:
    """`[observability]` against the services: namespaces a service publishes to, services that exist."""
    observability = config.observability
    services = config.services
    problems: list[ConfigFieldError] = []
    namespaces = {service.namespace(name): name for name, service in services.items()}
    published = ", ".join(sorted(namespaces)) or "none"
    for key, namespace in (
        ("observability.seats.namespace", observability.seats.namespace),
        ("observability.bookings.namespace", observability.bookings.namespace),
    ):
        if namespace not in namespaces:
            problems.append(
                ConfigFieldError(
                    key,
                    namespace,
                    "no service publishes to it (each task may write to its own namespace only); the services' "
                    f"namespaces: {published}",
                )
            )
    for index, name in enumerate(observability.seats.scale_out_services):
        if name not in services:
            problems.append(
                ConfigFieldError(
                    key_path(("observability", "seats", "scale_out_services", index)),
                    name,
                    f"no such service in services.toml ({', '.join(services)})",
                )
            )
    return problems


# --- services.toml: the services against each other ----------------------------------------------


def services_problems(services: Mapping[str, ServiceConfig]) -> list[ConfigFieldError]:
    """The rules across services.toml's services: names, one owner per database, the variables the
    platform sets, path patterns that overlap and the listener rules they need."""
    problems = []
    owners: dict[str, str] = {}
    for name, service in services.items():
        if not SERVICE_NAME.fullmatch(name):
            problems.append(
                ConfigFieldError(
                    key_path(("services", name)),
                    service.model_dump(),
                    "a service name is 1 to 20 lower-case letters, digits and single hyphens, a letter first "
                    "(it becomes part of role, user and resource names)",
                )
            )
        if service.database is not None:
            earlier = owners.setdefault(service.database, name)
            if earlier != name:
                problems.append(
                    ConfigFieldError(
                        key_path(("services", name, "database")),
                        service.database,
                        f"already owned by {earlier}: each database belongs to one service",
                    )
                )
        problems.extend(platform_variable_problems(name, service))
    problems.extend(path_problems(services))
    rules = sum(-(-len(s.paths) // PATHS_PER_LISTENER_RULE) for s in services.values())
    if rules > MAX_LISTENER_RULES:
        problems.append(
            ConfigFieldError(
                "services",
                dict(services),
                f"the path patterns need {rules} listener rules ({PATHS_PER_LISTENER_RULE} patterns per rule next "
                f"to the origin header's values) and an ALB holds {MAX_LISTENER_RULES}: use fewer, wider patterns",
            )
        )
    return problems


def platform_variable_problems(name: str, service: ServiceConfig) -> list[ConfigFieldError]:
    """A service's `environment` and `secrets` against what the platform sets itself (from the data tier)."""
    problems = []
    for section, variables in (("environment", service.environment), ("secrets", service.secrets)):
        for variable in variables:
            if variable in PLATFORM_VARIABLES or variable.startswith(PLATFORM_VARIABLE_PREFIXES):
                hint = (
                    "the platform sets it from the data tier"
                    if service.database is not None or not variable.startswith(("DATABASE_", "DB_"))
                    else f"{name} has no database: set services.{name}.database to give it one, and the "
                    "platform sets DATABASE_* itself"
                )
                problems.append(
                    ConfigFieldError(
                        key_path(("services", name, section, variable)),
                        variables[variable],
                        f"reserved ({', '.join(p + '*' for p in PLATFORM_VARIABLE_PREFIXES)}, "
                        f"{', '.join(sorted(PLATFORM_VARIABLES))}): {hint}",
                    )
                )
    return problems


def path_problems(services: Mapping[str, ServiceConfig]) -> list[ConfigFieldError]:
    """Every pair of path patterns that could match one request path, within or across services."""
    problems = []
    routes: Sequence[tuple[str, int, str]] = [
        (name, index, pattern) for name, s in services.items() for index, pattern in enumerate(s.paths)
    ]
    for position, (name, index, pattern) in enumerate(routes):
        for other, _, other_pattern in routes[:position]:
            if not overlap(pattern, other_pattern):
                continue
            if pattern == other_pattern:
                why = "is listed twice" if other == name else f"is also {other}'s: two services on one path"
            else:
                why = (
                    f"overlaps {other_pattern!r} of {other if other != name else 'the same service'}: "
                    "some path matches both"
                )
                if other != name:
                    why += ", so the listener rule order would pick the service; make them disjoint"
            problems.append(ConfigFieldError(key_path(("services", name, "paths", index)), pattern, why))
    return problems
