"""The arithmetic and the template reading behind `make preflight`'s quota checks (no AWS).

The headroom rule: what the environments already hold counts once, so a run after a deploy asks
for nothing new; property-based over every figure. The demand is read from a real synthesised
environment, so the checks see exactly what a user's assembly holds.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, strategies as st

from tests.conftest import SynthesizedEnvironment
from tools.cloud_assembly import AssemblyStack
from tools.preflight import demand
from tools.preflight.deployment import read_deployment
from tools.preflight.headroom import Headroom, amount
from tools.preflight.prerequisites import covers

figures = st.integers(min_value=0, max_value=10_000)


@st.composite
def headrooms(draw: st.DrawFn) -> Headroom:
    limit, requested = draw(figures), draw(figures)
    own = draw(figures)
    in_use = own + draw(figures)
    return Headroom(limit=limit, in_use=in_use, own=own, requested=requested)


@given(headrooms())
def test_a_deployment_fits_exactly_when_its_increase_is_within_what_is_left(headroom: Headroom) -> None:
    assert headroom.increase == max(0, headroom.requested - headroom.own)
    assert headroom.fits == (headroom.in_use - headroom.own + max(headroom.requested, headroom.own) <= headroom.limit)
    assert headroom.shortfall == (0 if headroom.fits else headroom.increase - headroom.available)


@given(headrooms())
def test_a_second_run_after_the_deploy_asks_for_nothing_new(headroom: Headroom) -> None:
    """After the deploy the environment holds what it asked for; the same templates then fit
    whenever the account is not above its quota."""
    deployed = Headroom(
        limit=headroom.limit,
        in_use=headroom.in_use - headroom.own + headroom.requested,
        own=headroom.requested,
        requested=headroom.requested,
    )
    assert deployed.increase == 0
    assert deployed.fits == (deployed.in_use <= deployed.limit)
    if headroom.fits:
        assert deployed.fits  # what passed before the deploy passes after it


@given(headrooms(), st.integers(min_value=1, max_value=1000))
def test_raising_the_quota_by_the_shortfall_is_enough(headroom: Headroom, extra: int) -> None:
    raised = dataclasses.replace(headroom, limit=headroom.limit + headroom.shortfall)
    assert raised.fits
    if not headroom.fits:
        assert not dataclasses.replace(headroom, limit=raised.limit - 1).fits  # and no less would do
    assert dataclasses.replace(headroom, limit=headroom.limit + extra).fits >= headroom.fits


@given(headrooms(), headrooms())
def test_environments_sharing_an_account_are_summed(first: Headroom, second: Headroom) -> None:
    """Two environments in one account and region: their usage and their requests add up, and together
    they fit only if each would fit with the other's increase already taken."""
    account_use = first.in_use + second.in_use
    both = Headroom(first.limit, account_use, first.own + second.own, first.requested + second.requested)
    if first.requested >= first.own and second.requested >= second.own:
        assert both.increase == first.increase + second.increase
        alone = [Headroom(first.limit, account_use, h.own, h.requested) for h in (first, second)]
        if both.fits:
            assert all(h.fits for h in alone)
        elif all(h.fits for h in alone):
            assert first.increase + second.increase > both.available  # each alone fits; the sum does not


def test_impossible_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        Headroom(limit=10, in_use=1, own=2, requested=0)
    with pytest.raises(ValueError, match="negative"):
        Headroom(limit=-1, in_use=0, own=0, requested=0)
    assert amount(3.0) == "3"
    assert amount(0.25) == "0.25"


# --- the demand, read from what synthesis wrote ------------------------------------------------


@pytest.fixture(scope="module")
def dev(platform: Callable[[str], SynthesizedEnvironment]) -> SynthesizedEnvironment:
    return platform("dev")


def _stacks(env: SynthesizedEnvironment) -> list[AssemblyStack]:
    return list(read_deployment(env.config, env.outdir).stacks)


def test_the_deployment_names_every_region_and_its_bootstrap_version(dev: SynthesizedEnvironment) -> None:
    deployment = read_deployment(dev.config, dev.outdir)
    assert set(deployment.regions) == {dev.config.region, "us-east-1", dev.config.backup.copy_region}
    assert deployment.regions[0] == dev.config.region
    assert {r.region for r in deployment.bootstrap} == set(deployment.regions)
    for requirement in deployment.bootstrap:
        assert requirement.version >= 6
        assert requirement.parameter == f"/cdk-bootstrap/{requirement.qualifier}/version"
    assert deployment.missing_sharers == ()  # dev has an account of its own


