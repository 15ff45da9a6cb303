"""The unused-resource finder against moto (every kind, found and not found; protection; dry run;
deletion and its idempotence; a malformed event) and botocore's Stubber (paging: moto ignores
MaxResults for volumes and snapshots)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]
from moto import mock_aws

from tests.lambda_module import FakeLambdaContext, load_function

REGION = "ap-northeast-2"
ZONE = "ap-northeast-2a"
PRICES = {
    "ebs-gp3-gb-month": 0.0912,
    "ebs-snapshot-gb-month": 0.05,
    "public-ipv4-month": 3.65,
    "logs-gb-month": 0.0314,
    "rds-snapshot-gb-month": 0.095,
    "elasticache-snapshot-gb-month": 0.085,
    "secret-month": 0.40,
    "kms-key-month": 1.0,
}


finder = load_function("unused_resources")


def environ(**changes: str) -> dict[str, str]:
    values = {
        "ENVIRONMENT": "dev",
        "PROTECTION_TAG": "Protected",
        "SNAPSHOT_AGE_DAYS": "30",
        "AMI_AGE_DAYS": "90",
        "LOG_IDLE_DAYS": "20",
        "UNIT_PRICES": json.dumps(PRICES),
        "REPORT_BUCKET": "reports",
        "TOPIC_ARN": f"arn:aws:sns:{REGION}:123456789012:ticketing-dev-warning",
        "DELETE_KINDS": "",
    }
    values.update(changes)
    return values


#: The tests against moto start a whole fake AWS each (about 9 s together): the slow tier runs them; the
#: Stubber and settings tests below stay in the fast tier.
moto = pytest.mark.slow


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    with mock_aws():
        names = ("ec2", "logs", "rds", "elasticache", "resourcegroupstaggingapi", "cloudformation",
                 "secretsmanager", "kms", "s3", "sns")  # fmt: skip
        made = {name: boto3.client(name, region_name=REGION) for name in names}
        made["s3"].create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": REGION})
        made["sns"].create_topic(Name="ticketing-dev-warning")
        yield made


def clients(aws: dict[str, Any]) -> Any:
    return finder.Clients(
        ec2=aws["ec2"], logs=aws["logs"], rds=aws["rds"], elasticache=aws["elasticache"],
        tagging=aws["resourcegroupstaggingapi"], cloudformation=aws["cloudformation"],
        secrets=aws["secretsmanager"],
    )  # fmt: skip


def scan(aws: dict[str, Any], days_later: int = 100, event: Any = None, **changes: str) -> dict[str, Any]:
    settings = finder.Settings.load(environ(**changes), event)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_later)
    result: dict[str, Any] = finder.run(clients(aws), settings, now, s3=aws["s3"], sns=aws["sns"])
    return result


def found(report: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in report["findings"] if f["kind"] == kind}


def instance(aws: dict[str, Any]) -> str:
    image = aws["ec2"].register_image(
        Name="base", RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]  # fmt: skip
    reservation = aws["ec2"].run_instances(ImageId=image, MinCount=1, MaxCount=1, Placement={"AvailabilityZone": ZONE})
    return str(reservation["Instances"][0]["InstanceId"])


@moto
def test_volumes_and_addresses_in_use_or_not(aws: dict[str, Any]) -> None:
    ec2 = aws["ec2"]
    loose = ec2.create_volume(Size=10, AvailabilityZone=ZONE, VolumeType="gp3")["VolumeId"]
    used = ec2.create_volume(Size=20, AvailabilityZone=ZONE, VolumeType="gp3")["VolumeId"]
    server = instance(aws)
    ec2.attach_volume(VolumeId=used, InstanceId=server, Device="/dev/sdf")
    idle_ip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    busy_ip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=busy_ip, InstanceId=server)
    report = scan(aws)
    volumes = found(report, "ebs-volume")
    assert loose in volumes
    assert used not in volumes
    assert volumes[loose]["size_gib"] == 10
    assert volumes[loose]["monthly_usd"] == round(10 * 0.0912, 2)
    addresses = found(report, "elastic-ip")
    assert set(addresses) == {idle_ip}
    assert addresses[idle_ip]["monthly_usd"] == 3.65


@moto
def test_old_snapshots_backing_no_ami_and_old_amis(aws: dict[str, Any]) -> None:
    ec2 = aws["ec2"]
    volume = ec2.create_volume(Size=30, AvailabilityZone=ZONE)["VolumeId"]
    orphan = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    image = ec2.create_image(InstanceId=instance(aws), Name="kept")["ImageId"]
    backing = {
        m["Ebs"]["SnapshotId"]
        for i in ec2.describe_images(ImageIds=[image])["Images"]
        for m in i["BlockDeviceMappings"]
        if "SnapshotId" in m.get("Ebs", {})
    }
    report = scan(aws, days_later=100)
    snapshots = found(report, "ebs-snapshot")
    assert orphan in snapshots
    assert not backing & set(snapshots)  # a snapshot behind a registered AMI is never reported
    assert snapshots[orphan]["monthly_usd"] == round(30 * 0.05, 2)
    assert image in found(report, "ami")
    young = scan(aws, days_later=10)  # below both age thresholds: nothing
    assert not found(young, "ebs-snapshot")
    assert not found(young, "ami")


@moto
def test_log_groups_without_retention_or_events(aws: dict[str, Any]) -> None:
    logs = aws["logs"]
    logs.create_log_group(logGroupName="/forever")
    logs.create_log_group(logGroupName="/kept")
    logs.put_retention_policy(logGroupName="/kept", retentionInDays=30)
    logs.create_log_group(logGroupName="/busy")
    logs.put_retention_policy(logGroupName="/busy", retentionInDays=30)
    logs.create_log_stream(logGroupName="/busy", logStreamName="s")
    # CloudWatch Logs accepts events up to two hours ahead: one an hour ahead, judged a day later.
    recent = int((dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).timestamp() * 1000)
    logs.put_log_events(logGroupName="/busy", logStreamName="s", logEvents=[{"timestamp": recent, "message": "m"}])
    report = scan(aws, days_later=1, LOG_IDLE_DAYS="1")
    assert set(found(report, "log-group-no-retention")) == {"/forever"}
    # A day without an event in /forever and /kept; /busy had one 23 hours before.
    assert set(found(report, "log-group-idle")) == {"/forever", "/kept"}


@moto
def test_database_and_cache_snapshots_of_what_no_longer_exists(aws: dict[str, Any]) -> None:
    rds = aws["rds"]
    for name in ("gone", "alive"):
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t4g.micro",
                               AllocatedStorage=20, MasterUsername="admin", MasterUserPassword="password1234")  # fmt: skip
        rds.create_db_snapshot(DBInstanceIdentifier=name, DBSnapshotIdentifier=f"{name}-final")
    rds.delete_db_instance(DBInstanceIdentifier="gone", SkipFinalSnapshot=True)
    cache = aws["elasticache"]
    for name in ("oldcache", "livecache"):
        cache.create_cache_cluster(
            CacheClusterId=name, Engine="redis", CacheNodeType="cache.t4g.small", NumCacheNodes=1
        )
        cache.create_snapshot(CacheClusterId=name, SnapshotName=f"{name}-snap")
    cache.delete_cache_cluster(CacheClusterId="oldcache")
    report = scan(aws)
    rds_found = found(report, "rds-snapshot")
    assert set(rds_found) == {"gone-final"}
    assert rds_found["gone-final"]["monthly_usd"] == round(20 * 0.095, 2)
    assert set(found(report, "elasticache-snapshot")) == {"oldcache-snap"}


@moto
def test_what_a_deleted_stack_retained(aws: dict[str, Any]) -> None:
    cloudformation = aws["cloudformation"]
    template = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    live = cloudformation.create_stack(StackName="live", TemplateBody=template)["StackId"]
    gone = cloudformation.create_stack(StackName="gone", TemplateBody=template)["StackId"]
    cloudformation.delete_stack(StackName="gone")

    def stack_tags(stack_id: str, name: str) -> list[dict[str, str]]:
        return [{"Key": "aws:cloudformation:stack-id", "Value": stack_id},
                {"Key": "aws:cloudformation:stack-name", "Value": name}]  # fmt: skip

    left = aws["secretsmanager"].create_secret(Name="left", SecretString="x", Tags=stack_tags(gone, "gone"))["ARN"]
    aws["secretsmanager"].create_secret(Name="kept", SecretString="x", Tags=stack_tags(live, "live"))
    aws["logs"].create_log_group(logGroupName="/left", tags={t["Key"]: t["Value"] for t in stack_tags(gone, "gone")})
    aws["logs"].put_retention_policy(logGroupName="/left", retentionInDays=30)
    aws["logs"].create_log_group(logGroupName="/quiet", tags={t["Key"]: t["Value"] for t in stack_tags(live, "live")})
    aws["logs"].put_retention_policy(logGroupName="/quiet", retentionInDays=30)
    report = scan(aws)
    assert set(found(report, "orphaned-secret")) == {left}
    (orphaned_group,) = found(report, "orphaned-log-group")
    assert orphaned_group.endswith(":log-group:/left")
    # A live stack's group is quiet by design (an upgrade log, a failure log): never idle, never orphaned.
    assert "/quiet" not in found(report, "log-group-idle")
    assert "/left" in found(report, "log-group-idle")
    assert found(report, "orphaned-secret")[left]["monthly_usd"] == 0.40


@moto
def test_dry_run_deletes_nothing_and_reports_to_s3_and_the_topic(aws: dict[str, Any]) -> None:
    volume = aws["ec2"].create_volume(Size=10, AvailabilityZone=ZONE, VolumeType="gp3")["VolumeId"]
    report = scan(aws, DELETE_KINDS="ebs-volume")  # enabled, but DRY_RUN defaults to true
    assert found(report, "ebs-volume")[volume]["action"] == "reported"
    assert aws["ec2"].describe_volumes(VolumeIds=[volume])["Volumes"]
    (stored,) = aws["s3"].list_objects_v2(Bucket="reports", Prefix="unused-resources/dev/")["Contents"]
    body = json.loads(aws["s3"].get_object(Bucket="reports", Key=stored["Key"])["Body"].read())
    assert body["dry_run"] is True
    assert volume in {f["id"] for f in body["findings"]}


@moto
def test_deletion_needs_the_kind_enabled_and_no_protection_tag_and_runs_twice_safely(aws: dict[str, Any]) -> None:
    ec2 = aws["ec2"]
    plain = ec2.create_volume(Size=10, AvailabilityZone=ZONE, VolumeType="gp3")["VolumeId"]
    kept = ec2.create_volume(Size=10, AvailabilityZone=ZONE, VolumeType="gp3",
                             TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Protected", "Value": "yes"}]}])["VolumeId"]  # fmt: skip
    address = ec2.allocate_address(Domain="vpc")["AllocationId"]
    report = scan(aws, event={"dry_run": False}, DELETE_KINDS="ebs-volume")
    volumes = found(report, "ebs-volume")
    assert volumes[plain]["action"] == "deleted"
    assert volumes[kept]["action"] == "reported"
    assert volumes[kept]["protected"] is True
    assert found(report, "elastic-ip")[address]["action"] == "reported"  # its kind is not enabled
    remaining = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    assert plain not in remaining
    assert kept in remaining
    again = scan(aws, event={"dry_run": False}, DELETE_KINDS="ebs-volume")
    assert plain not in found(again, "ebs-volume")


@moto
def test_a_deletion_of_something_already_gone_counts_as_done(aws: dict[str, Any]) -> None:
    settings = finder.Settings.load(environ(DELETE_KINDS="ebs-volume", DRY_RUN="false"), None)
    run = finder.Finder(clients(aws), settings, dt.datetime.now(dt.UTC))
    run.findings.append(finder.Finding("ebs-volume", "vol-0123456789abcdef0", "test", None, 1, 1, False))
    run.delete()
    assert run.findings[0].action == "already-gone"


@pytest.mark.parametrize(
    ("event", "changes", "message"),
    [
        (["x"], {}, "the event must be a JSON object, got list"),
        ({"dryrun": False}, {}, "unknown event keys ['dryrun']; allowed: dry_run"),
        ({"dry_run": "no"}, {}, "dry_run: true or false, got 'no'"),
        (
            None,
            {"DELETE_KINDS": "log-group-no-retention"},
            "DELETE_KINDS: ['log-group-no-retention'] cannot be deleted",
        ),
        (None, {"SNAPSHOT_AGE_DAYS": "0"}, "SNAPSHOT_AGE_DAYS: whole days, 1 to 3650, got '0'"),
        (None, {"UNIT_PRICES": "{"}, "UNIT_PRICES: not JSON"),
        (None, {"REPORT_BUCKET": ""}, "REPORT_BUCKET is not set"),
    ],
)
def test_a_malformed_event_or_setting_fails_before_anything_is_called(
    event: Any, changes: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("no AWS client may be made")

    monkeypatch.setattr(boto3, "client", no_client)
    for key, value in environ(**changes).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(finder.FinderError) as caught:
        finder.handler(event, FakeLambdaContext())
    assert message in str(caught.value)


def test_every_page_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two pages of volumes and of snapshots, as real EC2 pages them (moto would answer in one)."""
    ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    stub = Stubber(ec2)
    available = [{"Name": "status", "Values": ["available"]}]
    stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-1", "Size": 1, "VolumeType": "gp3"}],
                                           "NextToken": "t2"}, {"Filters": available})  # fmt: skip
    stub.add_response("describe_volumes", {"Volumes": [{"VolumeId": "vol-2", "Size": 2, "VolumeType": "gp3"}]},
                      {"Filters": available, "NextToken": "t2"})  # fmt: skip
    stub.add_response("describe_images", {"Images": []}, {"Owners": ["self"], "IncludeDisabled": True})
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    stub.add_response("describe_snapshots", {"Snapshots": [{"SnapshotId": "snap-1", "VolumeSize": 1, "StartTime": old}],
                                             "NextToken": "s2"}, {"OwnerIds": ["self"]})  # fmt: skip
    stub.add_response("describe_snapshots", {"Snapshots": [{"SnapshotId": "snap-2", "VolumeSize": 2, "StartTime": old}]},
                      {"OwnerIds": ["self"], "NextToken": "s2"})  # fmt: skip
    stub.activate()
    settings = finder.Settings.load(environ(), None)
    run = finder.Finder(finder.Clients(ec2, None, None, None, None, None, None), settings, dt.datetime.now(dt.UTC))
    run.volumes()
    run.snapshots_and_images()
    stub.assert_no_pending_responses()
    assert [f.id for f in run.findings] == ["vol-1", "vol-2", "snap-1", "snap-2"]


