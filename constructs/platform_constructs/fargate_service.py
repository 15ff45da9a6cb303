"""One containerised service on ECS Fargate: Spot/on-demand mix, target tracking, schedules, Service Connect.

What aws-cdk-lib leaves to the caller and this construct decides:

- Capacity: always a capacity provider strategy (FARGATE_SPOT and FARGATE with an on-demand
  base), never a launch type; changing the mix is an in-place update that rolls every task.
- Desired count: a service that is not `running` yet (no image pushed) is created with
  `DesiredCount: 0` and no scaling, so a first deploy into an empty account does not wait for
  tasks that cannot start; a running service leaves `DesiredCount` out, so a deploy never resets
  what scaling or a schedule did (CloudFormation then keeps the current count on update).
- Deployments: circuit breaker with rollback, explicit minimum and maximum healthy percent.
- Scaling: target tracking on CPU and memory with both cooldowns; scheduled actions set the
  minimum AND maximum capacity (min = max = 0 stops the service; target tracking cannot undo it).
- The container: non-root, read-only root file system with a writable /tmp, logs to the given log
  group in non-blocking mode, plain settings as variables and secrets only as ECS secrets.
- Roles: a task role that may publish to one CloudWatch namespace only, and a separate execution
  role (image pulls, logs, the service's own secrets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import (
    Annotations,
    Duration,
    Size,
    TimeZone,
    aws_applicationautoscaling as appscaling,
    aws_ec2 as ec2,
    aws_ecr as ecr,
    aws_ecs as ecs,
    aws_elasticloadbalancingv2 as elbv2,
    aws_iam as iam,
    aws_logs as logs,
    aws_secretsmanager as secretsmanager,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.assembly_metadata import PLANNED_CAPACITY_METADATA
from platform_constructs.fargate_sizes import size_problem
from platform_constructs.service_principals import ecs_task_role_principal

FARGATE = "FARGATE"
FARGATE_SPOT = "FARGATE_SPOT"
#: FARGATE_SPOT runs ARM64 tasks on platform version 1.4.0 or later; pinned rather than LATEST so a
#: change of AWS's default never shows up as a silent redeploy.
PLATFORM_VERSION = ecs.FargatePlatformVersion.VERSION1_4
#: The port mapping's name, used by Service Connect.
PORT_NAME = "http"
#: How long ECS ignores failing load-balancer health checks of a new task.
DEFAULT_HEALTH_CHECK_GRACE = Duration.seconds(60)
#: Where the read-only root file system may still be written.
SCRATCH_PATH = "/tmp"


@dataclass(frozen=True)
class CapacityMix:
    """Tasks above `on_demand_base` run `spot_percent` % on FARGATE_SPOT, the rest on FARGATE."""

    spot_percent: int
    on_demand_base: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.spot_percent <= 100:
            raise ValueError(f"spot_percent: must be 0 to 100, got {self.spot_percent}")
        if self.on_demand_base < 0:
            raise ValueError(f"on_demand_base: must be 0 or more, got {self.on_demand_base}")

    def strategies(self) -> list[ecs.CapacityProviderStrategy]:
        """Never empty; FARGATE carries the base even when all other tasks are Spot."""
        strategies = []
        on_demand_weight = 100 - self.spot_percent
        if on_demand_weight or self.on_demand_base:
            strategies.append(
                ecs.CapacityProviderStrategy(
                    capacity_provider=FARGATE, base=self.on_demand_base or None, weight=on_demand_weight
                )
            )
        if self.spot_percent:
            strategies.append(ecs.CapacityProviderStrategy(capacity_provider=FARGATE_SPOT, weight=self.spot_percent))
        return strategies


@dataclass(frozen=True)
class TaskScaling:
    """Target tracking between `min_tasks` and `max_tasks`."""

    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    memory_target_percent: int
    scale_in_cooldown: Duration
    scale_out_cooldown: Duration

    def __post_init__(self) -> None:
        if not 0 <= self.min_tasks <= self.max_tasks:
            raise ValueError(f"min_tasks/max_tasks: need 0 <= min <= max, got {self.min_tasks}/{self.max_tasks}")


@dataclass(frozen=True)
class ScheduledCapacity:
    """At `hour`:`minute` on `week_days` (cron, e.g. "MON-FRI" or "*") in `time_zone`, set min and max."""

    name: str
    hour: int
    minute: int
    week_days: str
    time_zone: str
    min_tasks: int
    max_tasks: int


@dataclass(frozen=True)
class SecretReference:
    """A Secrets Manager secret (or one JSON key of it) handed to the container as a variable."""

    secret: secretsmanager.ISecret
    json_key: str | None = None

    def as_ecs_secret(self) -> ecs.Secret:
        return ecs.Secret.from_secrets_manager(self.secret, self.json_key)

    def policy_resource(self) -> str:
        """The ARN GetSecretValue needs: the full ARN, or a name's ARN with the 6-character suffix wildcard."""
        return self.secret.secret_full_arn or f"{self.secret.secret_arn}-??????"


