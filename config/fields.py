"""Building blocks of the config schema: strict models, bounded fields, errors that name their key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from platform_constructs.limits import Limit

_REQUIRED: Any = object()


def bounded(limit: Limit, description: str, *, default: Any = _REQUIRED) -> Any:
    """A Field with the bounds of `limit` (required unless `default` is given, None included); the
    loader words a violation as "must be <limit>"."""
    return Field(
        *(() if default is _REQUIRED else (default,)),
        ge=limit.low,
        le=limit.high,
        description=f"{description} Allowed: {limit.describe()}.",
        json_schema_extra={"allowed": limit.describe()},
    )


class Strict(BaseModel):
    """Frozen, no unknown keys, no silent type coercion (a "3" is not a 3)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ConfigFieldError(ValueError):
    """One problem with the config, in the one shape every problem has: the key, the value found there and
    what is allowed. The loader prints it as `<file>: <key> = <value>: <allowed>`.

    `location` is the key as TOML writes it from the top of the file (`database.pool.pool_size`). A model
    used in more than one place (a log lifecycle sits under `load_balancer` and under `edge`) does not know
    where it is: its validators pass `relative=True` and the key below the model (`glacier_after_days`),
    and the loader puts the model's own location in front.
    """

    def __init__(self, location: str, value: object, allowed: str, *, relative: bool = False) -> None:
        super().__init__(allowed)
        self.location = location
        self.value = value
        self.allowed = allowed
        self.relative = relative

    def located(self, parent: Sequence[Any]) -> str:
        """The key from the top of the file, for an error raised by the model at `parent`."""
        return key_path((*parent, *self.location.split("."))) if self.relative else self.location


class ConfigFieldsError(ValueError):
    """Several problems found by one validator, raised together so that the loader reports each."""

    def __init__(self, errors: list[ConfigFieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def raise_all(problems: list[ConfigFieldError]) -> None:
    """Raise nothing, the one problem, or all of them together."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigFieldsError(problems)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def key_path(parts: Sequence[Any]) -> str:
    """A location as TOML writes it: `database.pool.pool_size`, `availability_zones[1]`, `tags."a b"`."""
    if not parts:
        return "(top level)"
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = str(part)
            if not _BARE_KEY.fullmatch(key):
                key = '"' + visible(key.replace("\\", "\\\\").replace('"', '\\"')) + '"'
            text += ("." if text else "") + key
    return text


def visible(text: str) -> str:
    """`text` with every non-ASCII or non-printable character escaped (\\u200b), so look-alikes show."""
    return "".join(c if c.isascii() and c.isprintable() else ascii(c)[1:-1] for c in text)


_CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def clock_time(value: str) -> tuple[int, int]:
    """`"20:00"` -> (20, 0); ValueError with the expected form otherwise."""
    match = _CLOCK_TIME.fullmatch(value)
    if not match:
        raise ValueError("must be a 24-hour time HH:MM, e.g. 03:00")
    return int(match.group(1)), int(match.group(2))
