"""axe-core (bundled by axe-playwright-python, no download) on every page of the built site.

Each page is opened in headless Chromium (outside requests blocked), after its equations are
typeset and its widgets drawn, and checked by axe-core's default rules (WCAG 2.x A/AA and best
practices) in light mode; on a page with widgets, their colour contrast again in dark mode (OURS).
Any critical or serious violation fails; a moderate or minor one fails unless ALLOWED lists it
with its reason. In the same visit: every image has a real text alternative (not empty, not a
file name).

Measured when this test was written (axe-core 4.x, 22 pages, light mode), in nodes:
before: critical 10 (aria-required-children: the bibliographies), serious 35 (color-contrast:
links in exercise boxes), moderate 33 (heading-order: the widgets' h4 titles, 11; region: the
sidebar's title link, 22), minor 93 (aria-allowed-role and aria-deprecated-role: doc-biblioentry,
84; empty-table-header: maths-only table headers, 9). After: none. Dark mode, whole pages
(2026-12-03): none either. Skipped without chromium unless CI is set (see conftest.py).
"""
from __future__ import annotations

import pytest

from conftest import in_ci

# rule id -> why it stays; empty: nothing remains.
ALLOWED: dict[str, str] = {}
FAIL_ALWAYS = {"critical", "serious"}

READY = """() => new Promise(resolve => {
  const t0 = Date.now();
  (function poll() {
    const math = document.querySelector('.math');
    const mj = math && window.MathJax && MathJax.startup && MathJax.startup.promise;
    const widgets = document.querySelectorAll('.cw-static').length
                    <= document.querySelectorAll('.cw[data-ready]').length;
    if (((mj || !math) && widgets) || Date.now() - t0 > 15000) (mj || Promise.resolve()).then(resolve, resolve);
    else setTimeout(poll, 50);
  })();
})"""

ALTS = """() => [...document.images].map(i => [i.getAttribute('src'), i.getAttribute('alt')])"""


@pytest.fixture(scope="module")
def axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        if in_ci():
            pytest.fail("CI is set but axe-playwright-python is missing (pip install -r requirements.txt)")
        pytest.skip("axe-playwright-python is not installed (pip install -r requirements.txt)")
    return Axe()


@pytest.fixture(scope="module")
def tab(browser, server):
    context = browser.new_context(service_workers="block")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((server, "data:", "blob:"))
                  else r.abort())
    page = context.new_page()
    yield page
    context.close()


def _open(tab, url):
    tab.goto(url, wait_until="networkidle", timeout=30_000)
    tab.wait_for_load_state("load")
    tab.evaluate(READY)


def _violations(result, page_path):
    bad = []
    for v in result.response["violations"]:
        if v["impact"] in FAIL_ALWAYS or v["id"] not in ALLOWED:
            targets = ", ".join(str(n["target"]) for n in v["nodes"][:3])
            bad.append(f"{page_path}: {v['impact']} {v['id']} ({len(v['nodes'])} nodes: {targets}): "
                       f"{v['help']}")
    return bad


# What the book colours itself: its widgets. Everything else in dark mode (text, links, code,
# admonitions, sidebars) is the theme's dark palette, and figures are images on a white card
# (test_dark_mode.py).
OURS = ".cw"


def test_axe_light_and_dark_and_alt_text(tab, axe, server, page_path):
    _open(tab, f"{server}/{page_path}")
    bad = _violations(axe.run(tab), page_path)
    # every image has a real text alternative: not empty, not its file name
    bad += [f"{page_path}: image without a text alternative: {src}" for src, alt in tab.evaluate(ALTS)
            if not (alt or "").strip() or alt.strip() == src
            or alt.strip().lower().endswith((".png", ".svg", ".jpg"))]
    if tab.locator(OURS).count():
        tab.evaluate("() => { const d = document.documentElement.dataset; d.theme = 'dark'; d.mode = 'dark'; }")
        tab.wait_for_timeout(100)
        # Dark mode: the widgets' colour contrast. The theme's own dark palette passed on every
        # page when this test was written; a whole-page run costs as much again as the light
        # one (axe's contrast rule: about 1 ms per element, 20,000 elements in a chapter).
        dark = axe.run(tab, context={"include": [[OURS]]},
                       options={"runOnly": {"type": "rule", "values": ["color-contrast"]}})
        bad += [f"(dark mode) {b}" for b in _violations(dark, page_path)]
    assert not bad, "\n".join(bad)
