"""Keep the first cell of every notebook, the Colab install cell, in step with the
one repository setting in book/_config.yml (repository.url and repository.branch).

    python scripts/colab_cell.py           # rewrite the cell in every notebook in notebooks/
    python scripts/colab_cell.py --check   # exit 1, naming the notebook, if any cell differs

The cell is tagged "colab-install" (found by that tag) and "remove-cell" (the site
does not show it). In Colab it pip-installs the package from the repository; in a
clone without an installed package (JupyterHub through nbgitpuller) it puts ../src
on sys.path; anywhere else it does nothing, and it never runs pip outside Colab.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
TAG = "colab-install"

TEMPLATE = '''\
# In Colab, install the companion package (with what the notebooks add: the widgets);
# elsewhere this cell does nothing.
try:
    import companion
except ImportError:
    import os, subprocess, sys
    if "google.colab" in sys.modules:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "companion[notebooks] @ git+{url}@{branch}"], check=True)
    elif os.path.isdir(os.path.join("..", "src", "companion")):  # a clone: JupyterHub
        sys.path.insert(0, os.path.abspath(os.path.join("..", "src")))
    else:
        raise'''


def repository(config=ROOT / "book" / "_config.yml"):
    repo = yaml.safe_load(Path(config).read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def cell_source(config=ROOT / "book" / "_config.yml"):
    url, branch = repository(config)
    return TEMPLATE.format(url=url, branch=branch)


def install_cell(source):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [TAG, "remove-cell"]
    cell.pop("id", None)
    return cell


def notebooks(folder=ROOT / "notebooks"):
    return sorted(p for p in Path(folder).glob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def problems(path, source):
    nb = nbformat.read(path, as_version=4)
    if not nb.cells or nb.cells[0].cell_type != "code" or TAG not in nb.cells[0].metadata.get("tags", []):
        return f"{path}: the first cell must be the Colab install cell tagged {TAG!r} " \
               "(run: python scripts/colab_cell.py)"
    if nb.cells[0].source != source:
        return f"{path}: the Colab install cell differs from book/_config.yml's repository " \
               "setting (run: python scripts/colab_cell.py)"
    if "remove-cell" not in nb.cells[0].metadata.get("tags", []):
        return f"{path}: the Colab install cell must also be tagged 'remove-cell'"
    return None


def sync(path, source):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "code" and TAG in first.metadata.get("tags", []):
        first.source = source
        tags = first.metadata.setdefault("tags", [])
        if "remove-cell" not in tags:
            tags.append("remove-cell")
    else:
        cell = install_cell(source)
        if "id" in (first or {}):
            cell["id"] = "colab-install"
        nb.cells.insert(0, cell)
    nbformat.write(nb, path)


def main(argv):
    source = cell_source()
    if "--check" in argv:
        bad = [msg for p in notebooks() if (msg := problems(p, source))]
        print("\n".join(bad) or f"colab install cells match {repository()[0]}")
        return 1 if bad else 0
    for p in notebooks():
        if problems(p, source):
            sync(p, source)
            print(f"updated {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
