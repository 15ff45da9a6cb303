"""Registry stack: one ECR repository per service, deployed before the services that pull from it.

Kept apart from the services stack so that tearing the services down (or a failed first deploy)
never takes the images with it, and so that images can be pushed before any service exists (the
runbook's first step). Repositories scan on push, keep tags immutable (a tag names one image for
good, so a deploy of tag X runs what was tested as X) and expire what no one can deploy any more.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, aws_ecr as ecr
from constructs import Construct

from config.schema import EnvironmentConfig
from platform_constructs.physical_names import repository_name
from platform_constructs.protect_retained import kept_unless_disposable
from stacks.platform_stack import PlatformStack

#: Untagged images (superseded pushes, failed builds) are deleted after this long.
UNTAGGED_IMAGE_DAYS = 7
#: Images kept per repository, newest first: plenty of rollback targets.
KEEP_IMAGES = 50


class RegistryStack(PlatformStack):
    """Exposes ``repositories``: service name -> its repository."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, config=config, **kwargs)
        self.repositories: dict[str, ecr.Repository] = {}
        for service in config.services:
            self.repositories[service] = ecr.Repository(
                self,
                service,  # construct id: the service name, so the logical id never depends on order
                repository_name=repository_name(config.name, service),
                image_scan_on_push=True,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                encryption=ecr.RepositoryEncryption.AES_256,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        rule_priority=1,
                        description=f"Untagged images go after {UNTAGGED_IMAGE_DAYS} days",
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=Duration.days(UNTAGGED_IMAGE_DAYS),
                    ),
                    ecr.LifecycleRule(
                        rule_priority=2,
                        description=f"Keep the newest {KEEP_IMAGES} images",
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=KEEP_IMAGES,
                    ),
                ],
                # dev is torn down and deployed again: its repositories (fixed names) go with it,
                # images included. Elsewhere they outlive the stack, but a failed create deletes them
                # (still empty: images are pushed once the stack exists), so the retry does not collide.
                removal_policy=kept_unless_disposable(config.is_disposable),
                empty_on_delete=True if config.is_disposable else None,
            )
