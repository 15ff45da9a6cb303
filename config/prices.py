"""The committed price table (`config/prices.toml`): unit prices with their source and date.

`units` prices the unused-resource finder's findings; the other sections price the synthesised
templates for `make cost` (tools/cost_estimate.py). Every price must be above 0: a price the table
lacks is an error where it is needed, never a 0.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from config.fields import Strict

PRICES_FILE = Path(__file__).resolve().parent / "prices.toml"

Price = Annotated[float, Field(gt=0)]
Percent = Annotated[float, Field(gt=0, lt=100)]


class FargatePrices(Strict):
    vcpu_hour: dict[str, Price]  # by CPU architecture (ARM64, X86_64)
    gb_hour: dict[str, Price]
    spot_discount_percent: Percent
    savings_plan_discount_percent: dict[str, Percent]  # by commitment term


class InstancePrice(Strict):
    vcpus: int | None = Field(default=None, gt=0)
    on_demand: Price
    reserved: dict[str, Price] = Field(default_factory=dict)  # by commitment term

    @model_validator(mode="after")
    def _reserved_cheaper(self) -> InstancePrice:
        for term, price in self.reserved.items():
            if price >= self.on_demand:
                raise ValueError(f"reserved {term} ({price}) must be below on_demand ({self.on_demand})")
        return self


class RdsPrices(Strict):
    storage_gb_month: dict[str, Price]  # by storage type
    proxy_vcpu_hour: Price
    instances: dict[str, InstancePrice]

    @model_validator(mode="after")
    def _vcpus(self) -> RdsPrices:
        missing = sorted(name for name, price in self.instances.items() if price.vcpus is None)
        if missing:
            raise ValueError(f"instances {', '.join(missing)}: vcpus is required (RDS Proxy is priced by it)")
        return self


class CachePrices(Strict):
    nodes: dict[str, InstancePrice]


class NetworkPrices(Strict):
    nat_gateway_hour: Price
    nat_gb: Price
    interface_endpoint_hour: Price
    load_balancer_hour: Price
    load_balancer_lcu_hour: Price
    public_ipv4_hour: Price


class S3Prices(Strict):
    storage_gb_month: dict[str, Price]  # by storage class


class CloudWatchPrices(Strict):
    alarm_metric_month: Price
    dashboard_month: Price
    logs_ingest_gb: Price


class EdgePrices(Strict):
    cloudfront_data_out_gb: Price
    cloudfront_requests_million: Price
    waf_web_acl_month: Price
    waf_rule_month: Price
    waf_requests_million: Price


class OtherPrices(Strict):
    hosted_zone_month: Price


class ResourceTypes(Strict):
    free: tuple[str, ...] = Field(strict=False)
    usage_only: tuple[str, ...] = Field(strict=False)

    @model_validator(mode="after")
    def _disjoint(self) -> ResourceTypes:
        both = sorted(set(self.free) & set(self.usage_only))
        if both:
            raise ValueError(f"{', '.join(both)}: in both free and usage_only")
        return self


class PriceTable(Strict):
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    region: str
    currency: str = Field(pattern=r"^USD$")
    hours_per_month: float = Field(gt=0)
    units: dict[str, Price]
    fargate: FargatePrices
    rds: RdsPrices
    elasticache: CachePrices
    network: NetworkPrices
    s3: S3Prices
    cloudwatch: CloudWatchPrices
    edge: EdgePrices
    other: OtherPrices
    resource_types: ResourceTypes


def _floats(value: object) -> object:
    """TOML's 1 is an int; every price is a float."""
    if isinstance(value, dict):
        return {key: _floats(item) if key != "vcpus" else item for key, item in value.items()}
    if isinstance(value, list):
        return value
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def load_price_table(path: Path) -> PriceTable:
    """The table in `path`, validated; pydantic's error names the key that is wrong."""
    return PriceTable.model_validate(_floats(tomllib.loads(path.read_text(encoding="utf-8"))))


@functools.cache
def price_table(path: Path = PRICES_FILE) -> PriceTable:
    return load_price_table(path)
