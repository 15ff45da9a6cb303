"""Read environment files (`config/<env>.toml`) and validate them against the schema.

Every problem becomes one line of a `ConfigError` that names the file, the key path, the bad
value and what is allowed. Nothing is built until every requested file is valid.
"""

from __future__ import annotations

import functools
import tomllib
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from config.environment import EnvironmentConfig, EnvironmentName, ServicesConfig
from config.fields import ConfigFieldError, ConfigFieldsError, key_path, visible as _visible
from config.services import ServiceConfig

CONFIG_DIR = Path(__file__).resolve().parent
ENVIRONMENT_NAMES: tuple[str, ...] = get_args(EnvironmentName)


class ConfigError(Exception):
    """One or more environment files are invalid. `problems` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        # Every line printable ASCII whatever a check quoted from the file: look-alikes show as escapes.
        self.problems = [_visible(problem) for problem in problems]
        super().__init__("invalid environment config:\n" + "\n".join(f"  - {p}" for p in self.problems))


def load_environment(name: str, config_dir: Path = CONFIG_DIR) -> EnvironmentConfig:
    """Load and validate `<config_dir>/<name>.toml`."""
    if name not in ENVIRONMENT_NAMES:
        raise ConfigError([f"environment '{_visible(name)}' is unknown; choose one of {list(ENVIRONMENT_NAMES)}"])
    path = config_dir / f"{name}.toml"
    raw = _parse(path)
    return validate_environment(raw, source=_show(path), expected_name=name, services=load_services(config_dir))


SERVICES_FILE = "services.toml"


def load_services(config_dir: Path = CONFIG_DIR) -> dict[str, ServiceConfig]:
    """`<config_dir>/services.toml`, the services every environment shares (the committed one when
    `config_dir` has none, so a directory of trial environment files needs no copy of it)."""
    if not (config_dir / SERVICES_FILE).exists():
        config_dir = CONFIG_DIR
    return _load_services(config_dir.resolve())


@functools.cache
def _load_services(config_dir: Path) -> dict[str, ServiceConfig]:
    path = config_dir / SERVICES_FILE
    return validate_services(_parse(path), source=_show(path))


def validate_services(raw: dict[str, Any], *, source: str) -> dict[str, ServiceConfig]:
    """Validate an already-parsed services.toml; every problem names `source`, the key and what is allowed."""
    try:
        return ServicesConfig.model_validate(raw).services
    except ValidationError as error:
        raise ConfigError([f"{source}: {line}" for e in error.errors() for line in _describe(e, raw)]) from None


def _parse(path: Path) -> dict[str, Any]:
    """The TOML document in `path`, or a ConfigError naming the file and what is wrong with it."""
    text = _read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{_show(path)}: not valid TOML: {_visible(str(error))}"]) from None
    except RecursionError:
        raise ConfigError([f"{_show(path)}: not valid TOML: arrays or tables nested too deeply"]) from None


def _read_text(path: Path) -> str:
    where = _show(path)
    if not path.exists():
        directory = "" if path.parent.is_dir() else f" (the directory {_show(path.parent)} does not exist either)"
        raise ConfigError([f"{where}: file not found{directory}"])
    if not path.is_file():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise ConfigError([f"{where}: is {kind}; expected a TOML file"])
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError([f"{where}: cannot be read: {error.strerror or error}"]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError(
            [f"{where}: not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}); save the file as UTF-8"]
        ) from None
    if text.startswith("\ufeff"):
        raise ConfigError([f"{where}: starts with a byte-order mark (U+FEFF); save the file as UTF-8 without BOM"])
    return text


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


def validate_environment(
    raw: dict[str, Any],
    *,
    source: str,
    expected_name: str | None = None,
    services: dict[str, ServiceConfig] | None = None,
) -> EnvironmentConfig:
    """Validate already-parsed data. `source` prefixes every message (usually the file name).

    `services` (default: the committed config/services.toml) are validated with the environment, so the
    rules across both run with the rest (config/rules.py); an environment file may not set them itself.
    """
    if "services" in raw:
        raise ConfigError([f"{source}: services: unknown key; services are shared, in {SERVICES_FILE}"])
    problems: list[str] = []
    name = raw.get("name")
    if expected_name is not None and isinstance(name, str) and name != expected_name:
        problems.append(f"{source}: name = {_show_value(name)}: must match the file name ({expected_name!r})")
    attached = load_services() if services is None else services
    try:
        config = EnvironmentConfig.model_validate({**raw, "services": attached})
    except ValidationError as error:
        problems.extend(f"{source}: {line}" for e in error.errors() for line in _describe(e, raw))
    if problems:
        raise ConfigError(problems)
    return config


def _describe(error: Any, raw: dict[str, Any]) -> list[str]:
    """The lines for one pydantic error (a cross-key rule may report several problems at once)."""
    cause = error.get("ctx", {}).get("error")
    causes = cause.errors if isinstance(cause, ConfigFieldsError) else [cause]
    if all(isinstance(c, ConfigFieldError) for c in causes):
        return [describe_problem(c, error["loc"]) for c in causes]
    location = key_path(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return [f"{location}: required key is missing"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        return [f"{location}: unknown key; allowed here: {', '.join(allowed)}"]
    return [f"{location} = {_show_value(error['input'])}: {_message(error)}"]


def describe_problem(problem: ConfigFieldError, parent: Sequence[Any] = ()) -> str:
    """The one shape of every problem: `<key> = <value>: <what is allowed>` (`parent`: where pydantic
    found the model that raised it, for a key given relative to that model)."""
    return f"{problem.located(parent)} = {_show_value(problem.value)}: {_visible(problem.allowed)}"


#: pydantic error types -> what the value must be, in the words of the TOML file.
_EXPECTED = {
    "int_type": "must be a whole number, e.g. 3 (no quotes)",
    "int_from_float": "must be a whole number, e.g. 3 (no quotes)",
    "float_type": "must be a number, e.g. 2.5 or 3 (no quotes)",
    "finite_number": "must be a finite number",
    "int_parsing_size": "must be a whole number of sensible size",
    "string_type": "must be text in quotes",
    "bool_type": "must be true or false (no quotes)",
    "dict_type": "must be a table ([section] or { key = value })",
    "model_type": "must be a table ([section] or { key = value })",
    "model_attributes_type": "must be a table ([section] or { key = value })",
    "tuple_type": 'must be a list, e.g. ["a", "b"]',
    "list_type": 'must be a list, e.g. ["a", "b"]',
}


def _message(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {_kind(error['input'])}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than", "too_short", "too_long"):
        allowed = _field_extra(loc, "allowed")
        if allowed:
            return f"must be {allowed}"
        ctx = error.get("ctx", {})
        if kind in ("too_short", "too_long"):
            bound = ctx.get("min_length" if kind == "too_short" else "max_length", "?")
            return (
                f"must have {'at least' if kind == 'too_short' else 'at most'} {bound} entries, "
                f"got {ctx.get('actual_length') or len(error['input'])}"
            )
        bound = next(iter(ctx.values()), "?")
        return f"must be {'at least' if kind.startswith('greater') else 'at most'} {bound}"
    if kind == "literal_error":
        return f"must be one of {error['ctx']['expected'].replace(' or ', ', ')}"
    if kind == "string_pattern_mismatch" and loc == ("account",):
        return "must be the 12-digit account id, digits 0-9 only, in quotes"
    message = str(error["msg"]).removeprefix("Value error, ")
    return _visible(message)


def _kind(value: Any) -> str:
    """What a TOML value is, in TOML's words."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__} value (date or time)"


