"""Make student notebooks from the chapters: ``python -m companion.assign SRC... --out DIR [--force]``.

For each source notebook it writes one student notebook into DIR (same file
name). It removes exactly what nbgrader's ``generate_assignment`` removes
(``ClearSolutions``, ``ClearHiddenTests``, ``ClearMarkScheme``, nbgrader 0.9),
and refuses where nbgrader's rule could let hidden text through:

* markers follow nbgrader's rule: a line is a marker when it *contains* one of
  ``BEGIN SOLUTION``, ``END SOLUTION``, ``BEGIN HIDDEN TESTS``,
  ``END HIDDEN TESTS``, ``BEGIN MARK SCHEME``, ``END MARK SCHEME``
  (upper case, anywhere in the line: ``### BEGIN SOLUTION``,
  ``## BEGIN SOLUTION``, ``x = 1  # BEGIN SOLUTION`` and
  ``print("BEGIN SOLUTION")`` are all markers); lines are split at ``\\n``
  only, as nbgrader splits them. The whole marker line goes;
* a solution region becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()``
  (markdown and raw cells: ``YOUR ANSWER HERE``), indented like the marker line;
  a cell whose nbgrader metadata says ``solution`` but that has no solution
  region becomes the stub as a whole, as in nbgrader;
* hidden-test and mark-scheme regions are removed;
* every output and execution count is cleared;
* everything else, nbgrader's cell metadata included, is kept as it is.

It refuses a notebook, naming it, the cell and the line, and then writes
nothing for it, when

* markers are unbalanced, nested (of any kinds), or two share a line: nbgrader
  either fails there too or silently keeps text meant to be removed;
* a line mentions a marker phrase without being a marker (``# begin solution``,
  ``### Begin Hidden Tests``, ``BEGIN HIDDEN TEST``, ``END_SOLUTION``): nbgrader
  matches case and spelling exactly, so such a typo would hand the solution or
  the hidden tests to students;
* a removed region refers to a cell attachment (``![..](attachment:..)``): the
  cell's attachments are kept, so the removed picture would still be shipped;
* the file is not a regular file, not UTF-8, not strict JSON (``NaN`` is not
  JSON), not an nbformat-4 notebook (a JSON object whose ``cells`` is a list of
  objects with a ``cell_type`` of code/markdown/raw and a ``source`` that is a
  string or a list of strings; ``metadata`` and ``metadata.nbgrader`` objects),
  or holds text that cannot be written as UTF-8 (a lone surrogate escape);
* its student version would be written over a source notebook of the same run
  (same path, a symlink or a hard link to it): ``--out`` next to the sources
  would otherwise replace the instructor's notebook by the student version;
* another source of the same run has the same file name (compared without
  case, as macOS and Windows do): both would go to one file, so *both* are
  refused, as neither can be preferred. A source given twice is done once.

A bad notebook is reported with one line on stderr and the run carries on with
the others; nothing ever ends in a traceback. An existing file is never
overwritten unless ``--force`` is given. Each notebook is written to a temporary
file in DIR and renamed over the target, so an interrupted run (Ctrl-C, a full
disk) leaves either the old file or the complete new one, never half of one.
The exit status is 1 if any notebook was refused or skipped, 2 for bad
command-line arguments, 130 when interrupted, else 0.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import stat
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["NotebookError", "MarkerError", "student_notebook", "strip_cell_source", "main"]

# nbgrader's delimiters: a line holding one of these (case-sensitive, anywhere) is a marker.
_PHRASES = {
    "BEGIN SOLUTION": ("solution", "begin"),
    "END SOLUTION": ("solution", "end"),
    "BEGIN HIDDEN TESTS": ("hidden tests", "begin"),
    "END HIDDEN TESTS": ("hidden tests", "end"),
    "BEGIN MARK SCHEME": ("mark scheme", "begin"),
    "END MARK SCHEME": ("mark scheme", "end"),
}
# A near miss of a marker (another case, a singular, '_' or '-' or several blanks between the
# words): nbgrader would keep the line and the text it was meant to hide, so it is refused.
_LOOKALIKE = re.compile(
    r"(?<![A-Za-z0-9])(begin|end)[\s_-]*(solution|hidden[\s_-]*test|mark[\s_-]*scheme)",
    re.IGNORECASE)
# nbgrader's own pattern for an attachment reference (ClearMarkScheme.check_attachment_leakage).
_ATTACHMENT = re.compile(r"!\[.*\]\(attachment:.+?\)")
_CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]   # nbgrader's python stub
_TEXT_STUB = ["YOUR ANSWER HERE"]
_CELL_TYPES = ("code", "markdown", "raw")


class NotebookError(ValueError):
    """A file is not a notebook this command can turn into a student version."""


class MarkerError(NotebookError):
    """A notebook's solution, hidden-test or mark-scheme markers are unbalanced, nested or misspelt."""


