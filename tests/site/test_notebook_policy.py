"""The notebook policy: committed with outputs from one fresh top-to-bottom run, no
error outputs, the Colab install cell first and in step with book/_config.yml."""
from __future__ import annotations

import sys

import nbformat
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import colab_cell

NOTEBOOKS = colab_cell.notebooks()


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_install_cell_matches_the_repository_setting(path):
    problem = colab_cell.problems(path, colab_cell.cell_source())
    assert problem is None, problem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_outputs_of_one_fresh_run(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", \
        f"{path.name}: kernelspec must be python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{path.name}: execution counts {counts}: not one fresh run from the top; "
        "run 'make notebooks' and commit the outputs")
    assert any(c.outputs for c in code), f"{path.name}: no stored output at all"
    errors = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs in cells {errors}"


def test_install_cell_does_nothing_when_the_package_is_there():
    """Run locally, the Colab cell imports companion and never reaches pip."""
    src = colab_cell.cell_source()
    assert "google.colab" in src and "pip" in src
    namespace = {}
    exec(compile(src, "<colab cell>", "exec"), namespace)   # companion is installed here
    assert "companion" in namespace and "subprocess" not in namespace
