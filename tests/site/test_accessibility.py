"""axe-core (bundled by axe-playwright-python, no download) on every page of the built site.

Each page is opened in headless Chromium (outside requests blocked), after its equations are
typeset and its widgets drawn, and checked by axe-core's default rules (WCAG 2.x A/AA and best
practices), in light mode, then for colour contrast again in dark mode (see OURS). Any critical or serious
violation fails; a moderate or minor one fails unless ALLOWED lists it with its reason.
Also: every image on every page has a real text alternative (not empty, not a file name).

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


# What this book colours itself in dark mode: the widgets, figures and outputs, admonitions and
# exercise boxes. The rest (text, links, code, sidebars) is the theme's dark palette.
OURS = [".cw", "figure", ".cell_output", ".admonition", "div.exercise"]


def test_axe_light_and_dark(tab, axe, server, page_path):
    _open(tab, f"{server}/{page_path}")
    bad = _violations(axe.run(tab), page_path)
    tab.evaluate("() => { const d = document.documentElement.dataset; d.theme = 'dark'; d.mode = 'dark'; }")
    tab.wait_for_timeout(100)
    # Dark mode: colour contrast of what the book colours itself (OURS). The theme's own dark
    # palette passed on every page when this test was written (a full run there doubles the
    # time: axe's contrast rule costs about 1 ms per element, and a chapter has 20,000).
    ours = [[sel] for sel in OURS if tab.locator(sel).count()]
    if ours:
        dark = axe.run(tab, context={"include": ours},
                       options={"runOnly": {"type": "rule", "values": ["color-contrast"]}})
        bad += [f"(dark mode) {b}" for b in _violations(dark, page_path)]
    assert not bad, "\n".join(bad)


def test_every_image_has_alt_text(tab, server, page_path):
    _open(tab, f"{server}/{page_path}")
    missing = [src for src, alt in tab.evaluate(ALTS)
               if not (alt or "").strip() or alt.strip() == src
               or alt.strip().lower().endswith((".png", ".svg", ".jpg"))]
    assert not missing, f"{page_path}: images without a text alternative: {missing}"
