"""The built site on a phone (390 x 844 CSS px, touch), in headless Chromium.

- No page scrolls sideways: the document is no wider than the screen; only code, display
  maths, tables and cell outputs may scroll inside their own boxes (book/_assets/companion.css).
- Every widget fits the screen and is usable by touch: each control (slider, number box,
  checkbox, button, select) is at least 24 px tall (WCAG 2.2's minimum target size), and a
  tap on a preset button or a slider changes what the widget shows.

Skipped without chromium unless CI is set (see conftest.py).
"""
from __future__ import annotations

from conftest import SITE, site_pages

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}

# Elements that stick out of the screen, outside any box that scrolls on its own.
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = e => { for (; e && e !== document.body; e = e.parentElement) {
      const o = getComputedStyle(e).overflowX;
      if (['auto', 'scroll', 'hidden'].includes(o) && e.getBoundingClientRect().right <= vw + 1) return true; }
    return false; };
  const out = [];
  for (const e of document.querySelectorAll('article.bd-article *')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > vw + 1 && !scrolls(e.parentElement)) {
      const cls = typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '';
      out.push(`${e.tagName.toLowerCase()}${cls} right=${Math.round(r.right)}`);
      if (out.length > 5) break;
    }
  }
  return {vw, scrollWidth: document.documentElement.scrollWidth, out};
}"""

CONTROLS = """() => [...document.querySelectorAll('.cw input, .cw button, .cw select')]
  .filter(e => e.offsetParent !== null && !e.closest('details:not([open])'))
  .map(e => { const r = e.getBoundingClientRect();
              const name = e.getAttribute('data-name') || e.textContent.trim();
              return [`${e.tagName.toLowerCase()}[${e.type || ''}] ${name}`, r.height, r.right]; })"""


def _open(browser, server, path):
    context = browser.new_context(service_workers="block", **PHONE)
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((server, "data:", "blob:"))
                  else r.abort())
    page = context.new_page()
    page.goto(f"{server}/{path}", wait_until="networkidle", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.cw-static').length <= "
                           "document.querySelectorAll('.cw[data-ready]').length", timeout=15_000)
    return context, page


WIDGET_PAGES = [p for p in site_pages() if 'class="cw-static"' in (SITE / p).read_text(encoding="utf-8")]


def test_on_a_phone(browser, server, page_path):
    """No page scrolls sideways; on a page with widgets, they are usable by touch (one visit)."""
    context, page = _open(browser, server, page_path)
    try:
        page.wait_for_timeout(200)
        r = page.evaluate(OVERFLOW)
        assert r["scrollWidth"] <= r["vw"] + 1 and not r["out"], (
            f"{page_path}: the page is {r['scrollWidth']} px wide on a {r['vw']} px screen: {r['out']}")
        if page_path in WIDGET_PAGES:
            _widgets_usable_by_touch(page, page_path)
    finally:
        context.close()


def test_the_touch_checks_see_every_widget_page():
    """test_on_a_phone checks widgets by touch on these pages: all nine chapters with widgets."""
    assert len(WIDGET_PAGES) >= 9, WIDGET_PAGES


def _widgets_usable_by_touch(page, path):
    for summary in page.locator(".cw details > summary").all():
        summary.tap()
    controls = page.evaluate(CONTROLS)
    vw = page.evaluate("document.documentElement.clientWidth")
    small = [f"{name}: {h:.0f} px tall" for name, h, _ in controls if h < 24 - 0.5]
    wide = [f"{name}: right edge at {right:.0f} px" for name, _, right in controls if right > vw + 1]
    assert controls, f"{path}: no widget control found"
    assert not small, f"{path}: controls too small to tap:\n  " + "\n  ".join(small)
    assert not wide, f"{path}: controls off the screen:\n  " + "\n  ".join(wide)
    # a tap does something: the first widget's first button or slider changes the widget's text
    box = page.locator(".cw").first
    before = box.inner_text()
    target = box.locator("button:not([aria-pressed=true])").first
    if target.count():
        target.tap()
    else:
        box.locator("input[type=range]").first.focus()
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    assert box.inner_text() != before, f"{path}: tapping the first widget changed nothing"
