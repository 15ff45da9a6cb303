"""The cost estimate of every environment's real templates (the session's synthesised assemblies):
every resource priced or knowingly free, the guide's savings where the config makes them, and the
estimate inside the environment's own budget."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from config.prices import price_table
from tests.conftest import SynthesizedEnvironment
from tools.cost_estimate import SAVINGS, EnvironmentEstimate, estimate_environment
from tools.cost_report import estimate_assembly, read_assembly

PRICED_SERVICES = {"ECS Fargate", "RDS", "RDS Proxy", "ElastiCache", "VPC", "Elastic Load Balancing", "S3", "KMS",
                   "Secrets Manager", "CloudWatch", "CloudWatch Logs", "WAF", "CloudFront", "Route 53"}  # fmt: skip


def cost_of(env: SynthesizedEnvironment) -> EnvironmentEstimate:
    return estimate_assembly(env.outdir, price_table())[env.config.name]


def test_every_resource_of_every_template_is_priced_or_known_free(env: SynthesizedEnvironment) -> None:
    """estimate_assembly raises CostError naming any resource it cannot price; every service is there."""
    estimate = cost_of(env)
    assert {line.service for line in estimate.lines} == PRICED_SERVICES
    assert all(line.monthly >= 0 for line in estimate.lines)


def test_the_estimate_uses_the_usage_recorded_from_config(env: SynthesizedEnvironment) -> None:
    assert cost_of(env).assumptions == env.config.cost.estimate


def test_the_estimate_stays_inside_the_environments_budget(env: SynthesizedEnvironment) -> None:
    """A change that prices an environment past its AWS Budget fails here, before the budget alerts."""
    total = cost_of(env).total
    assert 0 < total <= env.config.cost.monthly_budget_usd, (
        f"{env.config.name}: the estimate {total:,.2f} USD exceeds cost.monthly_budget_usd "
        f"{env.config.cost.monthly_budget_usd}: raise the budget or cut the cost (make cost ENV={env.config.name})"
    )


def test_the_guides_choices_save_where_the_config_makes_them(env: SynthesizedEnvironment) -> None:
    estimate = cost_of(env)
    config = env.config
    assert estimate.saved("spot") > 0  # 80 % Spot above the base everywhere
    assert estimate.saved("arm64") > 0  # every service runs on ARM64
    assert estimate.saved("lifecycle") > 0  # the access-log buckets' ArchiveOldLogs rule
    assert (estimate.saved("night") > 0) == (config.compute.night_scaling is not None)
    assert (estimate.saved("reservations") > 0) == (config.cost.commitment_term != "none")


def test_services_without_images_are_priced_at_their_planned_capacity(env: SynthesizedEnvironment) -> None:
    """The committed configs have no images yet: each service is priced at min_tasks, not at 0."""
    estimate = cost_of(env)
    fargate = [line for line in estimate.lines if line.service == "ECS Fargate"]
    assert len(fargate) == len(env.config.services)
    assert all(line.monthly > 0 and f"{env.config.compute.min_tasks} tasks" in line.detail for line in fargate)
    assert any("no image yet" in note for note in estimate.notes)


def test_prod_reservations_save_about_what_the_guide_says() -> None:
    """The guide: 1-year reservations save about 40 % on RDS and 35 % on ElastiCache. The price table's
    all-upfront 1-year rates are within a few points of that for the classes prod runs."""
    prices = price_table()
    for instance, guide in (("db.r7g.xlarge", 40), ("db.r7g.large", 40)):
        entry = prices.rds.instances[instance]
        assert (1 - entry.reserved["1-year"] / entry.on_demand) * 100 == pytest.approx(guide, abs=3)
    entry = prices.elasticache.nodes["cache.r7g.large"]
    assert (1 - entry.reserved["1-year"] / entry.on_demand) * 100 == pytest.approx(35, abs=3)


def test_an_assembly_of_one_environment_reads_as_that_environment(env: SynthesizedEnvironment) -> None:
    stacks = read_assembly(env.outdir)
    assert list(stacks) == [env.config.name]
    assert {stack.name for stack in stacks[env.config.name]} == {stack.stack_name for stack in env.stacks}
    again = estimate_environment(env.config.name, stacks[env.config.name], price_table())
    assert [(line.resource, line.monthly) for line in again.lines] == [
        (line.resource, line.monthly) for line in cost_of(env).lines
    ]
    assert set(SAVINGS) >= {choice for line in again.lines for choice in line.savings}


def test_the_readmes_excerpt_is_what_make_cost_prints_for_prod(platform: Any) -> None:
    """The Cost page shows part of prod's table; its total and lines must be today's, not last month's."""
    readme = (Path(__file__).resolve().parent.parent / "docs" / "tiers" / "cost.md").read_text(encoding="utf-8")
    estimate = cost_of(platform("prod"))
    assert f"== prod: {estimate.total:,.2f} USD a month" in readme
    lines = {line.resource: line for line in estimate.lines}
    for resource in ("data/Postgres/Primary", "data/Cache", "services/ApiGateway/Fargate/Service"):
        shown = re.search(rf"^\S+(?: \S+)?\s+{re.escape(resource)}\s+([0-9,.]+)", readme, re.MULTILINE)
        assert shown, resource
        assert shown.group(1) == f"{lines[resource].monthly:,.2f}", resource
