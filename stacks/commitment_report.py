"""The weekly commitment coverage report (`lambda/commitment_coverage`), mailed through the warning topic.

Outside any VPC: it calls AWS APIs only (the Resource Groups Tagging API, RDS, ElastiCache, Cost
Explorer, SNS), reads nothing of the platform's data and changes nothing. EventBridge Scheduler
starts it every Monday at 09:00 in the maintenance time zone with the environment in its event.
"""

from __future__ import annotations

import json

from aws_cdk import (
    Duration,
    RemovalPolicy,
    Stack,
    Token,
    aws_iam as iam,
    aws_kms as kms,
    aws_lambda as lambda_,
    aws_logs as logs,
    aws_scheduler as scheduler,
    aws_sns as sns,
)
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.log_encryption import allow_cloudwatch_logs, log_group_arn
from platform_constructs.log_retention import retention_from_days
from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME
from stacks.lambda_code import function_code

#: Read-only calls without resource-level permissions: the tagging API, the reservation and
#: instance listings, Cost Explorer.
READ_ACTIONS = (
    "tag:GetResources",
    "rds:DescribeDBInstances",
    "rds:DescribeReservedDBInstances",
    "elasticache:DescribeReplicationGroups",
    "elasticache:DescribeReservedCacheNodes",
    "ce:GetSavingsPlansCoverage",
)
SCHEDULE = "cron(0 9 ? * MON *)"


class CommitmentReport(Construct):
    """Exposes ``function``, ``log_group``, ``policy`` and ``schedule``."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, topic: sns.ITopic, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        name = f"/ticketing/{config.name}/cost/commitment-coverage"
        allow_cloudwatch_logs(key, self, log_group_arns=[log_group_arn(self, name)])
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=name,
            retention=retention_from_days(config.compute.log_retention_days),
            encryption_key=key,
            removal_policy=RemovalPolicy.DESTROY,  # a fixed name: the stack must deploy again after a teardown
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"ticketing {config.name}: the commitment coverage report",
        )
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"ticketing {config.name}: read tags, reservations and Savings Plans coverage; mail the report",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=list(READ_ACTIONS), resources=["*"]),
                iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
                iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[f"{log_group_arn(self, name)}:*"]
                ),
                iam.PolicyStatement(actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources=["*"]),
            ],
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"ticketing {config.name}: commitment coverage of the tagged steady-state resources",
            runtime=FUNCTION_RUNTIME,
            architecture=FUNCTION_ARCHITECTURE,
            handler="index.handler",
            code=function_code("commitment_coverage"),
            role=role.without_policy_updates(),
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=Duration.minutes(2),
            memory_size=256,
            reserved_concurrent_executions=1,
            retry_attempts=0,
            environment={"TOPIC_ARN": topic.topic_arn},
        )
        self.function.node.add_dependency(self.policy)
        self.schedule = self._schedule(config)
        self._acknowledge(stack, name)

    def _schedule(self, config: EnvironmentConfig) -> scheduler.CfnSchedule:
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description=f"ticketing {config.name}: lets EventBridge Scheduler start the coverage report",
        )
        policy = iam.ManagedPolicy(
            self,
            "SchedulerPolicy",
            description="Invoke the commitment coverage report",
            roles=[role],
            statements=[iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])],
        )
        schedule = scheduler.CfnSchedule(
            self,
            "Weekly",
            description=f"ticketing {config.name}: commitment coverage report, Mondays",
            schedule_expression=SCHEDULE,
            schedule_expression_timezone=config.maintenance.time_zone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps({"environment": config.name}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )
        schedule.node.add_dependency(policy)
        return schedule

    def _acknowledge(self, stack: Stack, name: str) -> None:
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="The report's calls (tag:GetResources, the RDS and ElastiCache reservation and instance listings, "
            "ce:GetSavingsPlansCoverage) and X-Ray have no resource-level permissions; they only read",
        )
        # As cdk-nag writes the resource: an unresolved pseudo parameter appears as <AWS::Partition>.
        partition, region, account = (
            placeholder if Token.is_unresolved(value) else value
            for value, placeholder in (
                (stack.partition, "<AWS::Partition>"),
                (stack.region, "<AWS::Region>"),
                (stack.account, "<AWS::AccountId>"),
            )
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::arn:{partition}:logs:{region}:{account}:log-group:{name}:*]",
            reason="The function writes to its own log group only; CloudWatch Logs needs the group's ARN with ':*' "
            "(its log streams)",
        )
        acknowledge(
            self.function,
            "NIST.800.53.R5-LambdaDLQ",
            "Serverless-LambdaDLQ",
            "NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321-LambdaInsideVPC",
            reason="A weekly read-only report: a failed run is in its log group and the next Monday's run replaces "
            "it, so a dead-letter queue would hold nothing worth replaying; it calls public AWS APIs only and "
            "reaches none of the platform's data, so it runs outside the VPC (no NAT traffic, no endpoints)",
        )
        acknowledge(
            self.function.node.find_child("EventInvokeConfig"),
            "Serverless-LambdaAsyncFailureDestination",
            reason="EventBridge Scheduler starts it weekly without retries; a failure is in its log group and the "
            "next run reports again",
        )
