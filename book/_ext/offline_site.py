"""Keep the built site offline-complete (a local Sphinx extension of the book).

1. Thebe is off (launch_buttons.thebe: false), yet sphinx-thebe still adds its
   configuration script twice per page ("Identifier 'THEBE_JS_URL' has already been
   declared" in the console), its loader and its stylesheet. This removes them.
2. Every page's scripts and stylesheets must come from the site itself: a script or
   stylesheet from another host is a warning naming the page (an error under -W).
3. Every local script or stylesheet a page names must exist in the built site: a
   missing static asset is a warning naming the page and the file.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

_EXTERNAL = re.compile(r"^(https?:)?//", re.I)
_THEBE_FILES = {"sphinx-thebe.js", "sphinx-thebe.css"}


def _name(asset):
    return getattr(asset, "filename", asset) or ""


def _is_thebe(asset):
    name = _name(asset)
    body = getattr(asset, "attributes", {}).get("body", "") if hasattr(asset, "attributes") else ""
    return posixpath.basename(name.split("?")[0]) in _THEBE_FILES or "THEBE_JS_URL" in (body or "")


def _page_assets(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if assets is None:
            continue
        kept = [a for a in assets if not _is_thebe(a)]
        assets[:] = kept
        for asset in kept:
            name = _name(asset)
            if _EXTERNAL.match(name):
                logger.warning(f"page {pagename!r} loads {name} from another host; the site must "
                               "work offline (vendor it under book/_assets)",
                               type="offline_site", subtype="external")
            elif name:
                app._offline_site_assets = getattr(app, "_offline_site_assets", {})
                app._offline_site_assets.setdefault(name.split("?")[0], pagename)
    # the mathjax script Sphinx adds through the context, not script_files, on some versions
    mj = app.config.mathjax_path
    if mj and _EXTERNAL.match(mj):
        logger.warning(f"mathjax_path {mj} is on another host; the site must work offline",
                       type="offline_site", subtype="external")


def _check_assets_exist(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for name, page in sorted(getattr(app, "_offline_site_assets", {}).items()):
        if not (out / name).is_file():
            logger.warning(f"page {page!r} names the static asset {name!r}, which is not in the "
                           f"built site ({out / name})", type="offline_site", subtype="missing")


def setup(app):
    # after sphinx-thebe and the theme (priority 500) have filled the context
    app.connect("html-page-context", _page_assets, priority=900)
    app.connect("build-finished", _check_assets_exist)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
