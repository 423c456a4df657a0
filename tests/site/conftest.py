"""Fixtures for the tests of the built site (book/_build/html).

`make test-site` builds the book (warnings as errors) and then runs these. The browser
tests need Debian's chromium at /usr/bin/chromium (override: COMPANION_CHROMIUM=path)
and Playwright for Python (in requirements.txt); never `playwright install`. Without
chromium they skip with a message saying how to enable them, except where CI is set
(CI=true): there a missing browser is a failure, not a skip.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# COMPANION_SITE: test another copy of the site (the tests of these tests use it).
SITE = Path(os.environ.get("COMPANION_SITE", ROOT / "book" / "_build" / "html")).resolve()
# Folders of the built site that hold assets or template fragments, not pages.
NOT_PAGES = {"_static", "_sources", "_images", "_sphinx_design_static", "jupyter_execute"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ENABLE_HINT = ("install it with: apt-get update && apt-get install -y chromium "
               "(Debian's package; never 'playwright install'), or point COMPANION_CHROMIUM at one")


def in_ci():
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def site_pages():
    """Every page of the built site, as paths relative to the site root."""
    if not (SITE / "index.html").is_file():
        return []
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if not NOT_PAGES.intersection(p.relative_to(SITE).parts[:-1]))


def pytest_collection_modifyitems(items):
    """The longest tests first (the PDF, then axe on every page), so that neither pytest-xdist
    worker is left with one of them at the end while the other waits."""
    first = {"test_pdf.py": 0, "test_accessibility.py": 1}
    items.sort(key=lambda item: first.get(item.path.name, 2))   # stable: file order otherwise


def pytest_generate_tests(metafunc):
    if "page_path" in metafunc.fixturenames:
        pages = site_pages() or ["<no site: run 'make book' first>"]
        metafunc.parametrize("page_path", pages)


@pytest.fixture(scope="session")
def site():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE / 'index.html'} does not exist: build the book first ('make book')")
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """The built site over http on 127.0.0.1 (a free port), served from a thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _chromium_path():
    chosen = os.environ.get("COMPANION_CHROMIUM")
    for cand in ([chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium")]):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def _unavailable(why):
    if in_ci():
        pytest.fail(f"CI is set, so the browser tests must run, but {why}; {ENABLE_HINT}")
    pytest.skip(f"browser tests skipped: {why}; to enable them, {ENABLE_HINT}")


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if path is None:
        _unavailable(f"no chromium at {os.environ.get('COMPANION_CHROMIUM') or '/usr/bin/chromium'}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -r requirements.txt)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
