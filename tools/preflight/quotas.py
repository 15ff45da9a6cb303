"""Quotas against what the templates ask for, per account and region.

The applied value comes from the service's own API where it has one (Lambda's account settings,
EC2's account attributes, RDS's account quotas, Elastic Load Balancing's account limits), otherwise
from Service Quotas' GetServiceQuota, which returns the applied value (never
ListAWSDefaultServiceQuotas: a default of 1,000 says nothing of an account whose applied Lambda
quota is 10). Usage is read from the service; what the environments' own deployed stacks hold is
identified by their physical resources and counts once (`headroom`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from tools.preflight import demand
from tools.preflight.aws import ClientFactory, DeployedStacks, error_code
from tools.preflight.deployment import Deployment
from tools.preflight.headroom import Headroom, amount
from tools.preflight.report import Check, failed, manual, passed

#: Lambda keeps this many concurrent executions unreserved in every account and region.
LAMBDA_UNRESERVED_MINIMUM = 100
#: CloudWatch Logs resource policies per account and region; not adjustable.
LOG_RESOURCE_POLICIES = 10
EDGE_REGION = "us-east-1"
QUOTAS_CONSOLE = "https://console.aws.amazon.com/servicequotas/home/services/{service}/quotas/{code}?region={region}"
QUOTAS_DOCS = "https://docs.aws.amazon.com/servicequotas/latest/userguide/request-quota-increase.html"


@dataclass(frozen=True)
class ServiceQuota:
    """A quota of Service Quotas: its code, AWS's name for it, words that name holds (to find it by name
    when the code is unknown or Service Quotas does not know it), and the AWS page that documents it."""

    service: str
    code: str | None
    name_words: tuple[str, ...]
    name: str = ""
    docs: str = QUOTAS_DOCS

    def link(self, region: str) -> str:
        if self.code is None:
            return f"https://console.aws.amazon.com/servicequotas/home/services/{self.service}/quotas?region={region}"
        return QUOTAS_CONSOLE.format(service=self.service, code=self.code, region=region)

    def title(self) -> str:
        return f"{self.service} {self.code or 'quota'} ({self.name or ' '.join(self.name_words)})"


# Every Service Quotas code this tool uses, with AWS's name for the quota, whether AWS lets it be raised,
# how the check reads it, and where the code and name were checked. "Link only": the applied value comes
# from the service's own API and the code only builds the console link of the remedy.
#
#   lambda               L-B99A9384  "Concurrent executions"; adjustable; link only (lambda:GetAccountSettings).
#                        Lambda quotas page (default 1,000, can be increased); code as public quota tools use it.
#   ec2                  L-0263D0A3  "EC2-VPC Elastic IPs"; adjustable; link only (ec2 vpc-max-elastic-ips).
#                        tedilabs/terraform-aws-account modules/service-quota-requests ("ec2/eips-per-region").
#   rds                  L-7B6409FD  "DB instances"; adjustable; link only (rds:DescribeAccountAttributes).
#                        RDS quotas page (default 40); code and name in public Service Quotas catalogues.
#   elasticache          L-DFE45DF3  "Nodes per Region"; adjustable; GetServiceQuota.
#                        awsdocs/amazon-elasticache-docs quota-limits.md (name, default 300); code and
#                        "adjustable" in public Service Quotas tables and quota collectors.
#   fargate              L-3032A538  "Fargate On-Demand vCPU resource count"; adjustable; GetServiceQuota.
#   fargate              L-36FBB829  "Fargate Spot vCPU resource count"; adjustable; GetServiceQuota.
#                        ECS developer guide, service-quotas.html#service-quotas-fargate (names); codes and
#                        "Adjustable: True" in public ListServiceQuotas dumps.
#   vpc                  L-F678F1CE  "VPCs per Region"; adjustable; GetServiceQuota.
#                        The Terraform AWS provider's aws_servicequotas_service_quota example raises it.
#   elasticloadbalancing L-53DA6B97  "Application Load Balancers per Region"; adjustable (default 50);
#                        L-B22855CB  "Target Groups per Region"; adjustable (default 3,000); both link only
#                        (elbv2:DescribeAccountLimits). ALB quotas page; codes in public Service Quotas catalogues.
#   cloudfront           L-24B04930  "Distributions per AWS account" (formerly "Web distributions per AWS
#                        account"); adjustable (default 500); GetServiceQuota in us-east-1 (a global quota).
#                        CloudFront quotas page; code in public quota collectors.
#   wafv2                (no code)   web ACLs of CloudFront scope; adjustable (WAF quotas page: 100 web ACLs per
#                        account and Region, raised through Service Quotas service "wafv2"); ListServiceQuotas by
#                        name in us-east-1. No public source gives this code (the regional quota is L-2EC3DE7B,
#                        "Maximum web ACLs per account in WAF for regional"), so it is found by name.
#
# A code Service Quotas does not know (NoSuchResourceException) falls back to the name; when neither finds an
# applied value the check is a `manual` line naming the quota, what the templates ask for, and both links.
LAMBDA_CONCURRENCY = ServiceQuota(
    "lambda",
    "L-B99A9384",
    ("concurrent", "executions"),
    "Concurrent executions",
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)
ELASTIC_IPS = ServiceQuota(
    "ec2",
    "L-0263D0A3",
    ("elastic", "ip"),
    "EC2-VPC Elastic IPs",
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html",
)
RDS_INSTANCES = ServiceQuota(
    "rds",
    "L-7B6409FD",
    ("db", "instances"),
    "DB instances",
    "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html",
)  # read from RDS itself; the link only
CACHE_NODES = ServiceQuota(
    "elasticache",
    "L-DFE45DF3",
    ("nodes", "region"),
    "Nodes per Region",
    "https://docs.aws.amazon.com/general/latest/gr/elasticache-service.html",
)
FARGATE_ON_DEMAND = ServiceQuota(
    "fargate",
    "L-3032A538",
    ("on-demand", "vcpu"),
    "Fargate On-Demand vCPU resource count",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html#service-quotas-fargate",
)
FARGATE_SPOT = ServiceQuota(
    "fargate",
    "L-36FBB829",
    ("spot", "vcpu"),
    "Fargate Spot vCPU resource count",
    "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html#service-quotas-fargate",
)
VPCS = ServiceQuota(
    "vpc",
    "L-F678F1CE",
    ("vpcs", "region"),
    "VPCs per Region",
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html",
)
LOAD_BALANCERS = ServiceQuota(
    "elasticloadbalancing",
    "L-53DA6B97",
    ("application load balancers", "region"),
    "Application Load Balancers per Region",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html",
)
TARGET_GROUPS = ServiceQuota(
    "elasticloadbalancing",
    "L-B22855CB",
    ("target groups", "region"),
    "Target Groups per Region",
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html",
)
CLOUDFRONT_WEB_ACLS = ServiceQuota(
    "wafv2",
    None,
    ("web acls", "cloudfront"),
    "web ACLs per account, CloudFront scope",
    "https://docs.aws.amazon.com/waf/latest/developerguide/limits.html",
)
DISTRIBUTIONS = ServiceQuota(
    "cloudfront",
    "L-24B04930",
    ("distributions per", "account"),
    "Distributions per AWS account",
    "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html",
)


class QuotaUnreadableError(Exception):
    """The applied value could not be found; the message says which quota and `remedy` where to read it."""

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.remedy = remedy


def applied_quota(clients: ClientFactory, region: str, quota: ServiceQuota, wanted: str = "") -> float:
    """The applied value from Service Quotas: GetServiceQuota by code, else ListServiceQuotas by name.
    `wanted` (what the templates ask for) goes into the manual line when neither finds it."""
    client = clients("service-quotas", region)
    if quota.code is not None:
        try:
            return float(client.get_service_quota(ServiceCode=quota.service, QuotaCode=quota.code)["Quota"]["Value"])
        except ClientError as error:
            if error_code(error) != "NoSuchResourceException":
                raise
    try:
        for page in client.get_paginator("list_service_quotas").paginate(ServiceCode=quota.service):
            for found in page["Quotas"]:
                name = str(found.get("QuotaName", "")).lower()
                if all(word in name for word in quota.name_words):
                    return float(found["Value"])
    except ClientError as error:
        if error_code(error) != "NoSuchResourceException":
            raise
    tried = f"GetServiceQuota by code {quota.code}, then " if quota.code else ""
    raise QuotaUnreadableError(
        f"Service Quotas has no applied value of {quota.title()} ({tried}ListServiceQuotas for a name with "
        f"{' and '.join(repr(word) for word in quota.name_words)})"
        + (f"; the templates ask for {wanted}" if wanted else ""),
        f"read the applied value in the console ({quota.link(region)}) and compare"
        + (f" it with {wanted}" if wanted else "")
        + f"; AWS documents the quota and its default at {quota.docs}",
    )


class QuotaChecks:
    """Every quota check of one deployment; `run()` yields one Check per quota and region that has demand."""

    def __init__(self, deployment: Deployment, clients: ClientFactory, deployed: DeployedStacks) -> None:
        self.deployment = deployment
        self.clients = clients
        self.deployed = deployed
        self._tasks: dict[str, dict[str, tuple[float, float]]] = {}

    def run(self) -> list[Check]:
        sharing = self.sharing()
        checks: list[Check] = [sharing] if sharing is not None else []
        per_region: list[Callable[[str], Check | None]] = [
            self.lambda_concurrency,
            self.elastic_ips,
            self.rds_instances,
            self.cache_nodes,
            self.fargate_on_demand,
            self.fargate_spot,
            self.vpcs,
            self.load_balancers,
            self.target_groups,
            self.cloudfront_web_acls,
            self.distributions,
            self.log_resource_policies,
        ]
        for region in self.deployment.regions:
            for check in per_region:
                result = self._guarded(check, region)
                if result is not None:
                    checks.append(result)
        return checks

    def sharing(self) -> Check | None:
        """A failure when an environment of the same account is missing from the assembly: its demand
        would not be added, and the sum is what the account must hold."""
        if not self.deployment.missing_sharers:
            return None
        names = ", ".join(self.deployment.missing_sharers)
        return failed(
            "quotas: environments sharing the account",
            self.deployment.account,
            f"{names} deploy(s) into this account too but the assembly lacks them, so their demand cannot be added",
            f"synthesise them with this one (make preflight ENV={self.deployment.config.name} does)",
        )

    # --- one method per quota ------------------------------------------------------------------

    def lambda_concurrency(self, region: str) -> Check | None:
        stacks = self.deployment.stacks_in(region)
        if not any(True for _ in demand.resources(stacks, demand.LAMBDA_FUNCTION)):
            return None
        requested = demand.reserved_concurrency(stacks)
        limits = self.clients("lambda", region).get_account_settings()["AccountLimit"]
        total, unreserved = int(limits["ConcurrentExecutions"]), int(limits["UnreservedConcurrentExecutions"])
        client = self.clients("lambda", region)
        own = sum(
            int(client.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions", 0))
            for name in self._own(region, demand.LAMBDA_FUNCTION)
        )
        kept = min(LAMBDA_UNRESERVED_MINIMUM, total)  # an account of 10 or 50 keeps all of it: nothing to reserve
        headroom = Headroom(
            limit=total - kept, in_use=total - unreserved, own=min(own, total - unreserved), requested=requested.total
        )
        needed = headroom.in_use + headroom.increase + LAMBDA_UNRESERVED_MINIMUM
        figures = (
            f"the functions reserve {amount(requested.total)} ({amount(headroom.own)} reserved now); the account "
            f"allows {total} concurrent executions, {unreserved} unreserved, and Lambda keeps "
            f"{LAMBDA_UNRESERVED_MINIMUM} unreserved"
        )
        return self._verdict(
            "quota: Lambda reserved concurrency",
            region,
            headroom,
            figures,
            requested.unreadable,
            f"request a concurrency quota of at least {amount(needed)} ({LAMBDA_CONCURRENCY.link(region)}), "
            "or reserve less",
            short=f"short by {amount(needed - total)}",
            usage=f"{amount(headroom.in_use)} reserved of the {amount(headroom.limit)} that may be",
        )

    def elastic_ips(self, region: str) -> Check | None:
        stacks = self.deployment.stacks_in(region)
        requested = demand.count(stacks, "AWS::EC2::EIP")
        if not requested.total:
            return None
        ec2 = self.clients("ec2", region)
        attributes = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
        limit = float(attributes[0]["AttributeValues"][0]["AttributeValue"])
        addresses = ec2.describe_addresses()["Addresses"]
        own_ids = set(self._own(region, "AWS::EC2::EIP"))
        own = sum(1 for a in addresses if {a.get("AllocationId"), a.get("PublicIp")} & own_ids)
        nat = demand.count(stacks, "AWS::EC2::NatGateway").total
        return self._verdict(
            "quota: Elastic IPs",
            region,
            Headroom(limit, len(addresses), own, requested.total),
            f"{amount(requested.total)} addresses for {amount(nat)} NAT gateway(s)",
            [],
            f"request more Elastic IPs ({ELASTIC_IPS.link(region)}) or release unused ones",
        )

    def rds_instances(self, region: str) -> Check | None:
        stacks = self.deployment.stacks_in(region)
        instances_in_templates = demand.count(stacks, demand.DB_INSTANCE)
        if not instances_in_templates.total:
            return None
        drills = demand.restore_drills(stacks).total
        requested = instances_in_templates.total + drills
        quotas = self.clients("rds", region).describe_account_attributes()["AccountQuotas"]
        instances = next((q for q in quotas if q["AccountQuotaName"] == "DBInstances"), None)
        if instances is None:
            raise QuotaUnreadableError(
                "RDS's DescribeAccountAttributes names no DBInstances quota",
                f"read it in the Service Quotas console ({RDS_INSTANCES.link(region)})",
            )
        own = len(self._own(region, demand.DB_INSTANCE))
        used = float(instances["Used"])
        return self._verdict(
            "quota: RDS DB instances",
            region,
            Headroom(float(instances["Max"]), used, min(own, used), requested),
            f"{amount(requested)} instances ({amount(instances_in_templates.total)} primary and replicas, "
            f"{amount(drills)} for the restore drill's temporary instance)",
            [],
            f"request more DB instances ({RDS_INSTANCES.link(region)})",
        )

    def cache_nodes(self, region: str) -> Check | None:
        stacks = self.deployment.stacks_in(region)
        requested = demand.cache_nodes(stacks)
        if not requested.total and not requested.unreadable:
            return None
        limit = applied_quota(self.clients, region, CACHE_NODES, f"{amount(requested.total)} nodes")
        client = self.clients("elasticache", region)
        in_use = sum(
            int(cluster.get("NumCacheNodes", 1))
            for page in client.get_paginator("describe_cache_clusters").paginate()
            for cluster in page["CacheClusters"]
        )
        own = 0
        for group in self._own(region, "AWS::ElastiCache::ReplicationGroup"):
            described = client.describe_replication_groups(ReplicationGroupId=group)["ReplicationGroups"]
            own += sum(len(g.get("MemberClusters", [])) for g in described)
        return self._verdict(
            "quota: ElastiCache nodes",
            region,
            Headroom(limit, in_use, min(own, in_use), requested.total),
            f"{amount(requested.total)} nodes",
            requested.unreadable,
            f"request more ElastiCache nodes ({CACHE_NODES.link(region)})",
        )

    def fargate_on_demand(self, region: str) -> Check | None:
        return self._fargate(region, demand.FARGATE, FARGATE_ON_DEMAND, "On-Demand")

    def fargate_spot(self, region: str) -> Check | None:
        return self._fargate(region, demand.FARGATE_SPOT, FARGATE_SPOT, "Spot")

    def vpcs(self, region: str) -> Check | None:
        requested = demand.count(self.deployment.stacks_in(region), "AWS::EC2::VPC")
        if not requested.total:
            return None
        limit = applied_quota(self.clients, region, VPCS, f"{amount(requested.total)} VPC(s)")
        ids = [v["VpcId"] for page in self._pages("ec2", region, "describe_vpcs") for v in page["Vpcs"]]
        own = len(set(ids) & set(self._own(region, "AWS::EC2::VPC")))
        return self._verdict(
            "quota: VPCs",
            region,
            Headroom(limit, len(ids), own, requested.total),
            f"{amount(requested.total)} VPC(s)",
            [],
            f"request more VPCs ({VPCS.link(region)})",
        )

    def load_balancers(self, region: str) -> Check | None:
        requested = demand.load_balancers(self.deployment.stacks_in(region))
        if not requested.total:
            return None
        limit = self._elb_limit(region, "application-load-balancers")
        arns = [
            b["LoadBalancerArn"]
            for page in self._pages("elbv2", region, "describe_load_balancers")
            for b in page["LoadBalancers"]
            if b.get("Type", "application") == "application"
        ]
        own = len(set(arns) & set(self._own(region, "AWS::ElasticLoadBalancingV2::LoadBalancer")))
        return self._verdict(
            "quota: Application Load Balancers",
            region,
            Headroom(limit, len(arns), own, requested.total),
            f"{amount(requested.total)} load balancer(s)",
            [],
            f"request more load balancers ({LOAD_BALANCERS.link(region)})",
        )

    def target_groups(self, region: str) -> Check | None:
        requested = demand.count(self.deployment.stacks_in(region), "AWS::ElasticLoadBalancingV2::TargetGroup")
        if not requested.total:
            return None
        limit = self._elb_limit(region, "target-groups")
        arns = [
            g["TargetGroupArn"]
            for page in self._pages("elbv2", region, "describe_target_groups")
            for g in page["TargetGroups"]
        ]
        own = len(set(arns) & set(self._own(region, "AWS::ElasticLoadBalancingV2::TargetGroup")))
        return self._verdict(
            "quota: target groups",
            region,
            Headroom(limit, len(arns), own, requested.total),
            f"{amount(requested.total)} target group(s)",
            [],
            f"request more target groups ({TARGET_GROUPS.link(region)})",
        )

    def cloudfront_web_acls(self, region: str) -> Check | None:
        requested = demand.web_acls(self.deployment.stacks_in(region), "CLOUDFRONT")
        if not requested.total:
            return None
        limit = applied_quota(self.clients, region, CLOUDFRONT_WEB_ACLS, f"{amount(requested.total)} web ACL(s)")
        client = self.clients("wafv2", region)
        ids: list[str] = []
        marker: str | None = None
        while True:
            page = client.list_web_acls(Scope="CLOUDFRONT", Limit=100, **({"NextMarker": marker} if marker else {}))
            ids += [acl["Id"] for acl in page.get("WebACLs", [])]
            marker = page.get("NextMarker")
            if not marker or not page.get("WebACLs"):
                break
        own_ids = {part for physical in self._own(region, "AWS::WAFv2::WebACL") for part in physical.split("|")}
        own = len(set(ids) & own_ids)
        return self._verdict(
            "quota: WAF web ACLs for CloudFront",
            region,
            Headroom(limit, len(ids), own, requested.total),
            f"{amount(requested.total)} web ACL(s)",
            [],
            f"request more web ACLs ({CLOUDFRONT_WEB_ACLS.link(region)})",
        )

    def distributions(self, region: str) -> Check | None:
        requested = demand.count(self.deployment.stacks_in(region), "AWS::CloudFront::Distribution")
        if not requested.total:
            return None
        wanted = f"{amount(requested.total)} distribution(s)"
        limit = applied_quota(self.clients, EDGE_REGION, DISTRIBUTIONS, wanted)  # global: its quotas live there
        ids = [
            item["Id"]
            for page in self._pages("cloudfront", EDGE_REGION, "list_distributions")
            for item in page.get("DistributionList", {}).get("Items", []) or []
        ]
        own = len(set(ids) & set(self._own(region, "AWS::CloudFront::Distribution")))
        return self._verdict(
            "quota: CloudFront distributions",
            region,
            Headroom(limit, len(ids), own, requested.total),
            f"{amount(requested.total)} distribution(s)",
            [],
            f"request more distributions ({DISTRIBUTIONS.link(EDGE_REGION)})",
        )

    def log_resource_policies(self, region: str) -> Check | None:
        names, unreadable = demand.log_resource_policies(self.deployment.stacks_in(region))
        if not names and not unreadable:
            return None
        existing = {
            p["policyName"]
            for page in self._pages("logs", region, "describe_resource_policies")
            for p in page.get("resourcePolicies", [])
        }
        headroom = Headroom(LOG_RESOURCE_POLICIES, len(existing), len(names & existing), len(names))
        return self._verdict(
            "quota: CloudWatch Logs resource policies",
            region,
            headroom,
            f"{len(names)} policies ({', '.join(sorted(names))}); at most {LOG_RESOURCE_POLICIES} per account and "
            "region, not adjustable",
            unreadable,
            "delete resource policies no longer used (aws logs describe-resource-policies / delete-resource-policy), "
            "or deploy an environment into another account",
        )

    # --- shared ---------------------------------------------------------------------------------

    def _fargate(self, region: str, provider: str, quota: ServiceQuota, label: str) -> Check | None:
        stacks = self.deployment.stacks_in(region)
        on_demand, spot = demand.fargate_vcpu(stacks)
        requested = on_demand if provider == demand.FARGATE else spot
        if not requested.total and not requested.unreadable:
            return None
        limit = applied_quota(self.clients, region, quota, f"{amount(requested.total)} {label} vCPU")
        in_use, own = self._running_vcpu(region)[provider]
        return self._verdict(
            f"quota: Fargate {label} vCPU",
            region,
            Headroom(limit, in_use, min(own, in_use), requested.total),
            f"{amount(requested.total)} vCPU at every service's max_tasks x task size",
            requested.unreadable,
            f"request more Fargate {label} vCPU ({quota.link(region)}), or lower max_tasks or the task sizes",
        )

    def _running_vcpu(self, region: str) -> dict[str, tuple[float, float]]:
        """provider -> (vCPU of every running Fargate task in the region, of those in these environments' clusters)."""
        if region in self._tasks:
            return self._tasks[region]
        ecs = self.clients("ecs", region)
        own_clusters = set(self._own(region, "AWS::ECS::Cluster"))
        totals = {demand.FARGATE: [0.0, 0.0], demand.FARGATE_SPOT: [0.0, 0.0]}
        for page in ecs.get_paginator("list_clusters").paginate():
            for cluster in page["clusterArns"]:
                mine = cluster.rpartition("/")[2] in own_clusters or cluster in own_clusters
                arns = [
                    arn
                    for tasks in ecs.get_paginator("list_tasks").paginate(cluster=cluster, desiredStatus="RUNNING")
                    for arn in tasks["taskArns"]
                ]
                for start in range(0, len(arns), 100):
                    for task in ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]:
                        provider = task.get("capacityProviderName") or task.get("launchType")
                        if provider not in totals:
                            continue
                        vcpu = int(task.get("cpu", 0)) / 1024
                        totals[provider][0] += vcpu
                        if mine:
                            totals[provider][1] += vcpu
        self._tasks[region] = {provider: (used, own) for provider, (used, own) in totals.items()}
        return self._tasks[region]

    def _elb_limit(self, region: str, name: str) -> float:
        limits = self.clients("elbv2", region).describe_account_limits()["Limits"]
        found = next((limit["Max"] for limit in limits if limit["Name"] == name), None)
        if found is None:
            raise QuotaUnreadableError(
                f"Elastic Load Balancing's DescribeAccountLimits names no {name!r} limit",
                "read it in the Service Quotas console (Elastic Load Balancing)",
            )
        return float(found)

    def _pages(self, service: str, region: str, operation: str) -> Iterable[dict[str, Any]]:
        client = self.clients(service, region)
        if client.can_paginate(operation):
            yield from client.get_paginator(operation).paginate()
        else:
            yield getattr(client, operation)()

    def _own(self, region: str, resource_type: str) -> list[str]:
        stacks = [stack.name for stack in self.deployment.stacks_in(region)]
        return self.deployed.physical_ids(region, stacks, resource_type)

    def _where(self, region: str) -> str:
        return f"{self.deployment.account}/{region}"

    def _verdict(
        self,
        name: str,
        region: str,
        headroom: Headroom,
        figures: str,
        unreadable: list[str],
        remedy: str,
        *,
        short: str | None = None,
        usage: str | None = None,
    ) -> Check:
        where = self._where(region)
        environments = ", ".join(self.deployment.environments_in(region))
        if unreadable:
            return failed(
                name,
                where,
                f"the templates hold a value that is not a number at {', '.join(unreadable)}",
                "make it a literal in the template, or check this quota by hand",
            )
        account = (
            f"{usage or f'{amount(headroom.in_use)} of {amount(headroom.limit)} in use'}, "
            f"{amount(headroom.own)} of it already {environments}'s"
        )
        if headroom.fits:
            return passed(name, where, f"{figures} ({environments}): adds {amount(headroom.increase)}; {account}")
        return failed(
            name,
            where,
            f"{figures} ({environments}): adds {amount(headroom.increase)} but only "
            f"{amount(max(headroom.available, 0))} is left; {account}",
            f"{remedy} ({short or f'short by {amount(headroom.shortfall)}'}; {QUOTAS_DOCS})",
        )

    def _guarded(self, check: Callable[[str], Check | None], region: str) -> Check | None:
        """A check whose read fails becomes a fail line naming what could not be read (credentials
        problems propagate: the whole run stops)."""
        from tools.preflight.aws import credentials_problem

        try:
            return check(region)
        except QuotaUnreadableError as error:
            label = check.__name__.replace("_", " ")
            return manual(f"quota: {label}", self._where(region), str(error), error.remedy)
        except (ClientError, BotoCoreError) as error:
            if credentials_problem(error) is not None:
                raise
            label = check.__name__.replace("_", " ")
            code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
            return failed(
                f"quota: {label}",
                self._where(region),
                f"could not read it: {code}: {error}",
                "give the preflight's credentials read access (the deploy role's ReadOnlyAccess suffices)",
            )
