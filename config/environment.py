"""The two documents the config is made of, as typed models: an environment file and services.toml.

`EnvironmentConfig` composes one model per section of `config/<env>.toml` (each in its own module) and
runs the cross-key rules (config/rules.py) once every section is valid on its own. `ServicesConfig` is
`config/services.toml`, shared by every environment: the loader validates it first and hands its
services to each environment, whose rules then check the two together.

Nothing here touches AWS or the CDK: a file is parsed, checked and turned into frozen objects before
any construct exists, so a bad file never half-builds an app.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from config.aws_regions import REGIONS, SOURCE as REGIONS_SOURCE, ZONES_BY_REGION
from config.backup import BackupConfig
from config.cache import CacheConfig
from config.compute import ComputeConfig, LoadBalancerConfig
from config.cost import CostConfig
from config.database import DatabaseConfig
from config.edge import EdgeConfig
from config.fields import Strict, raise_all
from config.maintenance import MaintenanceConfig
from config.network import NetworkConfig
from config.observability import ObservabilityConfig
from config.reserved_concurrency import ReservedConcurrencyConfig
from config.rules import environment_problems, services_problems
from config.services import ServiceConfig
from config.tags import REQUIRED_TAG_KEYS, check_tags

EnvironmentName = Literal["dev", "staging", "prod"]

AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]


class EnvironmentConfig(Strict):
    """Everything that differs between dev, staging and prod."""

    name: EnvironmentName = Field(
        description="The environment: dev (disposable), staging or prod; must match the file name."
    )
    account: AccountId = Field(description="12-digit AWS account id the environment deploys into.")
    region: str = Field(description="Main AWS region, e.g. ap-northeast-2 (one of config/aws_regions.py).")
    availability_zones: tuple[str, ...] = Field(
        min_length=2,
        max_length=6,
        strict=False,  # TOML arrays arrive as lists
        description="AZ names, given explicitly so synthesis never looks them up.",
        json_schema_extra={"allowed": "a list of 2 to 6 zone names of the region"},
    )
    network: NetworkConfig = Field(description="The VPC: address range, NAT gateways, flow logs.")
    database: DatabaseConfig = Field(description="The PostgreSQL primary, its read replicas, RDS Proxy and pools.")
    cache: CacheConfig = Field(description="The ElastiCache (Valkey or Redis OSS) replication group.")
    tags: dict[str, str] = Field(
        description="Cost-allocation tags put on every billed resource; "
        f"{' and '.join(REQUIRED_TAG_KEYS)} are required."
    )
    maintenance: MaintenanceConfig = Field(
        default_factory=MaintenanceConfig, description="When the database maintenance jobs run."
    )
    reserved_concurrency: ReservedConcurrencyConfig = Field(
        default_factory=ReservedConcurrencyConfig, description="Lambda reserved concurrency per function."
    )
    compute: ComputeConfig = Field(description="ECS Fargate capacity, scaling, deployments and the night schedule.")
    load_balancer: LoadBalancerConfig = Field(description="The ALB in front of the services, behind CloudFront.")
    edge: EdgeConfig = Field(description="The CloudFront distribution and its WAF web ACL.")
    observability: ObservabilityConfig = Field(description="Alarm thresholds and where alarms go.")
    cost: CostConfig = Field(description="Budget, commitment term, the unused-resource finder, cost assumptions.")
    backup: BackupConfig = Field(description="AWS Backup copies out of the region, the vault lock, the drill.")
    images: dict[str, str] = Field(
        default_factory=dict,
        description="Per service: an image tag of its ECR repository, or a full image reference; "
        "a service with none is created with zero tasks.",
    )
    services: dict[str, ServiceConfig] = Field(
        default_factory=dict,
        description="The services, from config/services.toml (attached by the loader; not set in an environment file).",
    )

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def is_disposable(self) -> bool:
        """dev is torn down and deployed again: its log groups go with it, its stacks have no
        termination protection. Every other environment keeps them."""
        return self.name == "dev"

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in ZONES_BY_REGION:
            close = difflib.get_close_matches(value, REGIONS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"not an AWS region code in config/aws_regions.py ({REGIONS_SOURCE}); {hint}"
                "e.g. ap-northeast-2, us-east-1, eu-central-1"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _tags_are_valid(cls, tags: dict[str, str]) -> dict[str, str]:
        return check_tags(tags)

    @model_validator(mode="after")
    def _cross_key_rules(self) -> EnvironmentConfig:
        """Rules that combine sections (config/rules.py); every one that fails is reported."""
        raise_all(environment_problems(self))
        return self


class ServicesConfig(Strict):
    """config/services.toml: the platform's services, shared by every environment."""

    services: dict[str, ServiceConfig] = Field(
        min_length=1, max_length=20, description="The services by name (1 to 20 of them)."
    )

    @field_validator("services")
    @classmethod
    def _names_and_databases(cls, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        raise_all(services_problems(services))
        return services
