"""What an environment costs a month, priced from its synthesised templates and the price table.

Every resource of every template is either priced by a rule below, named free or usage-priced in
the price table (`[resource_types]`), or an error naming it: nothing is silently 0. Sizes, counts,
classes, storage, lifecycle rules, capacity mixes, schedules and commitment tags come from the
templates; what no template says (requests, bytes, log volume) comes from the environment's
`[cost.estimate]` assumptions, which the cost stack records in the cloud assembly; a service with no
image yet (`DesiredCount: 0`) is priced at the capacity it records for after its first image.

Beside each cost, what each of the guide's choices saves, each measured alone against the same
resource (so they do not add up exactly when two apply to one resource):

- `spot`: the Spot share of the tasks at the Spot discount, against running them all on demand;
- `reservations`: database and cache reservations, and the Compute Savings Plan on the on-demand
  Fargate base, for resources tagged with a commitment term, against on-demand prices;
- `lifecycle`: S3 lifecycle transitions to colder classes, against keeping the same objects in
  STANDARD for as long;
- `arm64`: ARM64 tasks against the same tasks on X86_64;
- `night`: the night schedule, against the daytime minimum around the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from config.cost import USAGE_ASSUMPTIONS_METADATA, EstimateConfig
from config.prices import InstancePrice, PriceTable
from platform_constructs.assembly_metadata import PLANNED_CAPACITY_METADATA
from tools.replacement_rules import referenced_ids
from tools.weekly_capacity import ScheduleError, parse_weekly_cron, week_profile

SAVINGS = ("spot", "reservations", "lifecycle", "arm64", "night")
DAYS_PER_MONTH = 365 / 12
#: A bucket whose lifecycle expires nothing is priced at a year's objects.
UNEXPIRED_HORIZON_DAYS = 365
NO_COMMITMENT = ("", "none")

Template = dict[str, Any]
Resource = dict[str, Any]


class CostError(ValueError):
    """Resources the price table cannot price, each named with what is missing."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("cannot price:\n" + "\n".join(f"  - {problem}" for problem in problems))


@dataclass(frozen=True)
class StackInput:
    """One stack of the assembly: its CloudFormation name, template and assembly metadata by path."""

    name: str
    template: Template
    metadata: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One priced resource (or group of alike resources) and what the guide's choices save on it."""

    stack: str
    resource: str
    service: str
    detail: str
    monthly: float
    savings: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvironmentEstimate:
    environment: str
    lines: tuple[Line, ...]
    usage_only: Mapping[str, int]
    notes: tuple[str, ...]
    assumptions: EstimateConfig

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def saved(self, choice: str) -> float:
        return sum(line.savings.get(choice, 0.0) for line in self.lines)


def estimate_environment(
    environment: str, stacks: list[StackInput], prices: PriceTable, assumptions: EstimateConfig | None = None
) -> EnvironmentEstimate:
    """Price every resource of `stacks`; CostError listing every resource that cannot be priced."""
    notes: list[str] = []
    if assumptions is None:
        assumptions = _recorded_assumptions(stacks)
        if assumptions is None:
            assumptions = EstimateConfig()
            notes.append("the assembly records no usage assumptions ([cost.estimate]): the defaults are used")
    pricer = _Pricer(stacks, prices, assumptions)
    return EnvironmentEstimate(
        environment=environment,
        lines=tuple(pricer.lines()),
        usage_only=pricer.usage_only,
        notes=tuple(notes + pricer.notes),
        assumptions=assumptions,
    )


def _recorded_assumptions(stacks: list[StackInput]) -> EstimateConfig | None:
    for stack in stacks:
        for entries in stack.metadata.values():
            for entry in entries:
                if entry.get("type") == USAGE_ASSUMPTIONS_METADATA:
                    data = {key: value for key, value in entry["data"].items() if key != "environment"}
                    return EstimateConfig.model_validate(data)
    return None


# --- template helpers -----------------------------------------------------------------------------


