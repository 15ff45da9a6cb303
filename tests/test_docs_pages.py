"""The generated reference pages of docs/: current with the code, and generated the way they say.

tools/docs_pages renders each page from the code it restates (the Makefile's `## ` comments, the config
schema); a page that differs from what the code renders today fails here, so a new target or a changed bound
cannot leave the manual behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from tools.docs_pages import DOCS, GeneratedPage, config_keys, generated_pages, make_targets, stale_pages, write_pages
from tools.docs_pages.__main__ import main
from tools.docs_pages._markdown import cell, code, table


def test_every_generated_page_is_current() -> None:
    stale = stale_pages(generated_pages())
    assert stale == [], f"out of date: {stale}; run `.venv/bin/python -m tools.docs_pages --write`"


def test_the_generators_are_found_and_write_distinct_pages_under_docs() -> None:
    pages = generated_pages()
    assert {page.path for page in pages} >= {"reference/make-targets.md", "reference/config-keys.md"}
    for page in pages:
        assert page.file().is_relative_to(DOCS)
        text = page.render()
        assert text.startswith("# "), page.module
        assert text.endswith("\n"), page.module
        assert not text.endswith("\n\n"), page.module
        assert "tools.docs_pages --write" in text.split("\n\n", 2)[1], f"{page.module}: no generated-page notice"


def test_check_names_a_stale_page_and_write_makes_it_current(tmp_path: Path) -> None:
    page = GeneratedPage("example", "reference/example.md", lambda: "# Example\n\nFrom the code.\n")
    assert stale_pages([page], tmp_path) == ["reference/example.md"]  # missing
    assert write_pages([page], tmp_path) == ["reference/example.md"]
    assert stale_pages([page], tmp_path) == []
    (tmp_path / "reference" / "example.md").write_text("# Example\n\nEdited by hand.\n", encoding="utf-8")
    assert stale_pages([page], tmp_path) == ["reference/example.md"]
    assert write_pages([page], tmp_path) == ["reference/example.md"]
    assert write_pages([page], tmp_path) == []  # nothing to do twice


def test_the_command_exits_1_naming_the_stale_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = GeneratedPage("example", "reference/example.md", lambda: "# Example\n")
    monkeypatch.setattr("tools.docs_pages.__main__.generated_pages", lambda: [page])
    monkeypatch.setattr("tools.docs_pages.__main__.stale_pages", lambda pages: [p.path for p in pages])
    assert main(["--check"]) == 1
    assert "docs/reference/example.md" in capsys.readouterr().err


# --- the make targets page ---------------------------------------------------------------------------------
def test_make_targets_reads_targets_and_variables_as_make_help_does(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        "ENV ?= all\nEMPTY ?=\nSHELL := /bin/bash\n\n"
        "synth: setup  ## synthesise ENV (dev|prod)\n\tcdk synth\n"
        "internal:\n\ttrue\n"
        "docs: setup  ## build <the> manual\n",
        encoding="utf-8",
    )
    text = makefile.read_text(encoding="utf-8")
    assert make_targets.targets(text) == [("synth", "synthesise ENV (dev|prod)"), ("docs", "build <the> manual")]
    assert make_targets.variables(text) == [("ENV", "all"), ("EMPTY", "")]
    page = make_targets.render(makefile)
    assert "| `make synth` | synthesise ENV (dev\\|prod) |" in page
    assert "| `make docs` | build &lt;the> manual |" in page
    assert "internal" not in page
    assert "| `EMPTY` | empty |" in page


def test_the_make_targets_page_lists_every_target_of_make_help() -> None:
    text = make_targets.MAKEFILE.read_text(encoding="utf-8")
    page = (DOCS / make_targets.PAGE).read_text(encoding="utf-8")
    names = [name for name, _ in make_targets.targets(text)]
    assert {"synth", "test-fast", "diff", "docs"} <= set(names)
    assert all(f"`make {name}`" in page for name in names)


# --- the configuration keys page ---------------------------------------------------------------------------
class _Inner(BaseModel):
    """A nested table.

    Its second paragraph is not shown."""

    limit: Annotated[
        int, Field(ge=1, le=100, description="How many. Allowed: 1 to 100.", json_schema_extra={"allowed": "1 to 100"})
    ] = 10


class _Outer(BaseModel):
    name: Literal["dev", "prod"] = Field(description="The environment.")
    zones: tuple[str, ...] = Field(min_length=2, max_length=6, description="Zones.")
    account: str = Field(pattern=r"^[0-9]{12}$", description="Account | id.")
    inner: _Inner = _Inner()
    per_name: dict[str, _Inner] = Field(default_factory=dict, description="One per name.")
    maybe: _Inner | None = None


def test_config_keys_renders_type_default_range_and_description_from_the_fields() -> None:
    rows = {row[0]: row[1:] for row in config_keys.rows(_Outer.model_fields.items())}
    assert rows["`name`"] == ('one of "dev", "prod"', "required", "", "The environment.")
    assert rows["`zones`"] == ("list of string", "required", "2 to 6 items", "Zones.")
    assert rows["`account`"] == ("string", "required", "matching `^[0-9]{12}$`", "Account \\| id.")
    assert rows["`inner`"] == ("table", config_keys.TABLE_DEFAULT, "", "A nested table.")
    assert rows["`inner.limit`"] == ("integer", "`10`", "1 to 100", "How many.")
    assert rows["`per_name.<name>.limit`"][0] == "integer"
    assert rows["`maybe`"][:2] == ("table, optional", "`none`")
    assert "`maybe.limit`" in rows


def test_the_config_keys_page_shows_the_schemas_bounds() -> None:
    """Spot checks against the schema itself: a bound, a default and a nested key, as the page prints them."""
    model = config_keys.environment_model()
    replicas = model.model_fields["database"].annotation.model_fields["read_replicas"]  # type: ignore[union-attr]
    page = (DOCS / config_keys.PAGE).read_text(encoding="utf-8")
    assert f"| `database.read_replicas` | integer | required | {config_keys.allowed(replicas)} |" in page
    assert '| `maintenance.daily_at` | string | `"03:00"` |' in page
    assert "`services.<name>.port`" in page


def test_markdown_cells_escape_pipes_and_tags() -> None:
    assert cell("a | b <env>\n c") == "a \\| b &lt;env> c"
    assert code("a`b") == "``a`b``"
    assert table(("A", "B"), [("1", "2")]) == "| A | B |\n|---|---|\n| 1 | 2 |\n"
