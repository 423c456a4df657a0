"""Bad input makes the build (or the notebook test) fail with a message naming the file.

A tiny book with this project's real configuration (book/_config.yml, book/_ext,
book/_assets) is built in a temporary folder, once clean and once per defect:
a broken cross-reference, a toc entry without a file, a missing static asset, and
a notebook that raises (nbval). About 20 s in all.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT

JB = Path(sys.executable).parent / "jupyter-book"


def make_book(tmp, *, toc_extra=None, intro_extra="", config_edit=None):
    (tmp / "book").mkdir(parents=True)
    for item in ("_ext", "_assets", "favicon.svg", *(p.name for p in (ROOT / "book").glob("*.bib"))):
        src = ROOT / "book" / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp / "book" / item)
    config = yaml.safe_load((ROOT / "book" / "_config.yml").read_text())
    config["sphinx"]["extra_extensions"] = [e for e in config["sphinx"]["extra_extensions"]
                                            if e != "sphinx.ext.autodoc"]
    if config_edit:
        config_edit(config)
    (tmp / "book" / "_config.yml").write_text(yaml.safe_dump(config))
    (tmp / "book" / "intro.md").write_text(
        "# Tiny book\n\n(target)=\n## A section\n\nSee {ref}`target`; $x^2$.\n" + intro_extra)
    (tmp / "notebooks").mkdir()
    (tmp / "notebooks" / "chapter.md").write_text("# Chapter\n\nBack to [the intro](../book/intro.md).\n")
    chapters = [{"file": "notebooks/chapter"}] + ([{"file": toc_extra}] if toc_extra else [])
    (tmp / "book" / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "book/intro", "chapters": chapters}))
    return tmp


def build(tmp):
    proc = subprocess.run([str(JB), "build", ".", "--config", "book/_config.yml", "--toc",
                           "book/_toc.yml", "--path-output", "book", "-W", "-n", "--keep-going"],
                          cwd=tmp, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module", autouse=True)
def needs_jupyter_book():
    if not JB.is_file():
        pytest.fail(f"{JB} not found: install requirements.txt")


def test_the_tiny_book_builds_clean(tmp_path):
    rc, out = build(make_book(tmp_path))
    assert rc == 0, out[-3000:]


def test_broken_cross_reference_fails_naming_the_file(tmp_path):
    rc, out = build(make_book(tmp_path, intro_extra=(
        "\nAlso {ref}`no-such-label` and {py:func}`companion.no_such_function`.\n")))
    assert rc != 0
    assert "intro.md" in out and "no-such-label" in out, out[-3000:]
    assert "companion.no_such_function" in out, out[-3000:]   # book/_ext/api_refs.py lets it fail


def test_toc_entry_without_a_file_fails_naming_it(tmp_path):
    rc, out = build(make_book(tmp_path, toc_extra="notebooks/02_missing"))
    assert rc != 0
    assert "02_missing" in out, out[-3000:]


def test_missing_static_asset_fails_naming_it(tmp_path):
    def edit(config):
        config["sphinx"]["config"]["mathjax_path"] = "mathjax/not-there.js"
    rc, out = build(make_book(tmp_path, config_edit=edit))
    assert rc != 0
    assert "not-there.js" in out, out[-3000:]


def test_script_from_another_host_fails_naming_the_page(tmp_path):
    def edit(config):
        config["sphinx"]["config"]["html_js_files"] = ["https://cdn.example.org/lib.js"]
    rc, out = build(make_book(tmp_path, config_edit=edit))
    assert rc != 0
    assert "cdn.example.org" in out and "another host" in out, out[-3000:]


def test_failing_notebook_fails_nbval_naming_it(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0")],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    path = tmp_path / "broken_chapter.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval", str(path), "-p", "no:cacheprovider",
                           "-q", "--rootdir", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "broken_chapter.ipynb" in out and "ZeroDivisionError" in out, out[-3000:]