def _show_value(value: Any, limit: int = 80) -> str:
    """The value as written, non-ASCII and invisible characters escaped, long values shortened."""
    if isinstance(value, dict):
        return "{table}" if value else "{}"
    text = ascii(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field_extra(loc: tuple[Any, ...], key: str) -> str | None:
    """`json_schema_extra[key]` of the field at `loc` (e.g. the words for its allowed range)."""
    model: type[BaseModel] = EnvironmentConfig
    for index, part in enumerate(loc):
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        if index == len(loc) - 1:
            extra = field.json_schema_extra
            return str(extra[key]) if isinstance(extra, dict) and key in extra else None
        nested = _nested_model(field.annotation)
        if nested is None:
            return None
        model = nested
    return None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def _allowed_keys(parent: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by following `parent` from the root schema."""
    model: type[BaseModel] = EnvironmentConfig
    for part in parent:
        field = model.model_fields.get(str(part))
        nested = _nested_model(field.annotation) if field is not None else None
        if nested is None:
            return []
        model = nested
    # services come from services.toml, never from an environment file
    return sorted(name for name in model.model_fields if not (model is EnvironmentConfig and name == "services"))


def _show(path: Path) -> str:
    try:
        return _visible(str(path.relative_to(Path.cwd())))
    except ValueError:
        return _visible(str(path))
