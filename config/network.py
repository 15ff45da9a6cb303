"""Config of the VPC: `[network]`.

The VPC has three tiers of subnets (public, private with NAT, isolated), one subnet per tier and zone.
Whether the CIDR holds them for the environment's zones, and how many NAT gateways the zones allow, are
rules across `[network]` and `availability_zones` (config/rules.py).
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from config.fields import Strict, visible
from config.log_retention import check_retention, retention_days

#: Subnet sizes per tier. Private subnets are large because every Fargate task takes an IP.
PUBLIC_SUBNET_MASK = 24
PRIVATE_SUBNET_MASK = 20
ISOLATED_SUBNET_MASK = 24
_PRIVATE_RANGES = tuple(ipaddress.IPv4Network(b) for b in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def subnet_space_needed(zones: int) -> int:
    """Addresses from the VPC's start to the end of its last subnet, as aws-cdk-lib lays the tiers out.

    Each tier (public, private, isolated) takes one subnet per zone, in that order, and every subnet
    starts at a multiple of its own size: the /20 private tier is aligned to 4096 after the /24s.
    """
    end = 0
    for mask in (PUBLIC_SUBNET_MASK, PRIVATE_SUBNET_MASK, ISOLATED_SUBNET_MASK):
        size = 2 ** (32 - mask)
        for _ in range(zones):
            end = -(-end // size) * size + size  # align up to the subnet's size, then take it
    return end


#: VPC prefix lengths: /16 is the largest VPC AWS allows; the smallest must hold two zones of subnets.
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = max(p for p in range(16, 29) if 2 ** (32 - p) >= subnet_space_needed(2))


class NetworkConfig(Strict):
    """The VPC: its address range, its NAT gateways and its flow logs."""

    vpc_cidr: str = Field(
        description=f"IPv4 CIDR of the VPC, inside an RFC 1918 private range; /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}, "
        "large enough for three tiers of subnets in every availability zone.",
        json_schema_extra={"allowed": f"a private IPv4 network, /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX}"},
    )
    nat_gateways: int = Field(
        ge=1,
        description="NAT gateways: 1 to one per availability zone; one per zone in prod.",
        json_schema_extra={"allowed": "1 to one per availability zone"},
    )
    flow_log_retention_days: int = retention_days("How long VPC flow logs are kept in CloudWatch Logs.")

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_is_private_block(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as error:
            raise ValueError(
                f"must be an IPv4 network such as 10.20.0.0/16 with no host bits set ({visible(str(error))})"
            ) from None
        if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
            raise ValueError(
                f"prefix length must be /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX} (anything smaller than "
                f"/{MAX_VPC_PREFIX} has no room for two zones of subnets), got /{network.prefixlen}"
            )
        if not any(network.subnet_of(block) for block in _PRIVATE_RANGES):
            raise ValueError("must lie inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention_is_supported(cls, value: int) -> int:
        return check_retention(value)