def _tag(resource: Resource, key: str) -> str:
    for tag in resource.get("Properties", {}).get("Tags", []) or []:
        if isinstance(tag, dict) and tag.get("Key") == key and isinstance(tag.get("Value"), str):
            return str(tag["Value"])
    return ""


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _UnpriceableError(f"{what} is not a number in the template ({value!r})")
    try:
        return float(value)
    except ValueError:
        raise _UnpriceableError(f"{what} is not a number in the template ({value!r})") from None


class _UnpriceableError(Exception):
    """One resource cannot be priced; the message says why (the resource is added by the caller)."""


# --- the pricing rules ----------------------------------------------------------------------------


@dataclass
class _Context:
    stack: StackInput
    logical_id: str
    resource: Resource
    path: str
    full_path: str

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.resource.get("Properties", {}))

    def of_type(self, resource_type: str) -> Iterator[tuple[str, Resource]]:
        for logical_id, resource in self.stack.template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource


Rule = Callable[["_Pricer", _Context], list[Line]]


class _Pricer:
    def __init__(self, stacks: list[StackInput], prices: PriceTable, assumptions: EstimateConfig) -> None:
        self.stacks = stacks
        self.prices = prices
        self.usage = assumptions
        self.hours = prices.hours_per_month
        self.usage_only: dict[str, int] = {}
        self.notes: list[str] = []
        self.planned: list[str] = []
        self.nat_gateways = sum(
            1 for stack in stacks for resource in _resources(stack) if resource.get("Type") == "AWS::EC2::NatGateway"
        )

    def lines(self) -> list[Line]:
        found: list[Line] = []
        problems: list[str] = []
        free = set(self.prices.resource_types.free)
        usage_only = set(self.prices.resource_types.usage_only)
        for stack in self.stacks:
            paths = _logical_paths(stack)
            grouped: dict[str, list[_Context]] = {}
            for logical_id, resource in stack.template.get("Resources", {}).items():
                kind = str(resource.get("Type", ""))
                full_path = paths.get(logical_id, "")
                context = _Context(
                    stack, logical_id, resource, _short_path(stack.name, full_path, logical_id), full_path
                )
                if kind in RULES:
                    try:
                        found.extend(RULES[kind](self, context))
                    except (_UnpriceableError, ScheduleError) as error:
                        problems.append(f"{stack.name} {context.path} ({kind}): {error}")
                elif kind in GROUP_RULES:
                    grouped.setdefault(kind, []).append(context)
                elif kind in usage_only:
                    self.usage_only[kind] = self.usage_only.get(kind, 0) + 1
                elif kind not in free:
                    problems.append(
                        f"{stack.name} {context.path} ({kind}): no pricing rule for this type; price it in "
                        "tools/cost_estimate.py or list it under [resource_types] in config/prices.toml"
                    )
            for kind, contexts in grouped.items():
                try:
                    found.extend(GROUP_RULES[kind](self, stack, contexts))
                except _UnpriceableError as error:
                    problems.append(f"{stack.name} ({kind}): {error}")
        if problems:
            raise CostError(problems)
        if self.planned:
            self.notes.append(
                f"no image yet, so the templates run 0 tasks: {', '.join(self.planned)} priced at the capacity "
                "each records for after its first image (README: The first image)"
            )
        return found

    # Fargate ---------------------------------------------------------------------------------------

    def fargate_service(self, context: _Context) -> list[Line]:
        definition = self._task_definition(context)
        vcpus = _number(definition.get("Cpu"), "the task definition's Cpu") / 1024
        memory_gb = _number(definition.get("Memory"), "the task definition's Memory") / 1024
        architecture = str((definition.get("RuntimePlatform") or {}).get("CpuArchitecture", "X86_64"))
        base, on_demand_weight, spot_weight = self._capacity_mix(context)
        profile, source = self._task_profile(context)

        term = _tag(context.resource, "CommitmentTerm")
        plan_discount = 0.0
        if _tag(context.resource, "Commitment") == "compute-savings-plan" and term not in NO_COMMITMENT:
            percent = self.prices.fargate.savings_plan_discount_percent.get(term)
            if percent is None:
                raise _UnpriceableError(
                    f"tagged CommitmentTerm {term}, but [fargate] has no Savings Plan discount for it"
                )
            plan_discount = percent / 100
        spot_factor = 1 - self.prices.fargate.spot_discount_percent / 100
        spot_fraction = spot_weight / (on_demand_weight + spot_weight)

        def cost(arch: str, profile: dict[int, float], spot: bool = True, plan: bool = True) -> float:
            rate = self._task_rate(arch, vcpus, memory_gb)
            total = 0.0
            for tasks, share in profile.items():
                spot_tasks = max(tasks - base, 0) * spot_fraction if spot else 0.0
                covered = min(tasks, base) * plan_discount if plan else 0.0
                task_hours = tasks - spot_tasks + spot_tasks * spot_factor - covered
                total += share * self.hours * rate * task_hours
            return total

        monthly = cost(architecture, profile)
        daytime = max(profile) if profile else 0
        savings = {
            "spot": cost(architecture, profile, spot=False) - monthly,
            "reservations": cost(architecture, profile, plan=False) - monthly,
            "arm64": cost("X86_64", profile) - monthly if architecture == "ARM64" else 0.0,
            "night": cost(architecture, {daytime: 1.0}) - monthly,
        }
        running = sum(share for tasks, share in profile.items() if tasks)
        detail = (
            f"{daytime} tasks x {vcpus:g} vCPU {memory_gb:g} GB {architecture}, {spot_fraction * 100:.0f} % Spot above "
            f"{base} on demand, running {running * 100:.0f} % of the week{source}"
        )
        return [self._line(context, "ECS Fargate", detail, monthly, savings)]

    def _task_definition(self, context: _Context) -> dict[str, Any]:
        for logical_id in referenced_ids(context.properties.get("TaskDefinition")):
            resource = context.stack.template.get("Resources", {}).get(logical_id, {})
            if resource.get("Type") == "AWS::ECS::TaskDefinition":
                return dict(resource.get("Properties", {}))
        raise _UnpriceableError("its TaskDefinition is not a task definition of the same template")

    def _capacity_mix(self, context: _Context) -> tuple[int, float, float]:
        properties = context.properties
        strategy = properties.get("CapacityProviderStrategy")
        if not strategy:
            cluster = referenced_ids(properties.get("Cluster"))
            for _, association in context.of_type("AWS::ECS::ClusterCapacityProviderAssociations"):
                if cluster & referenced_ids(association.get("Properties", {}).get("Cluster")):
                    strategy = association["Properties"].get("DefaultCapacityProviderStrategy")
        if not strategy:
            if properties.get("LaunchType", "FARGATE") == "FARGATE":
                return 0, 1.0, 0.0
            raise _UnpriceableError(f"launch type {properties.get('LaunchType')!r} is not Fargate")
        base, weights = 0, {"FARGATE": 0.0, "FARGATE_SPOT": 0.0}
        for item in strategy:
            provider = item.get("CapacityProvider")
            if provider not in weights:
                raise _UnpriceableError(f"capacity provider {provider!r} is neither FARGATE nor FARGATE_SPOT")
            weights[provider] = _number(item.get("Weight", 0), "a capacity provider's Weight")
            if provider == "FARGATE":
                base = int(_number(item.get("Base", 0), "the FARGATE Base"))
        if not any(weights.values()):
            weights["FARGATE"] = 1.0
        return base, weights["FARGATE"], weights["FARGATE_SPOT"]

    def _task_profile(self, context: _Context) -> tuple[dict[int, float], str]:
        for _, target in context.of_type("AWS::ApplicationAutoScaling::ScalableTarget"):
            target_properties = target.get("Properties", {})
            if context.logical_id in referenced_ids(target_properties.get("ResourceId")):
                changes = [
                    parse_weekly_cron(
                        str(action.get("Schedule", "")),
                        int(_number(action.get("ScalableTargetAction", {}).get("MinCapacity"), "MinCapacity")),
                    )
                    for action in target_properties.get("ScheduledActions", []) or []
                ]
                minimum = int(_number(target_properties.get("MinCapacity"), "the scalable target's MinCapacity"))
                return week_profile(minimum, changes), ""
        for entry in context.stack.metadata.get(context.full_path, []):
            if entry.get("type") == PLANNED_CAPACITY_METADATA:
                data = entry["data"]
                changes = [
                    parse_weekly_cron(str(action["schedule"]), int(action["min_tasks"]))
                    for action in data.get("scheduled_actions", [])
                ]
                self.planned.append(context.path)
                return week_profile(int(data["min_tasks"]), changes), " (after its first image)"
        desired = int(_number(context.properties.get("DesiredCount", 1), "DesiredCount"))
        return {desired: 1.0}, ""

    def _task_rate(self, architecture: str, vcpus: float, memory_gb: float) -> float:
        fargate = self.prices.fargate
        if architecture not in fargate.vcpu_hour or architecture not in fargate.gb_hour:
            raise _UnpriceableError(f"no Fargate price for the {architecture} architecture in [fargate]")
        return vcpus * fargate.vcpu_hour[architecture] + memory_gb * fargate.gb_hour[architecture]

    # Databases and caches --------------------------------------------------------------------------

    def db_instance(self, context: _Context) -> list[Line]:
        properties = context.properties
        instance_class = str(properties.get("DBInstanceClass", ""))
        price = self._instance_price(self.prices.rds.instances, instance_class, "[rds.instances]")
        copies = 2 if properties.get("MultiAZ") is True or properties.get("MultiAZ") == "true" else 1
        hourly, reserved_saving = self._committed_rate(context, price, instance_class, "[rds.instances]")
        storage_type = str(properties.get("StorageType", "gp2"))
        if properties.get("Iops") is not None:
            raise _UnpriceableError("provisioned IOPS are not in the price table")
        if storage_type not in self.prices.rds.storage_gb_month:
            raise _UnpriceableError(f"no price for {storage_type} storage in [rds] storage_gb_month")
        if properties.get("AllocatedStorage") is None:
            raise _UnpriceableError("AllocatedStorage is not set in the template")
        storage = _number(properties.get("AllocatedStorage"), "AllocatedStorage")
        instance_cost = self.hours * hourly * copies
        storage_cost = storage * self.prices.rds.storage_gb_month[storage_type] * copies
        role = "read replica" if properties.get("SourceDBInstanceIdentifier") else "instance"
        detail = f"{instance_class} {role}{' Multi-AZ' if copies == 2 else ''}, {storage:g} GB {storage_type}"
        if reserved_saving:
            detail += f", reserved {_tag(context.resource, 'CommitmentTerm')}"
        savings = {"reservations": self.hours * reserved_saving * copies}
        return [self._line(context, "RDS", detail, instance_cost + storage_cost, savings)]

    def db_proxy(self, context: _Context) -> list[Line]:
        vcpus = 0
        instances = context.stack.template.get("Resources", {})
        for _, group in context.of_type("AWS::RDS::DBProxyTargetGroup"):
            group_properties = group.get("Properties", {})
            if context.logical_id not in referenced_ids(group_properties.get("DBProxyName")):
                continue
            for target in referenced_ids(group_properties.get("DBInstanceIdentifiers")):
                instance_class = str(instances.get(target, {}).get("Properties", {}).get("DBInstanceClass", ""))
                price = self._instance_price(self.prices.rds.instances, instance_class, "[rds.instances]")
                vcpus += price.vcpus or 0
        if not vcpus:
            raise _UnpriceableError("no target group with database instances of this template")
        billed = max(vcpus, 2)
        detail = f"{billed} vCPUs of the instances behind it"
        return [self._line(context, "RDS Proxy", detail, self.hours * billed * self.prices.rds.proxy_vcpu_hour)]

    def cache_group(self, context: _Context) -> list[Line]:
        properties = context.properties
        node_type = str(properties.get("CacheNodeType", ""))
        price = self._instance_price(self.prices.elasticache.nodes, node_type, "[elasticache.nodes]")
        if properties.get("NumCacheClusters") is not None:
            nodes = int(_number(properties["NumCacheClusters"], "NumCacheClusters"))
        elif properties.get("NumNodeGroups") is not None:
            groups = int(_number(properties["NumNodeGroups"], "NumNodeGroups"))
            nodes = groups * (1 + int(_number(properties.get("ReplicasPerNodeGroup", 0), "ReplicasPerNodeGroup")))
        else:
            raise _UnpriceableError("neither NumCacheClusters nor NumNodeGroups is set")
        hourly, reserved_saving = self._committed_rate(context, price, node_type, "[elasticache.nodes]")
        detail = f"{nodes} x {node_type}"
        if reserved_saving:
            detail += f", reserved {_tag(context.resource, 'CommitmentTerm')}"
        savings = {"reservations": self.hours * reserved_saving * nodes}
        return [self._line(context, "ElastiCache", detail, self.hours * hourly * nodes, savings)]

    def _instance_price(self, table: Mapping[str, InstancePrice], name: str, section: str) -> InstancePrice:
        if name not in table:
            raise _UnpriceableError(f"no price for {name or 'an unset class'} in {section} of config/prices.toml")
        return table[name]

    def _committed_rate(self, context: _Context, price: InstancePrice, name: str, section: str) -> tuple[float, float]:
        """(hourly rate, hourly saving against on demand) by the resource's CommitmentTerm tag."""
        term = _tag(context.resource, "CommitmentTerm")
        if term in NO_COMMITMENT:
            return price.on_demand, 0.0
        if term not in price.reserved:
            raise _UnpriceableError(f"tagged CommitmentTerm {term}, but {section} has no {term} price for {name}")
        return price.reserved[term], price.on_demand - price.reserved[term]

    # Network ---------------------------------------------------------------------------------------

    def nat_gateway(self, context: _Context) -> list[Line]:
        network = self.prices.network
        data = self.usage.nat_gb / max(self.nat_gateways, 1)
        monthly = self.hours * network.nat_gateway_hour + data * network.nat_gb
        return [self._line(context, "VPC", f"NAT gateway, {data:.3g} GB processed", monthly)]

    def elastic_ip(self, context: _Context) -> list[Line]:
        return [self._line(context, "VPC", "public IPv4 address", self.hours * self.prices.network.public_ipv4_hour)]

    def vpc_endpoint(self, context: _Context) -> list[Line]:
        properties = context.properties
        if properties.get("VpcEndpointType", "Gateway") == "Gateway":
            return []  # gateway endpoints (S3, DynamoDB) cost nothing
        zones = len(properties.get("SubnetIds", []) or [])
        if not zones:
            raise _UnpriceableError("an interface endpoint without SubnetIds in the template")
        service = (
            str(properties.get("ServiceName", "")).rsplit(".", 1)[-1]
            if isinstance(properties.get("ServiceName"), str)
            else "endpoint"
        )
        monthly = self.hours * zones * self.prices.network.interface_endpoint_hour
        return [self._line(context, "VPC", f"interface endpoint {service} in {zones} AZs", monthly)]

    def load_balancer(self, context: _Context) -> list[Line]:
        properties = context.properties
        if properties.get("Type", "application") != "application":
            raise _UnpriceableError(f"a {properties.get('Type')} load balancer is not in the price table")
        network = self.prices.network
        monthly = self.hours * (
            network.load_balancer_hour + self.usage.load_balancer_lcus * network.load_balancer_lcu_hour
        )
        detail = f"application load balancer, {self.usage.load_balancer_lcus:g} LCU"
        if properties.get("Scheme", "internet-facing") == "internet-facing":
            zones = len(properties.get("Subnets") or properties.get("SubnetMappings") or [])
            monthly += self.hours * zones * network.public_ipv4_hour
            detail += f", {zones} public IPv4 addresses"
        return [self._line(context, "Elastic Load Balancing", detail, monthly)]

    # Storage ---------------------------------------------------------------------------------------

    def bucket(self, context: _Context) -> list[Line]:
        storage = self.prices.s3.storage_gb_month
        rules = [
            rule
            for rule in (context.properties.get("LifecycleConfiguration") or {}).get("Rules", [])
            if rule.get("Status") == "Enabled" and not rule.get("Prefix") and not rule.get("TagFilters")
        ]
        transitions = sorted(
            ((int(_number(t.get("TransitionInDays"), "TransitionInDays")), str(t.get("StorageClass")))
             for rule in rules for t in rule.get("Transitions", []) or []),
        )  # fmt: skip
        for _, storage_class in transitions:
            if storage_class not in storage:
                raise _UnpriceableError(f"no price for the {storage_class} storage class in [s3]")
        if not transitions:
            detail = f"{self.usage.bucket_stored_gb:g} GB in STANDARD"
            return [self._line(context, "S3", detail, self.usage.bucket_stored_gb * storage["STANDARD"])]
        expirations = [
            int(_number(r["ExpirationInDays"], "ExpirationInDays")) for r in rules if "ExpirationInDays" in r
        ]
        kept = min(expirations) if expirations else UNEXPIRED_HORIZON_DAYS
        monthly_in = self.usage.log_archive_gb
        stays = [(0, "STANDARD"), *transitions]
        monthly = 0.0
        for (start, storage_class), (end, _) in zip(stays, [*stays[1:], (kept, "")], strict=True):
            days = max(min(end, kept) - min(start, kept), 0)
            monthly += monthly_in * days / DAYS_PER_MONTH * storage[storage_class]
        without = monthly_in * kept / DAYS_PER_MONTH * storage["STANDARD"]
        classes = " -> ".join(f"{name} from day {start}" for start, name in stays[1:])
        detail = f"{monthly_in:g} GB a month kept {kept} days, {classes}"
        if not expirations:
            detail += " (no expiry: a year's objects)"
        return [self._line(context, "S3", detail, monthly, {"lifecycle": without - monthly})]

    # Security, monitoring, edge --------------------------------------------------------------------

    def kms_key(self, context: _Context) -> list[Line]:
        return [self._line(context, "KMS", "customer-managed key", self._unit("kms-key-month"))]

    def secret(self, context: _Context) -> list[Line]:
        return [self._line(context, "Secrets Manager", "secret", self._unit("secret-month"))]

    def dashboard(self, context: _Context) -> list[Line]:
        return [self._line(context, "CloudWatch", "dashboard", self.prices.cloudwatch.dashboard_month)]

    def hosted_zone(self, context: _Context) -> list[Line]:
        private = bool(context.properties.get("VPCs"))
        detail = "private hosted zone" if private else "public hosted zone"
        return [self._line(context, "Route 53", detail, self.prices.other.hosted_zone_month)]

    def web_acl(self, context: _Context) -> list[Line]:
        edge = self.prices.edge
        rules = len(context.properties.get("Rules", []) or [])
        monthly = (
            edge.waf_web_acl_month
            + rules * edge.waf_rule_month
            + self.usage.requests_millions * edge.waf_requests_million
        )
        detail = f"web ACL, {rules} rules, {self.usage.requests_millions:g} M requests"
        return [self._line(context, "WAF", detail, monthly)]

    def distribution(self, context: _Context) -> list[Line]:
        edge = self.prices.edge
        monthly = self.usage.data_out_gb * edge.cloudfront_data_out_gb
        monthly += self.usage.requests_millions * edge.cloudfront_requests_million
        detail = f"{self.usage.data_out_gb:g} GB out, {self.usage.requests_millions:g} M HTTPS requests"
        return [self._line(context, "CloudFront", detail, monthly)]

    def alarms(self, stack: StackInput, contexts: list[_Context]) -> list[Line]:
        metrics = 0
        for context in contexts:
            properties = context.properties
            if properties.get("MetricName"):
                metrics += 1
                continue
            queries = properties.get("Metrics", []) or []
            count = sum(1 for query in queries if "MetricStat" in query)
            band = any("ANOMALY_DETECTION_BAND" in str(query.get("Expression", "")) for query in queries)
            if not count:
                raise _UnpriceableError(f"{context.path}: an alarm with neither MetricName nor a MetricStat")
            metrics += count * 3 if band else count
        monthly = metrics * self.prices.cloudwatch.alarm_metric_month
        detail = f"{len(contexts)} alarms on {metrics} metrics (an anomaly band counts 3)"
        return [Line(stack.name, _short_path(stack.name, "", "(alarms)"), "CloudWatch", detail, monthly, {})]

    def log_groups(self, stack: StackInput, contexts: list[_Context]) -> list[Line]:
        groups_here = len(contexts)
        groups = sum(
            1
            for other in self.stacks
            for resource in _resources(other)
            if resource.get("Type") == "AWS::Logs::LogGroup"
        )
        share = self.usage.log_ingest_gb * groups_here / groups
        monthly = share * self.prices.cloudwatch.logs_ingest_gb
        detail = f"{groups_here} log groups, their share of {self.usage.log_ingest_gb:g} GB ingested a month"
        return [Line(stack.name, _short_path(stack.name, "", "(log groups)"), "CloudWatch Logs", detail, monthly, {})]

    def _unit(self, unit: str) -> float:
        if unit not in self.prices.units:
            raise _UnpriceableError(f"no price for the unit {unit} in [units]")
        return self.prices.units[unit]

    def _line(
        self, context: _Context, service: str, detail: str, monthly: float, savings: Mapping[str, float] | None = None
    ) -> Line:
        kept = {choice: value for choice, value in (savings or {}).items() if abs(value) > 1e-9}
        return Line(context.stack.name, context.path, service, detail, monthly, kept)


