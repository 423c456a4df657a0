"""Check every link of the built site: each internal href/src must name a file of
the site, and each #anchor an id (or a name) in the target page. Links to other
hosts are listed, never fetched (the site must work offline; see tests/site).

    python scripts/check_links.py [book/_build/html] [--external]

Exit 1 and one line per broken link (page, link, why) when any is broken.
"""
from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
NOT_PAGES = {"_static", "_sources", "_images", "_sphinx_design_static", "jupyter_execute"}
ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src",
         "iframe": "src", "embed": "src", "video": "src", "audio": "src"}
SKIP_SCHEMES = {"mailto", "data", "javascript", "tel", "blob", "about"}


def pages(site):
    return sorted(p for p in site.rglob("*.html")
                  if not NOT_PAGES.intersection(p.relative_to(site).parts[:-1]))


@cache
def _parse(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@cache
def anchors(path):
    soup = _parse(path)
    return frozenset(el.get("id") for el in soup.find_all(id=True)) | frozenset(
        el.get("name") for el in soup.find_all(attrs={"name": True}))


def check(site):
    """Return (broken, external): broken a list of (page, link, why), external a sorted set of URLs."""
    site = Path(site).resolve()
    broken, external = [], set()
    for page in pages(site):
        rel_page = page.relative_to(site).as_posix()
        for tag, attr in ATTRS.items():
            for el in _parse(page).find_all(tag):
                link = el.get(attr)
                if link is None:
                    continue
                link = link.strip()
                parts = urlsplit(link)
                if parts.scheme in SKIP_SCHEMES:
                    continue
                if parts.scheme or parts.netloc:
                    external.add(link)
                    continue
                if tag == "link" and "preconnect" in (el.get("rel") or []):
                    continue
                target = page if not parts.path else (page.parent / unquote(parts.path))
                target = Path(*target.parts).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if site not in target.parents and target != site:
                    broken.append((rel_page, link, "points outside the site"))
                    continue
                if not target.is_file():
                    broken.append((rel_page, link, f"no file {target.relative_to(site)}"))
                    continue
                frag = unquote(parts.fragment)
                if frag and target.suffix == ".html" and frag not in anchors(target):
                    broken.append((rel_page, link,
                                   f"no id {frag!r} in {target.relative_to(site).as_posix()}"))
    return broken, sorted(external)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    site = Path(args[0]) if args else ROOT / "book" / "_build" / "html"
    if not (site / "index.html").is_file():
        print(f"{site}/index.html does not exist: build the book first (make book)", file=sys.stderr)
        return 2
    broken, external = check(site)
    if "--external" in argv:
        print("links to other hosts (not fetched):")
        print("\n".join(f"  {u}" for u in external))
    for page, link, why in broken:
        print(f"{page}: broken link {link!r}: {why}")
    print(f"{len(pages(site))} pages checked, {len(broken)} broken internal links, "
          f"{len(external)} distinct outside links (not fetched)")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
