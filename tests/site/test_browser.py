"""Open every page of the built site in headless Chromium and prove it is
offline-complete: no request to any other host, no console error or uncaught
exception, no missing local file, every image loaded, and every equation typeset
by the site's own MathJax. One page is also opened from file:// (a reader who
downloaded the site).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from conftest import SITE

LOCAL_SCHEMES = {"data", "blob", "about", "file"}

# Evaluated in the page after MathJax finished: what a reader would see.
MATH_REPORT = """() => {
  const root = document.querySelector('article') || document.body;
  const math = root.querySelectorAll('.math');
  const typeset = [...math].filter(el => el.querySelector('mjx-container')).length;
  const clone = root.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, textarea').forEach(e => e.remove());
  const text = clone.textContent;
  const raw = ['$$', '\\\\(', '\\\\[', '\\\\begin{'].filter(s => text.includes(s));
  return {math: math.length, typeset, containers: root.querySelectorAll('mjx-container').length,
          errors: [...root.querySelectorAll('mjx-merror')].map(e =>
             (e.getAttribute('data-mjx-error') || e.textContent) + ' in: ' +
             (MathJax.startup.document.getMathItemsWithin(e.closest('.math') || e)[0] || {}).math),
          raw, undefined: undefinedMacros()};
  function undefinedMacros() {   // what MathJax's noundefined extension draws in red
    const found = [];
    for (const item of MathJax.startup.document.math) {
      item.root.walkTree(n => {
        if (n.isKind && n.isKind('mtext') && n.attributes.get('mathcolor') === 'red') {
          const t = (n.childNodes[0] && n.childNodes[0].text) || '';
          if (t.charCodeAt(0) === 92) found.push(t + ' in: ' + item.math.slice(0, 120));
        }
      });
    }
    return found;
  }
}"""

IMAGES = """() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                   .map(i => i.getAttribute('src'))"""


def has_math(path):
    """Whether the page's HTML carries math (Sphinx marks it with class "math")."""
    html = (SITE / path).read_text(encoding="utf-8")
    return 'class="math' in html


def visit(browser, url, local_origin):
    """Load url in a fresh context; return what went wrong, as a list of strings, and the math report."""
    problems = []
    context = browser.new_context(service_workers="block")

    def route(r):
        req_url = r.request.url
        parts = urlsplit(req_url)
        local = parts.scheme in LOCAL_SCHEMES or (
            local_origin is not None and f"{parts.scheme}://{parts.netloc}" == local_origin)
        if local:
            r.continue_()
        else:
            problems.append(f"request to another host: {req_url}")
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(
        f"console error: {m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.on("requestfailed", lambda r: urlsplit(r.url).scheme in LOCAL_SCHEMES | {"http", "https"}
            and (local_origin is None or r.url.startswith(local_origin) or urlsplit(r.url).scheme == "file")
            and problems.append(f"request failed: {r.url} ({r.failure})"))
    page.goto(url, wait_until="networkidle", timeout=30_000)
    page.wait_for_load_state("load")   # index.html redirects (meta refresh) to the root page
    math = None
    if page.evaluate("() => document.querySelector('.math') !== null"):
        ok = page.evaluate("""() => new Promise(resolve => {
            const t0 = Date.now();
            (function poll() {
              if (window.MathJax && MathJax.startup && MathJax.startup.promise)
                MathJax.startup.promise.then(() => resolve(true), () => resolve(false));
              else if (Date.now() - t0 > 15000) resolve(false);
              else setTimeout(poll, 50);
            })();
        })""")
        if not ok:
            problems.append("MathJax did not start (is _static/mathjax/tex-chtml.js there?)")
        math = page.evaluate(MATH_REPORT)
    page.wait_for_load_state("networkidle", timeout=15_000)
    broken = page.evaluate(IMAGES)
    problems += [f"image did not load: {src}" for src in broken]
    final_url = page.url
    context.close()
    return problems, math, final_url


def check_math(math, where):
    problems = []
    if math["typeset"] < math["math"]:
        problems.append(f"{where}: {math['math'] - math['typeset']} of {math['math']} equations "
                        "not typeset by MathJax")
    for err in math["errors"]:
        problems.append(f"{where}: MathJax error: {err}")
    for macro in math["undefined"]:
        problems.append(f"{where}: undefined TeX macro {macro}")
    if math["raw"]:
        problems.append(f"{where}: raw TeX delimiters left in the text: {math['raw']}")
    return problems


def test_page_offline_and_clean(browser, server, page_path):
    problems, math, _ = visit(browser, f"{server}/{page_path}", server)
    if has_math(page_path):
        assert math is not None, f"{page_path}: has math but MathJax never ran"
        problems += check_math(math, page_path)
    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


def test_pages_with_math_exist(site):
    """The preface, the LSTM chapter and the API page carry equations: the math check above is not vacuous."""
    pages = [p for p in ("book/intro.html", "notebooks/06_lstm.html", "book/api.html")
             if (site / p).is_file()]
    assert pages and all(has_math(p) for p in pages), pages


def test_file_url_works_offline(browser, site):
    """From file:// (the site saved to disk): same checks, no server at all."""
    page = site / "notebooks" / "06_lstm.html"
    if not page.is_file():
        page = site / "book" / "intro.html"
    problems, math, _ = visit(browser, page.as_uri(), None)
    assert math is not None, f"{page}: MathJax never ran from file://"
    problems += check_math(math, page.name)
    assert math["containers"] > 0
    assert not problems, f"{page.as_uri()}:\n  " + "\n  ".join(problems)


def test_index_redirects_to_the_preface(browser, server):
    problems, _, final_url = visit(browser, f"{server}/index.html", server)
    assert not problems, problems
    assert final_url.endswith("/book/intro.html"), final_url


def test_search_works_offline(browser, server):
    """The search page finds a word of the chapters with no server-side help."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{server}/search.html?q=forget", wait_until="networkidle")
    page.wait_for_selector("#search-results li, ul.search li", timeout=15_000)
    # Sphinx lists the results one by one: wait for the LSTM chapter's
    page.wait_for_function("""() => [...document.querySelectorAll('#search-results li a, ul.search li a')]
                                    .some(a => a.href.includes('06_lstm'))""", timeout=15_000)
    hits = page.eval_on_selector_all("#search-results li a, ul.search li a", "els => els.map(e => e.href)")
    context.close()
    assert not errors, errors
    assert any("06_lstm" in h for h in hits), hits
