"""Claims come from code: the numbers in a chapter's prose are glued, not typed.

Each chapter has a record in ``tests/data/lessons/NN.json``::

    {"notebook": "notebooks/05_why_rnns_forget.ipynb",
     "min_glue": 18,
     "forbidden": ["factor of 2 to 5", ...]}

``min_glue`` is how many ``{glue:...}`` uses its markdown has (a chapter that loses one fails);
``forbidden`` lists literal copies of computed outputs that the prose once held (a chapter that
types one again fails). Every glued name the markdown shows must be defined by a stored output
of the same notebook (myst-nb's ``glue`` records it with ``scrapbook`` metadata): a name that no
cell glues would render as an error on the page.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ROOT / "tests" / "data" / "lessons"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# {glue}`name`, {glue:text}`name:.2f`, {glue:any}`name`...: the name is before the first colon.
GLUE_USE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`:]+)(?::[^`]*)?`")


def markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def glued_names(nb) -> set[str]:
    names = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                names.add(name)
    return names


def records():
    return sorted(LESSONS.glob("*.json"))


def test_every_chapter_has_a_record():
    have = {json.loads(p.read_text())["notebook"] for p in records()}
    missing = [nb.relative_to(ROOT).as_posix() for nb in NOTEBOOKS
               if nb.relative_to(ROOT).as_posix() not in have]
    assert not missing, f"no tests/data/lessons record for {missing}"


@pytest.mark.parametrize("record", records(), ids=lambda p: p.stem)
def test_prose_numbers_are_glued(record):
    spec = json.loads(record.read_text())
    assert set(spec) <= {"notebook", "min_glue", "forbidden", "note"}, f"{record.name}: unknown keys"
    nb = nbformat.read(ROOT / spec["notebook"], as_version=4)
    text = markdown(nb)
    uses = GLUE_USE.findall(text)
    assert len(uses) >= spec["min_glue"], (
        f"{spec['notebook']}: {len(uses)} glued values in the prose, the record says "
        f"at least {spec['min_glue']}: a computed number was typed by hand or dropped")
    undefined = sorted(set(uses) - glued_names(nb))
    assert not undefined, f"{spec['notebook']}: the prose shows glue names no stored output defines: {undefined}"
    typed = [s for s in spec.get("forbidden", []) if s in text]
    assert not typed, f"{spec['notebook']}: computed numbers typed into the prose again: {typed}"


def test_the_guard_fails_on_a_typed_copy(tmp_path):
    """The check above can fail: a forbidden literal and an undefined name are both caught."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("shrinks by a factor of 2 to 5, see {glue:text}`ch04_lo:.1f`")]
    text = markdown(nb)
    assert "factor of 2 to 5" in text
    assert GLUE_USE.findall(text) == ["ch04_lo"]
    assert "ch04_lo" not in glued_names(nb)
