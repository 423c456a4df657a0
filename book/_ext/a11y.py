"""Accessibility fixes to the theme's and the bibliography's HTML (a local Sphinx extension).

After the HTML build, every page is rewritten in place (idempotent, so incremental builds are safe):

1. docutils writes a bibliography as ``<div role="list">`` of ``<div role="doc-biblioentry">``;
   ``doc-biblioentry`` is deprecated in WAI-ARIA 1.2, so assistive technology and axe-core see a
   list whose children are not list items (axe: aria-required-children, critical). The entries
   become ``role="listitem"``.
2. pydata-sphinx-theme puts the book's title link at the top of the primary sidebar outside any
   landmark (axe: region). That sidebar section is marked as the book's navigation.

tests/site/test_accessibility.py runs axe-core on every page and fails if either comes back.
"""
from __future__ import annotations

from pathlib import Path

_REPLACE = [
    ('role="doc-biblioentry"', 'role="listitem"'),
    ('<div class="sidebar-primary-items__start sidebar-primary__section">',
     '<div class="sidebar-primary-items__start sidebar-primary__section" role="navigation" '
     'aria-label="Book">'),
]


def _rewrite(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for old, repl in _REPLACE:
            new = new.replace(old, repl)
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _rewrite)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