def _kind(value):
    return "null" if value is None else type(value).__name__


def _clip(line, n=60):
    return repr(line if len(line) <= n else line[:n] + "...")


def strip_cell_source(source: str, cell_type: str, where: str, solution_cell: bool = False) -> str:
    """The student version of one cell's source (a string), as nbgrader makes it.

    ``where`` names the cell in errors; ``solution_cell`` is nbgrader's "solution" flag of the cell
    (a solution cell without a solution region is replaced by the stub as a whole).
    """
    if not isinstance(source, str):
        raise NotebookError(f"{where}: 'source' must be a string, got {_kind(source)}")
    stub = _CODE_STUB if cell_type == "code" else _TEXT_STUB
    out, open_kind, open_line, replaced = [], None, None, False
    for n, line in enumerate(source.split("\n"), start=1):   # nbgrader splits at "\n" only
        found = [p for p in _PHRASES if p in line]
        if len(found) > 1:
            raise MarkerError(f"{where}, line {n}: {_clip(line)} holds more than one marker "
                              f"({', '.join(found)}); put each marker on its own line")
        if not found:
            near = _LOOKALIKE.search(line)
            if near:
                meant = ("HIDDEN TESTS" if near[2][0] in "hH" else "MARK SCHEME" if near[2][0] in "mM"
                         else "SOLUTION")   # not a dict: 'ſ' matches 's' when case is ignored
                raise MarkerError(
                    f"{where}, line {n}: {_clip(line)} looks like a marker but nbgrader would not see one "
                    f"(it needs exactly '{near[1].upper()} {meant}', in upper case), so the text it should "
                    f"hide would reach students; spell the marker exactly or reword the line")
            if open_kind is None:
                out.append(line)
            elif _ATTACHMENT.search(line):
                raise MarkerError(f"{where}, line {n}: the {open_kind} region begun on line {open_line} "
                                  f"shows a cell attachment; the attachment would still be shipped to "
                                  f"students: embed the picture another way")
            continue
        marker = found[0]
        kind, edge = _PHRASES[marker]
        if edge == "begin":
            if open_kind is not None:
                raise MarkerError(f"{where}, line {n}: '{marker}' inside an open '{open_kind}' block "
                                  f"begun on line {open_line} (markers cannot nest)")
            open_kind, open_line = kind, n
            if kind == "solution":
                replaced = True
                indent = re.match(r"\s*", line).group(0)   # nbgrader indents the stub like the marker
                out.extend(indent + s for s in stub)
        else:
            if open_kind != kind:
                found_block = f"open '{open_kind}' block" if open_kind else "no open block"
                raise MarkerError(f"{where}, line {n}: '{marker}' with {found_block}")
            open_kind = None
    if open_kind is not None:
        raise MarkerError(f"{where}, line {open_line}: '{open_kind}' block is never closed")
    if solution_cell and not replaced:
        out = list(stub)
    return "\n".join(out)


