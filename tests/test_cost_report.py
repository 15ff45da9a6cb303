"""`make cost` and `make cost-diff` as a user runs them: the command prints a table per environment,
the difference a change makes against a baseline assembly, and exits non-zero with the resource
named when it cannot price one. Slow tier: each runs a process (and `make cost` the cdk CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from config.prices import price_table
from tests.conftest import SynthesizedEnvironment, copy_assembly
from tools.cost_report import estimate_assembly

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def cost_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.cost_report", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def copy_with_change(
    source: SynthesizedEnvironment,
    target: Path,
    stack: str,
    resource_type: str,
    logical_prefix: str,
    **properties: object,
) -> None:
    """A copy of `source`'s assembly in which one resource of one stack has other properties."""
    copy_assembly(source.outdir, target)
    template_file = target / f"assembly-{source.stage.node.id}" / source.stack(stack).template_file
    template = json.loads(template_file.read_text(encoding="utf-8"))
    (logical_id,) = [
        k for k, r in template["Resources"].items() if r["Type"] == resource_type and k.startswith(logical_prefix)
    ]
    template["Resources"][logical_id]["Properties"].update(properties)
    template_file.write_text(json.dumps(template), encoding="utf-8")


@pytest.fixture(scope="module")
def dev(platform: object) -> SynthesizedEnvironment:
    return platform("dev")  # type: ignore[operator,no-any-return]


def test_the_table_names_every_service_and_the_total(dev: SynthesizedEnvironment) -> None:
    result = cost_report("--assembly", str(dev.outdir))
    assert result.returncode == 0, result.stderr
    total = estimate_assembly(dev.outdir, price_table())["dev"].total
    assert f"== dev: {total:,.2f} USD a month" in result.stdout
    for heading in ("Service", "Resource", "USD/month", "-Spot", "-Reserved", "-Lifecycle", "-ARM64", "-Night"):
        assert heading in result.stdout.splitlines()[1]
    assert "data/Postgres/Primary" in result.stdout
    assert "services/Bookings/Fargate/Service" in result.stdout
    assert "Saved by the guide's choices" in result.stdout


def test_json_output_agrees_with_the_table(dev: SynthesizedEnvironment, tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    assert cost_report("--assembly", str(dev.outdir), "--json", str(out)).returncode == 0
    data = json.loads(out.read_text(encoding="utf-8"))["environments"]["dev"]
    assert data["total"] == pytest.approx(sum(line["monthly"] for line in data["lines"]), abs=0.05)
    assert data["assumptions"] == dev.config.cost.estimate.model_dump()


def test_a_bigger_database_shows_as_the_difference_it_makes(dev: SynthesizedEnvironment, tmp_path: Path) -> None:
    """db.t4g.medium -> db.t4g.large on the primary: (0.204 - 0.102) x 730 h more a month."""
    changed = tmp_path / "changed"
    copy_with_change(dev, changed, "Data", "AWS::RDS::DBInstance", "PostgresPrimary", DBInstanceClass="db.t4g.large")
    result = cost_report("--assembly", str(changed), "--baseline", str(dev.outdir))
    assert result.returncode == 0, result.stderr
    prices = price_table()
    delta = (prices.rds.instances["db.t4g.large"].on_demand - prices.rds.instances["db.t4g.medium"].on_demand) * 730
    before = estimate_assembly(dev.outdir, prices)["dev"].total
    assert f"== dev: {before:,.2f} -> {before + delta:,.2f} USD a month, {delta:+,.2f}" in result.stdout
    assert f"{delta:+10,.2f}  changed  ticketing-dev-data data/Postgres/Primary" in result.stdout
    assert "db.t4g.medium instance" in result.stdout
    assert "->  db.t4g.large instance" in result.stdout


def test_no_change_says_so(dev: SynthesizedEnvironment) -> None:
    result = cost_report("--assembly", str(dev.outdir), "--baseline", str(dev.outdir))
    assert result.returncode == 0
    assert "+0.00" in result.stdout
    assert "no change" in result.stdout


def test_an_unpriced_class_fails_naming_the_resource(dev: SynthesizedEnvironment, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    copy_with_change(dev, changed, "Data", "AWS::ElastiCache::ReplicationGroup", "Cache", CacheNodeType="cache.x9.huge")
    result = cost_report("--assembly", str(changed))
    assert result.returncode == 1
    assert "ticketing-dev-data data/Cache (AWS::ElastiCache::ReplicationGroup): no price for cache.x9.huge" in (
        result.stderr
    )
    assert result.stdout == ""


@pytest.mark.parametrize("what", ["missing", "empty"])
def test_no_assembly_is_a_clear_error(tmp_path: Path, what: str) -> None:
    directory = tmp_path / "nothing"
    if what == "empty":
        directory.mkdir()
    result = cost_report("--assembly", str(directory))
    assert result.returncode == 2
    assert "is not a cloud assembly" in result.stderr
    assert "make synth" in result.stderr


def test_an_environment_the_assembly_lacks_is_named(dev: SynthesizedEnvironment) -> None:
    result = cost_report("--assembly", str(dev.outdir), "--env", "prod")
    assert result.returncode == 2
    assert "has no environment 'prod'; it has dev" in result.stderr


def test_make_cost_synthesises_and_prints_the_table(tmp_path: Path) -> None:
    """The manual's command, through make and the cdk CLI."""
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "--no-print-directory", "cost", "ENV=dev", f"OUT={tmp_path / 'out'}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "== dev: " in result.stdout
    assert "TOTAL" in result.stdout
    assert "== prod" not in result.stdout


def test_an_environment_the_baseline_lacks_shows_as_new(dev: SynthesizedEnvironment, platform: Any) -> None:
    prod = platform("prod")
    result = cost_report("--assembly", str(prod.outdir), "--baseline", str(dev.outdir), "--env", "prod")
    assert result.returncode == 0, result.stderr
    total = estimate_assembly(prod.outdir, price_table())["prod"].total
    assert f"== prod: 0.00 -> {total:,.2f} USD a month, +{total:,.2f} (new environment)" in result.stdout


def test_the_report_starts_without_aws_cdk_lib() -> None:
    """It reads JSON: importing it must not load aws-cdk-lib (and with it Node.js), which costs seconds."""
    probe = "import sys, tools.cost_report; print(sorted(m for m in sys.modules if m.startswith(('aws_cdk', 'jsii'))))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