@moto
def test_a_unit_without_a_price_is_a_problem_not_a_zero(aws: dict[str, Any]) -> None:
    volume = aws["ec2"].create_volume(Size=5, AvailabilityZone=ZONE, VolumeType="io2", Iops=100)["VolumeId"]
    finding = found(scan(aws), "ebs-volume")[volume]
    assert finding["monthly_usd"] is None
    assert finding["problems"] == ["no price for ebs-io2-gb-month in the price table"]


def test_an_old_ami_launched_recently_is_in_use() -> None:
    ec2 = boto3.client("ec2", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    stub = Stubber(ec2)
    now = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    images = [
        {"ImageId": "ami-used", "CreationDate": "2025-01-01T00:00:00.000Z", "LastLaunchedTime": "2026-11-20T00:00:00Z"},
        {"ImageId": "ami-idle", "CreationDate": "2025-01-01T00:00:00.000Z", "LastLaunchedTime": "2025-02-01T00:00:00Z"},
        {"ImageId": "ami-never", "CreationDate": "2025-01-01T00:00:00.000Z"},
    ]
    stub.add_response("describe_images", {"Images": images}, {"Owners": ["self"], "IncludeDisabled": True})
    stub.add_response("describe_snapshots", {"Snapshots": []}, {"OwnerIds": ["self"]})
    stub.activate()
    run = finder.Finder(
        finder.Clients(ec2, None, None, None, None, None, None), finder.Settings.load(environ(), None), now
    )
    run.snapshots_and_images()
    assert [f.id for f in run.findings] == ["ami-idle", "ami-never"]
