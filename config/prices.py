"""The committed price table (`config/prices.toml`): unit prices with their source and date."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from pydantic import Field, field_validator

from config.fields import Strict

PRICES_FILE = Path(__file__).resolve().parent / "prices.toml"


class PriceTable(Strict):
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$")
    region: str
    currency: str = Field(pattern=r"^USD$")
    units: dict[str, float]

    @field_validator("units")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for unit, price in value.items():
            if price <= 0:
                raise ValueError(f"{unit}: a price above 0, got {price}")
        return value


@functools.cache
def price_table(path: Path = PRICES_FILE) -> PriceTable:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    units = data.get("units", {})
    data["units"] = {key: float(value) for key, value in units.items()} if isinstance(units, dict) else units
    return PriceTable.model_validate(data)
