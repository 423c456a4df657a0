"""Figures readable in light and dark mode: a screenshot test in each mode (headless Chromium).

matplotlib draws black text on white. In dark mode the theme would dim every image and set
it on a grey card; book/_assets/companion.css gives chapter figures a white card at full
brightness instead. For each mode, on every page with figures: a screenshot of each figure's box
must show white along its edges (the card), and the figure must look the same as in light mode
(no filter, no dimming). The screenshots are left in pytest's tmp_path for a look.
Skipped without chromium unless CI is set (see conftest.py).
"""
from __future__ import annotations

import io

import pytest

from conftest import SITE

FIGURES = ".bd-content div.cell_output img, .bd-content figure img"


def _figure_pages():
    """Every page of the site with a figure (a cell output's image or a figure's)."""
    from bs4 import BeautifulSoup

    from conftest import site_pages

    return [p for p in site_pages()
            if "<img" in (text := (SITE / p).read_text(encoding="utf-8"))
            and BeautifulSoup(text, "html.parser").select(FIGURES)]


PAGES = _figure_pages()


def _shots(page, path, theme, out):
    """Screenshots of the page's first figures (at most 4) in `theme`, with each one's CSS filter."""
    from PIL import Image

    # the theme's own switch sets these two attributes (and remembers them in localStorage)
    page.evaluate(f"() => {{ const d = document.documentElement.dataset; d.theme = '{theme}'; d.mode = '{theme}'; }}")
    page.wait_for_timeout(100)
    page.screenshot(path=str(out / f"{path.replace('/', '_')}-{theme}.png"), full_page=False)
    shots = []
    for k, img in enumerate(page.locator(FIGURES).all()[:4]):
        img.scroll_into_view_if_needed()
        filt = img.evaluate("e => getComputedStyle(e).filter")
        png = img.screenshot()
        (out / f"{path.replace('/', '_')}-{theme}-fig{k}.png").write_bytes(png)
        shots.append((filt, Image.open(io.BytesIO(png)).convert("RGB")))
    return shots


@pytest.mark.parametrize("path", PAGES or ["<no site: run 'make book' first>"])
def test_figures_readable_in_both_modes(browser, server, path, tmp_path):
    context = browser.new_context(service_workers="block", viewport={"width": 1200, "height": 900})
    context.add_init_script("localStorage.setItem('theme', 'light'); localStorage.setItem('mode', 'light');")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((server, "data:", "blob:"))
                  else r.abort())
    page = context.new_page()
    try:
        page.goto(f"{server}/{path}", wait_until="networkidle", timeout=30_000)
        assert page.evaluate("document.documentElement.dataset.theme") == "light"
        light = _shots(page, path, "light", tmp_path)
        dark = _shots(page, path, "dark", tmp_path)
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)", \
            f"{path}: the page did not turn dark"
    finally:
        context.close()
    assert light and len(light) == len(dark), (path, len(light), len(dark))
    for k, ((_, a), (filt, b)) in enumerate(zip(light, dark, strict=True)):
        assert filt in ("none", ""), f"{path} figure {k}: dimmed in dark mode (filter: {filt})"
        w, h = b.size
        edges = [b.getpixel(xy) for xy in ((3, h // 2), (w - 4, h // 2), (w // 2, 3), (w // 2, h - 4))]
        assert all(min(c) >= 235 for c in edges), f"{path} figure {k}: no white card in dark mode: {edges}"
        if a.size == b.size:   # the same pixels as in light mode, give or take antialiasing
            diff = sum(abs(p - q) for pa, pb in zip(a.getdata(), b.getdata(), strict=True)
                       for p, q in zip(pa, pb, strict=True))
            assert diff / (w * h * 3) < 8, f"{path} figure {k}: looks different in dark mode ({diff / (w * h * 3):.1f})"


def test_captions_typeset_their_maths(site):
    """Figure captions write maths in $...$ (typeset like the prose), not as plain text: no
    h_t, dL/dh, rho or x^(k) outside a math span."""
    import re

    from bs4 import BeautifulSoup

    from conftest import site_pages

    plain = re.compile(r"\b[A-Za-z]_[A-Za-z0-9{]|\brho\b|\bdL/d|\^\(|\b[a-z]\d\b")
    bad = []
    for path in site_pages():
        soup = BeautifulSoup((site / path).read_text(encoding="utf-8"), "html.parser")
        for cap in soup.select("figcaption"):
            for m in cap.select(".math, code"):
                m.decompose()
            text = cap.get_text(" ", strip=True)
            if plain.search(text):
                bad.append(f"{path}: {text[:120]}")
    assert not bad, "captions with maths as plain text:\n  " + "\n  ".join(bad)
