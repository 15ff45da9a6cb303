"""The commitment coverage report against botocore's Stubber (moto implements none of the reservation,
Savings Plans coverage or tagging calls it makes): the calls, their paging, the arithmetic."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.lambda_module import FakeLambdaContext, load_function

ACCOUNT = "333333333333"
REGION = "ap-northeast-2"
TODAY = dt.date(2026, 11, 29)


coverage = load_function("commitment_coverage")


def client(service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1" if service == "ce" else REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def arn(kind: str, name: str) -> str:
    return f"arn:aws:{kind}:{REGION}:{ACCOUNT}:{name}"


def tags(commitment: str, term: str) -> list[dict[str, str]]:
    return [
        {"Key": "Commitment", "Value": commitment},
        {"Key": "CommitmentTerm", "Value": term},
        {"Key": "Environment", "Value": "prod"},
    ]


PRIMARY, REPLICA = arn("rds", "db:ticketing-prod-postgres"), arn("rds", "db:ticketing-prod-postgres-replica1")
CACHE = arn("elasticache", "replicationgroup:ticketing-prod-cache")
SERVICE = arn("ecs", "service/ticketing-prod/bookings")
DEV_DB = arn("rds", "db:ticketing-dev-postgres")


@pytest.fixture
def stubs() -> dict[str, tuple[Any, Stubber]]:
    found = {}
    for service in ("resourcegroupstaggingapi", "rds", "elasticache", "ce"):
        c = client(service)
        found[service] = (c, Stubber(c))
    return found


def stub_everything(stubs: dict[str, tuple[Any, Stubber]], environment: str | None) -> None:
    tagging = stubs["resourcegroupstaggingapi"][1]
    filters: list[dict[str, Any]] = [{"Key": "Commitment"}]
    if environment:
        filters.append({"Key": "Environment", "Values": [environment]})
    request = {"TagFilters": filters, "ResourceTypeFilters": ["rds:db", "elasticache:replicationgroup", "ecs:service"]}
    tagging.add_response(
        "get_resources",
        {
            "PaginationToken": "page-2",
            "ResourceTagMappingList": [
                {"ResourceARN": PRIMARY, "Tags": tags("rds-reserved-instance", "1-year")},
                {"ResourceARN": REPLICA, "Tags": tags("rds-reserved-instance", "1-year")},
                {"ResourceARN": CACHE, "Tags": tags("elasticache-reserved-node", "1-year")},
            ],
        },
        request,
    )
    tagging.add_response(
        "get_resources",
        {
            "PaginationToken": "",
            "ResourceTagMappingList": [
                {"ResourceARN": SERVICE, "Tags": tags("compute-savings-plan", "1-year")},
                {"ResourceARN": DEV_DB, "Tags": tags("rds-reserved-instance", "none")},
            ],
        },
        {**request, "PaginationToken": "page-2"},
    )
    rds = stubs["rds"][1]
    rds.add_response(
        "describe_db_instances",
        {
            "Marker": "m2",
            "DBInstances": [
                {"DBInstanceArn": PRIMARY, "DBInstanceIdentifier": "ticketing-prod-postgres",
                 "DBInstanceClass": "db.r7g.xlarge", "MultiAZ": True},
            ],
        },
        {},
    )  # fmt: skip
    rds.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {"DBInstanceArn": REPLICA, "DBInstanceIdentifier": "ticketing-prod-postgres-replica1",
                 "DBInstanceClass": "db.r7g.xlarge", "MultiAZ": False},
                {"DBInstanceArn": arn("rds", "db:someone-else"), "DBInstanceIdentifier": "someone-else",
                 "DBInstanceClass": "db.m7g.large", "MultiAZ": False},
            ],
        },
        {"Marker": "m2"},
    )  # fmt: skip
    rds.add_response(
        "describe_reserved_db_instances",
        {
            "Marker": "r2",
            "ReservedDBInstances": [
                # 16 units: one r7g.2xlarge covers two single-AZ xlarge, or one Multi-AZ xlarge
                {"DBInstanceClass": "db.r7g.2xlarge", "DBInstanceCount": 1, "MultiAZ": False, "State": "active",
                 "ProductDescription": "postgresql"},
                {"DBInstanceClass": "db.r7g.xlarge", "DBInstanceCount": 4, "MultiAZ": False, "State": "retired",
                 "ProductDescription": "postgresql"},
            ],
        },
        {},
    )  # fmt: skip
    rds.add_response(
        "describe_reserved_db_instances",
        {
            "ReservedDBInstances": [
                {"DBInstanceClass": "db.r7g.xlarge", "DBInstanceCount": 2, "MultiAZ": False, "State": "active",
                 "ProductDescription": "mysql"},
            ],
        },
        {"Marker": "r2"},
    )  # fmt: skip
    cache = stubs["elasticache"][1]
    cache.add_response(
        "describe_replication_groups",
        {
            "ReplicationGroups": [
                {"ARN": CACHE, "ReplicationGroupId": "ticketing-prod-cache", "CacheNodeType": "cache.r7g.large",
                 "MemberClusters": [f"ticketing-prod-cache-00{n}" for n in (1, 2, 3)]},
            ]
        },
        {},
    )  # fmt: skip
    cache.add_response(
        "describe_reserved_cache_nodes",
        {"ReservedCacheNodes": [{"CacheNodeType": "cache.r7g.xlarge", "CacheNodeCount": 1, "State": "active"}]},
        {},
    )
    ce = stubs["ce"][1]
    period = {"Start": "2026-11-01", "End": "2026-11-29"}
    ce_filter = {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon Elastic Container Service"]}}
    ce.add_response(
        "get_savings_plans_coverage",
        {
            "SavingsPlansCoverages": [{"Coverage": {"SpendCoveredBySavingsPlans": "30", "OnDemandCost": "20"}}],
            "NextToken": "ce-2",
        },
        {"TimePeriod": period, "Granularity": "MONTHLY", "Filter": ce_filter},
    )
    ce.add_response(
        "get_savings_plans_coverage",
        {"SavingsPlansCoverages": [{"Coverage": {"SpendCoveredBySavingsPlans": "10", "OnDemandCost": "0"}}]},
        {"TimePeriod": period, "Granularity": "MONTHLY", "Filter": ce_filter, "NextToken": "ce-2"},
    )


def run(stubs: dict[str, tuple[Any, Stubber]], environment: str | None) -> Any:
    for _, stubber in stubs.values():
        stubber.activate()
    report = coverage.build_report(
        tagging=stubs["resourcegroupstaggingapi"][0],
        rds=stubs["rds"][0],
        elasticache=stubs["elasticache"][0],
        ce=stubs["ce"][0],
        environment=environment,
        today=TODAY,
    )
    for _, stubber in stubs.values():
        stubber.assert_no_pending_responses()
    return report


@pytest.mark.parametrize("environment", [None, "prod"])
def test_coverage_in_normalized_units_per_family_over_every_page(
    stubs: dict[str, tuple[Any, Stubber]], environment: str | None
) -> None:
    stub_everything(stubs, environment)
    report = run(stubs, environment)
    rows = {(f.service, f.family): f for f in report.families}
    assert sorted(rows) == [("elasticache", "cache.r7g"), ("rds", "db.r7g")]
    rds = rows[("rds", "db.r7g")]
    # Multi-AZ xlarge primary 2 x 8 + single-AZ xlarge replica 8 = 24 units; active PostgreSQL RIs: 16.
    assert (rds.needed_units, rds.reserved_units, rds.coverage_percent, rds.uncovered_units) == (24, 16, 66.7, 8)
    assert rds.resources == ["ticketing-prod-postgres", "ticketing-prod-postgres-replica1"]
    cache = rows[("elasticache", "cache.r7g")]
    # Three large nodes, 3 x 4 = 12 units; one active xlarge reservation, 8.
    assert (cache.needed_units, cache.reserved_units, cache.coverage_percent) == (12, 8, 66.7)
    # Savings Plans: 40 of 60 USD covered.
    assert (report.savings_plans_coverage_percent, report.on_demand_compute_cost) == (66.7, 20)
    assert report.on_demand_by_intent == [DEV_DB]
    table = coverage.render(report)
    assert "db.r7g" in table
    assert "66.7%" in table
    assert "ticketing-prod-postgres" in table


def test_nothing_tagged_for_a_commitment_asks_nothing_else(stubs: dict[str, tuple[Any, Stubber]]) -> None:
    stubs["resourcegroupstaggingapi"][1].add_response(
        "get_resources",
        {"ResourceTagMappingList": [{"ResourceARN": DEV_DB, "Tags": tags("rds-reserved-instance", "none")}]},
    )
    report = run(stubs, None)  # the other stubs have no responses: any call to them would fail
    assert report.families == []
    assert report.savings_plans_coverage_percent is None
    assert "(no resource is tagged for a reservation)" in coverage.render(report)


@pytest.mark.parametrize(
    ("instance_class", "units"),
    [
        ("db.t4g.micro", 0.5),
        ("db.t4g.medium", 2),
        ("db.r7g.large", 4),
        ("db.r7g.xlarge", 8),
        ("cache.r7g.12xlarge", 96),
    ],
)
def test_normalized_units(instance_class: str, units: float) -> None:
    assert coverage.normalized_units(instance_class) == units


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (["prod"], "the event must be a JSON object, got list"),
        ({"env": "prod"}, "unknown event keys ['env']; allowed: environment"),
        ({"environment": "Prod!"}, "environment: lower-case letters, digits and '-', got 'Prod!'"),
        ({"environment": 3}, "environment: lower-case letters, digits and '-', got 3"),
    ],
)
def test_a_malformed_event_is_refused_before_any_call(
    event: Any, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("no AWS client may be made for a malformed event")

    monkeypatch.setattr(boto3, "client", no_client)
    monkeypatch.setenv("TOPIC_ARN", f"arn:aws:sns:{REGION}:{ACCOUNT}:ticketing-prod-warning")
    with pytest.raises(coverage.CoverageError) as caught:
        coverage.handler(event, FakeLambdaContext())
    assert str(caught.value) == message


def test_the_handler_publishes_the_table_to_the_topic(
    stubs: dict[str, tuple[Any, Stubber]], monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_everything(stubs, "prod")
    sns = client("sns")
    sns_stub = Stubber(sns)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:ticketing-prod-warning"
    sns_stub.add_response(
        "publish",
        {"MessageId": "1"},
        {"TopicArn": topic, "Subject": "Commitment coverage: prod", "Message": coverage.render(run_copy(stubs))},
    )
    clients = {name: pair[0] for name, pair in stubs.items()} | {"sns": sns}
    monkeypatch.setattr(boto3, "client", lambda service, **_kwargs: clients[service])
    monkeypatch.setenv("TOPIC_ARN", topic)
    stub_everything(stubs, "prod")
    for _, stubber in [*stubs.values(), (sns, sns_stub)]:
        stubber.activate()
    monkeypatch.setattr(coverage.dt, "datetime", _FixedDatetime)
    result = coverage.handler({"environment": "prod"}, FakeLambdaContext())
    sns_stub.assert_no_pending_responses()
    assert result["families"][0]["coverage_percent"] == 66.7


def run_copy(stubs: dict[str, tuple[Any, Stubber]]) -> Any:
    """The report the stubs describe, computed once ahead to know the message the topic must get."""
    report = run(stubs, "prod")
    for _, stubber in stubs.values():
        stubber.deactivate()
    return report


class _FixedDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FixedDatetime:
        return cls(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=tz)
