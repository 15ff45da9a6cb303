"""Snapshots and maintenance windows (``maintenance``)."""

from __future__ import annotations

from tests.constructs.cache_fixture import (
    CacheApp,
)


def test_snapshots_and_maintenance_windows(cache: CacheApp) -> None:
    valkey = cache.group(cache.valkey)["Properties"]
    assert (valkey["SnapshotRetentionLimit"], valkey["SnapshotWindow"], valkey["PreferredMaintenanceWindow"]) == (
        15,
        "17:00-18:00",
        "sun:19:00-sun:20:00",
    )
    redis = cache.group(cache.redis)["Properties"]
    assert (redis["SnapshotRetentionLimit"], redis["SnapshotWindow"], redis["PreferredMaintenanceWindow"]) == (
        35,
        "23:30-00:30",
        "mon:01:00-mon:02:00",
    )
