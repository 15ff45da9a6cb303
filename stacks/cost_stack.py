"""Cost stack: the environment's budget, and the weekly reports of what it pays for and does not use.

- A monthly AWS Budget by the `Environment` cost-allocation tag, alerting the warning topic.
- The commitment coverage report (`lambda/commitment_coverage`), Mondays 09:00.
- The unused-resource finder (`lambda/unused_resources`), Mondays 08:00, its JSON reports in a
  bucket of this stack, its summary on the warning topic. Deletion rights only for the kinds
  `[cost.unused] delete` names.

Both functions publish to the alerts stack's warning topic by its ARN and use its key by alias: no
export ties the stacks. Nothing here holds state that matters: the stack can be destroyed and
deployed again (the report bucket is retained).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import (
    ArnFormat,
    Duration,
    aws_budgets as budgets,
    aws_iam as iam,
    aws_s3 as s3,
)
from constructs import Construct

from config.cost import USAGE_ASSUMPTIONS_METADATA
from config.prices import price_table
from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.alarm_topics import Severity, publish_statements, topic_arn
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.log_retention import retention_from_days
from platform_constructs.physical_names import LogGroup, environment_prefix, log_group_name
from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME
from platform_constructs.private_bucket import private_bucket
from platform_constructs.scheduled_function import ScheduledFunction
from stacks.lambda_code import function_code
from stacks.platform_stack import PlatformStack

#: The cost-allocation tag the budget filters by (set on every resource by platform_stage.py).
ENVIRONMENT_TAG = "Environment"
COVERAGE_SCHEDULE = "cron(0 9 ? * MON *)"
FINDER_SCHEDULE = "cron(0 8 ? * MON *)"
#: Read-only calls of the coverage report, none with resource-level permissions.
COVERAGE_READS = (
    "tag:GetResources",
    "rds:DescribeDBInstances",
    "rds:DescribeReservedDBInstances",
    "elasticache:DescribeReplicationGroups",
    "elasticache:DescribeReservedCacheNodes",
    "ce:GetSavingsPlansCoverage",
)
#: Read-only calls of the finder, none with resource-level permissions for listing.
FINDER_READS = (
    "ec2:DescribeVolumes",
    "ec2:DescribeAddresses",
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "rds:DescribeDBInstances",
    "rds:DescribeDBSnapshots",
    "elasticache:DescribeReplicationGroups",
    "elasticache:DescribeCacheClusters",
    "elasticache:DescribeSnapshots",
    "tag:GetResources",
    "cloudformation:ListStacks",
)
#: Per deletable kind: the action and the resource pattern (format_arn service, resource, separator).
DELETE_RIGHTS: dict[str, tuple[str, str, str]] = {
    "ebs-volume": ("ec2:DeleteVolume", "ec2", "volume/*"),
    "elastic-ip": ("ec2:ReleaseAddress", "ec2", "elastic-ip/*"),
    "ebs-snapshot": ("ec2:DeleteSnapshot", "ec2", "snapshot/*"),
    "ami": ("ec2:DeregisterImage", "ec2", "image/*"),
    "log-group-idle": ("logs:DeleteLogGroup", "logs", "log-group:*"),
    "orphaned-log-group": ("logs:DeleteLogGroup", "logs", "log-group:*"),
    "rds-snapshot": ("rds:DeleteDBSnapshot", "rds", "snapshot:*"),
    "elasticache-snapshot": ("elasticache:DeleteSnapshot", "elasticache", "snapshot:*"),
    "orphaned-secret": ("secretsmanager:DeleteSecret", "secretsmanager", "secret:*"),
}


class CostStack(PlatformStack):
    """Exposes ``budget``, ``key``, ``coverage_report``, ``finder`` and ``report_bucket``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.prefix = environment_prefix(config.name)
        # What `make cost` assumes of this environment's usage, recorded in the cloud assembly (not
        # the template) so that an estimate of any assembly, a baseline's too, uses its own.
        self.node.add_metadata(
            USAGE_ASSUMPTIONS_METADATA, {"environment": config.name, **config.cost.estimate.model_dump()}
        )
        self.budget = self._budget()
        self.key = customer_managed_key(
            self, "CostKey", description=f"ticketing {config.name}: the cost reports' logs and the finder's reports"
        )
        publish = publish_statements(self, self.prefix, Severity.WARNING)
        common: dict[str, Any] = {
            "runtime": FUNCTION_RUNTIME,
            "architecture": FUNCTION_ARCHITECTURE,
            "log_retention": retention_from_days(config.compute.log_retention_days),
            "encryption_key": self.key,
            "time_zone": config.maintenance.time_zone,
        }
        self.coverage_report = ScheduledFunction(
            self,
            "CommitmentCoverage",
            code=function_code("commitment_coverage"),
            description=f"ticketing {config.name}: commitment coverage of the tagged steady-state resources",
            log_group_name=log_group_name(config.name, LogGroup.COMMITMENT_COVERAGE),
            statements=[iam.PolicyStatement(actions=list(COVERAGE_READS), resources=["*"]), *publish],
            schedule=COVERAGE_SCHEDULE,
            payload={"environment": config.name},
            environment={"TOPIC_ARN": topic_arn(self, self.prefix, Severity.WARNING)},
            wildcard_reason="The report only reads: the tagging API, the RDS and ElastiCache instance and "
            "reservation listings and Cost Explorer have no resource-level permissions; the topic's key is "
            "granted by its alias (kms:ResourceAliases), the key ARN being another stack's",
            timeout=Duration.minutes(2),
            reserved_concurrency=config.reserved_concurrency.of("commitment_coverage"),
            **common,
        )
        self.report_bucket = self._report_bucket()
        self.finder = self._finder(publish, common)

    def _budget(self) -> budgets.CfnBudget:
        """The environment's monthly cost budget, by its `Environment` cost-allocation tag.

        No name: a budget's name and its notifications are create-only, so changing a threshold
        replaces the budget, which a fixed name would make fail (the new one's name is taken).
        The tag must be activated as a cost-allocation tag in the payer account (docs/tiers/cost.md).
        """
        cost = self.config.cost
        warning = topic_arn(self, self.prefix, Severity.WARNING)
        return budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=cost.monthly_budget_usd, unit="USD"),
                filter_expression=budgets.CfnBudget.ExpressionProperty(
                    tags=budgets.CfnBudget.TagValuesProperty(
                        key=ENVIRONMENT_TAG, values=[self.config.name], match_options=["EQUALS"]
                    )
                ),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=percent,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=warning)],
                )
                for kind, percent in cost.notifications()
            ],
        )

    def _report_bucket(self) -> s3.Bucket:
        bucket = private_bucket(
            self,
            "Reports",
            encryption_key=self.key,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOldReports",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        acknowledge(
            bucket.node.default_child or bucket,
            "AwsSolutions-S1",
            "NIST.800.53.R5-S3BucketLoggingEnabled",
            "PCI.DSS.321-S3BucketLoggingEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
            reason="Holds the unused-resource finder's weekly reports, written by its role only and kept a year; "
            "each is produced again by the next run, so neither access logs nor a replica would protect anything",
        )
        return bucket

    def _finder(self, publish: list[iam.PolicyStatement], common: dict[str, Any]) -> ScheduledFunction:
        config = self.config
        unused = config.cost.unused
        rights: dict[str, list[str]] = {}
        for kind in unused.delete:
            action, service, resource = DELETE_RIGHTS[kind]
            separator, _, name = resource.partition(":") if ":" in resource else resource.partition("/")
            arn = self.format_arn(
                service=service,
                resource=separator,
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME if ":" in resource else ArnFormat.SLASH_RESOURCE_NAME,
                # EC2 snapshots and images carry no account in their ARNs.
                account="" if service == "ec2" and separator in ("snapshot", "image") else None,
            )
            rights.setdefault(action, [])
            if arn not in rights[action]:
                rights[action].append(arn)
        deletions = [iam.PolicyStatement(actions=[action], resources=arns) for action, arns in sorted(rights.items())]
        finder = ScheduledFunction(
            self,
            "UnusedResources",
            code=function_code("unused_resources"),
            description=f"ticketing {config.name}: unused-resource finder"
            + (" (dry run)" if unused.dry_run else f" (deletes: {', '.join(unused.delete) or 'nothing'})"),
            log_group_name=log_group_name(config.name, LogGroup.UNUSED_RESOURCES),
            statements=[
                iam.PolicyStatement(actions=list(FINDER_READS), resources=["*"]),
                iam.PolicyStatement(
                    actions=["s3:PutObject"], resources=[self.report_bucket.arn_for_objects("unused-resources/*")]
                ),
                iam.PolicyStatement(actions=["kms:GenerateDataKey"], resources=[self.key.key_arn]),
                *publish,
                *deletions,
            ],
            schedule=FINDER_SCHEDULE,
            payload={},
            environment={
                "ENVIRONMENT": config.name,
                "DRY_RUN": json.dumps(unused.dry_run),
                "DELETE_KINDS": ",".join(unused.delete),
                "PROTECTION_TAG": unused.protection_tag,
                "SNAPSHOT_AGE_DAYS": str(unused.snapshot_age_days),
                "AMI_AGE_DAYS": str(unused.ami_age_days),
                "LOG_IDLE_DAYS": str(unused.log_idle_days),
                "UNIT_PRICES": json.dumps(price_table().units, sort_keys=True, separators=(",", ":")),
                "REPORT_BUCKET": self.report_bucket.bucket_name,
                "TOPIC_ARN": topic_arn(self, self.prefix, Severity.WARNING),
            },
            wildcard_reason="The finder lists volumes, addresses, snapshots, images, log groups, database and cache "
            "snapshots, tags and stacks: listing calls have no resource-level permissions; deletion rights name "
            "each kind's ARN pattern and exist only for the kinds [cost.unused] delete enables; the topic's key "
            "is granted by its alias (kms:ResourceAliases)",
            timeout=Duration.minutes(10),
            memory_size_mib=512,
            reserved_concurrency=config.reserved_concurrency.of("unused_resources"),
            **common,
        )
        return finder
