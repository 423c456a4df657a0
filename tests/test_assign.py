"""companion.assign: student notebooks from instructor notebooks, and refusals that write nothing."""
import json
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
    ("### BEGIN HIDDEN TESTS\nx\n### END SOLUTION", "open 'hidden' block"),
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
