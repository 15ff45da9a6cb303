"""The manual's links, anchors and navigation: checked fast by tools/check_docs_links.py, and by the site build.

The fast tests prove the checker on pages broken on purpose (a missing page, a missing anchor, a page outside
the navigation, a toctree entry without a page) and run it over README.md and docs/. The slow tests build the
site with Sphinx as `make docs` does, into a temporary directory with warnings as errors, and show that the
build fails on the same breakage. No test fetches an external link.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.check_docs_links import ROOT, anchors, check, check_links, check_navigation, links, slug

DOCS = ROOT / "docs"


def write(root: Path, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def a_small_manual(root: Path) -> Path:
    """A README and a docs/ tree like the real one, every link good."""
    return write(
        root,
        {
            "README.md": "# Front\n\nRead [Data](docs/tiers/data.md#pooling) and [home](docs/index.md).\n",
            "docs/index.md": "# Home\n\n:::{toctree}\n:maxdepth: 2\n\ntiers/data\nTitled <guide>\n:::\n",
            "docs/guide.md": (
                "# Guide\n\n## Services in `config/services.toml`\n\nSee [below](#services-in-configservicestoml).\n"
            ),
            "docs/tiers/data.md": (
                "# Data tier\n\n## Pooling\n\n## Pooling\n\n"
                "Back to the [guide](../guide.md#services-in-configservicestoml), the second [pooling](#pooling-1),\n"
                "[AWS](https://docs.aws.amazon.com/#nowhere), and `[not a link](gone.md)`.\n\n"
                "```text\n[not a link either](gone.md)\n## not a heading\n```\n"
            ),
        },
    )


def problems_of(root: Path) -> list[str]:
    return [p.message for p in check(root)]


def test_a_manual_with_good_links_passes(tmp_path: Path) -> None:
    assert problems_of(a_small_manual(tmp_path)) == []


def test_a_link_to_a_missing_page_fails(tmp_path: Path) -> None:
    root = a_small_manual(tmp_path)
    write(root, {"README.md": "# Front\n\nSee [gone](docs/gone.md).\n"})
    assert problems_of(root) == ["link to docs/gone.md: no such file"]


def test_a_link_to_a_missing_anchor_fails_in_another_page_and_in_its_own(tmp_path: Path) -> None:
    root = a_small_manual(tmp_path)
    write(root, {"docs/guide.md": "# Guide\n\n[a](tiers/data.md#pool) [b](#nope) [c](tiers/data.md#pooling)\n"})
    assert problems_of(root) == [
        "link to tiers/data.md#pool: no heading with the id #pool there",
        "link to #nope: no heading with the id #nope there",
        "link to ../guide.md#services-in-configservicestoml: no heading with the id "
        "#services-in-configservicestoml there",
    ]


def test_a_page_outside_the_navigation_fails(tmp_path: Path) -> None:
    root = write(a_small_manual(tmp_path), {"docs/orphan.md": "# Orphan\n"})
    (problem,) = check_navigation(root / "docs")
    assert problem.file == (root / "docs" / "orphan.md").resolve()
    assert problem.message.startswith("not in the navigation")


def test_a_toctree_entry_without_a_page_fails(tmp_path: Path) -> None:
    root = a_small_manual(tmp_path)
    write(root, {"docs/index.md": "# Home\n\n```{toctree}\ntiers/data\nguide\nrenamed\n```\n"})
    assert [p.message for p in check_navigation(root / "docs")] == ["toctree entry 'renamed': no such page"]


def test_external_links_and_code_are_not_checked() -> None:
    text = "[a](https://example.invalid/x#y) [b](mailto:x@example.invalid) `[c](gone.md)`\n```\n[d](gone.md)\n```\n"
    assert list(links(text)) == [(1, "https://example.invalid/x#y"), (1, "mailto:x@example.invalid")]
    assert check_links([]) == []


def test_heading_ids_are_githubs() -> None:
    assert slug("Services in `config/services.toml`") == "services-in-configservicestoml"
    assert slug("Encryption (54)") == "encryption-54"
    assert slug("Runbook: the main region is lost") == "runbook-the-main-region-is-lost"
    assert slug("The origin header's value") == "the-origin-headers-value"
    assert anchors("# A\n## B\n## B\n```\n# C\n```\n") == {"a", "b", "b-1"}


def test_the_manual_has_no_broken_link_anchor_or_page_outside_the_navigation() -> None:
    assert [str(problem) for problem in check()] == []


def test_the_front_door_stays_short_and_links_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    linked = {target.partition("#")[0] for _, target in links(readme)}
    pages = {f"docs/{page.relative_to(DOCS).as_posix()}" for page in DOCS.rglob("*.md")}
    section_pages = {page for page in pages if not page.startswith("docs/decisions/0")}  # records: via the index
    assert section_pages - linked == set()
    # the dashboard's text points at "README: metric contract": the README names it and links its page
    assert "[metric contract](docs/tiers/observability.md#the-metric-contract-the-services-keep)" in readme


# --- the site build, as make docs runs it (slow: Sphinx takes several seconds) ---------------------------------
def sphinx_build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(out / ".doctrees")]
    return subprocess.run([*command, str(source), str(out)], capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.slow  # a Sphinx build of the whole manual
def test_the_site_builds_with_no_warning(tmp_path: Path) -> None:
    result = sphinx_build(DOCS, tmp_path / "site")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "reference" / "config-keys.html").is_file()


@pytest.mark.slow  # a Sphinx build of a copy of the manual, broken on purpose
def test_the_site_build_fails_on_a_broken_link_anchor_or_unlisted_page(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs, ignore=shutil.ignore_patterns("_build"))
    with (docs / "ci.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [a missing page](gone.md) and [a missing heading](tiers/data.md#no-such-heading).\n")
    (docs / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    result = sphinx_build(docs, tmp_path / "site")
    assert result.returncode != 0
    assert "gone.md" in result.stderr
    assert "no-such-heading" in result.stderr
    assert "orphan.md" in result.stderr
    assert "isn't included in any toctree" in result.stderr