def _check_cell(cell, where):
    """Raise NotebookError unless ``cell`` is a cell this command understands."""
    if not isinstance(cell, dict):
        raise NotebookError(f"{where}: a cell must be a JSON object, got {_kind(cell)}")
    ctype = cell.get("cell_type")
    if ctype not in _CELL_TYPES:
        got = "none" if "cell_type" not in cell else repr(ctype) if isinstance(ctype, str) else _kind(ctype)
        raise NotebookError(f"{where}: 'cell_type' must be one of {', '.join(_CELL_TYPES)}, got {got}")
    if "source" not in cell:
        raise NotebookError(f"{where}: the cell has no 'source'")
    src = cell["source"]
    if isinstance(src, list):
        bad = next((i for i, s in enumerate(src) if not isinstance(s, str)), None)
        if bad is not None:
            raise NotebookError(f"{where}: 'source' must be a string or a list of strings, "
                                f"item {bad} is {_kind(src[bad])}")
    elif not isinstance(src, str):
        raise NotebookError(f"{where}: 'source' must be a string or a list of strings, got {_kind(src)}")
    meta = cell.get("metadata", {})
    if not isinstance(meta, dict):
        raise NotebookError(f"{where}: 'metadata' must be a JSON object, got {_kind(meta)}")
    nbg = meta.get("nbgrader", {})
    if not isinstance(nbg, dict):
        raise NotebookError(f"{where}: 'metadata.nbgrader' must be a JSON object, got {_kind(nbg)}")


def student_notebook(nb: dict[str, Any], name: str = "notebook") -> dict[str, Any]:
    """A student copy of a notebook (a dict as json.load gives it); the original is not changed.

    Raises NotebookError (MarkerError for markers) naming ``name`` and the cell when ``nb`` is not
    an nbformat-4 notebook or its markers are not nbgrader's, and changes nothing then.
    """
    if not isinstance(nb, dict):
        raise NotebookError(f"{name}: a notebook must be a JSON object, got {_kind(nb)}")
    if not isinstance(nb.get("cells"), list):
        got = "none" if "cells" not in nb else _kind(nb["cells"])
        raise NotebookError(f"{name}: 'cells' must be a list (an nbformat-4 notebook), got {got}")
    for k, cell in enumerate(nb["cells"]):
        _check_cell(cell, f"{name}: cell {k}")
    # all cells are checked before anything is copied or changed
    nb = copy.deepcopy(nb)
    for k, cell in enumerate(nb["cells"]):
        src = cell["source"]
        src = "".join(src) if isinstance(src, list) else src
        solution = bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))
        cell["source"] = strip_cell_source(src, cell["cell_type"], f"{name}: cell {k}", solution)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


# ---------------------------------------------------------------- command line

def _show(path):
    """A path as one printable line (a file name may hold a newline or undecodable bytes)."""
    s = str(path)
    return s if s.isprintable() else ascii(s)


def _say(stream, msg):
    try:
        try:
            print(msg, file=stream)
        except UnicodeEncodeError:   # a console that cannot show the name: show it escaped
            print(ascii(msg), file=stream)
    except (OSError, ValueError):    # the stream is closed (`| head`): the exit status still tells
        pass


