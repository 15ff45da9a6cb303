"""What the templates refer to but do not create: ECS's service-linked role, the ACM certificates and
the Route 53 hosted zone (docs/first-deploy.md, "Before the first deploy of the services tier")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from config.compute import CERTIFICATE_ARN
from tools.preflight.aws import ClientFactory, error_code
from tools.preflight.deployment import Deployment
from tools.preflight.report import Check, failed, passed

ECS_ROLE = "AWSServiceRoleForECS"
ECS_SERVICE = "ecs.amazonaws.com"
#: Where IAM keeps a service-linked role of ECS (whatever its name).
ECS_ROLE_PATH = f"/aws-service-role/{ECS_SERVICE}/"
#: CloudFront takes certificates from this region only.
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"


def check_ecs_role(deployment: Deployment, clients: ClientFactory, *, fix: bool) -> list[Check]:
    """ECS's service-linked role, before the first cluster: ECS creates it itself but then assumes it
    before IAM has propagated it, and the first deploy fails. `fix` creates it."""
    if deployment.stack("AWS::ECS::Cluster") is None:
        return []
    name, where = "ECS service-linked role", deployment.account
    iam = clients("iam", deployment.config.region)
    existing = [
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate(PathPrefix=ECS_ROLE_PATH)
        for role in page["Roles"]
    ]
    if existing:
        return [passed(name, where, f"{existing[0]} exists")]
    if fix:
        iam.create_service_linked_role(AWSServiceName=ECS_SERVICE)
        return [passed(name, where, f"{ECS_ROLE} created (--fix)")]
    return [
        failed(
            name,
            where,
            f"{ECS_ROLE} does not exist: the first cluster deploy would fail with "
            "'Unable to assume the service linked role'",
            f"run `make preflight ENV={deployment.config.name} FIX=1`, or "
            f"`aws iam create-service-linked-role --aws-service-name {ECS_SERVICE}`",
        )
    ]


def covers(certificate_names: Sequence[str], name: str) -> bool:
    """Whether a certificate for `certificate_names` is valid for host `name` (a wildcard covers one label)."""
    name = name.lower().rstrip(".")
    for candidate in certificate_names:
        candidate = candidate.lower().rstrip(".")
        if candidate == name:
            return True
        if candidate.startswith("*.") and "." in name and name.split(".", 1)[1] == candidate[2:]:
            return True
    return False


def check_certificates(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    """Each certificate the environment uses: there, issued, covering its names, in the region that uses it."""
    config = deployment.config
    wanted: list[tuple[str, str, str, tuple[str, ...]]] = []  # (label, arn, region that uses it, names)
    balancer = deployment.stack("AWS::ElasticLoadBalancingV2::LoadBalancer")
    if balancer is not None:
        wanted.append(
            (
                "load balancer",
                config.load_balancer.certificate_arn,
                balancer.region,
                (config.load_balancer.origin_domain_name,),
            )
        )
    if deployment.stack("AWS::CloudFront::Distribution") is not None and config.edge.certificate_arn:
        wanted.append(
            ("CloudFront", config.edge.certificate_arn, CLOUDFRONT_CERTIFICATE_REGION, tuple(config.edge.domain_names))
        )
    return [_certificate(deployment.account, clients, *item) for item in wanted]


def _certificate(
    account: str, clients: ClientFactory, label: str, arn: str, used_in: str, names: tuple[str, ...]
) -> Check:
    name = f"ACM certificate ({label})"
    where = f"{account}/{used_in}"
    match = CERTIFICATE_ARN.fullmatch(arn)
    region = match["region"] if match else used_in
    if region != used_in:
        return failed(
            name,
            where,
            f"{arn} is in {region}, but the {label} uses certificates from {used_in} only",
            f"request or import a certificate for {', '.join(names)} in {used_in} and put its ARN in the config",
        )
    try:
        certificate = clients("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as error:
        # AccessDenied is not "missing": it propagates to the family's could-not-check line that names it.
        if error_code(error) not in ("ResourceNotFoundException", "ValidationException"):
            raise
        return failed(
            name,
            where,
            f"{arn} does not exist in this account ({error_code(error)})",
            f"request it in {region} for {', '.join(names)} (DNS validation) and put its ARN in the config",
        )
    status = certificate.get("Status")
    if status != "ISSUED":
        hint = (
            "add the DNS validation record ACM shows for it (aws acm describe-certificate) and wait until it is ISSUED"
            if status == "PENDING_VALIDATION"
            else "request a new one and put its ARN in the config"
        )
        return failed(name, where, f"{arn} is {status}, not ISSUED", hint)
    not_after = certificate.get("NotAfter")
    if isinstance(not_after, datetime) and not_after <= datetime.now(UTC):
        return failed(name, where, f"{arn} expired on {not_after:%Y-%m-%d}", "renew or replace it")
    held = [certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])]
    uncovered = [n for n in names if not covers(held, n)]
    if uncovered:
        return failed(
            name,
            where,
            f"{arn} covers {', '.join(sorted(set(held)))}, not {', '.join(uncovered)}",
            f"request a certificate that covers {', '.join(names)} and put its ARN in the config",
        )
    return passed(name, where, f"ISSUED, covers {', '.join(names)}")


def check_hosted_zone(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    """The public zone the origin's alias record goes into, under the configured name."""
    if deployment.stack("AWS::ElasticLoadBalancingV2::LoadBalancer") is None:
        return []
    return [_hosted_zone(deployment, clients)]


def _hosted_zone(deployment: Deployment, clients: ClientFactory) -> Check:
    balancer = deployment.config.load_balancer
    name, where = "Route 53 hosted zone", f"{deployment.account}/{balancer.hosted_zone_id}"
    try:
        zone = clients("route53", deployment.config.region).get_hosted_zone(Id=balancer.hosted_zone_id)["HostedZone"]
    except ClientError as error:
        if error_code(error) not in ("NoSuchHostedZone", "InvalidInput"):
            raise
        return failed(
            name,
            where,
            f"no hosted zone {balancer.hosted_zone_id} in this account",
            f"create a public zone for {balancer.hosted_zone_name} and put its id in load_balancer.hosted_zone_id",
        )
    found = str(zone.get("Name", "")).rstrip(".")
    if found != balancer.hosted_zone_name:
        return failed(
            name,
            where,
            f"the zone is {found}, but load_balancer.hosted_zone_name is {balancer.hosted_zone_name}",
            "put the id of the zone for hosted_zone_name into load_balancer.hosted_zone_id",
        )
    if zone.get("Config", {}).get("PrivateZone"):
        return failed(
            name,
            where,
            f"{found} is a private zone: CloudFront resolves the origin's name publicly",
            f"use a public zone for {found}",
        )
    return passed(name, where, f"public zone {found}")
