"""Write or check the generated reference pages of docs/.

python -m tools.docs_pages --write   # regenerate every page from the code
python -m tools.docs_pages --check   # exit 1 naming each page that is out of date (make docs, the tests)
"""

from __future__ import annotations

import argparse
import sys

from tools.docs_pages import generated_pages, stale_pages, write_pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs_pages", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="regenerate every page from the code")
    action.add_argument("--check", action="store_true", help="exit 1 if a page differs from the code")
    arguments = parser.parse_args(argv)
    pages = generated_pages()
    if arguments.write:
        written = write_pages(pages)
        print(f"wrote {len(written)} of {len(pages)} generated pages" + "".join(f"\n  docs/{p}" for p in written))
        return 0
    stale = stale_pages(pages)
    if stale:
        print("out of date (run `.venv/bin/python -m tools.docs_pages --write`):", file=sys.stderr)
        for path in stale:
            print(f"  docs/{path}", file=sys.stderr)
        return 1
    print(f"{len(pages)} generated pages are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
