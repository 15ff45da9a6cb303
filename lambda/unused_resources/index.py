"""Unused-resource finder: what the account pays for and nothing uses, with its age, size and monthly cost.

Kinds (`KINDS`): unattached EBS volumes, unassociated Elastic IPs, EBS snapshots older than N days
that back no registered AMI, AMIs older than N days, log groups without events for N days and log
groups without retention, and what this platform leaves behind: RDS snapshots (manual and final)
and ElastiCache snapshots whose instance or group no longer exists, and secrets and log groups whose
CloudFormation stack is gone. KMS keys are not among them: CloudFormation does not tag keys with
their stack, so a key's stack cannot be told from the key. Resources a stack retains on purpose
(its data and what goes with it) carry the protection tag from the stack itself and are reported,
never deleted.

- Dry run unless the event or the `DRY_RUN` setting says otherwise. A resource is deleted only when
  its kind is in `DELETE_KINDS` (the stack grants deletion rights for exactly those kinds) and it
  does not carry the protection tag (`PROTECTION_TAG`). Deleting is idempotent: a resource already
  gone counts as deleted. Secrets are scheduled for deletion (30-day recovery window).
- Every list call is paginated; the one per-resource call is the last event of a log group (no list
  call answers it), made only for groups older than the idle threshold.
- The report (JSON) goes to `s3://REPORT_BUCKET/unused-resources/<environment>/<time>.json`, a
  summary to `TOPIC_ARN`. Monthly costs come from `UNIT_PRICES` (JSON, from the committed price
  table, `config/prices.toml`); a resource whose unit has no price is reported with a problem, never
  priced at zero.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger(service="unused-resources")
tracer = Tracer(service="unused-resources")

KINDS = (
    "ebs-volume",
    "elastic-ip",
    "ebs-snapshot",
    "ami",
    "log-group-idle",
    "log-group-no-retention",
    "rds-snapshot",
    "elasticache-snapshot",
    "orphaned-secret",
    "orphaned-log-group",
)
#: Kinds that may be deleted (a log group without retention needs a retention, not a deletion).
DELETABLE = tuple(kind for kind in KINDS if kind != "log-group-no-retention")
GIB = 1024**3
STACK_ID_TAG = "aws:cloudformation:stack-id"
#: Resource types CloudFormation tags with their stack (aws:cloudformation:stack-id), and their kind once orphaned.
_STACK_TAGGED_TYPES = {"secretsmanager:secret": "orphaned-secret", "logs:log-group": "orphaned-log-group"}
_SIZE = re.compile(r"^\s*([0-9.]+)\s*(MB|GB|KB)\s*$", re.IGNORECASE)
_LIVE_STACK_STATUSES = (
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
)  # fmt: skip


class FinderError(ValueError):
    """A malformed event or setting: nothing has been looked at or changed."""


@dataclass(frozen=True)
class Settings:
    environment: str
    dry_run: bool
    delete_kinds: frozenset[str]
    protection_tag: str
    snapshot_age_days: int
    ami_age_days: int
    log_idle_days: int
    prices: dict[str, float]
    bucket: str
    topic: str

    @classmethod
    def load(cls, environ: dict[str, str], event: Any) -> Settings:
        """Settings from the function's environment, with the event's `dry_run`; refuses anything malformed."""
        if event is None:
            event = {}
        if not isinstance(event, dict):
            raise FinderError(f"the event must be a JSON object, got {type(event).__name__}")
        unknown = sorted(set(event) - {"dry_run"})
        if unknown:
            raise FinderError(f"unknown event keys {unknown}; allowed: dry_run")

        def required(name: str) -> str:
            value = environ.get(name, "")
            if not value:
                raise FinderError(f"{name} is not set")
            return value

        def flag(name: str, value: Any) -> bool:
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return bool(value == "true")
            raise FinderError(f"{name}: true or false, got {value!r}")

        def days(name: str) -> int:
            value = environ.get(name, "")
            if not value.isdigit() or not 1 <= int(value) <= 3650:
                raise FinderError(f"{name}: whole days, 1 to 3650, got {value!r}")
            return int(value)

        dry_run = (
            flag("dry_run", event["dry_run"]) if "dry_run" in event else flag("DRY_RUN", environ.get("DRY_RUN", "true"))
        )
        kinds = frozenset(k for k in environ.get("DELETE_KINDS", "").split(",") if k)
        wrong = sorted(kinds - set(DELETABLE))
        if wrong:
            raise FinderError(f"DELETE_KINDS: {wrong} cannot be deleted; deletable kinds: {', '.join(DELETABLE)}")
        try:
            prices = json.loads(required("UNIT_PRICES"))
        except json.JSONDecodeError as error:
            raise FinderError(f"UNIT_PRICES: not JSON ({error})") from error
        if not isinstance(prices, dict) or not all(isinstance(v, int | float) for v in prices.values()):
            raise FinderError("UNIT_PRICES: a JSON object of unit -> USD")
        return cls(
            environment=required("ENVIRONMENT"),
            dry_run=dry_run,
            delete_kinds=kinds,
            protection_tag=required("PROTECTION_TAG"),
            snapshot_age_days=days("SNAPSHOT_AGE_DAYS"),
            ami_age_days=days("AMI_AGE_DAYS"),
            log_idle_days=days("LOG_IDLE_DAYS"),
            prices={str(k): float(v) for k, v in prices.items()},
            bucket=required("REPORT_BUCKET"),
            topic=required("TOPIC_ARN"),
        )


@dataclass
class Finding:
    kind: str
    id: str
    reason: str
    age_days: float | None
    size_gib: float | None
    monthly_usd: float | None
    protected: bool
    action: str = "reported"  # reported | deleted | already-gone | delete-failed: <error>
    problems: list[str] = field(default_factory=list)


@dataclass
class Clients:
    ec2: Any
    logs: Any
    rds: Any
    elasticache: Any
    tagging: Any
    cloudformation: Any
    secrets: Any


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _tags(items: Iterable[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def _age(now: dt.datetime, moment: Any) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if isinstance(moment, int | float):  # CloudWatch Logs: milliseconds since the epoch
        moment = dt.datetime.fromtimestamp(moment / 1000, dt.UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return float((now - moment).total_seconds() / 86400)


class Finder:
    def __init__(self, clients: Clients, settings: Settings, now: dt.datetime) -> None:
        self.clients = clients
        self.settings = settings
        self.now = now
        self.findings: list[Finding] = []
        self._protected_arns: set[str] | None = None
        self._live_stacks: set[str] | None = None
        self._stack_of: dict[str, str] | None = None

    # --- pricing ----------------------------------------------------------------------------------
    def _finding(
        self, kind: str, resource_id: str, reason: str, *, age: float | None, size_gib: float | None, unit: str,
        quantity: float | None, protected: bool,
    ) -> Finding:  # fmt: skip
        finding = Finding(kind, resource_id, reason, None if age is None else round(age, 1), size_gib, None, protected)
        price = self.settings.prices.get(unit)
        if price is None:
            finding.problems.append(f"no price for {unit} in the price table")
        elif quantity is None:
            finding.problems.append(f"size unknown: not priced ({unit})")
        else:
            finding.monthly_usd = round(price * quantity, 2)
        self.findings.append(finding)
        return finding

    def protected_arns(self) -> set[str]:
        """ARNs carrying the protection tag, from one paginated list call over every type."""
        if self._protected_arns is None:
            self._protected_arns = {
                r["ResourceARN"]
                for r in _pages(
                    self.clients.tagging, "get_resources", "ResourceTagMappingList",
                    TagFilters=[{"Key": self.settings.protection_tag}],
                )
            }  # fmt: skip
        return self._protected_arns

    def live_stacks(self) -> set[str]:
        if self._live_stacks is None:
            self._live_stacks = {
                s["StackId"]
                for s in _pages(
                    self.clients.cloudformation, "list_stacks", "StackSummaries",
                    StackStatusFilter=list(_LIVE_STACK_STATUSES),
                )
            }  # fmt: skip
        return self._live_stacks

    def stack_of(self) -> dict[str, str]:
        """ARN -> the id of the CloudFormation stack that created it (secrets and log groups), one list call."""
        if self._stack_of is None:
            self._stack_of = {}
            for resource in _pages(
                self.clients.tagging, "get_resources", "ResourceTagMappingList",
                TagFilters=[{"Key": STACK_ID_TAG}],
                ResourceTypeFilters=sorted({kind.split(":")[0] for kind in _STACK_TAGGED_TYPES}),
            ):  # fmt: skip
                arn = resource["ResourceARN"]
                if _arn_type(arn) in _STACK_TAGGED_TYPES:  # secrets and log groups, not the services' other kinds
                    self._stack_of[arn] = _tags(resource.get("Tags")).get(STACK_ID_TAG, "")
        return self._stack_of

    # --- scans --------------------------------------------------------------------------------------
    def scan(self) -> list[Finding]:
        self.volumes()
        self.addresses()
        self.snapshots_and_images()
        self.log_groups()
        self.rds_snapshots()
        self.elasticache_snapshots()
        self.orphans()
        return self.findings

    def volumes(self) -> None:
        ec2 = self.clients.ec2
        for volume in _pages(ec2, "describe_volumes", "Volumes", Filters=[{"Name": "status", "Values": ["available"]}]):
            size = float(volume.get("Size", 0))
            self._finding(
                "ebs-volume", volume["VolumeId"], "attached to nothing", age=_age(self.now, volume.get("CreateTime")),
                size_gib=size, unit=f"ebs-{volume.get('VolumeType', 'unknown')}-gb-month", quantity=size,
                protected=self.settings.protection_tag in _tags(volume.get("Tags")),
            )  # fmt: skip

    def addresses(self) -> None:
        for address in self.clients.ec2.describe_addresses().get("Addresses", []):
            if address.get("AssociationId"):
                continue
            self._finding(
                "elastic-ip", address.get("AllocationId") or address["PublicIp"], "associated with nothing",
                age=None, size_gib=None, unit="public-ipv4-month", quantity=1.0,
                protected=self.settings.protection_tag in _tags(address.get("Tags")),
            )  # fmt: skip

    def snapshots_and_images(self) -> None:
        ec2 = self.clients.ec2
        images = list(_pages(ec2, "describe_images", "Images", Owners=["self"], IncludeDisabled=True))
        backing: dict[str, str] = {}
        for image in images:
            for mapping in image.get("BlockDeviceMappings", []):
                snapshot_id = mapping.get("Ebs", {}).get("SnapshotId")
                if snapshot_id:
                    backing[snapshot_id] = image["ImageId"]
        sizes: dict[str, float] = {}
        for snapshot in _pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"]):
            sizes[snapshot["SnapshotId"]] = float(snapshot.get("VolumeSize", 0))
            age = _age(self.now, snapshot.get("StartTime"))
            if snapshot["SnapshotId"] in backing or age is None or age < self.settings.snapshot_age_days:
                continue
            self._finding(
                "ebs-snapshot", snapshot["SnapshotId"],
                f"older than {self.settings.snapshot_age_days} days and backs no registered AMI", age=age,
                size_gib=sizes[snapshot["SnapshotId"]], unit="ebs-snapshot-gb-month",
                quantity=sizes[snapshot["SnapshotId"]],
                protected=self.settings.protection_tag in _tags(snapshot.get("Tags")),
            )  # fmt: skip
        for image in images:
            age = _age(self.now, image.get("CreationDate"))
            launched = _age(self.now, image.get("LastLaunchedTime"))  # None: never launched (or not tracked)
            threshold = self.settings.ami_age_days
            if age is None or age < threshold or (launched is not None and launched < threshold):
                continue
            size = sum(
                sizes.get(m.get("Ebs", {}).get("SnapshotId", ""), float(m.get("Ebs", {}).get("VolumeSize", 0)))
                for m in image.get("BlockDeviceMappings", [])
                if "Ebs" in m
            )
            self._finding(
                "ami", image["ImageId"], f"registered and last launched more than {threshold} days ago", age=age,
                size_gib=size, unit="ebs-snapshot-gb-month", quantity=size,
                protected=self.settings.protection_tag in _tags(image.get("Tags")),
            )  # fmt: skip

    def log_groups(self) -> None:
        logs = self.clients.logs
        idle_days = self.settings.log_idle_days
        for group in _pages(logs, "describe_log_groups", "logGroups"):
            name = group["logGroupName"]
            arn = group.get("arn", "").removesuffix(":*")
            size = group.get("storedBytes", 0) / GIB
            age = _age(self.now, group.get("creationTime"))
            protected = arn in self.protected_arns()
            if "retentionInDays" not in group:
                self._finding(
                    "log-group-no-retention", name, "keeps its events forever (no retention)", age=age,
                    size_gib=round(size, 3), unit="logs-gb-month", quantity=size, protected=protected,
                )  # fmt: skip
            # A group of a live stack is quiet by design (upgrade logs, a slow log, a failure log): not unused.
            managed = self.stack_of().get(arn) in self.live_stacks()
            if managed or age is None or age < idle_days:
                continue
            streams = logs.describe_log_streams(logGroupName=name, orderBy="LastEventTime", descending=True, limit=1)
            last = max((s.get("lastEventTimestamp", 0) for s in streams.get("logStreams", [])), default=None)
            idle = _age(self.now, last) if last else age
            if idle is not None and idle >= idle_days:
                self._finding(
                    "log-group-idle", name, f"no event for {idle:.0f} days", age=age, size_gib=round(size, 3),
                    unit="logs-gb-month", quantity=size, protected=protected,
                )  # fmt: skip

    def rds_snapshots(self) -> None:
        rds = self.clients.rds
        live = {i["DBInstanceIdentifier"] for i in _pages(rds, "describe_db_instances", "DBInstances")}
        for snapshot in _pages(rds, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"):
            if snapshot.get("DBInstanceIdentifier") in live:
                continue
            size = float(snapshot.get("AllocatedStorage", 0))
            self._finding(
                "rds-snapshot", snapshot["DBSnapshotIdentifier"],
                f"its instance {snapshot.get('DBInstanceIdentifier')} no longer exists",
                age=_age(self.now, snapshot.get("SnapshotCreateTime")), size_gib=size,
                unit="rds-snapshot-gb-month", quantity=size,
                protected=self.settings.protection_tag in _tags(snapshot.get("TagList")),
            )  # fmt: skip

    def elasticache_snapshots(self) -> None:
        cache = self.clients.elasticache
        # A group or cluster being deleted counts as gone: its snapshots are left behind.
        groups = {
            g["ReplicationGroupId"]
            for g in _pages(cache, "describe_replication_groups", "ReplicationGroups")
            if g.get("Status") != "deleting"
        }
        clusters = {
            c["CacheClusterId"]
            for c in _pages(cache, "describe_cache_clusters", "CacheClusters")
            if c.get("CacheClusterStatus") != "deleting"
        }
        for snapshot in _pages(cache, "describe_snapshots", "Snapshots"):
            group, cluster = snapshot.get("ReplicationGroupId"), snapshot.get("CacheClusterId")
            if snapshot.get("SnapshotStatus", "available") != "available":
                continue  # still being written: not deletable, and the next run sees it
            if (group and group in groups) or (not group and cluster in clusters):
                continue
            size = sum(_cache_size_gib(n.get("CacheSize", "")) for n in snapshot.get("NodeSnapshots", []))
            self._finding(
                "elasticache-snapshot", snapshot["SnapshotName"], f"its group {group or cluster} no longer exists",
                age=_age(self.now, min((n.get("SnapshotCreateTime") for n in snapshot.get("NodeSnapshots", [])
                                        if n.get("SnapshotCreateTime")), default=None)),
                size_gib=round(size, 3), unit="elasticache-snapshot-gb-month", quantity=size,
                protected=snapshot.get("ARN", "") in self.protected_arns(),
            )  # fmt: skip

    def orphans(self) -> None:
        live = self.live_stacks()
        for arn, stack_id in sorted(self.stack_of().items()):
            if stack_id in live:
                continue
            kind = _STACK_TAGGED_TYPES[_arn_type(arn)]
            self._finding(
                kind, arn, f"its stack {stack_id.split('/')[1] if '/' in stack_id else stack_id} is gone", age=None,
                size_gib=None, unit="secret-month" if kind == "orphaned-secret" else "logs-gb-month",
                quantity=1.0 if kind == "orphaned-secret" else None,
                protected=arn in self.protected_arns(),
            )  # fmt: skip

    # --- deletion -------------------------------------------------------------------------------------
    def delete(self) -> None:
        for finding in self.findings:
            if self.settings.dry_run or finding.protected or finding.kind not in self.settings.delete_kinds:
                continue
            try:
                _DELETERS[finding.kind](self.clients, finding.id)
                finding.action = "deleted"
            except Exception as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
                if code in _GONE or (code == "InvalidRequestException" and "scheduled for deletion" in str(error)):
                    finding.action = "already-gone"
                else:
                    finding.action = f"delete-failed: {code or type(error).__name__}: {error}"


def _arn_type(arn: str) -> str:
    """`arn:aws:logs:r:a:log-group:/x` -> `logs:log-group`."""
    parts = arn.split(":")
    return f"{parts[2]}:{parts[5].split('/')[0]}" if len(parts) > 5 else ""


def _cache_size_gib(text: str) -> float:
    match = _SIZE.match(text or "")
    if not match:
        return 0.0
    value, unit = float(match[1]), match[2].upper()
    return value / {"KB": 1024**2, "MB": 1024, "GB": 1}[unit]


#: Error codes of a resource that is already gone: a repeated run deletes nothing twice.
_GONE = {
    "InvalidVolume.NotFound", "InvalidAllocationID.NotFound", "InvalidSnapshot.NotFound", "InvalidAMIID.NotFound",
    "InvalidAMIID.Unavailable", "ResourceNotFoundException", "DBSnapshotNotFound", "SnapshotNotFoundFault",
    "NotFoundException",
}  # fmt: skip

_DELETERS: dict[str, Callable[[Clients, str], Any]] = {
    "ebs-volume": lambda c, i: c.ec2.delete_volume(VolumeId=i),
    "elastic-ip": lambda c, i: c.ec2.release_address(AllocationId=i),
    "ebs-snapshot": lambda c, i: c.ec2.delete_snapshot(SnapshotId=i),
    "ami": lambda c, i: c.ec2.deregister_image(ImageId=i),
    "log-group-idle": lambda c, i: c.logs.delete_log_group(logGroupName=i),
    "rds-snapshot": lambda c, i: c.rds.delete_db_snapshot(DBSnapshotIdentifier=i),
    "elasticache-snapshot": lambda c, i: c.elasticache.delete_snapshot(SnapshotName=i),
    "orphaned-secret": lambda c, i: c.secrets.delete_secret(SecretId=i, RecoveryWindowInDays=30),
    "orphaned-log-group": lambda c, i: c.logs.delete_log_group(logGroupName=i.split(":log-group:", 1)[1]),
}


def summary(settings: Settings, findings: list[Finding]) -> str:
    by_kind: dict[str, list[Finding]] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    lines = [
        f"Unused resources, {settings.environment} ({'dry run' if settings.dry_run else 'deleting enabled kinds'})"
    ]
    for kind in KINDS:
        items = by_kind.get(kind, [])
        if not items:
            continue
        cost = sum(f.monthly_usd or 0 for f in items)
        deleted = sum(f.action in ("deleted", "already-gone") for f in items)
        lines.append(f"  {kind}: {len(items)} found, {cost:.2f} USD/month, {deleted} deleted")
    # One resource may be found under several kinds (a log group without retention, idle, orphaned): count it once.
    unique: dict[str, float] = {}
    for finding in findings:
        unique[finding.id] = max(unique.get(finding.id, 0.0), finding.monthly_usd or 0.0)
    lines.append(f"  total: {len(unique)} resources, {sum(unique.values()):.2f} USD/month")
    return "\n".join(lines)


def run(clients: Clients, settings: Settings, now: dt.datetime, *, s3: Any, sns: Any) -> dict[str, Any]:
    finder = Finder(clients, settings, now)
    finder.scan()
    finder.delete()
    report = {
        "environment": settings.environment,
        "time": now.isoformat(),
        "dry_run": settings.dry_run,
        "delete_kinds": sorted(settings.delete_kinds),
        "findings": [asdict(f) for f in finder.findings],
    }
    key = f"unused-resources/{settings.environment}/{now.strftime('%Y-%m-%dT%H%M%SZ')}.json"
    s3.put_object(
        Bucket=settings.bucket, Key=key, Body=json.dumps(report, indent=1).encode(), ContentType="application/json"
    )
    sns.publish(
        TopicArn=settings.topic,
        Subject=f"Unused resources: {settings.environment}",
        Message=summary(settings, finder.findings) + f"\n\ns3://{settings.bucket}/{key}",
    )
    report["report"] = f"s3://{settings.bucket}/{key}"
    return report


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    settings = Settings.load(dict(os.environ), event)  # raises before any client exists
    import boto3  # type: ignore[import-untyped]  # the runtime's
    from botocore.config import Config  # type: ignore[import-untyped]

    # Adaptive retries: a throttled call (DescribeLogStreams allows about 25 a second) waits, never ends the run.
    config = Config(retries={"mode": "adaptive", "max_attempts": 10})

    def client(service: str) -> Any:
        return boto3.client(service, config=config)

    clients = Clients(
        ec2=client("ec2"), logs=client("logs"), rds=client("rds"), elasticache=client("elasticache"),
        tagging=client("resourcegroupstaggingapi"), cloudformation=client("cloudformation"),
        secrets=client("secretsmanager"),
    )  # fmt: skip
    return run(clients, settings, dt.datetime.now(dt.UTC), s3=boto3.client("s3"), sns=boto3.client("sns"))
