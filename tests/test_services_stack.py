"""The services tier as committed: every number of the guide and of config, per environment.

The committed environments name no images yet (a fresh account), so every service is in bootstrap
mode here: `DesiredCount: 0` and no scaling. tests/test_running_services.py covers services with
images (scaling, schedules, secrets, several public services) on variants of these configs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from config.compute import effective_sizing
from config.schema import database_role
from platform_constructs.fargate_service import FARGATE, FARGATE_SPOT
from platform_constructs.origin_load_balancer import ORIGIN_HEADER_NAME
from platform_constructs.physical_names import (
    Tier,
    cluster_name,
    origin_header_secret_name,
    repository_name,
    stack_name,
    task_family,
)
from stacks.registry_stack import KEEP_IMAGES, UNTAGGED_IMAGE_DAYS
from tests.conftest import SynthesizedEnvironment


def resources(env: SynthesizedEnvironment, stack: str, kind: str) -> dict[str, dict[str, Any]]:
    template = env.template_json(stack)
    return {key: value for key, value in template["Resources"].items() if value["Type"] == kind}


def only(env: SynthesizedEnvironment, stack: str, kind: str) -> dict[str, Any]:
    found = list(resources(env, stack, kind).values())
    assert len(found) == 1, f"{kind}: expected one in {stack}, found {len(found)}"
    return found[0]


def services_by_name(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["ServiceName"]: r for r in resources(env, "Services", "AWS::ECS::Service").values()}


def task_definitions(env: SynthesizedEnvironment) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["Family"]: r for r in resources(env, "Services", "AWS::ECS::TaskDefinition").values()}


def test_one_fargate_service_per_configured_service(env: SynthesizedEnvironment) -> None:
    assert set(services_by_name(env)) == set(env.config.services)
    assert set(task_definitions(env)) == {task_family(env.config.name, name) for name in env.config.services}


def test_cluster_has_enhanced_container_insights_and_both_fargate_providers(env: SynthesizedEnvironment) -> None:
    cluster = only(env, "Services", "AWS::ECS::Cluster")["Properties"]
    assert cluster["ClusterName"] == cluster_name(env.config.name)
    assert {"Name": "containerInsights", "Value": "enhanced"} in cluster["ClusterSettings"]
    association = only(env, "Services", "AWS::ECS::ClusterCapacityProviderAssociations")["Properties"]
    assert set(association["CapacityProviders"]) == {FARGATE, FARGATE_SPOT}


def test_capacity_is_the_configured_spot_mix_with_the_on_demand_base(env: SynthesizedEnvironment) -> None:
    compute = env.config.compute
    for name, service in services_by_name(env).items():
        properties = service["Properties"]
        assert "LaunchType" not in properties, name
        strategy = {entry["CapacityProvider"]: entry for entry in properties["CapacityProviderStrategy"]}
        assert strategy[FARGATE_SPOT]["Weight"] == compute.spot_percent == 80  # the guide's 80/20
        assert strategy[FARGATE]["Weight"] == 100 - compute.spot_percent
        assert strategy[FARGATE].get("Base", 0) == compute.on_demand_base
        assert "Base" not in strategy[FARGATE_SPOT]
    if env.config.is_production:
        assert compute.on_demand_base >= 1


def test_every_service_waits_for_the_capacity_provider_association(env: SynthesizedEnvironment) -> None:
    (association_id,) = resources(env, "Services", "AWS::ECS::ClusterCapacityProviderAssociations")
    for name, service in services_by_name(env).items():
        assert association_id in service.get("DependsOn", []), name


def test_services_without_an_image_start_with_zero_tasks_and_no_scaling(env: SynthesizedEnvironment) -> None:
    assert env.config.images == {}, "the committed environments are a fresh account: no image yet"
    for name, service in services_by_name(env).items():
        assert service["Properties"]["DesiredCount"] == 0, name
    assert resources(env, "Services", "AWS::ApplicationAutoScaling::ScalableTarget") == {}


def test_deployments_roll_back_on_failure_and_prod_keeps_every_task(env: SynthesizedEnvironment) -> None:
    deployment = env.config.compute.deployment
    for name, service in services_by_name(env).items():
        config = service["Properties"]["DeploymentConfiguration"]
        assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}, name
        assert config["MinimumHealthyPercent"] == deployment.minimum_healthy_percent
        assert config["MaximumPercent"] == deployment.maximum_percent
        if env.config.is_production:
            assert config["MinimumHealthyPercent"] == 100


def test_tasks_run_arm64_on_platform_1_4_in_private_subnets(env: SynthesizedEnvironment) -> None:
    for name, service in services_by_name(env).items():
        properties = service["Properties"]
        assert properties["PlatformVersion"] == "1.4.0"  # Spot runs ARM64 from 1.4.0 on
        network = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network["AssignPublicIp"] == "DISABLED"
        assert "PrivateSubnet" in json.dumps(network["Subnets"]), name
        assert "ServiceSecurityGroup" in json.dumps(network["SecurityGroups"]), name
    for family, task in task_definitions(env).items():
        platform = task["Properties"]["RuntimePlatform"]
        assert platform == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}, family


def test_task_sizes_ports_and_container_hardening_follow_config(env: SynthesizedEnvironment) -> None:
    for name, service in env.config.services.items():
        task = task_definitions(env)[task_family(env.config.name, name)]["Properties"]
        sizing = effective_sizing(env.config, name)
        assert (task["Cpu"], task["Memory"]) == (str(sizing.cpu), str(sizing.memory_mib))
        (container,) = task["ContainerDefinitions"]
        assert container["PortMappings"] == [
            {"ContainerPort": service.port, "Name": "http", "AppProtocol": "http", "Protocol": "tcp"}
        ]
        assert container["User"] == service.user
        assert not container["User"].startswith("0")
        assert container["ReadonlyRootFilesystem"] is True
        assert {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "scratch"} in container["MountPoints"]
        logging = container["LogConfiguration"]
        assert logging["LogDriver"] == "awslogs"
        assert logging["Options"]["mode"] == "non-blocking"


def test_api_gateway_is_inventory_calls_by_name_as_in_the_guide(env: SynthesizedEnvironment) -> None:
    """`http://inventory:8001`: Service Connect gives every service its name and port as a client alias."""
    for name, service in services_by_name(env).items():
        connect = service["Properties"]["ServiceConnectConfiguration"]
        assert connect["Enabled"] is True
        (alias,) = connect["Services"][0]["ClientAliases"]
        assert alias == {"DnsName": name, "Port": env.config.services[name].port}
    inventory = services_by_name(env)["inventory"]["Properties"]["ServiceConnectConfiguration"]
    assert inventory["Services"][0]["ClientAliases"] == [{"DnsName": "inventory", "Port": 8001}]
    namespace = only(env, "Services", "AWS::ServiceDiscovery::HttpNamespace")["Properties"]
    assert namespace["Name"] == f"{env.config.name}.ticketing.internal"


def test_containers_get_the_data_tier_contract_and_no_secret_values(env: SynthesizedEnvironment) -> None:
    for name, service in env.config.services.items():
        task = task_definitions(env)[task_family(env.config.name, name)]["Properties"]
        (container,) = task["ContainerDefinitions"]
        variables = {v["Name"]: v["Value"] for v in container["Environment"]}
        assert variables["SERVICE_NAME"] == name
        assert variables["METRIC_NAMESPACE"] == service.namespace(name)
        assert variables["DATABASE_AUTH"] == "iam"
        assert variables["DB_POOL_SIZE"] == str(env.config.database.pool.pool_size)
        if service.database:
            assert variables["DATABASE_NAME"] == service.database
            assert variables["DATABASE_USER"] == database_role(name)
        else:
            assert "DATABASE_NAME" not in variables
        for variable, value in variables.items():
            assert not re.search(r"PASSWORD|SECRET|TOKEN", variable), f"{name}: {variable} looks like a secret"
            assert "resolve:secretsmanager" not in json.dumps(value), f"{name}: {variable}"


def test_task_roles_publish_only_their_own_namespace_and_log_in_only_as_themselves(
    env: SynthesizedEnvironment,
) -> None:
    policies = resources(env, "Services", "AWS::IAM::ManagedPolicy")
    assert resources(env, "Services", "AWS::IAM::Policy") == {}, "no inline policies"
    for name, service in env.config.services.items():
        camel = "".join(part.capitalize() for part in name.split("-"))
        (task_policy,) = [p for key, p in policies.items() if key.startswith(f"{camel}FargateTaskPolicy")]
        (statement,) = task_policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "cloudwatch:PutMetricData"
        assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": service.namespace(name)}}
        roles = resources(env, "Services", "AWS::IAM::Role")
        (task_role,) = [r for key, r in roles.items() if key.startswith(f"{camel}FargateTaskRole")]
        attached = json.dumps(task_role["Properties"].get("ManagedPolicyArns", []))
        # the data stack's policy for exactly this service, found through SSM
        if service.database or service.cache_key_prefixes:
            assert f"services{name.replace('-', '')}dataaccesspolicyarn" in attached.lower(), name
        else:
            assert "dataaccess" not in attached.lower(), name


def test_execution_roles_pull_only_their_own_repository(env: SynthesizedEnvironment) -> None:
    policies = resources(env, "Services", "AWS::IAM::ManagedPolicy")
    for name in env.config.services:
        camel = "".join(part.capitalize() for part in name.split("-"))
        (policy,) = [p for key, p in policies.items() if key.startswith(f"{camel}FargateExecutionPolicy")]
        text = json.dumps(policy["Properties"]["PolicyDocument"])
        assert f"repository/{repository_name(env.config.name, name)}" in text, name
        for other in set(env.config.services) - {name}:
            assert f'repository/{repository_name(env.config.name, other)}"' not in text


def test_log_groups_are_encrypted_and_kept_per_environment(env: SynthesizedEnvironment) -> None:
    groups = resources(env, "Services", "AWS::Logs::LogGroup")
    assert len(groups) == len(env.config.services)
    for key, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == env.config.compute.log_retention_days, key
        assert "KmsKeyId" in group["Properties"], key
        assert group["DeletionPolicy"] == ("Delete" if env.config.is_disposable else "Retain"), key


def test_ecr_repositories_scan_keep_tags_immutable_and_expire_old_images(env: SynthesizedEnvironment) -> None:
    repositories = {
        r["Properties"]["RepositoryName"]: r for r in resources(env, "Registry", "AWS::ECR::Repository").values()
    }
    assert set(repositories) == {repository_name(env.config.name, name) for name in env.config.services}
    for name, repository in repositories.items():
        properties = repository["Properties"]
        assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}, name
        assert properties["ImageTagMutability"] == "IMMUTABLE", name
        rules = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": UNTAGGED_IMAGE_DAYS,
                "countUnit": "days"} in [r["selection"] for r in rules]  # fmt: skip
        assert {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES} in [
            r["selection"] for r in rules
        ]
        assert repository["DeletionPolicy"] == ("Delete" if env.config.is_disposable else "RetainExceptOnCreate")


# --- the load balancer ---------------------------------------------------------------------------


def test_alb_is_public_hardened_and_logs_its_access(env: SynthesizedEnvironment) -> None:
    balancer = only(env, "Services", "AWS::ElasticLoadBalancingV2::LoadBalancer")["Properties"]
    assert balancer["Scheme"] == "internet-facing"
    assert "PublicSubnet" in json.dumps(balancer["Subnets"])
    attributes = {a["Key"]: a["Value"] for a in balancer["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "strictest"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["idle_timeout.timeout_seconds"] == str(env.config.load_balancer.idle_timeout_seconds)
    assert attributes["deletion_protection.enabled"] == ("false" if env.config.is_disposable else "true")


def test_alb_admits_only_cloudfront_on_443_and_reaches_only_the_services(env: SynthesizedEnvironment) -> None:
    (group_id,) = resources(env, "Services", "AWS::EC2::SecurityGroup")
    prefix_list = env.config.load_balancer.prefix_list_id(env.config.region)
    ingress = [
        r["Properties"]
        for r in resources(env, "Services", "AWS::EC2::SecurityGroupIngress").values()
        if group_id in json.dumps(r["Properties"]["GroupId"])
    ]
    assert ingress == [
        {
            "Description": "CloudFront origin-facing",
            "FromPort": 443,
            "GroupId": {"Fn::GetAtt": [group_id, "GroupId"]},
            "IpProtocol": "tcp",
            "SourcePrefixListId": prefix_list,
            "ToPort": 443,
        }
    ]
    assert prefix_list == {"ap-northeast-2": "pl-22a6434b"}[env.config.region]
    assert "0.0.0.0/0" not in json.dumps(env.template_json("Services"))
    egress = [
        e["Properties"]
        for key, e in resources(env, "Services", "AWS::EC2::SecurityGroupEgress").items()
        if key.startswith("LoadBalancerToTasks")
    ]
    # only the ports of the services it routes to (api-gateway's), not every container port
    assert sorted(e["FromPort"] for e in egress) == sorted({s.port for s in env.config.services.values() if s.paths})
    assert all("ServiceSecurityGroup" in json.dumps(e["DestinationSecurityGroupId"]) for e in egress)


def test_tasks_admit_only_the_alb_and_each_other_on_container_ports(env: SynthesizedEnvironment) -> None:
    ports = {s.port for s in env.config.services.values()}
    public = {s.port for s in env.config.services.values() if s.paths}
    ingress = [
        r["Properties"]
        for r in resources(env, "Services", "AWS::EC2::SecurityGroupIngress").values()
        if "ServiceSecurityGroup" in json.dumps(r["Properties"]["GroupId"])
    ]
    assert {(r["FromPort"], r["ToPort"]) for r in ingress} == {(p, p) for p in ports}
    from_services = [r for r in ingress if "ServiceSecurityGroup" in json.dumps(r["SourceSecurityGroupId"])]
    from_alb = [r for r in ingress if r not in from_services]
    assert {r["FromPort"] for r in from_services} == ports
    assert {r["FromPort"] for r in from_alb} == public == {8000}
    network = env.template_json("Network")["Resources"]
    (tasks,) = [r for key, r in network.items() if key.startswith("ServiceSecurityGroup") and
                r["Type"] == "AWS::EC2::SecurityGroup"]  # fmt: skip
    assert "SecurityGroupIngress" not in tasks["Properties"]
    assert tasks["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS: AWS APIs, image pulls, external services", "FromPort": 443,
         "IpProtocol": "tcp", "ToPort": 443}
    ]  # fmt: skip


def test_the_data_tier_opens_its_ports_to_the_tasks_in_both_directions(env: SynthesizedEnvironment) -> None:
    data = env.template_json("Data")["Resources"]
    egress = [r["Properties"] for r in data.values() if r["Type"] == "AWS::EC2::SecurityGroupEgress"]
    from_tasks = [e for e in egress if "ServiceSecurityGroup" in json.dumps(e["GroupId"])]
    assert {(e["FromPort"], e["ToPort"]) for e in from_tasks} == {(5432, 5432), (6379, 6379)}


def test_https_listener_answers_403_without_the_origin_header(env: SynthesizedEnvironment) -> None:
    listener = only(env, "Services", "AWS::ElasticLoadBalancingV2::Listener")["Properties"]
    assert listener["Port"] == 443
    assert listener["Protocol"] == "HTTPS"
    assert listener["Certificates"] == [{"CertificateArn": env.config.load_balancer.certificate_arn}]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    assert listener["DefaultActions"] == [
        {
            "FixedResponseConfig": {"ContentType": "text/plain", "MessageBody": "Forbidden", "StatusCode": "403"},
            "Type": "fixed-response",
        }
    ]


def test_routes_need_the_secret_header_whose_value_no_template_holds(env: SynthesizedEnvironment) -> None:
    rules = resources(env, "Services", "AWS::ElasticLoadBalancingV2::ListenerRule")
    public = {name: s for name, s in env.config.services.items() if s.paths}
    assert len(rules) == len(public) == 1  # api-gateway: /api/*
    (rule,) = rules.values()
    conditions = {c["Field"]: c for c in rule["Properties"]["Conditions"]}
    header = conditions["http-header"]["HttpHeaderConfig"]
    assert header["HttpHeaderName"] == ORIGIN_HEADER_NAME
    assert conditions["path-pattern"]["PathPatternConfig"]["Values"] == ["/api/*"]
    # the network stack's secret, by name, current version
    name = origin_header_secret_name(env.config.name)
    current, *former = header["Values"]
    assert current == f"{{{{resolve:secretsmanager:{name}:SecretString:value:AWSCURRENT:}}}}"
    secrets = resources(env, "Services", "AWS::SecretsManager::Secret")
    if not env.config.load_balancer.keep_former_origin_secret:
        assert former == []
        assert secrets == {}
        return
    # during the move: the former secret of this stack (its logical ID unchanged), current version, accepted too
    (former_id,) = secrets
    assert former_id.startswith("OriginHeaderSecret")
    assert former == [
        {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": former_id}, ":SecretString:value:AWSCURRENT:}}"]]}
    ]
    secret = secrets[former_id]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "value"
    assert "SecretString" not in secret
    assert secret["ReplicaRegions"] == [{"Region": "us-east-1"}]  # the edge's former template reads it there
    assert "OriginSecretEdgeArn" in env.template_json("Services")["Outputs"]


def test_target_group_checks_health_every_30_s_and_drains_for_60_s(env: SynthesizedEnvironment) -> None:
    group = only(env, "Services", "AWS::ElasticLoadBalancingV2::TargetGroup")["Properties"]
    health = env.config.load_balancer.health_check
    assert group["HealthCheckIntervalSeconds"] == health.interval_seconds == 30
    assert group["HealthCheckTimeoutSeconds"] == health.timeout_seconds
    assert group["HealthyThresholdCount"] == health.healthy_threshold
    assert group["UnhealthyThresholdCount"] == health.unhealthy_threshold
    assert group["HealthCheckPath"] == "/health"
    assert group["Matcher"] == {"HttpCode": "200"}
    assert group["TargetType"] == "ip"
    assert group["Port"] == env.config.services["api-gateway"].port
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "60"
    gateway = services_by_name(env)["api-gateway"]["Properties"]
    assert gateway["HealthCheckGracePeriodSeconds"] == 60
    (registration,) = gateway["LoadBalancers"]
    assert registration["ContainerName"] == "app"
    assert registration["ContainerPort"] == env.config.services["api-gateway"].port


def test_access_logs_follow_the_guides_lifecycle(env: SynthesizedEnvironment) -> None:
    bucket = only(env, "Services", "AWS::S3::Bucket")["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Id"] == "ArchiveOldLogs"
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER", "TransitionInDays": 90},
    ]
    assert rule["ExpirationInDays"] == 365
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True
    }  # fmt: skip


def test_origin_host_name_is_an_alias_of_the_alb_in_the_configured_zone(env: SynthesizedEnvironment) -> None:
    record = only(env, "Services", "AWS::Route53::RecordSet")["Properties"]
    assert record["Name"] == env.config.load_balancer.origin_domain_name + "."
    assert record["HostedZoneId"] == env.config.load_balancer.hosted_zone_id
    assert record["Type"] == "A"
    assert "AliasTarget" in record


@pytest.mark.parametrize("stack", ["Registry", "Services"])
def test_services_tier_stacks_are_part_of_every_stage(env: SynthesizedEnvironment, stack: str) -> None:
    assert env.stack(stack).stack_name == stack_name(env.config.name, Tier(stack.lower()))
    dependencies = {d.node.id for d in env.stack("Services").dependencies}
    assert {"Network", "Data", "Registry"} <= dependencies
