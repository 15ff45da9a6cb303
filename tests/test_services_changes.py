"""Day-2 changes to the services tier, judged by the CDK CLI's own offline diff (slow tier).

Changing the Spot/on-demand mix and giving a service its first image must update the ECS services
in place: a replaced service would fail (Service Connect names collide) and would drop its tasks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from config.loader import load_services
from config.schema import ServiceConfig
from tests.conftest import SynthesizedEnvironment
from tests.test_day2_changes import changed_lines, synth_changed, template_of
from tools.cli_diff import diff_stack

pytestmark = pytest.mark.slow


def test_changing_the_spot_mix_updates_every_service_in_place(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    before = platform("staging")
    after = synth_changed("staging", tmp_path, compute__spot_percent=70, compute__on_demand_base=1)
    result = diff_stack(after, template_of(before.outdir, "Staging/Services"), "Staging/Services")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output  # --fail-on destructive: nothing replaced or removed
    lines = changed_lines(output)
    services = [line for line in lines if "AWS::ECS::Service " in line]
    assert len(services) == len(before.config.services), output
    assert all(line.startswith("[~]") and not line.endswith("replace") for line in services), services
    assert set(lines) == set(services), f"only the services change: {lines}"
    assert "CapacityProviderStrategy" in output
    assert not re.search(r"(may cause|requires) replacement", output), output


def test_a_first_image_updates_services_in_place_and_hands_the_count_to_scaling(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """From the zero-task bootstrap to running: the service stays, DesiredCount leaves the template,
    scaling (target tracking, the night schedule, the seat alarm's steps) is added, the task definition
    gets a new revision."""
    before = platform("dev")
    images = dict.fromkeys(before.config.services, "1.0.0")
    after = synth_changed("dev", tmp_path, images=images)
    result = diff_stack(after, template_of(before.outdir, "Dev/Services"), "Dev/Services")
    output = result.stdout + result.stderr
    lines = changed_lines(output)
    services = [line for line in lines if "AWS::ECS::Service " in line]
    assert len(services) == len(images), output
    assert all(line.startswith("[~]") and not line.endswith("replace") for line in services), services
    assert re.search(r"\[-\] DesiredCount", output) or re.search(r"DesiredCount\n\s+\[-\] 0", output), output
    added = [line for line in lines if line.startswith("[+]")]
    assert sum("AWS::ApplicationAutoScaling::ScalableTarget" in line for line in added) == len(images), added
    # Target tracking on CPU and memory per service, and the seat alarm's step policy per scaled-out service,
    # which the alarm, changed in place, now invokes.
    seat_scaled = len(before.config.observability.seats.scale_out_services)
    assert sum("AWS::ApplicationAutoScaling::ScalingPolicy" in line for line in added) == 2 * len(images) + seat_scaled
    assert [line for line in lines if "LowAvailableSeats" in line and line.startswith("[~]")], output
    # Task definitions are immutable: a new image is a new revision (CloudFormation "replaces" it).
    replaced = [line for line in lines if line.endswith("replace")]
    assert all("AWS::ECS::TaskDefinition" in line for line in replaced), replaced
    assert not [line for line in lines if line.startswith("[-]")], output


def test_a_sixth_service_only_adds_to_the_services_tier(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    before = platform("dev")
    services = {**load_services(), "search": ServiceConfig(database="ticketing_search", port=8005)}
    after = synth_changed("dev", tmp_path, services=services)
    for stack in ("Dev/Services", "Dev/Registry"):
        result = diff_stack(after, template_of(before.outdir, stack), stack)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        lines = changed_lines(output)
        assert not [line for line in lines if line.startswith("[-]") or line.endswith("replace")], output
        added = [line for line in lines if line.startswith("[+]")]
        kind = "AWS::ECS::Service" if stack == "Dev/Services" else "AWS::ECR::Repository"
        assert any(kind in line and "earch" in line for line in added), added


def test_ending_the_origin_header_move_updates_the_rules_in_place_and_deletes_only_the_former_secret(
    platform: Callable[[str], SynthesizedEnvironment], tmp_path: Path
) -> None:
    """`keep_former_origin_secret` true -> false: a replaced rule would collide with its own priority, so every
    listener rule must change in place; the former secret is the one resource removed
    (docs/runbooks/origin-header.md), and the CLI's --fail-on destructive says so."""
    committed = platform("prod")
    keep = committed.config.load_balancer.keep_former_origin_secret
    other = synth_changed("prod", tmp_path, load_balancer__keep_former_origin_secret=not keep)
    transitional, final = (committed.outdir, other) if keep else (other, committed.outdir)
    result = diff_stack(final, template_of(transitional, "Prod/Services"), "Prod/Services")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # the secret's deletion is destructive
    lines = changed_lines(output)
    rules = [line for line in lines if "AWS::ElasticLoadBalancingV2::ListenerRule" in line]
    assert rules, output
    assert all(line.startswith("[~]") and not line.endswith("replace") for line in rules), rules
    removed = [line for line in lines if line.startswith("[-]")]
    assert len(removed) == 1, removed
    assert "AWS::SecretsManager::Secret OriginHeaderSecret" in removed[0]
    assert not [line for line in lines if line.endswith("replace")], output
