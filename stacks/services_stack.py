"""Services stack: the ECS cluster, one Fargate service per entry of config/services.toml, and the ALB.

Stateless: everything here can be destroyed and deployed again (the images live in the registry
stack, the data in the data stack). Each service:

- runs from the image config names (`[images]`); a service without one is created with zero tasks
  and no scaling (the first deploy into an empty account), see docs/first-deploy.md, "The first image";
- gets its container settings from `service_settings.data_tier_settings` (endpoints, its database
  role, its cache user, pool numbers; no secret) plus its plain `environment` and, as ECS secrets,
  its own `secrets` (Secrets Manager, below `ticketing/<env>/<service>/`);
- logs in to PostgreSQL and the cache with IAM as itself (the data stack's policy, attached to its
  task role) and may publish metrics to its own namespace only;
- is reachable by the others as `http://<name>:<port>` (Service Connect) and, when it has `paths`,
  through the ALB, which only CloudFront reaches (origin-facing prefix list + secret header).
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    Fn,
    RemovalPolicy,
    SecretValue,
    aws_cloudwatch as cloudwatch,
    aws_cloudwatch_actions as cloudwatch_actions,
    aws_ec2 as ec2,
    aws_ecr as ecr,
    aws_ecs as ecs,
    aws_elasticloadbalancingv2 as elbv2,
    aws_route53 as route53,
    aws_route53_targets as route53_targets,
    aws_secretsmanager as secretsmanager,
    aws_servicediscovery as servicediscovery,
    aws_sns as sns,
    aws_ssm as ssm,
)
from constructs import Construct

from config.compute import effective_sizing
from config.edge import EDGE_REGION
from config.schema import EnvironmentConfig, ServiceConfig
from platform_constructs.acknowledgments import acknowledge
from platform_constructs.alarm_topics import Severity, topic_arn
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.fargate_service import (
    CapacityMix,
    ContainerSpec,
    FargateMicroservice,
    SecretReference,
    TaskScaling,
)
from platform_constructs.log_bucket import LogLifecycle
from platform_constructs.log_retention import retention_from_days
from platform_constructs.naming import pascal_case
from platform_constructs.origin_load_balancer import OriginLoadBalancer
from platform_constructs.physical_names import (
    cluster_name,
    environment_prefix,
    load_balancer_parameter_name,
    origin_header_secret_name,
    repository_name,
    service_connect_namespace,
    service_secret_name,
    target_group_parameter_name,
    task_family,
)
from stacks.monitoring.seats import low_available_seats
from stacks.network_stack import ORIGIN_SECRET_KEY, ORIGIN_SECRET_LENGTH, NetworkStack
from stacks.night_scaling import night_schedules
from stacks.platform_stack import PlatformStack
from stacks.service_settings import data_tier_settings

#: The output through which the edge stack read the former origin-header secret across regions. Kept while
#: `load_balancer.keep_former_origin_secret` is on: a rollback of the edge to its former template reads it.
ORIGIN_SECRET_EDGE_ARN_OUTPUT = "OriginSecretEdgeArn"


#: The tag a service runs from before its first image exists (never pulled: zero tasks).
NO_IMAGE_TAG = "no-image-yet"
_ARCHITECTURES = {"arm64": ecs.CpuArchitecture.ARM64, "x86_64": ecs.CpuArchitecture.X86_64}


class ServicesStack(PlatformStack):
    """Exposes ``cluster``, ``load_balancer`` (OriginLoadBalancer), ``services`` and, during the origin header's
    move to the network stack, ``former_origin_secret``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: NetworkStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        env = config.name
        self.key = customer_managed_key(
            self,
            "ServicesKey",
            description=f"ticketing {env}: service logs and the origin header secret"
            if config.load_balancer.keep_former_origin_secret
            else f"ticketing {env}: service logs",
            logs_of_this_account=True,
        )

        # The origin header's secret is the network stack's, read by name (docs/runbooks/origin-header.md). While
        # it moves there, this stack keeps its former secret, whose value the listener accepts too, and the
        # output the edge stack read it through (an edge rolled back to its former template reads it again).
        self.former_origin_secret: secretsmanager.Secret | None = None
        if config.load_balancer.keep_former_origin_secret:
            self.former_origin_secret = self._former_origin_secret()
            CfnOutput(
                self,
                ORIGIN_SECRET_EDGE_ARN_OUTPUT,
                description="ARN of the former origin-header secret's replica in us-east-1 (until the move is done)",
                value=Fn.join(
                    ":",
                    [
                        "arn",
                        self.partition,
                        "secretsmanager",
                        EDGE_REGION,
                        self.account,
                        "secret",
                        Fn.select(6, Fn.split(":", _cfn_secret(self.former_origin_secret).ref)),
                    ],
                ),
            )
        self.load_balancer = self._load_balancer(network)

        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=network.vpc,
            cluster_name=cluster_name(env),
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
            enable_fargate_capacity_providers=True,
            default_cloud_map_namespace=ecs.CloudMapNamespaceOptions(
                name=service_connect_namespace(env),
                type=servicediscovery.NamespaceType.HTTP,
                use_for_service_connect=True,
            ),
        )

        self._open_container_ports(network.service_security_group)

        self.services: dict[str, FargateMicroservice] = {}
        for name, service in config.services.items():
            self.services[name] = self._service(name, service, network)

        ssm.StringParameter(
            self,
            "LoadBalancerNameParameter",
            parameter_name=load_balancer_parameter_name(env),
            string_value=self.load_balancer.load_balancer.load_balancer_full_name,
            description=f"ticketing {env}: the ALB's full name, the dimension of its metrics (monitoring stack)",
        )
        self.seat_alarm = self._seat_alarm()

        zone = route53.PublicHostedZone.from_hosted_zone_attributes(
            self,
            "Zone",
            hosted_zone_id=config.load_balancer.hosted_zone_id,
            zone_name=config.load_balancer.hosted_zone_name,
        )
        route53.ARecord(
            self,
            "OriginRecord",
            zone=zone,
            record_name=config.load_balancer.origin_domain_name + ".",
            target=route53.RecordTarget.from_alias(
                route53_targets.LoadBalancerTarget(self.load_balancer.load_balancer)
            ),
            comment=f"ticketing {env}: CloudFront's origin for /api/* (matches the ALB's certificate)",
        )

    def _seat_alarm(self) -> cloudwatch.Alarm:
        """The guide's LowAvailableSeats: notify, and add tasks to the services that sell the seats.

        It lives here, beside the scalable targets its step policies act on (a policy outside the stack
        of its target would vanish unnoticed whenever this stack is destroyed and deployed again). It is
        never muted: a muted alarm's Auto Scaling actions are suppressed too.
        """
        config = self.config
        seats = config.observability.seats
        steps = []
        for name in seats.scale_out_services:
            action = self.services[name].scale_out_below(
                "SeatScaleOut",
                tasks=seats.scale_out_tasks,
                cooldown=Duration.seconds(config.compute.scaling.scale_out_cooldown_seconds),
            )
            if action is not None:  # a service without an image has no scalable target yet
                steps.append(cloudwatch_actions.ApplicationScalingAction(action))
        warning = sns.Topic.from_topic_arn(
            self, "WarningTopic", topic_arn(self, environment_prefix(config.name), Severity.WARNING)
        )
        return low_available_seats(config).create(
            self, environment_prefix(config.name), {Severity.WARNING: warning}, extra_actions=steps
        )

    def _open_container_ports(self, tasks: ec2.ISecurityGroup) -> None:
        """The ALB reaches the public services' containers, the services reach each other; container ports only.

        The rules are resources of this stack (the network stack's group must not refer to the
        ALB's group, which lives here), so they come and go with the services.
        """
        balancer = self.load_balancer.security_group.security_group_id
        group = tasks.security_group_id
        services = self.config.services.values()
        public = {service.port for service in services if service.paths}
        for port in sorted({service.port for service in services}):
            rules = [
                ("TasksFromServices", "ingress", group, group, "Service to service (Service Connect)"),
                ("TasksToServices", "egress", group, group, "Service to service (Service Connect)"),
            ]
            if port in public:  # the ALB reaches only the services it routes to
                rules += [
                    ("LoadBalancerToTasks", "egress", balancer, group, "To the services"),
                    ("TasksFromLoadBalancer", "ingress", group, balancer, "From the ALB"),
                ]
            for rule_id, direction, owner, peer, description in rules:
                common: dict[str, Any] = {
                    "group_id": owner,
                    "ip_protocol": "tcp",
                    "from_port": port,
                    "to_port": port,
                    "description": f"{description} on {port}",
                }
                if direction == "ingress":
                    ec2.CfnSecurityGroupIngress(self, f"{rule_id}{port}", source_security_group_id=peer, **common)
                else:
                    ec2.CfnSecurityGroupEgress(self, f"{rule_id}{port}", destination_security_group_id=peer, **common)

    def _former_origin_secret(self) -> secretsmanager.Secret:
        """The secret the origin header's value lived in before the network stack's named one (same logical ID)."""
        config = self.config
        secret = secretsmanager.Secret(
            self,
            "OriginHeaderSecret",
            description=f"ticketing {config.name}: value of the header CloudFront sends to the ALB",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key=ORIGIN_SECRET_KEY,
                exclude_punctuation=True,
                password_length=ORIGIN_SECRET_LENGTH,
            ),
            replica_regions=[secretsmanager.ReplicaRegion(region=EDGE_REGION)]
            if config.region != EDGE_REGION
            else None,
            # A deleted secret's name is blocked for its recovery window; a generated name never collides.
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            secret.node.default_child or secret,
            "AwsSolutions-SMG4",
            "NIST.800.53.R5-SecretsManagerUsingKMSKey",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "PCI.DSS.321-SecretsManagerRotationEnabled",
            reason="The origin header value is changed by the two-step procedure in the README (the listener "
            "accepts the previous value meanwhile); a rotation Lambda would change it under a distribution that "
            "still sends the old value",
        )
        return secret

    def _origin_header_values(self) -> list[str]:
        """The header values the listener accepts: the named secret's current value; during a rotation its
        previous one, during the move to the named secret the former secret's current one.

        Dynamic references: CloudFormation resolves them when it deploys the rule; no template holds a value.
        """
        name = origin_header_secret_name(self.config.name)
        stages = ["AWSCURRENT"]
        if self.config.load_balancer.accept_previous_origin_header:
            stages.append("AWSPREVIOUS")
        secrets = [(name, stage) for stage in stages]
        if self.former_origin_secret is not None:
            secrets.append((self.former_origin_secret.secret_arn, "AWSCURRENT"))
        return [
            SecretValue.secrets_manager(secret, json_field=ORIGIN_SECRET_KEY, version_stage=stage).unsafe_unwrap()
            for secret, stage in secrets
        ]

    def _load_balancer(self, network: NetworkStack) -> OriginLoadBalancer:
        lb = self.config.load_balancer
        logs = lb.access_logs
        balancer = OriginLoadBalancer(
            self,
            "Ingress",
            vpc=network.vpc,
            certificate_arn=lb.certificate_arn,
            origin_prefix_list_id=lb.prefix_list_id(self.config.region),
            origin_header_values=self._origin_header_values(),
            access_log_lifecycle=LogLifecycle.of_days(
                logs.infrequent_access_after_days,
                logs.glacier_after_days,
                logs.expire_after_days,
            ),
            idle_timeout=Duration.seconds(lb.idle_timeout_seconds),
            deletion_protection=not self.config.is_disposable,
            log_bucket_removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            balancer.load_balancer,
            "NIST.800.53.R5-ALBWAFEnabled",
            "PCI.DSS.321-ALBWAFEnabled",
            reason="The WAF web ACL sits on the CloudFront distribution in front of this ALB; the ALB admits only "
            "CloudFront's origin-facing addresses carrying the secret origin header",
        )
        if self.config.is_disposable:
            acknowledge(
                balancer.load_balancer,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                reason="dev is torn down and deployed again on purpose; staging and prod keep deletion protection",
            )
        return balancer

    def _service(self, name: str, service: ServiceConfig, network: NetworkStack) -> FargateMicroservice:
        config = self.config
        compute = config.compute
        sizing = effective_sizing(config, name)
        scope = Construct(self, pascal_case(name))
        image_reference = config.images.get(name)
        running = image_reference is not None
        # By name, not by reference: the registry stack is deployed first, and no export ties the two.
        repository = ecr.Repository.from_repository_name(scope, "Repository", repository_name(config.name, name))
        pull_from: ecr.IRepository | None = repository
        image: ecs.ContainerImage
        if image_reference is not None and "/" in image_reference:
            image = ecs.ContainerImage.from_registry(image_reference)
            pull_from = _ecr_repository_of(scope, image_reference)
        else:
            image = ecs.ContainerImage.from_ecr_repository(repository, image_reference or NO_IMAGE_TAG)

        log_group = encrypted_log_group(
            scope,
            "Logs",
            retention=retention_from_days(compute.log_retention_days),
            encryption_key=self.key,
            removal_policy=RemovalPolicy.DESTROY if config.is_disposable else RemovalPolicy.RETAIN,
        )
        settings = data_tier_settings(scope, config, name)
        environment = {
            **settings.environment,
            **service.environment,
            "SERVICE_NAME": name,
            "ENVIRONMENT": config.name,
            "METRIC_NAMESPACE": service.namespace(name),
        }
        secrets = {
            variable: _service_secret(scope, config.name, name, variable, reference)
            for variable, reference in service.secrets.items()
        }
        microservice = FargateMicroservice(
            scope,
            "Fargate",
            cluster=self.cluster,
            service_name=name,
            container=ContainerSpec(
                image=image,
                repository=pull_from,
                cpu=sizing.cpu,
                memory_mib=sizing.memory_mib,
                port=service.port,
                architecture=_ARCHITECTURES[service.architecture],
                environment=environment,
                secrets=secrets,
                user=service.user,
                read_only_root_filesystem=service.read_only_root_filesystem,
            ),
            security_group=network.service_security_group,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            log_group=log_group,
            capacity=CapacityMix(spot_percent=compute.spot_percent, on_demand_base=compute.on_demand_base),
            scaling=TaskScaling(
                min_tasks=sizing.min_tasks,
                max_tasks=sizing.max_tasks,
                cpu_target_percent=compute.scaling.cpu_target_percent,
                memory_target_percent=compute.scaling.memory_target_percent,
                scale_in_cooldown=Duration.seconds(compute.scaling.scale_in_cooldown_seconds),
                scale_out_cooldown=Duration.seconds(compute.scaling.scale_out_cooldown_seconds),
            ),
            running=running,
            minimum_healthy_percent=compute.deployment.minimum_healthy_percent,
            maximum_percent=compute.deployment.maximum_percent,
            metric_namespace=service.namespace(name),
            schedules=night_schedules(compute.night_scaling, sizing),
            service_connect_namespace=self.cluster.default_cloud_map_namespace.namespace_arn
            if self.cluster.default_cloud_map_namespace
            else None,
            discovery_name=name,
            family=task_family(config.name, name),
        )
        settings.attach_data_access(scope, microservice.task_role)
        acknowledge(
            microservice.task_definition,
            "AwsSolutions-ECS2",
            reason="The variables are endpoints, names and pool sizes (no secret); secrets reach the container "
            "only as ECS secrets from Secrets Manager",
        )

        if service.paths:
            health = config.load_balancer.health_check
            target_group = elbv2.ApplicationTargetGroup(
                scope,
                "Targets",
                vpc=network.vpc,
                port=service.port,
                protocol=elbv2.ApplicationProtocol.HTTP,
                target_type=elbv2.TargetType.IP,
                deregistration_delay=Duration.seconds(config.load_balancer.deregistration_delay_seconds),
                health_check=elbv2.HealthCheck(
                    path=service.health_check_path or config.load_balancer.health_check_path,
                    interval=Duration.seconds(health.interval_seconds),
                    timeout=Duration.seconds(health.timeout_seconds),
                    healthy_threshold_count=health.healthy_threshold,
                    unhealthy_threshold_count=health.unhealthy_threshold,
                    healthy_http_codes="200",
                ),
            )
            rules = self.load_balancer.route(pascal_case(name), target_group=target_group, path_patterns=service.paths)
            microservice.attach_to(target_group, after=rules)
            ssm.StringParameter(
                scope,
                "TargetGroupNameParameter",
                parameter_name=target_group_parameter_name(self.config.name, name),
                string_value=target_group.target_group_full_name,
                description=f"ticketing {self.config.name}: {name}'s target group full name, the dimension of its "
                "health metrics (monitoring stack)",
            )
        return microservice


def _service_secret(scope: Construct, environment: str, service: str, variable: str, reference: str) -> SecretReference:
    """`name[:json-key]` below `ticketing/<env>/<service>/`: created by an operator before the first image runs."""
    key = reference.partition(":")[2]
    secret = secretsmanager.Secret.from_secret_name_v2(
        scope, f"Secret{variable}", service_secret_name(environment, service, reference)
    )
    return SecretReference(secret, key or None)


_ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<name>[^:@]+)")


def _ecr_repository_of(scope: Construct, reference: str) -> ecr.IRepository | None:
    """The private ECR repository an image reference points into (the execution role must pull from it)."""
    match = _ECR_IMAGE.match(reference)
    if match is None:
        return None  # a public registry: no credentials needed
    arn = f"arn:aws:ecr:{match['region']}:{match['account']}:repository/{match['name']}"
    return ecr.Repository.from_repository_arn(scope, "ImageRepository", arn)


def _cfn_secret(secret: secretsmanager.Secret) -> secretsmanager.CfnSecret:
    resource = secret.node.default_child
    assert isinstance(resource, secretsmanager.CfnSecret)
    return resource
