"""Markdown building blocks the page generators share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def notice(source: str) -> str:
    """The paragraph under a generated page's title: where it comes from and how to regenerate it."""
    return (
        f"Generated from {source} by `.venv/bin/python -m tools.docs_pages --write`; do not edit by hand "
        "(`make docs` fails when this page differs from the code).\n"
    )


def cell(text: str) -> str:
    """`text` as one table cell: on one line, its pipes escaped, and `<` as an entity (so `<env>` shows
    as text, not as an HTML tag)."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def code(text: str) -> str:
    """`text` as inline code, with a longer fence when it holds a backtick."""
    fence = "``" if "`" in text else "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; cells are taken as Markdown (use `cell` for plain text)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines) + "\n"
