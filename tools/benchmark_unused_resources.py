"""Benchmark of the unused-resource finder: a scan of 10,000 mocked resources (a script, not a test).

`python -m tools.benchmark_unused_resources [--resources N]` builds in-memory clients that answer
like AWS (pages of at most 1,000 items, or AWS's own page size per call) over N resources spread
over every kind, runs the finder's scan, and prints resources per second and API calls per
resource. No AWS call, no network.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from config.prices import price_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = 1000
#: Share of the resources per kind of listing.
MIX = {"volumes": 0.25, "addresses": 0.05, "snapshots": 0.25, "images": 0.05, "log_groups": 0.2,
       "db_snapshots": 0.05, "cache_snapshots": 0.05, "tagged": 0.1}  # fmt: skip


def load_finder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unused_resources_index", ROOT / "lambda/unused_resources/index.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["unused_resources_index"] = module
    spec.loader.exec_module(module)
    return module


class FakeClient:
    """Answers list operations from `data[operation]` in pages, counts every call."""

    def __init__(self, calls: Counter[str], data: dict[str, tuple[str, list[dict[str, Any]]]]) -> None:
        self.calls = calls
        self.data = data

    def get_paginator(self, operation: str) -> Any:
        client = self

        class Paginator:
            def paginate(self, **_kwargs: Any) -> Any:
                key, items = client.data.get(operation, ("Items", []))
                for start in range(0, max(len(items), 1), PAGE):
                    client.calls[operation] += 1
                    yield {key: items[start : start + PAGE]}

        return Paginator()

    def describe_addresses(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls["describe_addresses"] += 1
        return {"Addresses": self.data.get("describe_addresses", ("Addresses", []))[1]}

    def describe_log_streams(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls["describe_log_streams"] += 1
        return {"logStreams": []}


def fake_account(total: int, now: dt.datetime) -> tuple[Counter[str], dict[str, FakeClient]]:
    old = now - dt.timedelta(days=400)
    count = {kind: int(total * share) for kind, share in MIX.items()}
    count["volumes"] += total - sum(count.values())
    calls: Counter[str] = Counter()

    def client(**data: tuple[str, list[dict[str, Any]]]) -> FakeClient:
        return FakeClient(calls, data)

    ec2 = client(
        describe_volumes=("Volumes", [{"VolumeId": f"vol-{i}", "Size": 8, "VolumeType": "gp3", "CreateTime": old}
                                      for i in range(count["volumes"])]),
        describe_addresses=("Addresses", [{"AllocationId": f"eipalloc-{i}"} for i in range(count["addresses"])]),
        describe_snapshots=("Snapshots", [{"SnapshotId": f"snap-{i}", "VolumeSize": 8, "StartTime": old}
                                          for i in range(count["snapshots"])]),
        describe_images=("Images", [{"ImageId": f"ami-{i}", "CreationDate": old.isoformat(), "BlockDeviceMappings": []}
                                    for i in range(count["images"])]),
    )  # fmt: skip
    logs = client(
        describe_log_groups=("logGroups", [{"logGroupName": f"/g/{i}", "arn": f"arn:aws:logs:r:1:log-group:/g/{i}:*",
                                            "creationTime": int(old.timestamp() * 1000), "storedBytes": 1 << 20}
                                           for i in range(count["log_groups"])]),
    )  # fmt: skip
    rds = client(
        describe_db_instances=("DBInstances", []),
        describe_db_snapshots=("DBSnapshots", [{"DBSnapshotIdentifier": f"s-{i}", "DBInstanceIdentifier": f"gone-{i}",
                                                "AllocatedStorage": 20, "SnapshotCreateTime": old}
                                               for i in range(count["db_snapshots"])]),
    )  # fmt: skip
    cache = client(
        describe_replication_groups=("ReplicationGroups", []),
        describe_cache_clusters=("CacheClusters", []),
        describe_snapshots=("Snapshots", [{"SnapshotName": f"c-{i}", "ReplicationGroupId": f"gone-{i}",
                                           "NodeSnapshots": [{"CacheSize": "100 MB"}]}
                                          for i in range(count["cache_snapshots"])]),
    )  # fmt: skip
    tagging = client(
        get_resources=("ResourceTagMappingList", [
            {"ResourceARN": f"arn:aws:secretsmanager:r:1:secret:s-{i}",
             "Tags": [{"Key": "aws:cloudformation:stack-id", "Value": f"gone-{i}"}]}
            for i in range(count["tagged"])
        ]),
    )  # fmt: skip
    cloudformation = client(list_stacks=("StackSummaries", []))
    return calls, {"ec2": ec2, "logs": logs, "rds": rds, "elasticache": cache, "tagging": tagging,
                   "cloudformation": cloudformation}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000)
    args = parser.parse_args(argv)
    finder = load_finder()
    now = dt.datetime.now(dt.UTC)
    prices = price_table().units
    settings = finder.Settings.load(
        {"ENVIRONMENT": "bench", "PROTECTION_TAG": "Protected", "SNAPSHOT_AGE_DAYS": "30", "AMI_AGE_DAYS": "90",
         "LOG_IDLE_DAYS": "90", "UNIT_PRICES": json.dumps(prices), "REPORT_BUCKET": "b", "TOPIC_ARN": "t"},
        None,
    )  # fmt: skip
    calls, clients = fake_account(args.resources, now)
    scan = finder.Finder(finder.Clients(**clients, secrets=None), settings, now)
    start = time.perf_counter()
    findings = scan.scan()
    seconds = time.perf_counter() - start
    total_calls = sum(calls.values())
    print(f"resources scanned      {args.resources}")
    print(f"findings               {len(findings)}")
    print(f"seconds                {seconds:.3f}")
    print(f"resources per second   {args.resources / seconds:,.0f}")
    print(f"API calls              {total_calls}")
    print(f"API calls per resource {total_calls / args.resources:.3f}")
    for operation, number in sorted(calls.items()):
        print(f"  {operation:<28} {number}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