def _no_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _identity(path):
    """What makes two paths the same file: (device, inode) when it exists, else the resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except (OSError, ValueError):
        pass
    try:
        return ("path", str(Path(path).resolve()))
    except (OSError, RuntimeError, ValueError):   # a symlink loop
        return ("path", os.path.abspath(path))


def _read_notebook(src, name):
    """The student version of ``src`` as UTF-8 bytes; NotebookError says what is wrong."""
    try:
        mode = os.stat(src).st_mode
    except FileNotFoundError:
        raise NotebookError(f"{name}: no such file") from None
    except (OSError, ValueError) as e:
        raise NotebookError(f"{name}: cannot read it ({getattr(e, 'strerror', None) or e})") from None
    if stat.S_ISDIR(mode):
        raise NotebookError(f"{name}: is a folder, not a notebook")
    if not stat.S_ISREG(mode):   # a FIFO or a device would block or never end
        raise NotebookError(f"{name}: not a regular file")
    try:
        raw = Path(src).read_bytes()
    except OSError as e:
        raise NotebookError(f"{name}: cannot read it ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise NotebookError(f"{name}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                            f"notebooks are UTF-8: save it as UTF-8") from None
    try:
        nb = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise NotebookError(f"{name}: not a notebook (JSON nested too deeply)") from None
    except ValueError as e:
        raise NotebookError(f"{name}: not valid JSON ({e})") from None
    try:
        student = student_notebook(nb, name)
        out = json.dumps(student, indent=1, ensure_ascii=False) + "\n"
    except RecursionError:   # copying or writing needs more stack than parsing
        raise NotebookError(f"{name}: not a notebook (JSON nested too deeply)") from None
    try:
        return out.encode("utf-8")
    except UnicodeEncodeError as e:
        raise NotebookError(f"{name}: holds text that is not valid Unicode "
                            f"({ascii(e.object[e.start:e.end])}, a lone surrogate escape)") from None


def _write_atomic(target, data, mode):
    """Write ``data`` to ``target`` through a temporary file in its folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".assign-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _convert(src, target, args, new_file_mode):
    """Write the student version of ``src`` to ``target``; True when written."""
    name = _show(src)
    try:
        data = _read_notebook(src, name)
    except NotebookError as e:
        _say(sys.stderr, f"error: {e}; nothing written")
        return False
    if os.path.isdir(target):
        _say(sys.stderr, f"error: {name}: the target {_show(target)} is a folder; nothing written")
        return False
    if os.path.lexists(target) and not args.force:
        _say(sys.stderr, f"skipped: {_show(target)} exists (use --force to overwrite)")
        return False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data, new_file_mode)
    except OSError as e:
        _say(sys.stderr, f"error: {name}: cannot write {_show(target)} ({e.strerror or e}); nothing written")
        return False
    _say(sys.stdout, f"wrote {_show(target)}")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 all written, 1 some refused or skipped, 2 usage)."""
    ap = argparse.ArgumentParser(prog="python -m companion.assign",
                                 description="Write student versions of exercise notebooks.")
    ap.add_argument("sources", nargs="+", metavar="SRC", help="source notebooks (.ipynb)")
    ap.add_argument("--out", required=True, metavar="DIR", help="folder for the student notebooks")
    ap.add_argument("--force", action="store_true", help="overwrite existing files")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:   # argparse has printed its message
        return e.code if isinstance(e.code, int) else 2
    out_dir = Path(args.out)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        _say(sys.stderr, f"error: --out {_show(out_dir)} exists and is not a folder; nothing written")
        return 1
    umask = os.umask(0)
    os.umask(umask)
    new_file_mode = 0o666 & ~umask   # what a plain open() would give; mkstemp makes 0600

    # Plan the run before writing anything: a source given twice is done once; sources sharing a
    # file name are all refused; no target may be a source of this run.
    sources, seen = [], set()
    for s in map(Path, args.sources):
        ident = _identity(s)
        if ident not in seen:
            seen.add(ident)
            sources.append(s)
    by_name = {}
    for s in sources:
        by_name.setdefault(unicodedata.normalize("NFC", s.name).casefold(), []).append(s)

    failures = 0
    try:
        for src in sources:
            target = out_dir / src.name
            clash = [o for o in by_name[unicodedata.normalize("NFC", src.name).casefold()] if o is not src]
            if clash:
                _say(sys.stderr, f"error: {_show(src)}: {_show(clash[0])} has the same file name, so both "
                                 f"would be written to {_show(target)}; nothing written for either "
                                 f"(rename one or run them separately)")
                failures += 1
                continue
            if _identity(target) in seen:
                which = "the source itself" if _identity(target) == _identity(src) else \
                    "another source notebook of this run"
                _say(sys.stderr, f"error: {_show(src)}: its student version {_show(target)} would replace "
                                 f"{which}; choose another --out; nothing written")
                failures += 1
                continue
            try:
                ok = _convert(src, target, args, new_file_mode)
            except Exception as e:   # the promise is one line per notebook and no traceback, whatever comes
                _say(sys.stderr, f"error: {_show(src)}: unexpected {type(e).__name__}: "
                                 f"{_show(str(e)[:200])}; nothing written")
                ok = False
            failures += not ok
    except KeyboardInterrupt:
        _say(sys.stderr, "interrupted: the notebooks listed as written are complete; nothing else changed")
        return 130
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
