"""What the network stack promises, asserted in every environment."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from config.edge import EDGE_REGION
from config.schema import ISOLATED_SUBNET_MASK, PRIVATE_SUBNET_MASK, PUBLIC_SUBNET_MASK
from platform_constructs.physical_names import Tier, origin_header_secret_name, stack_name
from stacks.network_stack import ORIGIN_SECRET_KEY
from tests.conftest import SynthesizedEnvironment

NETWORK = "Network"


def resources(env: SynthesizedEnvironment, resource_type: str) -> dict[str, Any]:
    return dict(env.template(NETWORK).find_resources(resource_type))


def test_vpc_uses_the_configured_cidr(env: SynthesizedEnvironment) -> None:
    env.template(NETWORK).has_resource_properties(
        "AWS::EC2::VPC",
        {"CidrBlock": env.config.network.vpc_cidr, "EnableDnsHostnames": True, "EnableDnsSupport": True},
    )


def test_three_subnet_tiers_in_every_configured_zone(env: SynthesizedEnvironment) -> None:
    subnets = resources(env, "AWS::EC2::Subnet").values()
    zones = env.config.availability_zones
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for subnet in subnets:
        tags = {t["Key"]: t["Value"] for t in subnet["Properties"]["Tags"]}
        by_tier.setdefault(tags["aws-cdk:subnet-name"], []).append(subnet["Properties"])
    assert sorted(by_tier) == ["Isolated", "Private", "Public"]
    for tier, mask in (
        ("Public", PUBLIC_SUBNET_MASK),
        ("Private", PRIVATE_SUBNET_MASK),
        ("Isolated", ISOLATED_SUBNET_MASK),
    ):
        assert sorted(s["AvailabilityZone"] for s in by_tier[tier]) == sorted(zones), tier
        assert {s["CidrBlock"].split("/")[1] for s in by_tier[tier]} == {str(mask)}, tier


def test_no_placeholder_or_looked_up_zones(env: SynthesizedEnvironment) -> None:
    text = "\n".join(path.read_text() for path in env.template_files())
    assert "dummy" not in text
    assert "Fn::GetAZs" not in text


def test_public_subnets_do_not_assign_public_ips(env: SynthesizedEnvironment) -> None:
    for subnet in resources(env, "AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is False


def test_nat_gateway_count_follows_config(env: SynthesizedEnvironment) -> None:
    env.template(NETWORK).resource_count_is("AWS::EC2::NatGateway", env.config.network.nat_gateways)
    env.template(NETWORK).resource_count_is("AWS::EC2::EIP", env.config.network.nat_gateways)


def test_nat_gateways_per_environment(platform: Any) -> None:
    assert platform("dev").config.network.nat_gateways == 1
    prod = platform("prod")
    assert prod.config.network.nat_gateways == len(prod.config.availability_zones) == 3
    prod.template(NETWORK).resource_count_is("AWS::EC2::NatGateway", 3)


def test_private_subnets_route_through_nat_and_isolated_have_no_default_route(env: SynthesizedEnvironment) -> None:
    routes = resources(env, "AWS::EC2::Route")
    nat_routes = [r for r in routes.values() if "NatGatewayId" in r["Properties"]]
    igw_routes = [r for r in routes.values() if "GatewayId" in r["Properties"]]
    zones = len(env.config.availability_zones)
    assert len(nat_routes) == zones  # one per private subnet
    assert len(igw_routes) == zones  # one per public subnet
    isolated_tables = [
        logical_id
        for logical_id, table in resources(env, "AWS::EC2::RouteTable").items()
        if "IsolatedSubnet" in logical_id
    ]
    assert len(isolated_tables) == zones
    for route in routes.values():
        assert route["Properties"]["RouteTableId"]["Ref"] not in isolated_tables


def test_s3_gateway_endpoint_serves_private_and_isolated_subnets(env: SynthesizedEnvironment) -> None:
    zones = len(env.config.availability_zones)
    env.template(NETWORK).has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Gateway",
            "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]},
            "RouteTableIds": Match.any_value(),
        },
    )
    gateway = next(
        e for e in resources(env, "AWS::EC2::VPCEndpoint").values() if e["Properties"]["VpcEndpointType"] == "Gateway"
    )
    assert len(gateway["Properties"]["RouteTableIds"]) == 2 * zones


def test_interface_endpoints_keep_images_logs_and_secrets_off_nat(env: SynthesizedEnvironment) -> None:
    region = env.config.region
    interface = [
        e["Properties"]
        for e in resources(env, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    services = sorted(e["ServiceName"] for e in interface)
    assert services == sorted(
        f"com.amazonaws.{region}.{name}" for name in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
    )
    for endpoint in interface:
        assert endpoint["PrivateDnsEnabled"] is True
        assert len(endpoint["SubnetIds"]) == len(env.config.availability_zones)


def test_endpoint_security_group_allows_only_https_from_the_vpc(env: SynthesizedEnvironment) -> None:
    env.template(NETWORK).has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "SecurityGroupIngress": [
                {"CidrIp": env.config.network.vpc_cidr, "FromPort": 443, "ToPort": 443, "IpProtocol": "tcp"}
            ],
            "SecurityGroupEgress": [Match.object_like({"CidrIp": "255.255.255.255/32"})],
        },
    )


def test_flow_logs_capture_all_traffic_into_an_encrypted_group(env: SynthesizedEnvironment) -> None:
    template = env.template(NETWORK)
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "RetentionInDays": env.config.network.flow_log_retention_days,
                "KmsKeyId": Match.any_value(),
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource(
        "AWS::KMS::Key",
        {"Properties": {"EnableKeyRotation": True}, "DeletionPolicy": "Retain"},
    )


def test_flow_log_retention_per_environment(platform: Any) -> None:
    expected = {"dev": 30, "staging": 90, "prod": 365}
    for name, days in expected.items():
        platform(name).template(NETWORK).has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": days})


def test_flow_log_role_has_a_managed_policy_scoped_to_its_log_group(env: SynthesizedEnvironment) -> None:
    template = env.template(NETWORK)
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [Match.string_like_regexp("FlowLogGroup"), "Arn"]},
                    }
                ]
            }
        },
    )


def test_default_security_group_is_emptied(env: SynthesizedEnvironment) -> None:
    env.template(NETWORK).resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_stack_targets_the_configured_account_and_region(env: SynthesizedEnvironment) -> None:
    stack = env.stack(NETWORK)
    assert stack.account == env.config.account
    assert stack.region == env.config.region
    assert stack.stack_name == stack_name(env.config.name, Tier.NETWORK)


def test_termination_protection_everywhere_but_dev(env: SynthesizedEnvironment) -> None:
    """Only dev is torn down on purpose; staging's data is worth a second step too."""
    assert env.stack(NETWORK).termination_protection is (env.config.name != "dev")


