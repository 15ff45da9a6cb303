"""A three-tier VPC whose AWS-service traffic stays off the NAT gateways."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    ArnFormat,
    CfnResource,
    RemovalPolicy,
    Stack,
    aws_ec2 as ec2,
    aws_iam as iam,
    aws_logs as logs,
)
from constructs import Construct

from platform_constructs.acknowledgments import acknowledge
from platform_constructs.customer_managed_key import customer_managed_key
from platform_constructs.encrypted_log_group import encrypted_log_group
from platform_constructs.service_principals import from_own_source

#: The id aws-cdk-lib gives the stack's provider of the custom resource that empties the default security group.
DEFAULT_GROUP_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"

#: Interface endpoints that keep image pulls, logs and secrets off the NAT gateways.
DEFAULT_INTERFACE_ENDPOINTS: tuple[tuple[str, ec2.InterfaceVpcEndpointAwsService], ...] = (
    ("EcrApiEndpoint", ec2.InterfaceVpcEndpointAwsService.ECR),
    ("EcrDockerEndpoint", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
    ("CloudWatchLogsEndpoint", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS),
    ("SecretsManagerEndpoint", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER),
)


class PrivateNetwork(Construct):
    """VPC with public, private-with-egress and isolated subnets in every given AZ.

    - Availability zones are explicit, so synthesis never looks them up.
    - Public subnets hold only load balancers and NAT gateways; they do not hand out public IPs.
    - An S3 gateway endpoint and the interface endpoints in ``interface_endpoints`` are created in
      the private subnets (default: ECR API, ECR Docker, CloudWatch Logs, Secrets Manager).
    - All traffic is recorded by VPC flow logs into a KMS-encrypted log group.
    - The default security group is stripped of all rules, so nothing can rely on it.

    Exposes ``vpc``, ``flow_log_group``, ``log_key``, ``endpoint_security_group`` and
    ``default_group_function_logs``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zones: Sequence[str],
        nat_gateways: int,
        flow_log_retention: logs.RetentionDays,
        public_subnet_mask: int = 24,
        private_subnet_mask: int = 20,
        isolated_subnet_mask: int = 24,
        interface_endpoints: Sequence[tuple[str, ec2.InterfaceVpcEndpointAwsService]] = DEFAULT_INTERFACE_ENDPOINTS,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param cidr: IPv4 block of the VPC, e.g. ``10.30.0.0/16``.
        :param availability_zones: AZ names (at least two); one subnet of each tier per AZ.
        :param nat_gateways: 1 to ``len(availability_zones)``. Default behaviour of fewer NATs than
            AZs: private subnets in AZs without a NAT route through another AZ's NAT.
        :param flow_log_retention: how long flow logs are kept.
        :param public_subnet_mask: prefix length of each public subnet (default /24).
        :param private_subnet_mask: prefix length of each private subnet (default /20: room for tasks).
        :param isolated_subnet_mask: prefix length of each isolated subnet (default /24).
        :param interface_endpoints: (construct id, service) pairs; default: ECR, ECR Docker, Logs, Secrets.
        :param removal_policy: applied to the flow-log group and its key (default: RETAIN).
        """
        super().__init__(scope, construct_id)
        if len(availability_zones) < 2:
            raise ValueError(f"availability_zones: need at least 2 zones, got {list(availability_zones)}")
        if not 1 <= nat_gateways <= len(availability_zones):
            raise ValueError(
                f"nat_gateways: must be between 1 and {len(availability_zones)} (one per AZ), got {nat_gateways}"
            )

        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=list(availability_zones),
            nat_gateways=nat_gateways,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=public_subnet_mask,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=private_subnet_mask
                ),
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=isolated_subnet_mask
                ),
            ],
        )

        for subnet in [*self.vpc.public_subnets, *self.vpc.private_subnets, *self.vpc.isolated_subnets]:
            acknowledge(
                subnet.node.find_child("Subnet"),
                "CloudFormation-Validate::W3010",
                reason=(
                    "The zone is written literally on purpose: zones come from the caller (environment config) "
                    "so synthesis never looks them up in an AWS account, and a subnet's zone must never change."
                ),
            )
        for subnet in self.vpc.public_subnets:
            acknowledge(
                subnet.node.find_child("DefaultRoute"),
                "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW",
                "PCI.DSS.321-VPCNoUnrestrictedRouteToIGW",
                reason=(
                    "Public subnets hold only the internet-facing load balancer and the NAT gateways; "
                    "their 0.0.0.0/0 route to the internet gateway is what makes them work. Private and "
                    "isolated route tables have no internet-gateway route, and no public IPs are auto-assigned."
                ),
            )

        self.log_key = customer_managed_key(
            self, "FlowLogKey", description="Encrypts the VPC flow-log group", removal_policy=removal_policy
        )
        self.flow_log_group = encrypted_log_group(
            self,
            "FlowLogGroup",
            retention=flow_log_retention,
            encryption_key=self.log_key,
            removal_policy=removal_policy,
        )
        self.default_group_function_logs = self._log_default_group_function(flow_log_retention, removal_policy)
        # A customer-managed policy instead of the inline policy FlowLog would generate, so the
        # permissions are a versioned object auditors can review (NIST/PCI IAMNoInlinePolicy).
        self.flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            # VPC flow logs send the account and the flow log's ARN when they assume the role (Amazon VPC's
            # "IAM role for publishing flow logs"); the flow log's id is not known before it exists.
            assumed_by=from_own_source(
                self,
                "vpc-flow-logs.amazonaws.com",
                Stack.of(self).format_arn(
                    service="ec2", resource="vpc-flow-log", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
                ),
            ),
            description="Lets VPC flow logs write into the flow-log group",
        )
        self.flow_log_policy = iam.ManagedPolicy(
            self,
            "FlowLogWritePolicy",
            description="Write VPC flow-log records into one log group",
            roles=[self.flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self.flow_log_role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        # Otherwise the flow log may start delivering before its role is allowed to write.
        self.flow_log.node.add_dependency(self.flow_log_policy)

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            ],
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="HTTPS from inside the VPC to the interface endpoints",
            allow_all_outbound=False,
        )
        # The literal CIDR (not the VPC's CidrBlock attribute) so rule checks can read it.
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for endpoint_id, service in interface_endpoints:
            self.interface_endpoints[endpoint_id] = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[self.endpoint_security_group],
                open=False,
                private_dns_enabled=True,
            )

    def _log_default_group_function(
        self, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup | None:
        """A log group with retention for aws-cdk-lib's function that empties the default security group.

        Left alone, Lambda would create `/aws/lambda/<name>` on the function's first run, kept forever.
        The function is the stack's singleton provider; its role's AWSLambdaBasicExecutionRole covers
        writing here.
        """
        provider = Stack.of(self).node.try_find_child(DEFAULT_GROUP_PROVIDER)
        handler = provider.node.try_find_child("Handler") if provider is not None else None
        if not isinstance(handler, CfnResource):
            return None
        group = encrypted_log_group(
            self,
            "DefaultGroupFunctionLogs",
            retention=retention,
            encryption_key=self.log_key,
            removal_policy=removal_policy,
        )
        handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
        handler.node.add_dependency(group)
        return group
