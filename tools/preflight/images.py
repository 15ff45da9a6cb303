"""The secrets and images the services name: a task whose secret or image is missing fails to start,
the circuit breaker rolls the deployment back, and the deploy fails after minutes."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from platform_constructs.physical_names import repository_name, service_secret_name
from tools.preflight import demand
from tools.preflight.aws import ClientFactory, error_code
from tools.preflight.deployment import Deployment
from tools.preflight.report import Check, failed, manual, passed

#: An image reference of a private ECR repository: account, region, repository, then :tag or @digest.
ECR_IMAGE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<name>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def check_secrets(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    """Every secret of every service that names an image (a service without one runs no task)."""
    config = deployment.config
    client = clients("secretsmanager", config.region)
    checks = []
    for service, settings in config.services.items():
        if service not in config.images:
            continue
        for variable, reference in settings.secrets.items():
            secret = service_secret_name(config.name, service, reference)
            name, where = f"secret of {service} ({variable})", f"{deployment.account}/{config.region}"
            try:
                described = client.describe_secret(SecretId=secret)
            except ClientError as error:
                if error_code(error) != "ResourceNotFoundException":
                    raise
                checks.append(
                    failed(
                        name,
                        where,
                        f"{secret} does not exist",
                        f"aws secretsmanager create-secret --region {config.region} --name {secret} "
                        "--secret-string '...'",
                    )
                )
                continue
            if described.get("DeletedDate"):
                checks.append(
                    failed(
                        name,
                        where,
                        f"{secret} is scheduled for deletion",
                        f"aws secretsmanager restore-secret --region {config.region} --secret-id {secret}",
                    )
                )
            else:
                checks.append(passed(name, where, f"{secret} exists"))
    return checks


def check_images(deployment: Deployment, clients: ClientFactory) -> list[Check]:
    """Every tag in `[images]` in its repository; a repository this deployment creates is reported so."""
    config = deployment.config
    created = _created_repositories(deployment)
    checks = []
    for service, reference in config.images.items():
        name = f"image of {service}"
        if "/" not in reference:
            repository, registry, region = repository_name(config.name, service), config.account, config.region
            selector = {"imageTag": reference}
            shown = f"{repository}:{reference}"
        else:
            match = ECR_IMAGE.fullmatch(reference)
            if match is None or not (match["tag"] or match["digest"]):
                checks.append(
                    manual(
                        name,
                        reference,
                        "an image outside ECR cannot be checked without pulling it",
                        f"check that it exists: docker manifest inspect {reference}",
                    )
                )
                continue
            repository, registry, region = match["name"], match["account"], match["region"]
            selector = {"imageDigest": match["digest"]} if match["digest"] else {"imageTag": match["tag"]}
            shown = reference
        where = f"{registry}/{region}"
        try:
            clients("ecr", region).describe_images(registryId=registry, repositoryName=repository, imageIds=[selector])
        except ClientError as error:
            code = error_code(error)
            if code == "RepositoryNotFoundException" and (registry, region, repository) in created:
                checks.append(
                    manual(
                        name,
                        where,
                        f"{repository} is created by this deployment, so {shown} cannot be there yet",
                        f"deploy '{_stage(deployment)}/Registry' first, push the image, then deploy the rest",
                    )
                )
            elif code == "RepositoryNotFoundException":
                checks.append(failed(name, where, f"no repository {repository}", "create it or correct [images]"))
            elif code == "ImageNotFoundException":
                checks.append(
                    failed(
                        name,
                        where,
                        f"{shown} is not in {repository}",
                        "push it (README: The first image) or correct the tag in [images]",
                    )
                )
            else:
                raise
            continue
        checks.append(passed(name, where, f"{shown} exists"))
    return checks


def _created_repositories(deployment: Deployment) -> set[tuple[str, str, str]]:
    return {
        (stack.account, stack.region, str(properties.get("RepositoryName")))
        for stack, _, properties in demand.resources(deployment.stacks, "AWS::ECR::Repository")
    }


def _stage(deployment: Deployment) -> str:
    return deployment.stacks[0].display_name.split("/")[0]
