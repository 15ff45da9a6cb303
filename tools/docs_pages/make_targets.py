"""The make targets page: every target `make help` lists, with its `## ` comment, and the variables to set.

The Makefile is the one home of what each target does (its `## ` comment is what `make help` prints), so
the page is read from it with the same rule as `make help`: a line `target: prerequisites  ## text`.
"""

from __future__ import annotations

import re
from pathlib import Path

from tools.docs_pages import ROOT
from tools.docs_pages._markdown import cell, code, notice, table

PAGE = "reference/make-targets.md"
MAKEFILE = ROOT / "Makefile"

#: `make help`'s own pattern: `grep -hE '^[a-z-]+:.*## '`, the text after the first `## `.
TARGET = re.compile(r"^(?P<name>[a-z-]+):.*?## (?P<text>.*)$")
#: A variable a user may set on the command line: `NAME ?= default` (`?=` leaves a given value alone).
VARIABLE = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*) \?= ?(?P<default>.*)$")


def targets(makefile: str) -> list[tuple[str, str]]:
    """(target, description) in the Makefile's order."""
    return [(m["name"], m["text"].strip()) for m in map(TARGET.match, makefile.splitlines()) if m]


def variables(makefile: str) -> list[tuple[str, str]]:
    """(variable, default as written) of every `?=` assignment, in the Makefile's order."""
    return [(m["name"], m["default"].strip()) for m in map(VARIABLE.match, makefile.splitlines()) if m]


def render(makefile: Path = MAKEFILE) -> str:
    text = makefile.read_text(encoding="utf-8")
    target_rows = [(code(f"make {name}"), cell(description)) for name, description in targets(text)]
    variable_rows = [(code(name), code(default) if default else "empty") for name, default in variables(text)]
    return (
        "# Make targets\n\n"
        + notice("the `## ` comments of the `Makefile` (what `make help` prints)")
        + "\nEvery command a platform engineer or CI runs. The first target that needs it sets up `.venv/`,\n"
        "`node_modules/` and `.lambda-deps/` from the pinned files.\n\n"
        + table(("Target", "What it does"), target_rows)
        + "\n## Variables\n\nSet on the command line, e.g. `make synth ENV=prod OUT=cdk.out.prod`.\n\n"
        + table(("Variable", "Default"), variable_rows)
    )
