"""companion.assign: student notebooks from instructor notebooks, and refusals that write nothing."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from companion.assign import MarkerError, main, strip_cell_source, student_notebook

FIXTURE = Path(__file__).parent / "data" / "exercise_fixture.ipynb"
NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def _nb(*sources, cell_type="code"):
    cells = [{"cell_type": cell_type, "metadata": {}, "source": s,
              **({"outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
                  "execution_count": 3} if cell_type == "code" else {})} for s in sources]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_solution_becomes_stub_with_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
    assert strip_cell_source(src, "code", "c") == \
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"


def test_markdown_solution_and_hidden_tests():
    assert strip_cell_source("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "markdown", "c") == \
        "Why?\nYOUR ANSWER HERE"
    assert strip_cell_source("check(f)\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS",
                             "code", "c") == "check(f)"


@pytest.mark.parametrize("src, fragment", [
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION", "cannot nest"),
    ("x\n### END SOLUTION", "no open block"),
    ("### BEGIN SOLUTION\nx", "never closed"),
    ("### BEGIN HIDDEN TESTS\nx\n### END SOLUTION", "open 'hidden tests' block"),
])
def test_bad_markers_name_the_cell(src, fragment):
    with pytest.raises(MarkerError, match=fragment) as e:
        student_notebook(_nb("ok", src), "ch.ipynb")
    assert "ch.ipynb: cell 1" in str(e.value)


def test_outputs_cleared_metadata_kept_original_untouched():
    nb = _nb("### BEGIN SOLUTION\ny = 1\n### END SOLUTION\n")
    nb["cells"][0]["metadata"]["nbgrader"] = {"solution": True, "grade_id": "a"}
    before = json.dumps(nb, sort_keys=True)
    st = student_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == before
    cell = st["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["metadata"]["nbgrader"] == {"solution": True, "grade_id": "a"}
    assert "raise NotImplementedError()" in cell["source"] and "y = 1" not in cell["source"]


def test_cli_writes_refuses_and_respects_force(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text(json.dumps(_nb("### BEGIN SOLUTION\nx")))
    out = tmp_path / "out"
    assert main([str(FIXTURE), str(bad), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "bad.ipynb: cell 0" in err and "nothing written" in err
    assert sorted(p.name for p in out.iterdir()) == ["exercise_fixture.ipynb"]
    written = (out / "exercise_fixture.ipynb").read_text()
    assert "### BEGIN SOLUTION" not in written and "HIDDEN TESTS" not in written
    assert "raise NotImplementedError()" in written
    # an existing file is never overwritten without --force
    (out / "exercise_fixture.ipynb").write_text("mine")
    assert main([str(FIXTURE), "--out", str(out)]) == 1
    assert (out / "exercise_fixture.ipynb").read_text() == "mine"
    assert main([str(FIXTURE), "--out", str(out), "--force"]) == 0
    assert (out / "exercise_fixture.ipynb").read_text() == written


def test_module_entry_point(tmp_path):
    r = subprocess.run([sys.executable, "-m", "companion.assign", str(FIXTURE), "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / FIXTURE.name).exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_chapter_notebook_has_balanced_markers(path):
    student_notebook(json.loads(path.read_text()), str(path))


# ---------------------------------------------------------------- hostile input (issue 11)
# Every test below fails on the command as it was before: it either copied the hidden text,
# wrote over a source, ended in a traceback, or left a half-written notebook.

def _run_main(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert isinstance(rc, int) and "Traceback" not in err
    return rc, out, err


@pytest.mark.parametrize("begin, end", [
    ("## BEGIN SOLUTION", "## END SOLUTION"),
    ("# BEGIN SOLUTION", "# END SOLUTION"),
    ("#BEGIN SOLUTION", "#END SOLUTION"),
    ("### BEGIN SOLUTION  (student writes this)", "### END SOLUTION ###"),
    ("x = 0  # BEGIN SOLUTION", "pass  # END SOLUTION"),
    ('print("BEGIN SOLUTION")', 'print("END SOLUTION")'),
    ("<!-- BEGIN SOLUTION -->", "<!-- END SOLUTION -->"),
])
@pytest.mark.parametrize("cell_type", ["code", "markdown"])
def test_any_line_containing_the_solution_phrase_is_a_marker(begin, end, cell_type):
    """nbgrader's rule: a line *containing* 'BEGIN SOLUTION' is a marker; the old code needed
    exactly '### BEGIN SOLUTION' and copied these solutions to students."""
    src = f"keep = 1\n    {begin}\n    SECRET = 42\n    {end}\nkeep_too = 2"
    out = strip_cell_source(src, cell_type, "c")
    assert "SECRET" not in out and "SOLUTION" not in out
    stub = ("    # YOUR CODE HERE\n    raise NotImplementedError()" if cell_type == "code"
            else "    YOUR ANSWER HERE")
    assert out == f"keep = 1\n{stub}\nkeep_too = 2"


@pytest.mark.parametrize("begin, end", [
    ("# BEGIN HIDDEN TESTS", "# END HIDDEN TESTS"),
    ("## BEGIN HIDDEN TESTS", "## END HIDDEN TESTS"),
    ("assert True  # BEGIN HIDDEN TESTS", "# END HIDDEN TESTS here"),
    ("### BEGIN MARK SCHEME", "### END MARK SCHEME"),
    ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="),
])
def test_hidden_tests_and_mark_scheme_with_any_prefix_are_removed(begin, end):
    src = f"check(f)\n{begin}\nassert SECRET(1) == 2\n{end}\ncheck(g)"
    assert strip_cell_source(src, "code", "c") == "check(f)\ncheck(g)"


def test_solution_cell_without_region_becomes_the_stub_as_nbgrader_does():
    nb = _nb("def f():\n    return 42  # the answer", "Because SECRET.")
    nb["cells"][0]["metadata"]["nbgrader"] = {"solution": True, "grade": False, "grade_id": "a"}
    nb["cells"][1]["cell_type"] = "markdown"
    nb["cells"][1]["metadata"]["nbgrader"] = {"solution": True, "grade": False, "grade_id": "b"}
    st = student_notebook(nb)
    assert st["cells"][0]["source"] == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert st["cells"][1]["source"] == "YOUR ANSWER HERE"


@pytest.mark.parametrize("line", [
    "### begin solution", "### Begin Solution", "## BEGIN  SOLUTION", "# BEGIN_SOLUTION",
    "### BEGIN HIDDEN TEST", "# begin hidden tests", "### End Hidden Tests", "# begin mark scheme",
    "x = 1  # end solution",
])
def test_a_near_miss_of_a_marker_is_refused(line):
    """nbgrader matches case and spelling exactly: a misspelt marker leaves the solution or the
    hidden tests in the student version (nbgrader's too), so it is refused with the line named."""
    src = f"ok = 1\n{line}\nSECRET = 42"
    with pytest.raises(MarkerError, match="line 2: .*looks like a marker") as e:
        strip_cell_source(src, "code", "nb.ipynb: cell 3")
    assert "nb.ipynb: cell 3" in str(e.value)


@pytest.mark.parametrize("src, fragment", [
    ("### BEGIN SOLUTION ### END SOLUTION\nx", "more than one marker"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION", "cannot nest"),
    ("Look:\n### BEGIN MARK SCHEME\n![plot](attachment:p.png)\n### END MARK SCHEME", "attachment"),
    # nbgrader splits lines at "\n" only: this is one line holding two markers
    ("x = 1\r### BEGIN SOLUTION\rSECRET\r### END SOLUTION", "more than one marker"),
])
def test_markers_nbgrader_cannot_handle_are_refused(src, fragment):
    with pytest.raises(MarkerError, match=fragment):
        strip_cell_source(src, "code", "c")


def test_never_writes_over_its_own_source(tmp_path, capsys):
    src = tmp_path / "x.ipynb"
    shutil.copy(FIXTURE, src)
    before = src.read_bytes()
    rc, out, err = _run_main(capsys, src, "--out", tmp_path, "--force")
    assert rc == 1 and src.read_bytes() == before
    assert err.count("\n") == 1 and "x.ipynb" in err and "source itself" in err and out == ""


def test_never_writes_over_a_source_through_a_symlink_or_hard_link(tmp_path, capsys):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    src = src_dir / "x.ipynb"
    shutil.copy(FIXTURE, src)
    before = src.read_bytes()
    (tmp_path / "alias").symlink_to(src_dir)             # --out is the source folder by another name
    rc, _, err = _run_main(capsys, src, "--out", tmp_path / "alias", "--force")
    assert rc == 1 and src.read_bytes() == before and "would replace" in err
    linked = tmp_path / "linked"
    linked.mkdir()
    os.link(src, linked / "x.ipynb")                     # a hard link to the source in --out
    rc, _, err = _run_main(capsys, src, "--out", linked, "--force")
    assert rc == 1 and src.read_bytes() == before and "would replace" in err


def test_never_writes_over_another_source_of_the_run(tmp_path, capsys):
    """`assign a/x.ipynb out/x.ipynb --out out`: the first target is the second source."""
    (tmp_path / "a").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(FIXTURE, tmp_path / "a" / "x.ipynb")
    shutil.copy(FIXTURE, out / "x.ipynb")
    before = (out / "x.ipynb").read_bytes()
    rc, _, err = _run_main(capsys, tmp_path / "a" / "x.ipynb", out / "x.ipynb", "--out", out, "--force")
    assert rc == 1 and (out / "x.ipynb").read_bytes() == before


def test_two_sources_with_one_file_name_are_both_refused(tmp_path, capsys):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        shutil.copy(FIXTURE, tmp_path / d / "x.ipynb")
    shutil.copy(FIXTURE, tmp_path / "a" / "other.ipynb")
    out = tmp_path / "out"
    rc, _, err = _run_main(capsys, tmp_path / "a" / "x.ipynb", tmp_path / "b" / "x.ipynb",
                           tmp_path / "a" / "other.ipynb", "--out", out)
    assert rc == 1
    assert sorted(p.name for p in out.iterdir()) == ["other.ipynb"]   # the rest of the run is done
    assert err.count("same file name") == 2 and err.count("\n") == 2


def test_the_same_source_twice_is_done_once(tmp_path, capsys):
    rc, out, err = _run_main(capsys, FIXTURE, FIXTURE, "--out", tmp_path)
    assert rc == 0 and err == "" and out.count("wrote") == 1


MALFORMED = {
    "list": b"[]",
    "null": b"null",
    "string": b'"notebook"',
    "no cells": b'{"metadata": {}, "nbformat": 4}',
    "cells not a list": b'{"cells": {"0": {}}, "metadata": {}}',
    "cell not an object": b'{"cells": [["code"]], "metadata": {}}',
    "cell null": b'{"cells": [null], "metadata": {}}',
    "no cell_type": b'{"cells": [{"source": "x", "metadata": {}}]}',
    "cell_type unknown": b'{"cells": [{"cell_type": "heading", "source": "x", "metadata": {}}]}',
    "source a number": b'{"cells": [{"cell_type": "code", "source": 3, "metadata": {}}]}',
    "source null": b'{"cells": [{"cell_type": "code", "source": null, "metadata": {}}]}',
    "source list of non-strings": b'{"cells": [{"cell_type": "code", "source": ["a", 1], "metadata": {}}]}',
    "no source": b'{"cells": [{"cell_type": "code", "metadata": {}}]}',
    "metadata a list": b'{"cells": [{"cell_type": "code", "source": "x", "metadata": []}]}',
    "nbgrader metadata a string": (b'{"cells": [{"cell_type": "code", "source": "x", '
                                   b'"metadata": {"nbgrader": "yes"}}]}'),
    "latin-1": json.dumps(_nb("s = 'caf\u00e9'"), ensure_ascii=False).encode("latin-1"),
    "truncated": json.dumps(_nb("x = 1")).encode()[:-7],
    "empty": b"",
    "NaN": b'{"cells": [], "metadata": {"x": NaN}}',
    "lone surrogate": b'{"cells": [{"cell_type": "code", "source": "\\ud800", "metadata": {}}]}',
    "nested too deeply": b"[" * 100_000,
    "huge integer": b'{"cells": [], "metadata": {"n": ' + b"9" * 5000 + b"}}",
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_notebook_one_line_nothing_written_run_goes_on(tmp_path, capsys, content):
    bad = tmp_path / "bad.ipynb"
    bad.write_bytes(content)
    out = tmp_path / "out"
    rc, stdout, err = _run_main(capsys, bad, FIXTURE, "--out", out)
    assert rc == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and "bad.ipynb" in err, err
    assert "nothing written" in err
    assert sorted(p.name for p in out.iterdir()) == [FIXTURE.name]   # the next notebook is done
    assert "wrote" in stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_directory_fifo_and_missing_file_are_refused(tmp_path):
    (tmp_path / "dir.ipynb").mkdir()
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)   # reading it would block for ever: run in a child with a time limit
    out = tmp_path / "out"
    try:
        r = subprocess.run([sys.executable, "-m", "companion.assign", str(tmp_path / "dir.ipynb"), str(fifo),
                            str(tmp_path / "missing.ipynb"), str(FIXTURE), "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the command blocked reading a FIFO")
    err = r.stderr
    assert r.returncode == 1 and err.count("\n") == 3 and "Traceback" not in err, err
    assert "is a folder" in err and "not a regular file" in err and "no such file" in err
    assert sorted(p.name for p in out.iterdir()) == [FIXTURE.name]


def test_out_naming_a_file_is_refused_with_one_line(tmp_path, capsys):
    out = tmp_path / "out.txt"
    out.write_text("keep me")
    rc, _, err = _run_main(capsys, FIXTURE, "--out", out)
    assert rc == 1 and err.count("\n") == 1 and "not a folder" in err
    assert out.read_text() == "keep me"


def test_bad_arguments_return_a_status_instead_of_raising(capsys):
    assert main(["--out"]) == 2
    assert main([]) == 2


def test_interrupted_write_keeps_the_old_file_whole(tmp_path, capsys, monkeypatch):
    """A write that fails half way (a full disk) leaves the previous student notebook as it was and
    no temporary file: the new version goes to a temporary file renamed over the old one."""
    import builtins
    import io
    out = tmp_path / "out"
    out.mkdir()
    (out / FIXTURE.name).write_text("previous version")
    real_open = io.open

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return HalfWriter(f) if any(c in mode for c in "wax+") else f

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    try:
        rc = main([str(FIXTURE), "--out", str(out), "--force"])
    finally:
        monkeypatch.undo()
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1 and "No space left" in err
    assert [p.name for p in out.iterdir()] == [FIXTURE.name]
    assert (out / FIXTURE.name).read_text() == "previous version"


def test_written_file_is_readable_like_a_plain_file(tmp_path):
    assert main([str(FIXTURE), "--out", str(tmp_path)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / FIXTURE.name).stat().st_mode) == 0o666 & ~umask
