"""companion.notebook.glue: writes what myst_nb.glue writes (without importing it), does nothing
outside a kernel, refuses a bad argument."""
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from companion.notebook import GLUE_PREFIX, glue


def _outputs(source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    return nb.cells[0].outputs


def test_glue_writes_what_myst_nb_writes():
    ours = _outputs("from companion.notebook import glue\nglue('a', 2.5, display=False)\nglue('b', [1, 2])")
    theirs = _outputs("from myst_nb import glue\nglue('a', 2.5, display=False)\nglue('b', [1, 2])")
    assert ours == theirs
    assert ours[0]["metadata"]["scrapbook"] == {"name": "a", "mime_prefix": GLUE_PREFIX}
    assert ours[0]["data"] == {GLUE_PREFIX + "text/plain": "2.5"}


def test_glue_stores_numpy_scalars_as_numbers_and_strings_without_quotes():
    outs = _outputs("import numpy as np\nfrom companion.notebook import glue\n"
                    "glue('a', np.float64(0.25), display=False)\nglue('b', np.int64(3))\n"
                    "glue('c', np.array(1.5))\nglue('d', '2.3 to 5.2', display=False)")
    data = [next(iter(o["data"].values())) for o in outs]
    assert data == ["0.25", "3", "1.5", "2.3 to 5.2"]
    assert [o["metadata"]["scrapbook"]["name"] for o in outs] == ["a", "b", "c", "d"]


def test_glue_does_not_import_myst_nb():
    outs = _outputs("import sys\nfrom companion.notebook import glue\nglue('a', 1)\nprint('myst_nb' in sys.modules)")
    assert outs[-1]["text"].strip() == "False"


def test_the_prefix_is_myst_nbs():
    from myst_nb.ext.glue import GLUE_PREFIX as theirs
    assert GLUE_PREFIX == theirs


def test_glue_outside_a_kernel_does_nothing(capsys):
    assert glue("answer", 42) is None
    assert capsys.readouterr().out == ""


def test_glue_without_ipython_does_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)      # import IPython -> ImportError
    assert glue("answer", 42) is None


@pytest.mark.parametrize("name", ["", None, 3])
def test_glue_refuses_a_bad_name(name):
    with pytest.raises(ValueError, match="name: expected a non-empty string"):
        glue(name, 1)


def test_glue_refuses_a_bad_display():
    with pytest.raises(ValueError, match="display: expected True or False"):
        glue("a", 1, display="no")
