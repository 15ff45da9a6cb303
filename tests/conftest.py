"""Shared fixtures: each environment is synthesised once per test session.

`platform("prod")` builds the prod App exactly as app.py does (same config file, same feature
flags from cdk.json, same compliance packs), synthesises it into a temporary directory and caches
it; every test that asks for prod afterwards reuses it. Synthesis fails, and so do the tests, on
any open compliance finding.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack, assertions
from hypothesis import HealthCheck, settings

from config import ENVIRONMENT_NAMES, EnvironmentConfig, load_environment
from stacks.compliance import synthesize
from stacks.platform_app import build_app, feature_flags, new_app
from stacks.platform_stage import PlatformStage

ASSET_HASH = re.compile(r"[0-9a-f]{64}")

# Hypothesis fails an example that runs over 200 ms (DeadlineExceeded, then Flaky) and a strategy whose
# data takes long to draw (HealthCheck.too_slow): on a busy machine both measure the machine, not the
# code. Every property test runs under this profile; a test's own @settings overrides only what it names.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


@dataclass
class SynthesizedEnvironment:
    """One environment's App after synthesis."""

    config: EnvironmentConfig
    stage: PlatformStage
    outdir: Path
    _templates: dict[str, assertions.Template] = field(default_factory=dict)

    @property
    def stacks(self) -> list[Stack]:
        return [child for child in self.stage.node.children if isinstance(child, Stack)]

    def stack(self, construct_id: str) -> Stack:
        found = self.stage.node.try_find_child(construct_id)
        if not isinstance(found, Stack):
            raise KeyError(f"stage {self.stage.node.id} has no stack {construct_id!r}")
        return found

    def template(self, construct_id: str) -> assertions.Template:
        if construct_id not in self._templates:
            self._templates[construct_id] = assertions.Template.from_stack(self.stack(construct_id))
        return self._templates[construct_id]

    def template_json(self, construct_id: str) -> dict[str, Any]:
        stack = self.stack(construct_id)
        assembly_dir = self.outdir / f"assembly-{self.stage.node.id}"
        data: dict[str, Any] = json.loads((assembly_dir / stack.template_file).read_text(encoding="utf-8"))
        return data

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.rglob("*.template.json"))


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SynthesizedEnvironment]:
    cache: dict[str, SynthesizedEnvironment] = {}

    def get(name: str) -> SynthesizedEnvironment:
        if name not in cache:
            config = load_environment(name)
            outdir = tmp_path_factory.mktemp(f"cdk-{name}")
            app = build_app([config], new_app(outdir=str(outdir), context=feature_flags()))
            synthesize(app)  # raises ComplianceError, naming each finding, on any open finding
            stage = next(c for c in app.node.children if isinstance(c, PlatformStage))
            cache[name] = SynthesizedEnvironment(config=config, stage=stage, outdir=outdir)
        return cache[name]

    return get


@pytest.fixture(params=ENVIRONMENT_NAMES)
def env(request: pytest.FixtureRequest, platform: Callable[[str], SynthesizedEnvironment]) -> SynthesizedEnvironment:
    """Parametrises a test over dev, staging and prod."""
    return platform(request.param)


def copy_assembly(source: Path, target: Path) -> Path:
    """A copy of a cloud assembly without its staged assets (`asset.*`), which no tool reading it opens.

    Each database function's asset holds 14 MB of packages: copying them made the copies most of a
    test's time.
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("asset.*"))
    return target


def normalise_asset_hashes(text: str) -> str:
    """Replace 64-hex asset hashes so unrelated asset changes do not churn snapshots."""
    return ASSET_HASH.sub("<asset-hash>", text)