def _resources(stack: StackInput) -> list[Resource]:
    return list(stack.template.get("Resources", {}).values())


def _logical_paths(stack: StackInput) -> dict[str, str]:
    """{logical ID: construct path} from the assembly's `aws:cdk:logicalId` entries."""
    return {
        str(entry["data"]): path
        for path, entries in stack.metadata.items()
        for entry in entries
        if entry.get("type") == "aws:cdk:logicalId"
    }


def _short_path(stack_name: str, full_path: str, logical_id: str) -> str:
    """What a reader recognises: `services/ApiGateway/Fargate/Service` (stack short name, then the
    construct path inside the stack), or `<stack>/<logical ID>` without a path."""
    short_stack = stack_name.split("-", 2)[-1] if stack_name.count("-") >= 2 else stack_name
    parts = full_path.strip("/").split("/")[2:] if full_path else [logical_id]
    while len(parts) > 1 and (parts[-1] in ("Resource", "Default") or parts[-1] == parts[-2]):
        parts.pop()
    return "/".join([short_stack, *parts])


RULES: dict[str, Rule] = {
    "AWS::ECS::Service": _Pricer.fargate_service,
    "AWS::RDS::DBInstance": _Pricer.db_instance,
    "AWS::RDS::DBProxy": _Pricer.db_proxy,
    "AWS::ElastiCache::ReplicationGroup": _Pricer.cache_group,
    "AWS::EC2::NatGateway": _Pricer.nat_gateway,
    "AWS::EC2::EIP": _Pricer.elastic_ip,
    "AWS::EC2::VPCEndpoint": _Pricer.vpc_endpoint,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _Pricer.load_balancer,
    "AWS::S3::Bucket": _Pricer.bucket,
    "AWS::KMS::Key": _Pricer.kms_key,
    "AWS::SecretsManager::Secret": _Pricer.secret,
    "AWS::CloudWatch::Dashboard": _Pricer.dashboard,
    "AWS::Route53::HostedZone": _Pricer.hosted_zone,
    "AWS::WAFv2::WebACL": _Pricer.web_acl,
    "AWS::CloudFront::Distribution": _Pricer.distribution,
}
#: Types priced as one line per stack (many alike resources).
GROUP_RULES: dict[str, Callable[[_Pricer, StackInput, list[_Context]], list[Line]]] = {
    "AWS::CloudWatch::Alarm": _Pricer.alarms,
    "AWS::Logs::LogGroup": _Pricer.log_groups,
}
