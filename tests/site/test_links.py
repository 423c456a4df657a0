"""Every internal link and anchor of the built site resolves (scripts/check_links.py);
links to other hosts are listed, not fetched."""
from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import check_links


def test_internal_links_and_anchors_resolve(site):
    broken, external = check_links.check(site)
    assert len(check_links.pages(site)) >= 3
    assert not broken, "broken links:\n" + "\n".join(f"  {p}: {link!r}: {why}" for p, link, why in broken)


def test_link_checker_catches_a_broken_link_and_anchor(tmp_path):
    (tmp_path / "index.html").write_text(
        '<a href="b.html#there">ok</a> <a href="b.html#nowhere">bad anchor</a> '
        '<a href="missing.html">bad file</a> <img src="_static/x.png"> '
        '<a href="https://example.org/">outside</a>')
    (tmp_path / "b.html").write_text('<h1 id="there">B</h1>')
    broken, external = check_links.check(tmp_path)
    whys = {link: why for _, link, why in broken}
    assert set(whys) == {"b.html#nowhere", "missing.html", "_static/x.png"}, whys
    assert "no id 'nowhere'" in whys["b.html#nowhere"]
    assert external == ["https://example.org/"]
