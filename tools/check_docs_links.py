"""Check the manual's internal links, anchors and navigation without building it (or fetching anything).

    python -m tools.check_docs_links          # README.md and every page under docs/; exit 1 naming each problem

- A relative link (`[text](tiers/data.md#pooling)`) must name a file that exists, and its `#anchor` a heading
  of that page (GitHub's and MyST's heading ids: lower case, punctuation dropped, spaces as hyphens, `-1`,
  `-2` for repeats). A bare `#anchor` is looked up in the page itself.
- Every page under docs/ must be reachable from docs/index.md through `toctree` directives, and every toctree
  entry must name a page: the site's navigation is the toctrees, so a page outside them is one no reader
  finds. (`make docs` builds the site with Sphinx, which checks the same for its pages; this check also
  covers README.md, which lives outside the site, and runs in the fast tests in a fraction of a second.)
- Links with a scheme (`https:`, `mailto:`) are external: never fetched, never checked.
Links and headings inside fenced blocks and inline code are not links.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
INDEX = "index.md"

FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
#: An inline link or image: `[text](target)` or `[text](target "title")`; nested brackets in the text allowed.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        try:
            where = self.file.relative_to(ROOT)
        except ValueError:
            where = self.file
        return f"{where}:{self.line}: {self.message}"


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the lines outside fenced blocks and directives (`:::`/```` ``` ````)."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            continue
        if fence is not None:
            if (
                match
                and match.group(1)[0] == fence[0]
                and len(match.group(1)) >= len(fence)
                and not match.group(2).strip()
            ):
                fence = None
            continue
        yield number, line


def slug(heading: str) -> str:
    """A heading's id as GitHub and MyST (`myst_heading_anchors`) make it."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)  # inline code keeps its text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in "_- ")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The ids of every heading of a page, repeats numbered as GitHub does."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line number, target) of every inline link outside code."""
    for number, line in prose_lines(text):
        for match in LINK.finditer(CODE_SPAN.sub("", line)):
            yield number, match.group(1)


def check_links(files: Iterable[Path]) -> list[Problem]:
    """Every relative link of `files` names an existing file, and its anchor a heading there."""
    problems = []
    cache: dict[Path, set[str]] = {}

    def anchors_of(path: Path) -> set[str]:
        if path not in cache:
            cache[path] = anchors(path.read_text(encoding="utf-8"))
        return cache[path]

    for file in files:
        for line, target in links(file.read_text(encoding="utf-8")):
            if not target or SCHEME.match(target):
                continue  # external: never fetched
            path_part, _, anchor = target.partition("#")
            destination = (file.parent / unquote(path_part)).resolve() if path_part else file
            if not destination.exists():
                problems.append(Problem(file, line, f"link to {target}: no such file"))
                continue
            if anchor and destination.suffix == ".md" and unquote(anchor) not in anchors_of(destination):
                problems.append(Problem(file, line, f"link to {target}: no heading with the id #{anchor} there"))
            elif anchor and destination.suffix != ".md":
                problems.append(Problem(file, line, f"link to {target}: an anchor into a file that is not a page"))
    return problems


TOCTREE = re.compile(r"^\s*(`{3,}|:{3,})\{toctree\}")


def toctree_entries(text: str) -> Iterator[tuple[int, str]]:
    """(line number, entry) of each toctree directive's entries (option lines `:x:` skipped)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = TOCTREE.match(lines[index])
        index += 1
        if not match:
            continue
        fence = match.group(1)
        while index < len(lines) and lines[index].strip() != fence:
            entry = lines[index].strip()
            if entry and not entry.startswith(":"):
                title_target = re.fullmatch(r".*<(.+)>", entry)  # `Title <target>`
                yield index + 1, title_target.group(1) if title_target else entry
            index += 1
        index += 1


def check_navigation(docs: Path) -> list[Problem]:
    """Every page under `docs` is reachable from its index.md through toctrees, and every entry is a page."""
    problems = []
    pages = {path.resolve() for path in docs.rglob("*.md") if not any(p.startswith("_") for p in path.parts)}
    index = (docs / INDEX).resolve()
    if index not in pages:
        return [Problem(docs, 0, f"no {INDEX}: the site has no home page")]
    reached = {index}
    queue = [index]
    while queue:
        page = queue.pop()
        for line, entry in toctree_entries(page.read_text(encoding="utf-8")):
            target = (page.parent / (entry if entry.endswith(".md") else entry + ".md")).resolve()
            if target not in pages:
                problems.append(Problem(page, line, f"toctree entry {entry!r}: no such page"))
            elif target not in reached:
                reached.add(target)
                queue.append(target)
    for page in sorted(pages - reached):
        problems.append(Problem(page, 1, f"not in the navigation: add it to a toctree reachable from docs/{INDEX}"))
    return problems


def manual_files(root: Path = ROOT) -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def check(root: Path = ROOT) -> list[Problem]:
    return check_links(manual_files(root)) + check_navigation(root / "docs")


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} broken link(s), anchor(s) or navigation entries", file=sys.stderr)
        return 1
    print(f"links, anchors and navigation of {len(manual_files())} pages: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
