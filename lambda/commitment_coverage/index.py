"""Commitment coverage: the resources tagged for a commitment against the commitments that are active.

The infrastructure tags its steady-state resources with the commitment meant to cover them
(`platform_constructs.commitment_tags`: `Commitment`, `CommitmentTerm`, `CommitmentSize`). This
report lists, per instance family, how much of what is tagged the account's active RDS reserved
instances and ElastiCache reserved nodes cover, in AWS's normalized units (both are size-flexible
within a family: one `large` covers two `medium`; Multi-AZ counts twice), which resources stay
uncovered, and the Compute Savings Plans coverage of the month so far from Cost Explorer (Fargate
has no reservations).

Runs as a scheduled Lambda function (`handler`: the summary goes to `TOPIC_ARN`, the report is
returned) and as a command with the caller's credentials:
`python lambda/commitment_coverage/index.py [--environment prod] [--json]`.

Every list call is paginated; no call is made per resource. Read-only: it changes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

#: AWS's normalized units per size (RDS and ElastiCache size flexibility); `<n>xlarge` is 8n.
SIZE_UNITS = {"micro": 0.5, "small": 1.0, "medium": 2.0, "large": 4.0, "xlarge": 8.0}
_SIZE = re.compile(r"^(?P<n>[0-9]*)xlarge$")
logger = Logger(service="commitment-coverage")
tracer = Tracer(service="commitment-coverage")

COMMITMENT_KEY = "Commitment"
TERM_KEY = "CommitmentTerm"
ENVIRONMENT_KEY = "Environment"
RESOURCE_TYPES = ("rds:db", "elasticache:replicationgroup", "ecs:service")


class CoverageError(ValueError):
    """A malformed event or an answer this report cannot read."""


def normalized_units(instance_class: str) -> float:
    """`db.r7g.2xlarge` -> 16.0; `cache.t4g.medium` -> 2.0."""
    size = instance_class.rsplit(".", 1)[-1]
    if size in SIZE_UNITS:
        return SIZE_UNITS[size]
    match = _SIZE.fullmatch(size)
    if match is None:
        raise CoverageError(f"{instance_class}: unknown instance size {size!r}")
    return 8.0 * int(match["n"] or 1)


def family(instance_class: str) -> str:
    """`db.r7g.2xlarge` -> `db.r7g`."""
    return instance_class.rsplit(".", 1)[0]


@dataclass
class FamilyCoverage:
    service: str  # rds | elasticache
    family: str
    needed_units: float = 0.0
    reserved_units: float = 0.0
    resources: list[str] = field(default_factory=list)

    @property
    def coverage_percent(self) -> float:
        if self.needed_units == 0:
            return 100.0
        return round(100.0 * min(self.reserved_units, self.needed_units) / self.needed_units, 1)

    @property
    def uncovered_units(self) -> float:
        return max(self.needed_units - self.reserved_units, 0.0)


@dataclass
class Report:
    environment: str | None
    families: list[FamilyCoverage]
    on_demand_by_intent: list[str]
    savings_plans_coverage_percent: float | None
    on_demand_compute_cost: float | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, family_coverage in zip(data["families"], self.families, strict=True):
            item["coverage_percent"] = family_coverage.coverage_percent
            item["uncovered_units"] = family_coverage.uncovered_units
        return data


def parse_event(event: Any) -> str | None:
    """The environment to report on (None: every environment); refuses anything else."""
    if event is None:
        return None
    if not isinstance(event, dict):
        raise CoverageError(f"the event must be a JSON object, got {type(event).__name__}")
    unknown = sorted(set(event) - {"environment"})
    if unknown:
        raise CoverageError(f"unknown event keys {unknown}; allowed: environment")
    environment = event.get("environment")
    if environment is not None and (
        not isinstance(environment, str) or not re.fullmatch(r"[a-z0-9-]{1,32}", environment)
    ):
        raise CoverageError(f"environment: lower-case letters, digits and '-', got {environment!r}")
    return environment


def _pages(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(result_key, []))
    return items


def tagged_resources(tagging: Any, environment: str | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"Key": COMMITMENT_KEY}]
    if environment is not None:
        filters.append({"Key": ENVIRONMENT_KEY, "Values": [environment]})
    return _pages(
        tagging, "get_resources", "ResourceTagMappingList", TagFilters=filters, ResourceTypeFilters=list(RESOURCE_TYPES)
    )


def build_report(
    *, tagging: Any, rds: Any, elasticache: Any, ce: Any, environment: str | None, today: dt.date
) -> Report:
    committed: dict[str, dict[str, str]] = {}
    on_demand: list[str] = []
    for resource in tagged_resources(tagging, environment):
        tags = {t["Key"]: t["Value"] for t in resource.get("Tags", [])}
        if tags.get(TERM_KEY, "none") == "none":
            on_demand.append(resource["ResourceARN"])
        else:
            committed[resource["ResourceARN"]] = tags

    families: dict[tuple[str, str], FamilyCoverage] = {}

    def entry(service: str, instance_class: str) -> FamilyCoverage:
        key = (service, family(instance_class))
        if key not in families:
            families[key] = FamilyCoverage(service=service, family=key[1])
        return families[key]

    rds_arns = {arn for arn, tags in committed.items() if tags.get(COMMITMENT_KEY) == "rds-reserved-instance"}
    if rds_arns:
        for instance in _pages(rds, "describe_db_instances", "DBInstances"):
            if instance["DBInstanceArn"] in rds_arns:
                units = normalized_units(instance["DBInstanceClass"]) * (2 if instance.get("MultiAZ") else 1)
                coverage = entry("rds", instance["DBInstanceClass"])
                coverage.needed_units += units
                coverage.resources.append(instance["DBInstanceIdentifier"])
        for reservation in _pages(rds, "describe_reserved_db_instances", "ReservedDBInstances"):
            if reservation.get("State") != "active" or "postgres" not in reservation.get("ProductDescription", ""):
                continue
            if ("rds", family(reservation["DBInstanceClass"])) not in families:
                continue  # a family nothing here is tagged for (its size may be one we do not know, e.g. metal)
            units = normalized_units(reservation["DBInstanceClass"]) * (2 if reservation.get("MultiAZ") else 1)
            entry("rds", reservation["DBInstanceClass"]).reserved_units += units * reservation["DBInstanceCount"]

    cache_arns = {arn for arn, tags in committed.items() if tags.get(COMMITMENT_KEY) == "elasticache-reserved-node"}
    if cache_arns:
        for group in _pages(elasticache, "describe_replication_groups", "ReplicationGroups"):
            if group.get("ARN") in cache_arns:
                nodes = len(group.get("MemberClusters", []))
                coverage = entry("elasticache", group["CacheNodeType"])
                coverage.needed_units += normalized_units(group["CacheNodeType"]) * nodes
                coverage.resources.append(group["ReplicationGroupId"])
        for reservation in _pages(elasticache, "describe_reserved_cache_nodes", "ReservedCacheNodes"):
            if reservation.get("State") != "active" or reservation.get("ProductDescription") == "memcached":
                continue
            if ("elasticache", family(reservation["CacheNodeType"])) not in families:
                continue
            units = normalized_units(reservation["CacheNodeType"]) * reservation["CacheNodeCount"]
            entry("elasticache", reservation["CacheNodeType"]).reserved_units += units

    savings, on_demand_cost = (
        _savings_plans_coverage(ce, today)
        if any(tags.get(COMMITMENT_KEY) == "compute-savings-plan" for tags in committed.values())
        else (None, None)
    )
    ordered = sorted(families.values(), key=lambda f: (f.service, f.family))
    # Reservations of families nothing is tagged for are not this platform's: leave them out.
    return Report(
        environment=environment,
        families=[f for f in ordered if f.needed_units > 0],
        on_demand_by_intent=sorted(on_demand),
        savings_plans_coverage_percent=savings,
        on_demand_compute_cost=on_demand_cost,
    )


def _savings_plans_coverage(ce: Any, today: dt.date) -> tuple[float | None, float | None]:
    """Compute Savings Plans coverage of ECS (Fargate) spend from the 1st of the month to today."""
    start = today.replace(day=1)
    end = today if today > start else start + dt.timedelta(days=1)
    covered = on_demand = 0.0
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "MONTHLY",
            "Filter": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Elastic Container Service"]}},
        }
        if token:
            kwargs["NextToken"] = token
        answer = ce.get_savings_plans_coverage(**kwargs)
        for item in answer.get("SavingsPlansCoverages", []):
            coverage = item.get("Coverage", {})
            covered += float(coverage.get("SpendCoveredBySavingsPlans", 0) or 0)
            on_demand += float(coverage.get("OnDemandCost", 0) or 0)
        token = answer.get("NextToken")
        if not token:
            break
    total = covered + on_demand
    return (round(100.0 * covered / total, 1) if total else None), round(on_demand, 2)


def render(report: Report) -> str:
    """The report as a table for people (the CLI's output and the topic's message)."""
    lines = [f"Commitment coverage ({report.environment or 'all environments'})", ""]
    lines.append(f"{'service':<12} {'family':<12} {'needed':>8} {'reserved':>9} {'covered':>8}  uncovered resources")
    for f in report.families:
        uncovered = ", ".join(f.resources) if f.uncovered_units else ""
        lines.append(
            f"{f.service:<12} {f.family:<12} {f.needed_units:>8g} {f.reserved_units:>9g} "
            f"{f.coverage_percent:>7g}%  {uncovered}"
        )
    if not report.families:
        lines.append("(no resource is tagged for a reservation)")
    if report.savings_plans_coverage_percent is not None:
        lines.append(
            f"\nFargate (Compute Savings Plans), month to date: {report.savings_plans_coverage_percent:g}% covered, "
            f"{report.on_demand_compute_cost:g} USD on demand"
        )
    if report.on_demand_by_intent:
        lines.append(f"\nOn demand by intent (CommitmentTerm = none): {len(report.on_demand_by_intent)} resources")
    return "\n".join(lines)


def report_from_aws(environment: str | None) -> Report:
    """The report from the account the default credentials reach (Cost Explorer answers in us-east-1)."""
    import boto3  # type: ignore[import-untyped]  # the runtime's; imported here, the functions above need none

    return build_report(
        tagging=boto3.client("resourcegroupstaggingapi"),
        rds=boto3.client("rds"),
        elasticache=boto3.client("elasticache"),
        ce=boto3.client("ce", region_name="us-east-1"),
        environment=environment,
        today=dt.datetime.now(dt.UTC).date(),
    )


def publish(report: Report, environment: str | None, topic: str, sns: Any) -> dict[str, Any]:
    """The report's table to the topic; returns the report."""
    sns.publish(TopicArn=topic, Subject=f"Commitment coverage: {environment or 'all'}"[:100], Message=render(report))
    return report.as_dict()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    """Scheduled run: the report, and its table on the topic named by TOPIC_ARN."""
    environment = parse_event(event)  # before any client exists
    topic = os.environ.get("TOPIC_ARN")
    if not topic:
        raise CoverageError("TOPIC_ARN is not set")
    import boto3

    report = report_from_aws(environment)
    logger.info("coverage", extra={"environment": environment, "families": len(report.families)})
    return publish(report, environment, topic, boto3.client("sns"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Coverage of the tagged steady-state resources by commitments")
    parser.add_argument("--environment", help="only resources tagged Environment=<this>")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = report_from_aws(parse_event({"environment": args.environment} if args.environment else None))
    print(json.dumps(report.as_dict(), indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
