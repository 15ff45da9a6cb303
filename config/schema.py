"""The one typed schema every environment file is validated against.

Nothing here touches AWS or the CDK: a file is parsed, checked and turned into frozen
objects before any construct exists. Unknown keys, wrong types, out-of-range values and
contradictions between keys are all rejected here, so a bad file never half-builds an app.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from platform_constructs.log_retention import RETENTION_BY_DAYS

EnvironmentName = Literal["dev", "staging", "prod"]

#: Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = tuple(sorted(RETENTION_BY_DAYS))

#: Tags the code sets itself; config may not override them.
RESERVED_TAG_KEYS = frozenset({"Project", "Environment", "ManagedBy"})
#: Tags every environment file must provide.
REQUIRED_TAG_KEYS = ("CostCenter", "Owner")

#: Subnet sizes per tier. Private subnets are large because every Fargate task takes an IP.
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_MASK = 20
ISOLATED_SUBNET_MASK = 24

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*$")

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]


class _Strict(BaseModel):
    """Frozen, no unknown keys, no silent type coercion (a "3" is not a 3)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NetworkConfig(_Strict):
    vpc_cidr: str = Field(description="IPv4 CIDR of the VPC, inside an RFC 1918 private range.")
    nat_gateways: int = Field(
        ge=1,
        description="NAT gateways: 1 in dev, one per availability zone in prod.",
    )
    flow_log_retention_days: int = Field(description="Days VPC flow logs are kept in CloudWatch Logs.")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_is_private_block(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"must be an IPv4 network such as 10.20.0.0/16 with no host bits set ({error})") from None
        if not 16 <= network.prefixlen <= 20:
            raise ValueError(f"prefix length must be between /16 and /20, got /{network.prefixlen}")
        private_blocks = [ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
        if not any(network.subnet_of(block) for block in private_blocks):
            raise ValueError("must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return _check_retention(value)


class EnvironmentConfig(_Strict):
    """Everything that differs between dev, staging and prod."""

    name: EnvironmentName
    account: AccountId = Field(description="12-digit AWS account id the environment deploys into.")
    region: str = Field(description="Main AWS region, e.g. ap-northeast-2.")
    availability_zones: tuple[str, ...] = Field(
        min_length=2,
        max_length=6,
        strict=False,  # TOML arrays arrive as lists
        description="AZ names, given explicitly so synthesis never looks them up.",
    )
    network: NetworkConfig
    tags: dict[str, str] = Field(description="Cost-allocation tags; CostCenter and Owner are required.")

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @field_validator("region")
    @classmethod
    def _region_shape(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be an AWS region code such as ap-northeast-2 or us-east-1")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_are_valid(cls, tags: dict[str, str]) -> dict[str, str]:
        for key, value in tags.items():
            if key in RESERVED_TAG_KEYS:
                raise ValueError(f"{key!r} is set by the app itself; remove it (reserved: {sorted(RESERVED_TAG_KEYS)})")
            if key.lower().startswith("aws:"):
                raise ValueError(f"{key!r}: the aws: prefix is reserved by AWS")
            if not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key):
                raise ValueError(f"{key!r}: a tag key is 1-128 letters, digits, spaces or _.:/=+-@")
            if not 1 <= len(value) <= 256 or not _TAG_TEXT.match(value):
                raise ValueError(f"{key}={value!r}: a tag value is 1-256 letters, digits, spaces or _.:/=+-@")
        missing = [key for key in REQUIRED_TAG_KEYS if key not in tags]
        if missing:
            raise ValueError(f"missing required tag(s) {missing}; every environment sets {list(REQUIRED_TAG_KEYS)}")
        return tags

    @model_validator(mode="after")
    def _zones_match_region_and_network(self) -> EnvironmentConfig:
        zones = self.availability_zones
        for zone in zones:
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1 and zone[-1].isalpha()):
                raise _field_error(
                    "availability_zones",
                    zone,
                    f"each zone must be the region {self.region!r} followed by one letter, e.g. {self.region}a",
                )
        if len(set(zones)) != len(zones):
            raise _field_error("availability_zones", list(zones), "zones must not repeat")

        nat = self.network.nat_gateways
        if nat > len(zones):
            raise _field_error("network.nat_gateways", nat, f"at most one per availability zone (1-{len(zones)})")
        if self.is_production and nat != len(zones):
            raise _field_error(
                "network.nat_gateways",
                nat,
                f"prod needs one NAT gateway per availability zone ({len(zones)}) so one AZ failing "
                "does not cut the others off",
            )

        per_zone = sum(2 ** (32 - mask) for mask in (PUBLIC_SUBNET_MASK, PRIVATE_SUBNET_MASK, ISOLATED_SUBNET_MASK))
        available = ipaddress.IPv4Network(self.network.vpc_cidr).num_addresses
        if per_zone * len(zones) > available:
            raise _field_error(
                "network.vpc_cidr",
                self.network.vpc_cidr,
                f"too small for {len(zones)} zones of public /{PUBLIC_SUBNET_MASK}, private /{PRIVATE_SUBNET_MASK} "
                f"and isolated /{ISOLATED_SUBNET_MASK} subnets ({per_zone * len(zones)} addresses needed, "
                f"{available} available)",
            )
        return self


class ConfigFieldError(ValueError):
    """A cross-field rule failed; carries the key path so the loader can name it."""

    def __init__(self, location: str, value: object, allowed: str) -> None:
        super().__init__(allowed)
        self.location = location
        self.value = value
        self.allowed = allowed


def _field_error(location: str, value: object, allowed: str) -> ConfigFieldError:
    return ConfigFieldError(location, value, allowed)


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"must be one of the retention periods CloudWatch Logs accepts: {list(LOG_RETENTION_DAYS)}")
    return value
