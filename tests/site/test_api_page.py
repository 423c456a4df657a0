"""The API reference (book/api.md) documents every public module of companion, so a
reader can look up anything a chapter calls; a new module needs its section there."""
from __future__ import annotations

import re

from conftest import ROOT

# Internal helpers that no chapter calls.
INTERNAL = {"companion.validation"}


def public_modules():
    pkg = ROOT / "src" / "companion"
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts):
            continue
        yield ".".join(parts)


def test_every_public_module_is_on_the_api_page():
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", (ROOT / "book" / "api.md").read_text(), re.M))
    missing = sorted(set(public_modules()) - documented - INTERNAL)
    assert not missing, f"modules without a section in book/api.md: {missing}"


def test_api_page_shows_the_docstrings(site):
    html = (site / "book" / "api.html").read_text(encoding="utf-8")
    for name in ("companion.layers.LSTM", "companion.cells.lstm_step", "companion.layers.LSTM.traces"):
        assert f'id="{name}"' in html, f"{name} is not documented on the API page"
