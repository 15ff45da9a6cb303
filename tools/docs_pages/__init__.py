"""Reference pages of the manual generated from the code they describe, and the check that they are current.

A table that restates code (the make targets, the configuration keys, the alarms) drifts the day someone
edits the code and forgets the page. So such a page is generated: each module of this package (except the
`_`-prefixed helpers) is one page and exposes

    PAGE: str          the page's path under docs/, e.g. "reference/make-targets.md"
    render() -> str    the whole page as Markdown, deterministic, ending in one newline

A new generated page is a new module here and an entry in a toctree of docs/ (the build refuses a page no
toctree lists); nothing else registers it. `python -m tools.docs_pages --write` writes every page, `--check`
fails naming the pages that differ from the code (`make docs` and tests/test_docs_pages.py run it).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"


@dataclass(frozen=True)
class GeneratedPage:
    """One page: where it goes under docs/, and the function that renders it from the code."""

    module: str
    path: str
    render: Callable[[], str]

    def file(self, docs: Path = DOCS) -> Path:
        return docs / self.path


def generated_pages() -> list[GeneratedPage]:
    """Every page generator of this package, in module-name order."""
    pages = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        path, render = getattr(module, "PAGE", None), getattr(module, "render", None)
        if not isinstance(path, str) or not callable(render):
            raise TypeError(f"{module.__name__}: a page generator exposes PAGE: str and render() -> str")
        pages.append(GeneratedPage(module.__name__, path, render))
    paths = [page.path for page in pages]
    duplicates = sorted({path for path in paths if paths.count(path) > 1})
    if duplicates:
        raise ValueError(f"two generators write the same page: {', '.join(duplicates)}")
    return pages


def stale_pages(pages: list[GeneratedPage], docs: Path = DOCS) -> list[str]:
    """The paths (under docs/) of the pages whose file is missing or differs from what the code renders."""
    stale = []
    for page in pages:
        file = page.file(docs)
        if not file.is_file() or file.read_text(encoding="utf-8") != page.render():
            stale.append(page.path)
    return stale


def write_pages(pages: list[GeneratedPage], docs: Path = DOCS) -> list[str]:
    """Write every page whose file differs from what the code renders; the paths written."""
    written = []
    for page in pages:
        file, text = page.file(docs), page.render()
        if not file.is_file() or file.read_text(encoding="utf-8") != text:
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            written.append(page.path)
    return written
