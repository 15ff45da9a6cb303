"""What the templates ask of an account: the amounts the quota checks compare with what is left.

Everything is read from the synthesised templates (never from config), so the check follows what
the change deploys: a reservation removed from a function, a service given an image, a new NAT
gateway. A value the templates hold as an intrinsic (not a literal) cannot be summed offline; it is
returned in `unreadable` and reported, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from platform_constructs.physical_names import drill_state_machine_name
from tools.cloud_assembly import AssemblyStack

LAMBDA_FUNCTION = "AWS::Lambda::Function"
ECS_SERVICE = "AWS::ECS::Service"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
CLUSTER_STRATEGY = "AWS::ECS::ClusterCapacityProviderAssociations"
LOG_RESOURCE_POLICY = "AWS::Logs::ResourcePolicy"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
DB_INSTANCE = "AWS::RDS::DBInstance"
#: The account-wide resource policy CloudWatch Logs' vended-log delivery adds once per region, the first
#: time a service (ElastiCache's log delivery, WAF's logging) delivers to a log group.
LOG_DELIVERY_POLICY = "AWSLogDeliveryWrite20150319"
#: A NEW service without DesiredCount starts with one task (CloudFormation's default).
DEFAULT_DESIRED_COUNT = 1
FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"


@dataclass
class Amount:
    """A total over stacks, with what it is made of and what could not be read."""

    total: float = 0
    parts: dict[str, float] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def add(self, where: str, value: float) -> None:
        self.total += value
        self.parts[where] = self.parts.get(where, 0) + value


def resources(
    stacks: Iterable[AssemblyStack], resource_type: str
) -> Iterator[tuple[AssemblyStack, str, dict[str, Any]]]:
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            if resource.get("Type") == resource_type:
                yield stack, logical_id, resource.get("Properties", {}) or {}


def count(stacks: Iterable[AssemblyStack], resource_type: str) -> Amount:
    found = Amount()
    for stack, _, _ in resources(stacks, resource_type):
        found.add(stack.name, 1)
    return found


def restore_drills(stacks: Iterable[AssemblyStack]) -> Amount:
    """One temporary DB instance per restore drill. Its state machine restores into an instance of its own
    (one at a time: the drill refuses to start beside a running restore), which no template holds, so the
    RDS quota must keep a place for it while the drill is idle."""
    found = Amount()
    for stack, _, properties in resources(stacks, STATE_MACHINE):
        if properties.get("StateMachineName") == drill_state_machine_name(stack.environment):
            found.add(stack.name, 1)
    return found


def reserved_concurrency(stacks: Iterable[AssemblyStack]) -> Amount:
    """Sum of ReservedConcurrentExecutions over every function (absent: no reservation)."""
    found = Amount()
    for stack, logical_id, properties in resources(stacks, LAMBDA_FUNCTION):
        value = properties.get("ReservedConcurrentExecutions")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            found.unreadable.append(f"{stack.name}/{logical_id}")
            continue
        found.add(stack.name, int(value))
    return found


def cache_nodes(stacks: Iterable[AssemblyStack]) -> Amount:
    """ElastiCache nodes: a replication group's shards x (1 + replicas), or its NumCacheClusters."""
    found = Amount()
    for stack, logical_id, properties in resources(stacks, "AWS::ElastiCache::ReplicationGroup"):
        try:
            if "NumCacheClusters" in properties:
                nodes = int(properties["NumCacheClusters"])
            else:
                shards = int(properties.get("NumNodeGroups", 1))
                nodes = shards * (1 + int(properties.get("ReplicasPerNodeGroup", 0)))
        except (TypeError, ValueError):
            found.unreadable.append(f"{stack.name}/{logical_id}")
            continue
        found.add(stack.name, nodes)
    for stack, logical_id, properties in resources(stacks, "AWS::ElastiCache::CacheCluster"):
        try:
            found.add(stack.name, int(properties.get("NumCacheNodes", 1)))
        except (TypeError, ValueError):
            found.unreadable.append(f"{stack.name}/{logical_id}")
    return found


def web_acls(stacks: Iterable[AssemblyStack], scope: str) -> Amount:
    found = Amount()
    for stack, _, properties in resources(stacks, "AWS::WAFv2::WebACL"):
        if properties.get("Scope") == scope:
            found.add(stack.name, 1)
    return found


def load_balancers(stacks: Iterable[AssemblyStack], kind: str = "application") -> Amount:
    found = Amount()
    for stack, _, properties in resources(stacks, "AWS::ElasticLoadBalancingV2::LoadBalancer"):
        if properties.get("Type", "application") == kind:
            found.add(stack.name, 1)
    return found


def log_resource_policies(stacks: Iterable[AssemblyStack]) -> tuple[set[str], list[str]]:
    """The names of the CloudWatch Logs resource policies the templates create or cause, and unreadable ones."""
    names: set[str] = set()
    unreadable = []
    delivers = False
    for stack in stacks:
        for logical_id, resource in stack.template.get("Resources", {}).items():
            kind = resource.get("Type")
            properties = resource.get("Properties", {}) or {}
            if kind == LOG_RESOURCE_POLICY:
                name = properties.get("PolicyName")
                if isinstance(name, str):
                    names.add(name)
                else:
                    unreadable.append(f"{stack.name}/{logical_id}")
            else:
                delivers = delivers or _delivers_logs(kind, properties)
    if delivers:
        names.add(LOG_DELIVERY_POLICY)
    return names, unreadable


