"""Write each chapter's code cells into OUTDIR/NN_name.py, so tools that read .py files (the
`duplicates` command, grep, an editor) see the chapters' code beside the package's.

    python scripts/chapter_code.py OUTDIR [notebooks/NN_name.ipynb ...] [--with-sources]

Every code cell is written in order, each after a line ``# %% cell K`` naming its index in the
notebook (0-based, as nbformat counts; its tags follow, if any), so a finding points back at the
cell. IPython lines (``%magic``, ``!shell``) are commented out, so every file parses as Python.
The Colab install cell (tagged colab-install) is left out: scripts/colab_cell.py writes the same
cell into every notebook on purpose. ``--with-sources`` also copies src/ and tests/ (the .py
files) into OUTDIR, so that one folder outside the repository holds all the code:

    python scripts/chapter_code.py /tmp/chapters --with-sources
    duplicates --repo /tmp/chapters --most 40

(Inside the repository, an OUTDIR that git neither tracks nor ignores is read by a plain
``duplicates`` from the root, with src/ and tests/ as they are.) Existing files NN_name.py in
OUTDIR are overwritten; nothing else there is touched. Exit status 0, or 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_TAG = "colab-install"


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def python_text(source: str) -> str:
    """The cell's source with IPython-only lines commented out (``%...``, ``!...``)."""
    out = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        out.append(f"# (IPython) {line}" if stripped.startswith(("%", "!")) else line)
    return "\n".join(out)


def chapter_code(notebook: Path) -> str:
    """One notebook's code cells as the text of a .py file."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    parts = [f"# Code cells of {notebook.name}, written by scripts/chapter_code.py: do not edit.\n"]
    for k, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        if SKIP_TAG in tags:
            continue
        head = f"# %% cell {k}" + (f"  [{', '.join(tags)}]" if tags else "")
        parts.append(f"\n{head}\n{python_text(cell_source(cell)).rstrip()}\n")
    return "".join(parts)


def copy_sources(outdir: Path) -> int:
    """Copy the .py files of src/ and tests/ into OUTDIR (same relative paths); how many."""
    n = 0
    for top in ("src", "tests"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            target = outdir / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python scripts/chapter_code.py",
                                 description="Write each notebook's code cells into OUTDIR/NN_name.py.")
    ap.add_argument("outdir", metavar="OUTDIR", help="folder for the .py files (created if missing)")
    ap.add_argument("notebooks", nargs="*", default=[], metavar="NOTEBOOK",
                    help="notebooks to read (default: every notebooks/*.ipynb)")
    ap.add_argument("--with-sources", action="store_true", help="also copy src/ and tests/ into OUTDIR")
    args = ap.parse_args(argv)
    notebooks = [Path(p) for p in args.notebooks] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    bad = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if bad:
        ap.error(f"NOTEBOOK: expected existing .ipynb files, got {', '.join(bad)}")
    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        ap.error(f"OUTDIR: {outdir} exists and is not a folder")
    outdir.mkdir(parents=True, exist_ok=True)
    for nb in notebooks:
        target = outdir / (nb.stem + ".py")
        target.write_text(chapter_code(nb), encoding="utf-8")
        print(f"wrote {target}")
    if args.with_sources:
        print(f"copied {copy_sources(outdir)} files of src/ and tests/ into {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