def test_reserved_concurrency_is_what_the_templates_hold(dev: SynthesizedEnvironment) -> None:
    """Summed from the templates whatever they hold (the reservations are configurable per environment)."""
    stacks = _stacks(dev)
    expected = sum(
        int(resource["Properties"]["ReservedConcurrentExecutions"])
        for stack in stacks
        for resource in stack.template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function" and "ReservedConcurrentExecutions" in resource["Properties"]
    )
    assert demand.reserved_concurrency(stacks).total == expected
    changed = _with_function_property(stacks, "ReservedConcurrentExecutions", 7)
    assert demand.reserved_concurrency(changed).total >= 7
    unreadable = _with_function_property(stacks, "ReservedConcurrentExecutions", {"Ref": "Reservation"})
    assert demand.reserved_concurrency(unreadable).unreadable


def test_counts_follow_the_templates(dev: SynthesizedEnvironment) -> None:
    stacks = _stacks(dev)
    config = dev.config
    assert demand.count(stacks, "AWS::EC2::EIP").total == config.network.nat_gateways
    assert demand.count(stacks, "AWS::RDS::DBInstance").total == 1 + config.database.read_replicas
    assert demand.cache_nodes(stacks).total == 1 + config.cache.replicas
    assert demand.count(stacks, "AWS::EC2::VPC").total == 1
    assert demand.load_balancers(stacks).total == 1
    assert demand.web_acls(stacks, "CLOUDFRONT").total == 1
    assert demand.count(stacks, "AWS::CloudFront::Distribution").total == 1
    names, unreadable = demand.log_resource_policies(stacks)
    assert f"ticketing-{config.name}-service-events" in names
    assert demand.LOG_DELIVERY_POLICY in names  # the cache's and WAF's log delivery add it once per region
    assert not unreadable


def test_services_without_an_image_ask_for_no_fargate_capacity(dev: SynthesizedEnvironment) -> None:
    """The committed configs name no image: every service is created with zero tasks."""
    services, unreadable = demand.fargate_services(_stacks(dev))
    assert services
    assert not unreadable
    assert all(service.max_tasks == 0 for service in services)
    on_demand, spot = demand.fargate_vcpu(_stacks(dev))
    assert on_demand.total == spot.total == 0


@given(
    tasks=st.integers(min_value=0, max_value=100),
    base=st.integers(min_value=0, max_value=10),
    spot_percent=st.integers(min_value=0, max_value=100),
    cpu=st.sampled_from([256, 512, 1024, 2048, 4096]),
)
def test_a_services_split_bounds_each_pool_and_covers_every_task(
    tasks: int, base: int, spot_percent: int, cpu: int
) -> None:
    """Each pool gets at most every task and at least its share: the split never under-counts a pool."""
    strategy = ((demand.FARGATE, 100 - spot_percent, base), (demand.FARGATE_SPOT, spot_percent, 0))
    service = demand.ServiceTasks("s", "S", tasks, cpu / 1024, strategy)
    split = service.split()
    vcpu = cpu / 1024
    on_demand = split.get(demand.FARGATE, 0) / vcpu
    spot = split.get(demand.FARGATE_SPOT, 0) / vcpu
    assert on_demand <= tasks
    assert spot <= tasks
    assert on_demand + spot >= tasks
    above = max(0, tasks - base)
    assert on_demand >= min(base, tasks) + math.floor(above * (100 - spot_percent) / 100)
    assert spot >= math.floor(above * spot_percent / 100)


@pytest.mark.parametrize(
    ("held", "name", "expected"),
    [
        (["origin.dev.tickets.example.com"], "origin.dev.tickets.example.com", True),
        (["*.dev.tickets.example.com"], "origin.dev.tickets.example.com", True),
        (["*.tickets.example.com"], "origin.dev.tickets.example.com", False),  # a wildcard covers one label
        (["dev.tickets.example.com"], "origin.dev.tickets.example.com", False),
        (["example.com", "TICKETS.example.com"], "tickets.example.com", True),
        (["*.example.com"], "example.com", False),
    ],
)
def test_certificate_coverage(held: list[str], name: str, expected: bool) -> None:
    assert covers(held, name) is expected


def _with_function_property(stacks: list[AssemblyStack], key: str, value: Any) -> list[AssemblyStack]:
    changed = []
    done = False
    for stack in stacks:
        template = copy.deepcopy(stack.template)
        for resource in template["Resources"].values():
            if not done and resource["Type"] == "AWS::Lambda::Function":
                resource["Properties"][key] = value
                done = True
        changed.append(dataclasses.replace(stack, template=template))
    assert done, "the environment has a function"
    return changed
