"""The configuration keys page: every key of an environment file, from the pydantic models that validate it.

The schema is the one home of each key's type, default, bounds and meaning; a hand-written table of them
went stale whenever a bound moved. The models are walked from `config.EnvironmentConfig` through pydantic's
public `model_fields`, so the page follows the schema however its models are split across modules.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tools.docs_pages._markdown import cell, code, notice, table

PAGE = "reference/config-keys.md"

#: Shown as the default of a table whose keys all have defaults (the whole table may be left out).
TABLE_DEFAULT = "its keys' defaults"


def environment_model() -> type[BaseModel]:
    """The schema of one environment file (imported here: it is the one slow import of this package)."""
    from config import EnvironmentConfig

    return EnvironmentConfig


# --- one field: its type, default and allowed values, in words --------------------------------------------
def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def type_name(annotation: Any) -> str:
    """The type as a reader of a TOML file meets it: `integer`, `list of string`, `one of "a", "b"`."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:  # a constrained item type, e.g. a list of patterned strings
        return type_name(arguments[0])
    if annotation is type(None):
        return "none"
    if origin in (typing.Union, types.UnionType):
        others = [argument for argument in arguments if argument is not type(None)]
        name = " or ".join(type_name(argument) for argument in others)
        return f"{name}, optional" if len(others) < len(arguments) else name
    if origin is typing.Literal:
        return "one of " + ", ".join(toml_value(argument) for argument in arguments)
    if origin in (tuple, list, set, frozenset):
        items = [argument for argument in arguments if argument is not Ellipsis]
        return "list of " + (" or ".join(dict.fromkeys(type_name(item) for item in items)) or "values")
    if origin is dict:
        return f"table of {type_name(arguments[1])}" if arguments else "table"
    if _is_model(annotation):
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(toml_value(member.value) for member in annotation)
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def toml_value(value: Any) -> str:
    """A value as a TOML file writes it."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (tuple, list, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(toml_value(item) for item in items) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + "}"
    if isinstance(value, BaseModel):
        return TABLE_DEFAULT
    return str(value)


def default(field: FieldInfo) -> str:
    """`required`, or the default as TOML writes it (a table's: its keys' own defaults)."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True, validated_data={})
    return TABLE_DEFAULT if isinstance(value, BaseModel) else code(toml_value(value))


def allowed(field: FieldInfo) -> str:
    """The allowed values: the schema's own wording where it gives one, else the field's constraints."""
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("allowed"), str):
        return str(extra["allowed"])
    low = high = None
    shortest = longest = None
    pattern = None
    for constraint in field.metadata:
        if isinstance(constraint, (annotated_types.Ge, annotated_types.Gt)):
            low = f"{constraint.ge}" if isinstance(constraint, annotated_types.Ge) else f"more than {constraint.gt}"
        elif isinstance(constraint, (annotated_types.Le, annotated_types.Lt)):
            high = f"{constraint.le}" if isinstance(constraint, annotated_types.Le) else f"less than {constraint.lt}"
        elif isinstance(constraint, annotated_types.MinLen):
            shortest = constraint.min_length
        elif isinstance(constraint, annotated_types.MaxLen):
            longest = constraint.max_length
        else:
            shortest = getattr(constraint, "min_length", None) or shortest
            longest = getattr(constraint, "max_length", None) or longest
            pattern = getattr(constraint, "pattern", None) or pattern
    parts = []
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    elif low is not None:
        parts.append(f"at least {low}")
    elif high is not None:
        parts.append(f"at most {high}")
    if shortest is not None or longest is not None:
        unit = "items" if typing.get_origin(field.annotation) in (tuple, list, set, frozenset, dict) else "characters"
        parts.append(f"{shortest or 0} to {longest} {unit}" if longest is not None else f"at least {shortest} {unit}")
    if pattern:
        parts.append(f"matching {code(str(pattern))}")
    return "; ".join(parts)


def description(field: FieldInfo, allowed_text: str) -> str:
    """The field's description, without the "Allowed: ..." sentence the Allowed column already shows; for a
    table without one, the first paragraph of its model's docstring."""
    text = " ".join((field.description or "").split())
    if not text:
        text = next((model_summary(model) for _, model in nested(field.annotation) if model_summary(model)), "")
    if allowed_text:
        text = text.replace(f" Allowed: {allowed_text}.", "").removeprefix(f"Allowed: {allowed_text}.")
    return text.strip()


# --- the walk over the models -------------------------------------------------------------------------------
def nested(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """The models a field holds, each with the key segment that leads into it (`.`, `.<name>.`, `[].`)."""
    origin, arguments = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        yield from nested(arguments[0])
    elif _is_model(annotation):
        yield ".", annotation
    elif origin in (typing.Union, types.UnionType):
        for argument in arguments:
            yield from nested(argument)
    elif origin is dict and arguments:
        for segment, model in nested(arguments[1]):
            yield ".<name>" + segment, model
    elif origin in (tuple, list, set, frozenset):
        for argument in arguments:
            if argument is not Ellipsis:
                for segment, model in nested(argument):
                    yield "[]" + segment, model


Row = tuple[str, str, str, str, str]


def rows(fields: Iterable[tuple[str, FieldInfo]], prefix: str = "") -> Iterator[Row]:
    """(key path, type, default, allowed, description) of every field given and of the tables inside it."""
    for name, field in fields:
        key = prefix + (field.alias or name)
        allowed_text = allowed(field)
        yield (
            code(key),
            cell(type_name(field.annotation)),
            cell(default(field)),
            cell(allowed_text),
            cell(description(field, allowed_text)),
        )
        for segment, inner in dict.fromkeys(nested(field.annotation)):
            yield from rows(inner.model_fields.items(), key + segment)


def model_summary(model: type[BaseModel]) -> str:
    """The first paragraph of the model's own docstring (not one it inherits), on one line."""
    own = model.__dict__.get("__doc__") or ""
    return " ".join(own.strip().split("\n\n", 1)[0].split())


HEADERS = ("Key", "Type", "Default", "Allowed", "Meaning")


def render() -> str:
    model = environment_model()
    top_level = [(name, field) for name, field in model.model_fields.items() if not list(nested(field.annotation))]
    sections = [(name, field) for name, field in model.model_fields.items() if list(nested(field.annotation))]
    parts = [
        "# Configuration keys\n\n",
        notice("the config schema (`config.EnvironmentConfig` and the models inside it)"),
        "\nEvery key of an environment's configuration: `config/<env>.toml`, and the `[services]` tables of\n"
        "`config/services.toml` that every environment shares. Rules that combine keys (zones against the\n"
        "region, prod's rules, instance classes offered in the region) are in [Configuration](../configuration.md).\n"
        "A key shown as `<name>` stands for a name you choose (a service's, say).\n\n",
        "## Top-level keys\n\n",
        table(HEADERS, rows(top_level)),
    ]
    for name, field in sections:
        key = field.alias or name
        parts.append(f"\n## `[{key}]`\n\n")
        summaries = [model_summary(inner) for _, inner in nested(field.annotation)]
        summary = next((text for text in summaries if text), "")
        if summary:
            parts.append(cell(summary) + "\n\n")
        parts.append(table(HEADERS, rows([(name, field)])))
    return "".join(parts)
