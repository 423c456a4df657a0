"""One PDF of the whole book, printed by Chromium from the built site (`make pdf`).

Every page of book/_toc.yml, in its order, is opened from a local server in headless Chromium
(Debian's /usr/bin/chromium; COMPANION_CHROMIUM overrides), waits until MathJax has typeset
its equations and the widgets have drawn their default state, and is printed with the print
stylesheet of book/_assets/companion.css (no sidebars; each widget as a static snapshot of its
default state, without its buttons and number boxes; code wrapped at the margin). The pages are
merged with pypdf into book/_build/pdf/book.pdf, one outline entry per chapter.

    python scripts/make_pdf.py [--site book/_build/html] [--out book/_build/pdf/book.pdf]
"""
from __future__ import annotations

import argparse
import functools
import http.server
import io
import os
import shutil
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = """() => new Promise(resolve => {
  const t0 = Date.now();
  (function poll() {
    const math = document.querySelector('.math');
    const mj = math && window.MathJax && MathJax.startup && MathJax.startup.promise;
    const widgets = document.querySelectorAll('.cw-static').length
                    <= document.querySelectorAll('.cw[data-ready]').length;
    if (((mj || !math) && widgets) || Date.now() - t0 > 20000) (mj || Promise.resolve()).then(resolve, resolve);
    else setTimeout(poll, 50);
  })();
})"""


def toc_pages(toc=ROOT / "book" / "_toc.yml"):
    """The book's pages in reading order, as paths of the built site (root first)."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    files = [data["root"]]
    for part in data.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return [f + ".html" for f in files]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def build(site: Path, out: Path, browser=None) -> Path:
    """Print every page of `site` in toc order into one PDF at `out`.

    `browser`: a Playwright Chromium browser to print with (the tests pass theirs, since a second
    sync Playwright cannot start inside a running one); by default one is launched here.
    """
    from pypdf import PdfWriter

    pages = [p for p in toc_pages() if (site / p).is_file()]
    if not pages:
        sys.exit(f"no built pages under {site}: run 'make book' first")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    writer = PdfWriter()
    try:
        if browser is not None:
            _print_pages(browser, base, pages, writer)
        else:
            from playwright.sync_api import sync_playwright
            chromium = (os.environ.get("COMPANION_CHROMIUM") or shutil.which("chromium")
                        or "/usr/bin/chromium")
            with sync_playwright() as p:
                own = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
                try:
                    _print_pages(own, base, pages, writer)
                finally:
                    own.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as f:
        writer.write(f)
    print(f"{out}: {len(writer.pages)} pages, {out.stat().st_size / 1e6:.1f} MB")
    return out


def _print_pages(browser, base, pages, writer):
    from pypdf import PdfReader

    context = browser.new_context(service_workers="block")
    try:
        # the site only: anything from elsewhere is refused, as offline readers would have it
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith((base, "data:", "blob:"))
                      else r.abort())
        page = context.new_page()
        for path in pages:
            page.goto(f"{base}/{path}", wait_until="networkidle", timeout=60_000)
            page.evaluate(READY)
            page.emulate_media(media="print")
            title = page.evaluate("() => (document.querySelector('article h1') || {}).textContent"
                                  " || document.title")
            pdf = page.pdf(format="A4", print_background=True, display_header_footer=True,
                           header_template="<span></span>",
                           footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                           '<span class="title"></span> · <span class="pageNumber"></span></div>',
                           margin={"top": "15mm", "bottom": "15mm", "left": "14mm", "right": "14mm"})
            start = len(writer.pages)
            for pg in PdfReader(io.BytesIO(pdf)).pages:
                writer.add_page(pg)
            writer.add_outline_item(title=title.replace("#", "").strip(), page_number=start)
            print(f"{path}: {len(writer.pages) - start} pages", flush=True)
    finally:
        context.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, default=ROOT / "book" / "_build" / "html")
    ap.add_argument("--out", type=Path, default=ROOT / "book" / "_build" / "pdf" / "book.pdf")
    a = ap.parse_args(argv)
    build(a.site.resolve(), a.out.resolve())


if __name__ == "__main__":
    main()