def _delivers_logs(kind: str, properties: dict[str, Any]) -> bool:
    """Whether the resource makes CloudWatch Logs' vended delivery write to a log group."""
    if kind == "AWS::WAFv2::LoggingConfiguration":
        return True
    deliveries = properties.get("LogDeliveryConfigurations", []) if kind == "AWS::ElastiCache::ReplicationGroup" else []
    return any(isinstance(d, dict) and d.get("DestinationType") == "cloudwatch-logs" for d in deliveries)


@dataclass(frozen=True)
class ServiceTasks:
    """One ECS service's most tasks, its task size and its capacity strategy, as the template has them."""

    stack: str
    logical_id: str
    max_tasks: int
    vcpu: float
    strategy: tuple[tuple[str, int, int], ...]  # (provider, weight, base)

    def split(self) -> dict[str, float]:
        """vCPU per capacity provider at max_tasks: each provider's base, then the rest by weight,
        rounded up per provider (a bound: ECS never places more than that on either)."""
        tasks = self.max_tasks
        per_provider: dict[str, int] = {}
        remaining = tasks
        for provider, _, base in self.strategy:
            placed = min(base, remaining)
            per_provider[provider] = per_provider.get(provider, 0) + placed
            remaining -= placed
        weights = sum(weight for _, weight, _ in self.strategy)
        for provider, weight, _ in self.strategy:
            if weights and weight:
                extra = math.ceil(remaining * weight / weights)
                per_provider[provider] = min(tasks, per_provider.get(provider, 0) + extra)
        return {provider: placed * self.vcpu for provider, placed in per_provider.items()}


def fargate_services(stacks: Iterable[AssemblyStack]) -> tuple[list[ServiceTasks], list[str]]:
    """Every Fargate service at its most tasks (its scalable target's highest MaxCapacity, scheduled
    actions included; without a target, its DesiredCount), and the services that could not be read."""
    found: list[ServiceTasks] = []
    unreadable: list[str] = []
    for stack in stacks:
        template_resources: dict[str, Any] = stack.template.get("Resources", {})
        default_strategy = _cluster_strategies(template_resources)
        for logical_id, resource in template_resources.items():
            if resource.get("Type") != ECS_SERVICE:
                continue
            properties = resource.get("Properties", {}) or {}
            strategy = _strategy(properties.get("CapacityProviderStrategy"))
            if not strategy:
                launch = properties.get("LaunchType")
                if launch == FARGATE:
                    strategy = ((FARGATE, 1, 0),)
                elif launch is None:
                    strategy = default_strategy.get(json_key(properties.get("Cluster")), ())
            if not any(provider in (FARGATE, FARGATE_SPOT) for provider, _, _ in strategy):
                continue  # EC2 capacity: not a Fargate quota
            try:
                vcpu = _task_vcpu(template_resources, properties.get("TaskDefinition"))
                most = _max_tasks(template_resources, logical_id, properties)
            except (KeyError, TypeError, ValueError):
                unreadable.append(f"{stack.name}/{logical_id}")
                continue
            found.append(ServiceTasks(stack.name, logical_id, most, vcpu, strategy))
    return found, unreadable


def fargate_vcpu(stacks: Iterable[AssemblyStack]) -> tuple[Amount, Amount]:
    """(on-demand, Spot) vCPU of every Fargate service at its most tasks."""
    services, unreadable = fargate_services(stacks)
    on_demand, spot = Amount(unreadable=list(unreadable)), Amount(unreadable=list(unreadable))
    for service in services:
        split = service.split()
        on_demand.add(service.stack, split.get(FARGATE, 0))
        spot.add(service.stack, split.get(FARGATE_SPOT, 0))
    return on_demand, spot


def json_key(value: Any) -> str:
    return repr(value)


def _strategy(value: Any) -> tuple[tuple[str, int, int], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(item.get("CapacityProvider")), int(item.get("Weight", 0)), int(item.get("Base", 0)))
        for item in value
        if isinstance(item, dict)
    )


def _cluster_strategies(template_resources: dict[str, Any]) -> dict[str, tuple[tuple[str, int, int], ...]]:
    strategies = {}
    for resource in template_resources.values():
        if resource.get("Type") == CLUSTER_STRATEGY:
            properties = resource.get("Properties", {}) or {}
            strategies[json_key(properties.get("Cluster"))] = _strategy(
                properties.get("DefaultCapacityProviderStrategy")
            )
    return strategies


def _task_vcpu(template_resources: dict[str, Any], reference: Any) -> float:
    if not isinstance(reference, dict) or "Ref" not in reference:
        raise ValueError("the task definition is not one of this template's")
    cpu = template_resources[reference["Ref"]]["Properties"]["Cpu"]
    return int(cpu) / 1024


def _max_tasks(template_resources: dict[str, Any], service_id: str, properties: dict[str, Any]) -> int:
    highest: int | None = None
    for resource in template_resources.values():
        if resource.get("Type") != SCALABLE_TARGET:
            continue
        target = resource.get("Properties", {}) or {}
        if not _mentions(target.get("ResourceId"), service_id):
            continue
        ceilings = [int(target["MaxCapacity"])]
        for action in target.get("ScheduledActions", []) or []:
            ceiling = (action.get("ScalableTargetAction") or {}).get("MaxCapacity")
            if ceiling is not None:
                ceilings.append(int(ceiling))
        highest = max([*ceilings, highest or 0])
    if highest is not None:
        return highest
    return int(properties.get("DesiredCount", DEFAULT_DESIRED_COUNT))


def _mentions(value: Any, logical_id: str) -> bool:
    """Whether an intrinsic refers to `logical_id` (Ref or Fn::GetAtt anywhere inside)."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and attribute[0] == logical_id:
            return True
        return any(_mentions(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, logical_id) for v in value)
    return False
