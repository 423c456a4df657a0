"""Every notebook page offers Binder, Colab, JupyterHub (nbgitpuller) and an .ipynb
download, all derived from the one repository setting in book/_config.yml."""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())


def toc_files(node=TOC):
    """The documents the toc names (suffix-less, from the root), globs expanded as Sphinx does."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                yield value
            elif key == "glob" and isinstance(value, str):
                yield from sorted(p.relative_to(ROOT).with_suffix("").as_posix()
                                  for p in ROOT.glob(value) if p.suffix in (".ipynb", ".md"))
            else:
                yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


NOTEBOOKS = [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def test_the_toc_has_notebook_chapters():
    """book/_toc.yml lists the chapters by hand: every notebook in notebooks/ must be there, once."""
    assert NOTEBOOKS, "book/_toc.yml lists no notebook from notebooks/"
    listed = list(toc_files())
    on_disk = {p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk <= set(listed), f"notebooks not in book/_toc.yml: {sorted(on_disk - set(listed))}"
    twice = sorted({f for f in listed if listed.count(f) > 1})
    assert not twice, f"listed more than once in book/_toc.yml: {twice}"
    missing = [f for f in listed if not any((ROOT / f"{f}{s}").is_file() for s in (".ipynb", ".md"))]
    assert not missing, f"book/_toc.yml names files that do not exist: {missing}"


@pytest.mark.parametrize("doc", NOTEBOOKS)
def test_launch_buttons(site, doc):
    repo = CONFIG["repository"]
    url, branch = repo["url"].rstrip("/"), repo.get("branch", "main")
    org_repo = urlsplit(url).path.strip("/")
    launch = CONFIG["launch_buttons"]
    nb = f"{doc}.ipynb"
    page = site / f"{doc}.html"
    hrefs = {a.get("href") for a in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("a")}
    expected = {
        "Binder": f"{launch['binderhub_url'].rstrip('/')}/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{nb}",
        "Colab": f"{launch['colab_url'].rstrip('/')}/github/{org_repo}/blob/{branch}/{nb}",
        "JupyterHub": (f"{launch['jupyterhub_url'].rstrip('/')}/hub/user-redirect/git-pull?"
                       f"repo={quote(url, safe='/')}&urlpath=lab/tree/{org_repo.split('/')[-1]}/{nb}"
                       f"&branch={branch}"),
    }
    for name, link in expected.items():
        assert link in hrefs, f"{page.name}: no {name} button linking {link}; links: {sorted(h for h in hrefs if h)}"
    download = f"../_sources/{nb}" if "/" in doc else f"_sources/{nb}"
    assert download in hrefs, f"{page.name}: no .ipynb download link {download}"
    assert (site / "_sources" / nb).is_file()
    assert (site / "_sources" / nb).read_bytes() == (ROOT / nb).read_bytes(), \
        f"{nb}: the downloadable notebook differs from the one in notebooks/ (rebuild: make book)"
