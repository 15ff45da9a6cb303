"""Sphinx configuration of the manual (`make docs`): MyST Markdown, heading anchors, warnings as errors.

Why Sphinx and MyST: docs/decisions/02-docs-generator.md. `make docs` runs `sphinx-build -W --keep-going`,
so a broken link to a page or heading (MyST's `myst.xref_missing`) or a page outside every toctree fails the
build. External links are never fetched: only the `linkcheck` builder would, and nothing runs it.
"""

from __future__ import annotations

project = "Ticketing platform infrastructure"
author = "Platform engineering"
copyright = "the platform engineering team"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
#: Quotes and apostrophes as written, so that a name searched for in the site matches the source.
smartquotes = False
exclude_patterns = ["_build"]

#: Every heading gets an id as GitHub gives it, so `page.md#heading` links work on both and are checked.
myst_heading_anchors = 6
#: `:::{toctree}` (the navigation) reads as plain text on GitHub, where a ```` ``` ```` fence would not.
myst_enable_extensions = ["colon_fence"]

html_theme = "alabaster"
#: Wide: the manual's tables (configuration keys, alarms) have five or more columns.
html_theme_options = {"fixed_sidebar": True, "page_width": "1200px", "body_max_width": "none"}
html_sidebars = {"**": ["about.html", "navigation.html", "searchbox.html"]}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None  # no build date: the same sources give the same site
