"""Make student notebooks from the chapters: ``python -m companion.assign SRC... --out DIR [--force]``.

For each source notebook it writes one student notebook into DIR (same file
name) in which

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (in markdown cells:
  ``YOUR ANSWER HERE``), indented like the marker, as nbgrader does;
* hidden tests between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``
  are removed;
* every output and execution count is cleared;
* everything else, nbgrader's cell metadata included, is kept as it is.

It refuses, naming the notebook and the cell, a notebook whose markers are
unbalanced or nested, and then writes nothing for that notebook. It never
overwrites an existing file unless ``--force`` is given. The exit status is 1
if any notebook was refused or skipped.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

__all__ = ["MarkerError", "student_notebook", "strip_cell_source", "main"]

_MARKERS = {
    "### BEGIN SOLUTION": ("solution", "begin"),
    "### END SOLUTION": ("solution", "end"),
    "### BEGIN HIDDEN TESTS": ("hidden", "begin"),
    "### END HIDDEN TESTS": ("hidden", "end"),
}
_MARKER_RE = re.compile(r"^(\s*)(### (?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS))\s*$")


class MarkerError(ValueError):
    """A notebook's solution or hidden-test markers are unbalanced or nested."""


def strip_cell_source(source, cell_type, where):
    """The student version of one cell's source (a string). ``where`` names the cell in errors."""
    out, open_kind, open_line = [], None, None
    for n, line in enumerate(source.splitlines(keepends=True), start=1):
        m = _MARKER_RE.match(line.rstrip("\n"))
        if not m:
            if open_kind is None:
                out.append(line)
            continue
        indent, marker = m.group(1), m.group(2)
        kind, edge = _MARKERS[marker]
        if edge == "begin":
            if open_kind is not None:
                raise MarkerError(f"{where}, line {n}: '{marker}' inside an open "
                                  f"'{open_kind}' block begun on line {open_line} (markers cannot nest)")
            open_kind, open_line = kind, n
            if kind == "solution":
                if cell_type == "code":
                    out.append(f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n")
                else:
                    out.append(f"{indent}YOUR ANSWER HERE\n")
        else:
            if open_kind != kind:
                found = f"open '{open_kind}' block" if open_kind else "no open block"
                raise MarkerError(f"{where}, line {n}: '{marker}' with {found}")
            open_kind = None
    if open_kind is not None:
        raise MarkerError(f"{where}, line {open_line}: '{open_kind}' block is never closed")
    text = "".join(out)
    return text.rstrip("\n") if not source.endswith("\n") else text


def student_notebook(nb, name="notebook"):
    """A student copy of a notebook (a dict as json.load gives it); the original is not changed."""
    nb = copy.deepcopy(nb)
    for k, cell in enumerate(nb.get("cells", [])):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        cell["source"] = strip_cell_source(src, cell.get("cell_type"), f"{name}: cell {k}")
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m companion.assign",
                                 description="Write student versions of exercise notebooks.")
    ap.add_argument("sources", nargs="+", metavar="SRC", help="source notebooks (.ipynb)")
    ap.add_argument("--out", required=True, metavar="DIR", help="folder for the student notebooks")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    failures = 0
    for src in map(Path, args.sources):
        target = out_dir / src.name
        try:
            nb = json.loads(src.read_text(encoding="utf-8"))
            student = student_notebook(nb, str(src))
        except (OSError, json.JSONDecodeError) as e:
            print(f"error: {src}: cannot read the notebook ({e}); nothing written", file=sys.stderr)
            failures += 1
            continue
        except MarkerError as e:
            print(f"error: {e}; nothing written for {src}", file=sys.stderr)
            failures += 1
            continue
        if target.exists() and not args.force:
            print(f"skipped: {target} exists (use --force to overwrite)", file=sys.stderr)
            failures += 1
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {target}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