def test_flow_log_key_admits_the_regional_logs_service_for_this_account_only(env: SynthesizedEnvironment) -> None:
    """CloudWatch Logs refuses a key whose policy names only the global logs.amazonaws.com."""
    key = next(iter(resources(env, "AWS::KMS::Key").values()))
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    logs_statements = [s for s in statements if "logs" in str(s.get("Principal", {}).get("Service", ""))]
    assert len(logs_statements) == 1
    statement = logs_statements[0]
    assert statement["Principal"] == {"Service": f"logs.{env.config.region}.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": (f"arn:aws:logs:{env.config.region}:{env.config.account}:log-group:*")
        }
    }


def test_flow_log_waits_for_its_write_policy(env: SynthesizedEnvironment) -> None:
    flow_log = next(iter(resources(env, "AWS::EC2::FlowLog").values()))
    policy_id = next(iter(resources(env, "AWS::IAM::ManagedPolicy")))
    assert policy_id in flow_log["DependsOn"]


def test_the_origin_header_secret_lives_here_named_replicated_and_kept(env: SynthesizedEnvironment) -> None:
    """The secret outlives the services stack (it is not in it) and, outside dev, this stack too; the edge
    reads it by its fixed name from the us-east-1 replica."""
    ((logical_id, secret),) = resources(env, "AWS::SecretsManager::Secret").items()
    properties = secret["Properties"]
    assert properties["Name"] == origin_header_secret_name(env.config.name)
    assert properties["Name"] == f"ticketing/{env.config.name}/origin-header"
    assert properties["ReplicaRegions"] == [{"Region": EDGE_REGION}]
    assert properties["GenerateSecretString"]["GenerateStringKey"] == ORIGIN_SECRET_KEY
    assert "SecretString" not in properties  # generated by Secrets Manager: no template holds the value
    key_id, _ = properties["KmsKeyId"]["Fn::GetAtt"]  # a key of this stack, of its own, kept
    key = resources(env, "AWS::KMS::Key")[key_id]
    assert key["Properties"]["Description"] == f"ticketing {env.config.name}: the origin header secret"
    assert key["DeletionPolicy"] == "Retain"
    if env.config.is_disposable:
        # dev is torn down on purpose: a retained fixed name would block its next deploy
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Delete", "Delete")
    else:
        # kept when the stack is deleted or the secret replaced; not from a failed create, which a retry repeats
        assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert not logical_id.startswith("OriginHeaderSecret")  # not the services stack's former secret's ID
