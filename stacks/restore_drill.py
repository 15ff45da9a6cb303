"""The restore drill: a state machine that proves the backups restore, and says how long it took.

`lambda/restore_drill` does the work one step at a time; the state machine
`ticketing-<env>-restore-drill` runs them and waits between checks (a restore takes longer than a
Lambda may run):

    Start -> [wait 2 min -> Check]* -> Verify -> Cleanup -> done
    any failure of Start, Check or Verify -> CleanupAfterFailure -> failed

Cleanup retries while the restore job still runs (its instance appears later), so a drill never
leaves its temporary instance behind. The temporary instance lives in the database subnets with a
security group of its own that admits only the drill function; the function runs in the private
subnets (it calls AWS Backup, RDS and CloudWatch through NAT) and reaches the instance on 5432.
EventBridge Scheduler starts it monthly outside prod (`backup.drill.monthly`); `make restore-drill`
starts it on demand and prints its result.
"""

from __future__ import annotations

import json

from aws_cdk import (
    ArnFormat,
    Duration,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_kms as kms,
    aws_scheduler as scheduler,
    aws_stepfunctions as sfn,
    aws_stepfunctions_tasks as tasks,
)
from constructs import Construct

from config.fields import clock_time
from config.schema import EnvironmentConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.database_function import DatabaseFunction
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.log_retention import retention_from_days
from platform_constructs.physical_names import (
    LogGroup,
    drill_execution_log_group_name,
    drill_instance_prefix,
    drill_schedule_name,
    drill_state_machine_name,
    log_group_name,
)
from platform_constructs.postgres import FUNCTION_ARCHITECTURE, FUNCTION_RUNTIME, PostgresCluster
from platform_constructs.protect_retained import kept_unless_disposable
from platform_constructs.service_principals import from_own_source, scheduler_principal
from stacks.lambda_code import CA_FILE, function_code

#: CloudWatch namespace of the drill's measurements (RecoveryTimeSeconds, RecoveryPointAgeSeconds).
DRILL_NAMESPACE = "Ticketing/Backup"
CHECK_EVERY = Duration.minutes(2)
#: How long clean-up keeps retrying while a restore job still runs.
CLEANUP_RETRY_INTERVAL = Duration.minutes(5)
CLEANUP_RETRIES = 36
#: The verify step's Lambda timeout, and what the state machine's timeout adds beyond every step.
VERIFY_MINUTES = 15
TIMEOUT_MARGIN_MINUTES = 60
#: What Step Functions needs to deliver execution logs (AWS documents these on '*').
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
TRACE_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)


