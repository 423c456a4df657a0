"""The interactive widgets on the BUILT site (book/_build/html), in headless Chromium.

The chapters show widgets with ``cw.show(...)``; their stored output carries a
self-contained ``text/html`` version (book/_config.yml makes myst-nb prefer it to the
live widget view). On every chapter page with a widget, and with no kernel:

- every widget renders (its root ``.cw[data-ready]``), with no "State refused" or
  "could not start" message;
- every widget is driven by keyboard (a slider focused, ArrowRight) and the values it
  then shows equal what ``companion.cells`` computes in Python for the new input, from
  the state embedded in the page (full precision in ``data-value`` to 1e-10, the
  rounded text to 4 decimals);
- zero console errors or uncaught exceptions, zero requests to another host.

One widget page is also opened from ``file://`` and driven the same way. Skipped
without chromium unless CI is set (see conftest.py).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import numpy as np
import pytest

from companion import cells

from conftest import SITE, site_pages

KINDS = ("rnn", "lstm", "gru", "stepper", "gradflow", "trainer", "charlm")
LOCAL_SCHEMES = {"data", "blob", "about", "file"}
FILE_PAGE = "notebooks/06_lstm.html"       # opened from file:// too (an LSTM explorer and a stepper)


def widget_pages():
    return [p for p in site_pages() if 'class="cw-static"' in (SITE / p).read_text(encoding="utf-8")]


WIDGET_PAGES = widget_pages() or ["<no widget page: run 'make book' first>"]


# --------------------------------------------------------------------------- expected values

def expected_rnn(s):
    V = np.array(s["V"], dtype=float)[:, None]
    st = cells.rnn_step(np.array([s["x_t"]]), np.array([s["h_prev"]]), np.array([[s["U"]]]),
                        np.array([[s["W"]]]), np.array([s["b"]]), V, np.array(s["c"], dtype=float),
                        nonlinearity=s["nonlinearity"])
    return {"a_t": st.a_t[0], "h_t": st.h_t[0],
            **{f"o_t_{k}": v for k, v in enumerate(st.o_t)},
            **{f"y_hat_t_{k}": v for k, v in enumerate(st.y_hat_t)}}


def expected_lstm(s):
    w = {k: (np.array([v]) if k.startswith(("b_", "w_c")) else np.array([[v]])) for k, v in s["weights"].items()
         if s["peephole"] or not k.startswith("w_c")}    # the page keeps w_c*; lstm_step refuses unused ones
    st = cells.lstm_step(np.array([s["x_t"]]), np.array([s["h_prev"]]), np.array([s["C_prev"]]), w,
                         peephole="diagonal" if s["peephole"] else None)
    return {k: v[0] for k, v in st._asdict().items()}


def expected_gru(s):
    w = {k: (np.array([v]) if k.startswith("b_") else np.array([[v]])) for k, v in s["weights"].items()}
    st = cells.gru_step(np.array([s["x_t"]]), np.array([s["h_prev"]]), w, variant=s["variant"])
    return {k: st._asdict()[k][0] for k in ("z_t", "r_t", "h_tilde_t", "h_t")}


def expected_stepper(s):
    """The values shown at step t for the chosen unit: the sequence run step by step with companion.cells."""
    w = {k: np.array(v, dtype=float) for k, v in s["weights"].items()
         if s.get("peephole") or not k.startswith("w_c")}
    h, C = np.array(s["h0"], dtype=float), np.array(s["C0"], dtype=float)
    for x in np.array(s["xs"], dtype=float)[: s["t"]]:
        if s["kind"] == "rnn":
            st = cells.rnn_step(x, h, w["U"], w["W"], w["b"], nonlinearity=s["nonlinearity"])
            values, h = {"h": st.h_t}, st.h_t
        elif s["kind"] == "lstm":
            st = cells.lstm_step(x, h, C, w, peephole=s["peephole"])
            values, h, C = {"f": st.f_t, "i": st.i_t, "o": st.o_t, "C": st.C_t, "h": st.h_t}, st.h_t, st.C_t
        else:
            st = cells.gru_step(x, h, w, variant=s["variant"])
            values, h = {"z": st.z_t, "r": st.r_t, "h": st.h_t}, st.h_t
    u = s["unit"]
    return {"x": s["xs"][s["t"] - 1][s["feature"]], **{k: v[u] for k, v in values.items()}}


def expected_gradflow(s):
    """The decay factor per step of each cell shown, from companion.gradient_flow."""
    from companion import gradient_flow as gf
    settings = {k: v for k, v in s.items() if k != "kind"}
    kinds = gf.KINDS if s["kind"] == "all" else (s["kind"],)
    return {f"decay-{k}": gf.gradient_flow(k, **settings).decay for k in kinds}


# which slider each kind is driven by, how the new value enters the state, what to expect (the
# trainer and the sampler compute on a button press: their own browser tests drive them,
# tests/widgets_browser/; here they must render, clean)
DRIVE = {
    "gradflow": ("rho", lambda s, v: s.update(rho=v), expected_gradflow),
    "rnn": ("x_t", lambda s, v: s.update(x_t=v), expected_rnn),
    "lstm": ("C_prev", lambda s, v: s.update(C_prev=v), expected_lstm),
    "gru": ("h_prev", lambda s, v: s.update(h_prev=v), expected_gru),
    "stepper": ("x_at_t", lambda s, v: s["xs"][s["t"] - 1].__setitem__(s["feature"], v), expected_stepper),
}


# --------------------------------------------------------------------------- the page

class WidgetPage:
    """A page of the built site with its console errors and requests to other hosts recorded."""

    def __init__(self, browser, url, local_origin, theme=None):
        self.problems = []
        self.context = browser.new_context(service_workers="block", viewport={"width": 1200, "height": 900})
        if theme:   # what pydata-sphinx-theme's theme switch stores
            self.context.add_init_script(f"localStorage.setItem('theme', '{theme}'); "
                                         f"localStorage.setItem('mode', '{theme}');")

        def route(r):
            parts = urlsplit(r.request.url)
            if parts.scheme in LOCAL_SCHEMES or (
                    local_origin is not None and f"{parts.scheme}://{parts.netloc}" == local_origin):
                r.continue_()
            else:
                self.problems.append(f"request to another host: {r.request.url}")
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught exception: {e}"))
        self.page.goto(url, wait_until="load", timeout=30_000)
        self.page.wait_for_function(
            "() => document.querySelectorAll('.cw-static').length > 0 && document.querySelectorAll('.cw-static')"
            ".length === document.querySelectorAll('.cw-static .cw[data-ready]').length", timeout=15_000)

    def widgets(self):
        """[(index, module, embedded state)] of every widget on the page, in page order."""
        return self.page.evaluate("""() => [...document.querySelectorAll('.cw-static')].map((box, k) =>
            [k, box.getAttribute('data-cw-module'),
             JSON.parse(box.querySelector('script[type="application/json"]').textContent)])""")

    def box(self, index):
        return self.page.locator(".cw-static").nth(index)

    def messages(self, index):
        return self.box(index).locator(".cw-msg").all_text_contents() + [
            t for t in [self.box(index).locator(".cw-mount").text_content()] if "could not start" in t]

    def shown(self, index, name):
        el = self.box(index).locator(f'[data-out="{name}"][data-value]').first
        return float(el.get_attribute("data-value")), el.text_content()

    def close(self):
        self.context.close()


def drive_and_check(pg, index, module, state):
    """ArrowRight on the widget's slider; the shown values must be companion's for the new input."""
    name, apply, expected = DRIVE[module]
    slider = pg.box(index).locator(f'input[type=range][data-name="{name}"]').first
    before = float(slider.input_value())
    slider.focus()
    pg.page.keyboard.press("ArrowRight")
    new = float(slider.input_value())
    assert new > before, f"widget {index} ({module}): ArrowRight did not move {name} ({before} -> {new})"
    apply(state, new)
    wrong = []
    for out, v in expected(state).items():
        got, text = pg.shown(index, out)
        if abs(got - v) > 1e-10 * max(1.0, abs(v)):
            wrong.append(f"{out}: page {got!r}, companion {v!r}")
        if not re.fullmatch(r"-?\d+\.\d{4}", text) or abs(float(text) - v) > 0.5e-4 + 1e-10:
            wrong.append(f"{out}: shown {text!r}, companion {v:.6f}")
    assert not wrong, f"widget {index} ({module}) after {name} -> {new}:\n  " + "\n  ".join(wrong)


def check_page(pg, where):
    widgets = pg.widgets()
    assert widgets, f"{where}: no widget"
    for index, module, state in widgets:
        assert module in KINDS, f"{where}: unknown widget module {module!r}"
        assert pg.box(index).locator(".cw[data-ready]").count() == 1, f"{where}: widget {index} did not render"
        refused = [m for m in pg.messages(index) if m.strip()]
        assert not refused, f"{where}: widget {index} ({module}) says: {refused}"
        if module in DRIVE:
            drive_and_check(pg, index, module, state)
        refused = [m for m in pg.messages(index) if m.strip()]
        assert not refused, f"{where}: widget {index} ({module}) after the move says: {refused}"
    check_reads_like_the_book(pg, where)
    assert not pg.problems, f"{where}:\n  " + "\n  ".join(pg.problems)
    return [m for _, m, _ in widgets]


# Every widget's own words (HTML and SVG text, options; not the language model's sampled text,
# which quotes the book's TeX) and, per chart with several series, each series' dash pattern.
READS = """() => [...document.querySelectorAll('.cw')].map(cw => {
    const own = [], walk = document.createTreeWalker(cw, NodeFilter.SHOW_TEXT);
    for (let n; (n = walk.nextNode());)
      if (!n.parentElement.closest('.cw-charlm-out, .cw-charlm-view, style, script')) own.push(n.data);
    const charts = [...cw.querySelectorAll('svg')].map(svg => [...svg.querySelectorAll('polyline[data-series]')]
      .filter(p => p.getAttribute('points'))
      .map(p => [p.dataset.series, p.getAttribute('stroke-dasharray') || 'solid']))
      .filter(c => c.length > 1);
    return [own, charts];
  })"""
PSEUDO_TEX = re.compile(r"[A-Za-z]_(\{|[A-Za-z0-9])|\\(tilde|tanh|sigma|odot|cdot)\b")


def check_reads_like_the_book(pg, where):
    """Issue 17, part 1, on every widget page: no pseudo-TeX (h_{t-1}, W_hf) left in a widget's
    text, symbols are typeset (<sub> or Unicode subscripts); and colour is never the only cue
    between the series of one chart: each has its own dash pattern."""
    for k, (own, charts) in enumerate(pg.page.evaluate(READS)):
        raw = sorted({t.strip()[:60] for t in own if PSEUDO_TEX.search(t)})
        assert not raw, f"{where}: widget {k} shows raw TeX-like text: {raw}"
        for chart in charts:
            dashes = [d for _, d in chart]
            assert len(set(dashes)) == len(dashes), f"{where}: widget {k}: series told apart by colour only: {chart}"


# --------------------------------------------------------------------------- tests

def test_every_kind_of_widget_is_on_the_site(site):
    kinds = set()
    for p in widget_pages():
        kinds |= set(re.findall(r'class="cw-static" data-cw-module="(\w+)"', (site / p).read_text(encoding="utf-8")))
    assert kinds == set(KINDS), f"widget kinds on the built site: {sorted(kinds)}; pages: {widget_pages()}"
    assert FILE_PAGE in widget_pages(), f"{FILE_PAGE} has no widget"


def test_no_placeholder_is_left(site):
    left = [p for p in site_pages() if "<!-- widget:" in (site / p).read_text(encoding="utf-8")]
    assert not left, f"widget placeholders left on: {left}"


@pytest.mark.parametrize("widget_page", WIDGET_PAGES)
def test_widgets_render_and_compute_as_companion(browser, server, site, widget_page):
    """On every widget page: each widget renders, computes what companion computes when moved,
    reads like the book (check_page), and has labelled controls with focus rings."""
    pg = WidgetPage(browser, f"{server}/{widget_page}", server)
    try:
        check_page(pg, widget_page)
        check_labels_and_focus(pg, widget_page)
        assert not pg.problems, pg.problems
    finally:
        pg.close()


def test_widgets_work_from_file_url(browser, site):
    page = site / FILE_PAGE
    pg = WidgetPage(browser, page.as_uri(), None)
    try:
        assert sorted(check_page(pg, page.as_uri())) == ["lstm", "stepper"]
    finally:
        pg.close()


# Evaluated in the page: colours of each widget's text against the surface it is drawn on.
COLOURS = """() => [...document.querySelectorAll('.cw')].map(cw => {
    const surface = e => { for (; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                                   if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; }
                           return 'rgb(255, 255, 255)'; };
    const pick = sel => [...cw.querySelectorAll(sel)].map(e => [sel, getComputedStyle(e).color, surface(e)]);
    return [...pick('.cw-title'), ...pick('.cw-val'), ...pick('label'), ...pick('.cw-note'), ...pick('button')];
  }).flat()"""


def _contrast(a, b):
    def lum(css):
        c = [float(v) / 255 for v in re.findall(r"[\d.]+", css)[:3]]
        c = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_widgets_readable_in_both_themes(browser, server, site, theme):
    """The theme's dark mode puts HTML outputs on a light box: every widget text must still
    stand out from the surface behind it (WCAG AA, 4.5:1) in dark and in light mode."""
    pg = WidgetPage(browser, f"{server}/{FILE_PAGE}", server, theme=theme)
    try:
        assert pg.page.evaluate("document.documentElement.dataset.theme") == theme
        samples = pg.page.evaluate(COLOURS)
        assert samples
        low = sorted({f"{sel}: {fg} on {bg} ({_contrast(fg, bg):.1f}:1)" for sel, fg, bg in samples
                      if _contrast(fg, bg) < 4.5})
        assert not low, f"{theme} mode, hard to read:\n  " + "\n  ".join(low)
        assert not pg.problems, pg.problems
    finally:
        pg.close()


def test_lstm_explorer_says_when_h_prev_does_nothing(browser, server, site):
    """Where every W_h* is 0 (chapter 06's "remember" preset, chapter 07's explorers), the
    h_{t-1} slider moves nothing: the explorer says so next to it, and the note goes as soon
    as a W_h* weight is not 0."""
    seen = 0
    for path in ("notebooks/06_lstm.html", "notebooks/07_peephole.html"):
        if not (site / path).is_file():
            continue
        pg = WidgetPage(browser, f"{server}/{path}", server)
        try:
            for index, module, state in pg.widgets():
                if module != "lstm":
                    continue
                note = pg.box(index).locator('[data-out="h_note"]')
                idle = all(state["weights"][f"W_h{g}"] == 0 for g in "fiCo")
                assert note.is_visible() == idle, (path, index, state["weights"])
                if idle:
                    seen += 1
                    assert note.text_content() == "Wh· = 0 here: ht−1 has no effect."
                    pg.box(index).locator("details summary").first.click()
                    box = pg.box(index).locator('input[type=text][data-name="W_hf"]')
                    box.fill("0.5")
                    box.press("Enter")
                    assert not note.is_visible()
            assert not pg.problems, pg.problems
        finally:
            pg.close()
    assert seen >= 2


LABELS = """() => [...document.querySelectorAll('.cw input, .cw select')]
  .filter(e => e.offsetParent !== null)   // a control hidden with its row (another cell's knob) is not in use
  .map(e => {
    const own = [...(e.labels || [])];    // <label for=id> or a <label> around the control
    const row = e.closest('.cw-row') || e.parentElement;
    const seen = [...own, ...(row ? row.querySelectorAll('label') : [])]
      .filter(l => l && l.offsetParent !== null && l.getBoundingClientRect().width > 2 && l.textContent.trim());
    return [e.getAttribute('data-name') || e.type, own.some(l => l.textContent.trim()), seen.length > 0];
  })"""


def check_labels_and_focus(pg, where):
    """Every visible widget control has an associated <label> and a visible one next to it; a
    slider, button, select and checkbox reached by Tab each show a focus ring."""
    for d in pg.page.locator(".cw details").all():
        d.evaluate("e => { e.open = true; }")
    rows = pg.page.evaluate(LABELS)
    assert rows, where
    unlabelled = [r for r in rows if not (r[1] and r[2])]
    assert not unlabelled, (where, unlabelled)
    kinds = 0
    for sel in (".cw input[type=range]", ".cw button", ".cw select", ".cw input[type=checkbox]"):
        ctl = pg.page.locator(sel).first
        if not pg.page.locator(sel).count():
            continue
        kinds += 1
        ctl.focus()
        pg.page.keyboard.press("Shift+Tab")
        pg.page.keyboard.press("Tab")
        ring = ctl.evaluate("e => [document.activeElement === e, getComputedStyle(e).outlineStyle, "
                            "parseFloat(getComputedStyle(e).outlineWidth)]")
        assert ring[0] and ring[1] != "none" and ring[2] >= 2, (where, sel, ring)
    assert kinds >= 2, where
