"""`make pdf`'s script (scripts/make_pdf.py) prints the built site into one PDF, checked here.

The PDF (written to tmp_path; about 1.5 minutes) must have a plausible page count, carry every
page's title of book/_toc.yml in its text, never say "undefined", and show no raw TeX: no more
`$` or `\\(` in its text than the site shows outside typeset maths (code, outputs and literal
dollars). Equations are MathJax's glyphs (their text does not extract); the browser tests
prove they are typeset. Skipped without chromium unless CI is set (see conftest.py).
"""
from __future__ import annotations

import re
import sys
import unicodedata

import pytest
from bs4 import BeautifulSoup

from conftest import ROOT, SITE

sys.path.insert(0, str(ROOT / "scripts"))
import make_pdf


def _norm(text):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _site_text(path):
    """What the page shows outside typeset maths: its title and its count of $ and \\(."""
    soup = BeautifulSoup((SITE / path).read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article") or soup
    for e in article.select("script, style, .math, .headerlink"):
        e.decompose()
    h1 = article.select_one("h1")
    text = article.get_text()
    return _norm(h1.get_text()) if h1 else None, text.count("$"), text.count("\\(")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory, site, browser):
    pypdf = pytest.importorskip("pypdf")
    out = tmp_path_factory.mktemp("pdf") / "book.pdf"
    # the session's browser: a second sync Playwright cannot start inside the one it runs in
    make_pdf.build(SITE, out, browser=browser)
    reader = pypdf.PdfReader(str(out))
    return out, len(reader.pages), _norm("\n".join(p.extract_text() for p in reader.pages))


def test_pdf_has_the_whole_book(pdf):
    out, n_pages, text = pdf
    pages = [p for p in make_pdf.toc_pages() if (SITE / p).is_file()]
    assert len(pages) >= 15, pages
    assert 3 * len(pages) <= n_pages <= 2000, n_pages
    assert out.stat().st_size < 60e6, out.stat().st_size
    missing = []
    dollars = parens = 0
    for p in pages:
        title, d, b = _site_text(p)
        dollars, parens = dollars + d, parens + b
        if title and title not in text:
            missing.append(f"{p}: {title!r}")
    assert not missing, "titles not in the PDF's text:\n  " + "\n  ".join(missing)
    assert "undefined" not in text
    # raw TeX would add $ or \( that the site does not show as text
    assert text.count("$") <= dollars, (text.count("$"), dollars)
    assert text.count("\\(") <= parens, (text.count("\\("), parens)