def drill_state_machine_arn(scope: Construct, environment: str) -> str:
    return Stack.of(scope).format_arn(
        service="states",
        resource="stateMachine",
        resource_name=drill_state_machine_name(environment),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class RestoreDrill(Construct):
    """Exposes ``function`` (a DatabaseFunction), ``state_machine``, ``instance_security_group`` and
    ``schedule`` (None when the drill has no monthly run)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        postgres: PostgresCluster,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        vault_name: str,
        restore_role: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        drill = config.backup.drill
        name = drill_state_machine_name(config.name)
        self.instance_security_group = ec2.SecurityGroup(
            self, "InstanceSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"ticketing {config.name}: the temporary instance of the restore drill",
        )  # fmt: skip
        function_security_group = ec2.SecurityGroup(
            self, "FunctionSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"ticketing {config.name}: the restore drill function",
        )  # fmt: skip
        function_security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS Backup, RDS, CloudWatch")
        function_security_group.connections.allow_to(
            self.instance_security_group, ec2.Port.tcp(postgres.port), "The drill's queries"
        )
        primary_arn = stack.format_arn(
            service="rds",
            resource="db",
            resource_name=postgres.primary_identifier,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        drill_instances = stack.format_arn(
            service="rds", resource="db", resource_name=f"{drill_instance_prefix(config.name)}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )  # fmt: skip
        self.function = DatabaseFunction(
            self,
            "Function",
            code=function_code("restore_drill"),
            runtime=FUNCTION_RUNTIME,
            architecture=FUNCTION_ARCHITECTURE,
            description=f"ticketing {config.name}: the restore drill's steps (restore, check, verify, clean up)",
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_group=function_security_group,
            secret=None,
            encryption_key=encryption_key,
            log_group_name=log_group_name(config.name, LogGroup.RESTORE_DRILL),
            log_retention=retention_from_days(config.database.log_retention_days),
            log_removal_policy=kept_unless_disposable(config.is_disposable),
            timeout=Duration.minutes(VERIFY_MINUTES),
            reserved_concurrency=config.reserved_concurrency.of("restore_drill"),
            environment={
                "ENVIRONMENT": config.name,
                "VAULT_NAME": vault_name,
                "SOURCE_ARN": primary_arn,
                "RESTORE_ROLE_ARN": restore_role.role_arn,
                "SUBNET_GROUP": postgres.subnet_group.subnet_group_name,
                "SECURITY_GROUP_ID": self.instance_security_group.security_group_id,
                "INSTANCE_CLASS": drill.instance_class,
                "MAX_WAIT_MINUTES": str(drill.max_wait_minutes),
                "QUERIES": json.dumps([query.model_dump() for query in drill.queries], separators=(",", ":")),
                "CA_FILE": CA_FILE,
                "METRIC_NAMESPACE": DRILL_NAMESPACE,
            },
            extra_statements=[
                iam.PolicyStatement(
                    actions=["backup:ListRecoveryPointsByBackupVault"],
                    resources=[
                        stack.format_arn(
                            service="backup",
                            resource="backup-vault",
                            resource_name=vault_name,
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                ),
                iam.PolicyStatement(
                    actions=[
                        "backup:GetRecoveryPointRestoreMetadata",
                        "backup:StartRestoreJob",
                        "backup:DescribeRestoreJob",
                    ],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[restore_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}},
                ),
                iam.PolicyStatement(actions=["rds:DescribeDBInstances"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["rds:ModifyDBInstance", "rds:DeleteDBInstance"], resources=[drill_instances]
                ),
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": DRILL_NAMESPACE}},
                ),
            ],
        )
        acknowledge(
            self.function.policy,
            f"AwsSolutions-IAM5[Resource::{drill_instances}]",
            "AwsSolutions-IAM5[Resource::*]",
            reason=(
                "The drill may modify and delete only instances named ticketing-<env>-drill-* (each drill's name "
                "has its start time, so no fixed ARN exists); a recovery point of RDS is named by its snapshot's "
                "ARN, which differs each day (the restore metadata and the restore job are on '*'; the job acts "
                "through the passed backup role only), and DescribeDBInstances (the sweep of instances left "
                "behind), DescribeRestoreJob and PutMetricData (limited to the drill's namespace by condition) "
                "have no resource-level permissions."
            ),
        )
        self.state_machine = self._state_machine(config, name, encryption_key)
        self.schedule = self._monthly(config) if drill.monthly else None

    def _state_machine(self, config: EnvironmentConfig, name: str, key: kms.IKey) -> sfn.StateMachine:
        function = self.function.function

        def step(
            construct_id: str, step_name: str, *, with_state: bool = True, result_path: str = "$"
        ) -> tasks.LambdaInvoke:
            payload = {"step": step_name, "state": sfn.JsonPath.object_at("$")} if with_state else {"step": step_name}
            return tasks.LambdaInvoke(
                self, construct_id, lambda_function=function, payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True, result_path=result_path,
            )  # fmt: skip

        def cleanup(construct_id: str) -> tasks.LambdaInvoke:
            # The drill's state (and its failure) stays the output; clean-up's answer is added beside it.
            task = step(construct_id, "cleanup", result_path="$.cleanup")
            task.add_retry(
                errors=["CleanupPendingError"], interval=CLEANUP_RETRY_INTERVAL, max_attempts=CLEANUP_RETRIES,
                backoff_rate=1.0,
            )  # fmt: skip
            return task

        # The failed step's own error and message (caught into $.failure), so `make restore-drill` prints them.
        failed = sfn.Fail(self, "DrillFailed", error_path="$.failure.Error", cause_path="$.failure.Cause")
        after_failure = cleanup("CleanupAfterFailure").next(failed)
        start = step("Start", "start", with_state=False)
        check = step("Check", "check")
        verify = step("Verify", "verify")
        for task in (start, check, verify):
            task.add_catch(after_failure, errors=["States.ALL"], result_path="$.failure")
        wait = sfn.Wait(self, "WaitForRestore", time=sfn.WaitTime.duration(CHECK_EVERY))
        done = cleanup("Cleanup").next(sfn.Succeed(self, "Done"))
        ready = sfn.Choice(self, "Ready?").when(sfn.Condition.string_equals("$.status", "ready"), verify.next(done))
        definition = start.next(wait).next(check).next(ready.otherwise(wait))

        execution_log = drill_execution_log_group_name(config.name)
        log_group = encrypted_log_group(
            self, "ExecutionLog", log_group_name=execution_log,
            retention=retention_from_days(config.database.log_retention_days), encryption_key=key,
            removal_policy=kept_unless_disposable(config.is_disposable),
        )  # fmt: skip
        # Step Functions sends the account and the state machine's ARN when it assumes the role.
        role = iam.Role(self, "StateMachineRole",
                        assumed_by=from_own_source(self, "states.amazonaws.com",
                                                   drill_state_machine_arn(self, config.name)),
                        description=f"ticketing {config.name}: runs the restore drill's steps")  # fmt: skip
        policy = iam.ManagedPolicy(
            self,
            "StateMachinePolicy",
            roles=[role],
            description=f"ticketing {config.name}: invoke the drill function, deliver execution logs and traces",
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]),
                iam.PolicyStatement(actions=list(LOG_DELIVERY_ACTIONS), resources=["*"]),
                iam.PolicyStatement(actions=list(TRACE_ACTIONS), resources=["*"]),
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason=(
                "Step Functions delivers execution logs through CloudWatch Logs' log-delivery API and sends X-Ray "
                "traces; neither has resource-level permissions (AWS documents '*'). Invoking names the one function."
            ),
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            role=role.without_policy_updates(),
            state_machine_name=name,
            comment=f"ticketing {config.name}: restore the newest daily recovery point, check it, delete it",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            # The restore's deadline, then the verify step, then every clean-up retry, then a margin: an
            # execution that timed out would run no clean-up at all.
            timeout=Duration.minutes(
                config.backup.drill.max_wait_minutes
                + VERIFY_MINUTES
                + CLEANUP_RETRY_INTERVAL.to_minutes() * CLEANUP_RETRIES
                + TIMEOUT_MARGIN_MINUTES
            ),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
        )
        cfn_policy = policy.node.default_child
        assert cfn_policy is not None
        machine.node.add_dependency(cfn_policy)  # the role's permissions exist before the machine is created
        return machine

    def _monthly(self, config: EnvironmentConfig) -> scheduler.CfnSchedule:
        drill = config.backup.drill
        hour, minute = clock_time(drill.at)
        role = iam.Role(self, "ScheduleRole", assumed_by=scheduler_principal(self),
                        description=f"ticketing {config.name}: starts the monthly restore drill")  # fmt: skip
        iam.ManagedPolicy(
            self, "SchedulePolicy", roles=[role], description="Start the restore drill",
            statements=[iam.PolicyStatement(actions=["states:StartExecution"],
                                            resources=[self.state_machine.state_machine_arn])],
        )  # fmt: skip
        return scheduler.CfnSchedule(
            self,
            "Monthly",
            name=drill_schedule_name(config.name),
            description=f"ticketing {config.name}: the monthly restore drill",
            schedule_expression=f"cron({minute} {hour} {drill.day_of_month} * ? *)",
            schedule_expression_timezone=config.maintenance.time_zone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn, role_arn=role.role_arn, input="{}"
            ),
        )
