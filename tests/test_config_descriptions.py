"""Every config key says what it does: the configuration reference is generated from these descriptions.

The reference walks `model_fields` from the environment model (and services.toml's model); a key
without a `description` would appear there as a bare name. Ranges come from `bounded` (its "Allowed:"
sentence); the words here check that each description is a sentence a reader can use.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from config import EnvironmentConfig
from config.environment import ServicesConfig


def _models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in typing.get_args(annotation) for model in _models(argument)]


def config_fields() -> Iterator[tuple[str, str | None]]:
    """(Model.field, description) of every field reachable from the two documents' models."""
    seen: set[type[BaseModel]] = set()
    pending: list[type[BaseModel]] = [EnvironmentConfig, ServicesConfig]
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            yield f"{model.__name__}.{name}", field.description
            pending.extend(_models(field.annotation))


FIELDS = sorted(config_fields())


def test_the_walk_reaches_nested_sections() -> None:
    names = {name for name, _ in FIELDS}
    assert {"PoolConfig.pool_size", "VaultLock.min_retention_days", "PartitionedTableConfig.column"} <= names
    assert len(FIELDS) > 200


@pytest.mark.parametrize(("field", "description"), FIELDS, ids=[name for name, _ in FIELDS])
def test_every_field_has_a_description(field: str, description: str | None) -> None:
    assert description, f"{field}: give it Field(description=...) saying what it does and its unit"
    assert len(description.split()) >= 3, f"{field}: say what it does, not only its name"
    assert description.rstrip().endswith((".", ")")), f"{field}: end the description with a full stop"