@dataclass(frozen=True)
class ContainerSpec:
    """What runs: image, size, port and settings."""

    image: ecs.ContainerImage
    #: The ECR repository `image` comes from (its pull rights go to the execution role); None otherwise.
    repository: ecr.IRepository | None
    cpu: int
    memory_mib: int
    port: int
    architecture: ecs.CpuArchitecture
    environment: Mapping[str, str]
    secrets: Mapping[str, SecretReference]
    user: str
    read_only_root_filesystem: bool = True


class FargateMicroservice(Construct):
    """Exposes ``service``, ``task_definition``, ``container``, ``task_role``, ``execution_role`` and
    ``scaling`` (None while the service is not running)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        service_name: str,
        container: ContainerSpec,
        security_group: ec2.ISecurityGroup,
        subnets: ec2.SubnetSelection,
        log_group: logs.ILogGroup,
        capacity: CapacityMix,
        scaling: TaskScaling,
        running: bool,
        minimum_healthy_percent: int,
        maximum_percent: int,
        metric_namespace: str,
        schedules: Sequence[ScheduledCapacity] = (),
        service_connect_namespace: str | None = None,
        discovery_name: str | None = None,
        family: str | None = None,
    ) -> None:
        """
        :param running: False before the service has an image: `DesiredCount: 0`, no scaling.
        :param family: task definition family (account-wide: include the environment); default the service name.
        :param metric_namespace: the only CloudWatch namespace the task role may publish to.
        :param service_connect_namespace: Cloud Map namespace; the service is then reachable by
            the other services as ``http://<discovery_name>:<port>``.
        """
        super().__init__(scope, construct_id)
        problem = size_problem(container.cpu, container.memory_mib)
        if problem:
            raise ValueError(f"{service_name}: {problem}")
        if not 0 <= minimum_healthy_percent <= 100 or not 100 <= maximum_percent <= 200:
            raise ValueError(
                f"{service_name}: minimum_healthy_percent 0-100 and maximum_percent 100-200, got "
                f"{minimum_healthy_percent}/{maximum_percent}"
            )

        # Both roles get customer-managed policies (reviewable, versioned; NIST/PCI IAMNoInlinePolicy)
        # and are handed on without policy updates, so nothing aws-cdk-lib grants by itself slips in.
        # The task role's trust names this account's ECS resources (aws:SourceAccount/aws:SourceArn), as ECS
        # documents for task roles; the execution role's stays bare, as ECS documents for execution roles.
        self.execution_role, self.execution_policy = self._role(
            "Execution",
            f"{service_name}: pull its image, write its logs, read its own secrets",
            self._execution_statements(container, log_group),
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        )
        self.task_role, self.task_policy = self._role(
            "Task",
            f"The {service_name} application: its own metrics (data access is attached separately)",
            [
                iam.PolicyStatement(
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringEquals": {"cloudwatch:namespace": metric_namespace}},
                )
            ],
            assumed_by=ecs_task_role_principal(self),
        )
        if container.repository is not None:
            acknowledge(
                self.execution_policy,
                "AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken has no resource-level permissions; image layers are read from the "
                "service's own repository only",
            )
        acknowledge(
            self.task_policy,
            "AwsSolutions-IAM5[Resource::*]",
            reason="cloudwatch:PutMetricData has no resource-level permissions; the statement is limited to the "
            "service's own namespace by the cloudwatch:namespace condition",
        )

        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=container.cpu,
            memory_limit_mib=container.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=container.architecture, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
            task_role=self.task_role.without_policy_updates(),
            execution_role=self.execution_role.without_policy_updates(),
            family=family or service_name,
        )
        self.container = self.task_definition.add_container(
            "App",
            container_name="app",
            image=container.image,
            essential=True,
            environment=dict(container.environment),
            secrets={name: reference.as_ecs_secret() for name, reference in container.secrets.items()},
            port_mappings=[
                ecs.PortMapping(
                    container_port=container.port,
                    name=PORT_NAME,
                    app_protocol=ecs.AppProtocol.http,  # type: ignore[arg-type]  # a jsii class property
                )
            ],
            user=container.user,
            readonly_root_filesystem=container.read_only_root_filesystem,
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix=service_name,
                log_group=log_group,
                # a full log buffer must not stop the application; the buffer takes the bursts
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                max_buffer_size=Size.mebibytes(25),
            ),
        )
        if container.repository is not None:
            # An image given by reference: aws-cdk-lib cannot see that the execution policy grants the pull.
            Annotations.of(self.container).acknowledge_warning(
                "@aws-cdk/aws-ecs:ecrImageRequiresPolicy",
                "The execution policy grants the pull from the image's ECR repository (see _execution_statements)",
            )
        if container.read_only_root_filesystem:
            self.task_definition.add_volume(name="scratch")
            self.container.add_mount_points(
                ecs.MountPoint(container_path=SCRATCH_PATH, source_volume="scratch", read_only=False)
            )

        service_connect = None
        if service_connect_namespace is not None:
            service_connect = ecs.ServiceConnectProps(
                namespace=service_connect_namespace,
                services=[
                    ecs.ServiceConnectService(
                        port_mapping_name=PORT_NAME,
                        discovery_name=discovery_name or service_name,
                        dns_name=discovery_name or service_name,
                        port=container.port,
                    )
                ],
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix=f"{service_name}-connect", log_group=log_group),
            )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            service_name=service_name,
            task_definition=self.task_definition,
            platform_version=PLATFORM_VERSION,
            capacity_provider_strategies=capacity.strategies(),
            desired_count=None if running else 0,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            min_healthy_percent=minimum_healthy_percent,
            max_healthy_percent=maximum_percent,
            security_groups=[security_group],
            vpc_subnets=subnets,
            assign_public_ip=False,
            enable_execute_command=False,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            service_connect_configuration=service_connect,
        )

        # Tasks start with their permissions: the policies are attached before the service exists.
        self.service.node.add_dependency(self.execution_policy, self.task_policy)

        self.scaling: ecs.ScalableTaskCount | None = None
        if not running:
            self._record_planned_capacity(scaling, schedules)
        if running:
            self.scaling = self.service.auto_scale_task_count(
                min_capacity=scaling.min_tasks, max_capacity=scaling.max_tasks
            )
            self.scaling.scale_on_cpu_utilization(
                "Cpu",
                target_utilization_percent=scaling.cpu_target_percent,
                scale_in_cooldown=scaling.scale_in_cooldown,
                scale_out_cooldown=scaling.scale_out_cooldown,
            )
            self.scaling.scale_on_memory_utilization(
                "Memory",
                target_utilization_percent=scaling.memory_target_percent,
                scale_in_cooldown=scaling.scale_in_cooldown,
                scale_out_cooldown=scaling.scale_out_cooldown,
            )
            for schedule in schedules:
                self.scaling.scale_on_schedule(
                    schedule.name,
                    schedule=appscaling.Schedule.cron(
                        minute=str(schedule.minute), hour=str(schedule.hour), week_day=schedule.week_days
                    ),
                    min_capacity=schedule.min_tasks,
                    max_capacity=schedule.max_tasks,
                    time_zone=TimeZone.of(schedule.time_zone),
                )

    def _record_planned_capacity(self, scaling: TaskScaling, schedules: Sequence[ScheduledCapacity]) -> None:
        """What the service will run once it has an image, as cloud-assembly metadata on the service.

        The template says `DesiredCount: 0` and has no scalable target yet; tools that price or review
        the steady state (tools/cost_estimate.py) read this instead. Assembly metadata, not template
        metadata: CloudFormation never sees it, so it changes nothing on deploy.
        """
        cfn_service = self.service.node.default_child
        assert cfn_service is not None
        cfn_service.node.add_metadata(
            PLANNED_CAPACITY_METADATA,
            {
                "min_tasks": scaling.min_tasks,
                "max_tasks": scaling.max_tasks,
                "scheduled_actions": [
                    {
                        "schedule": appscaling.Schedule.cron(
                            minute=str(schedule.minute), hour=str(schedule.hour), week_day=schedule.week_days
                        ).expression_string,
                        "time_zone": schedule.time_zone,
                        "min_tasks": schedule.min_tasks,
                        "max_tasks": schedule.max_tasks,
                    }
                    for schedule in schedules
                ],
            },
        )

    def scale_out_below(
        self, construct_id: str, *, tasks: int, cooldown: Duration
    ) -> appscaling.StepScalingAction | None:
        """A step policy adding `tasks` tasks (up to max_tasks) each time an alarm whose metric fell below
        its threshold invokes it (the step covers every negative difference to the threshold).

        Returns None while the service is not running (no scalable target yet). The caller adds the
        returned action to its alarm (``ApplicationScalingAction``); CloudWatch invokes an Auto
        Scaling action every minute while the alarm stays in ALARM, so the service keeps growing,
        one cooldown apart, until the alarm clears or max_tasks is reached. Target tracking scales
        it back in afterwards.
        """
        if self.scaling is None:
            return None
        target = self.scaling.node.find_child("Target")
        assert isinstance(target, appscaling.ScalableTarget)
        action = appscaling.StepScalingAction(
            self,
            construct_id,
            scaling_target=target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=cooldown,
            metric_aggregation_type=appscaling.MetricAggregationType.MINIMUM,
        )
        action.add_adjustment(adjustment=tasks, upper_bound=0)
        return action

    def _role(
        self, name: str, description: str, statements: Sequence[iam.PolicyStatement], *, assumed_by: iam.IPrincipal
    ) -> tuple[iam.Role, iam.ManagedPolicy]:
        """`<name>Role` assumed by `assumed_by` (ECS tasks) with `<name>Policy`, a customer-managed policy of
        `statements`."""
        role = iam.Role(self, f"{name}Role", assumed_by=assumed_by, description=description)
        policy = iam.ManagedPolicy(
            self, f"{name}Policy", description=description, roles=[role], statements=list(statements)
        )
        return role, policy

    def _execution_statements(self, container: ContainerSpec, log_group: logs.ILogGroup) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.log_group_arn}"],  # aws-cdk-lib's ARN of a log group ends in :*
            )
        ]
        if container.repository is not None:
            statements += [
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
                iam.PolicyStatement(
                    actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                    resources=[container.repository.repository_arn],
                ),
            ]
        if container.secrets:
            statements.append(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue"],
                    resources=sorted({reference.policy_resource() for reference in container.secrets.values()}),
                )
            )
        return statements

    def attach_to(
        self,
        target_group: elbv2.IApplicationTargetGroup,
        *,
        after: Sequence[Construct] = (),
        health_check_grace_period: Duration | None = None,
    ) -> None:
        """Register the service's tasks (the app container's port) with `target_group`.

        Unlike aws-cdk-lib's `attach_to_application_target_group`, this adds no security-group rule:
        the load balancer's group and the tasks' group may live in different stacks, and a rule
        aws-cdk-lib places by itself can make those stacks refer to each other. The caller opens
        the port. `after`: the listener rules forwarding to the group, which ECS needs to exist
        before the service is created.
        """
        cfn_service = self.service.node.default_child
        assert isinstance(cfn_service, ecs.CfnService)
        cfn_service.load_balancers = [
            ecs.CfnService.LoadBalancerProperty(
                container_name=self.container.container_name,
                container_port=self.container.container_port,
                target_group_arn=target_group.target_group_arn,
            )
        ]
        # A starting application is not killed for failing its first load-balancer checks.
        cfn_service.health_check_grace_period_seconds = int(
            (health_check_grace_period or DEFAULT_HEALTH_CHECK_GRACE).to_seconds()
        )
        for construct in after:
            self.service.node.add_dependency(construct)
