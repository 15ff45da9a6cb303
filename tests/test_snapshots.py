"""One snapshot per stack per environment. Update with `make snapshot-update` and review the diff.

Asset hashes (64 hex characters) are replaced before comparing, so a change to an unrelated
asset does not churn every snapshot. Fine-grained behaviour is asserted in the other tests;
a snapshot catches everything else that changes.
"""

from __future__ import annotations

import json

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import SynthesizedEnvironment, normalise_asset_hashes


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_stack_templates_match_snapshots(env: SynthesizedEnvironment, snapshot_json: SnapshotAssertion) -> None:
    for stack in env.stacks:
        template = json.loads(normalise_asset_hashes(json.dumps(env.template_json(stack.node.id))))
        assert template == snapshot_json(name=f"{env.config.name}-{stack.node.id}")


def test_normalisation_replaces_only_64_hex_hashes() -> None:
    digest = "0123456789abcdef" * 4
    assert normalise_asset_hashes(f"s3://bucket/{digest}.zip") == "s3://bucket/<asset-hash>.zip"
    assert normalise_asset_hashes("NetworkVpc7FB7348F") == "NetworkVpc7FB7348F"
