"""Read environment files (`config/<env>.toml`) and validate them against the schema.

Every problem becomes one line of a `ConfigError` that names the file, the key path, the bad
value and what is allowed. Nothing is built until every requested file is valid.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from config.schema import ConfigFieldError, EnvironmentConfig, EnvironmentName

CONFIG_DIR = Path(__file__).resolve().parent
ENVIRONMENT_NAMES: tuple[str, ...] = get_args(EnvironmentName)


class ConfigError(Exception):
    """One or more environment files are invalid. `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid environment config:\n" + "\n".join(f"  - {p}" for p in self.problems))


def load_environment(name: str, config_dir: Path = CONFIG_DIR) -> EnvironmentConfig:
    """Load and validate `<config_dir>/<name>.toml`."""
    if name not in ENVIRONMENT_NAMES:
        raise ConfigError([f"environment {name!r} is unknown; choose one of {list(ENVIRONMENT_NAMES)}"])
    path = config_dir / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{_show(path)}: file not found"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{_show(path)}: not valid TOML: {error}"]) from None
    return validate_environment(raw, source=_show(path), expected_name=name)


def load_environments(names: Iterable[str], config_dir: Path = CONFIG_DIR) -> list[EnvironmentConfig]:
    """Load several environments; report the problems of all of them at once."""
    configs: list[EnvironmentConfig] = []
    problems: list[str] = []
    for name in names:
        try:
            configs.append(load_environment(name, config_dir))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return configs


def validate_environment(raw: dict[str, Any], *, source: str, expected_name: str | None = None) -> EnvironmentConfig:
    """Validate already-parsed data. `source` prefixes every message (usually the file name)."""
    try:
        config = EnvironmentConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError([f"{source}: {_describe(e, raw)}" for e in error.errors()]) from None
    if expected_name is not None and config.name != expected_name:
        raise ConfigError([f"{source}: name = {config.name!r}: must match the file name ({expected_name!r})"])
    return config


def _describe(error: Any, raw: dict[str, Any]) -> str:
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigFieldError):
        return f"{cause.location} = {cause.value!r}: {cause.allowed}"
    location = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "missing":
        return f"{location}: required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return f"{location}: unknown key; allowed here: {', '.join(allowed)}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{location} = {error['input']!r}: {message}"


def _allowed_keys(parent: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by following `parent` from the root schema."""
    model: type[BaseModel] = EnvironmentConfig
    for part in parent:
        annotation = model.model_fields[str(part)].annotation
        candidates = [annotation, *typing.get_args(annotation)]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        model = nested[0]
    return sorted(model.model_fields)


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
