"""Every exercise grades the student's own work (issue 14's "Done when").

For each exercise of ``companion.checks.CHECKS``:

* its correct solution passes, on the visible and on the hidden cases;
* a solution that calls the function the check forbids (``Exercise.copying``) fails, saying so;
* each hand-written slip fails and its feedback names the slip (``test_checks.py`` too);
* a hard-coded answer (the solution's output on one call, returned ever after) fails;
* the hidden cases use other sizes than the visible ones;
* it carries what an instructor needs (chapter, kind, points, skill), and the chapter's grade
  cell agrees: same points, a visible call and a hidden one that imports the checks afresh.

And per chapter: at least 3 exercises with at least one transfer task, and in every chapter
that trains (``trains_seeds`` in its metadata) at least one experiment.
"""
import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest

import companion.checks as C
from companion.checks import core

ROOT = Path(__file__).parents[1]
NOTEBOOKS = {p.name[:2]: p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
EXERCISES = sorted(C.CHECKS)
REFUSED = "already does this exercise's job"


def _grade_cells():
    """{check name: (chapter, points, source)} of every nbgrader grade cell in the chapters."""
    out = {}
    for chapter, path in NOTEBOOKS.items():
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if not meta.get("grade") or cell["cell_type"] != "code":   # a written answer: graded by hand
                continue
            src = "".join(cell["source"])
            names = set(re.findall(r"\b(check_\w+)\(", src))
            assert len(names) == 1, f"{path.name}: a grade cell calls {sorted(names)}; one check per cell"
            name = names.pop()
            assert name not in out, f"{name} is graded twice ({out[name][0]} and {chapter})"
            out[name] = (chapter, meta.get("points"), src)
    return out


GRADE_CELLS = _grade_cells()


def _signature(obj):
    """The sizes an argument carries: array shapes and ints, through dicts, sequences and layers."""
    if isinstance(obj, np.ndarray):
        return ("a", obj.shape)
    if isinstance(obj, (bool, np.bool_)):
        return ("b", bool(obj))
    if isinstance(obj, (int, np.integer)):
        return ("i", int(obj))
    if isinstance(obj, (float, np.floating, str)) or obj is None:
        return ("-",)
    if isinstance(obj, dict):
        return ("d", tuple((k, _signature(v)) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))))
    if isinstance(obj, (list, tuple)):
        return ("s", tuple(_signature(v) for v in obj))
    if hasattr(obj, "shape"):                           # a torch tensor
        return ("t", tuple(obj.shape))
    if isinstance(getattr(obj, "params", None), dict):  # a companion layer or head
        return ("m", type(obj).__name__, _signature(obj.params))
    return ("o", type(obj).__name__)


def _spy(ex, seen):
    def answer(*args):
        seen.append(_signature(args))
        return ex.solution(*copy.deepcopy(args))
    return answer


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_passes_visible_and_hidden(name):
    ex = C.CHECKS[name]
    for seed in (0, 1):
        for hidden in (False, True):
            fb = ex(ex.solution, seed=seed, hidden=hidden)
            assert fb, f"hidden={hidden}, seed={seed}:\n{fb}"


@pytest.mark.parametrize("name", EXERCISES)
def test_calling_the_reference_is_refused(name):
    ex = C.CHECKS[name]
    assert ex.copying is not None, f"{name}: no reference-calling answer (Exercise.copying)"
    for hidden in (False, True):
        fb = ex(ex.copying, seed=0, hidden=hidden)
        assert not fb and REFUSED in str(fb), str(fb)
    assert ex(ex.solution, seed=0), "forbidding left something swapped out"


@pytest.mark.parametrize("name", EXERCISES)
def test_slips_fail_with_their_hint(name):
    ex = C.CHECKS[name]
    for wrong in ex.wrong:
        fb = ex(wrong.fn, seed=0, hidden=True)
        assert not fb and wrong.hint in str(fb), str(fb)


@pytest.mark.parametrize("name", EXERCISES)
def test_a_hard_coded_answer_fails(name):
    ex = C.CHECKS[name]
    recorded = []

    def record(*args):
        out = ex.solution(*args)
        recorded.append(copy.deepcopy(out))
        return out
    assert ex(record, seed=0)
    first = recorded[0]
    fb = ex(lambda *args: copy.deepcopy(first), seed=1)
    assert not fb, f"{name}: the answer to one case, returned for every case, passed"
    fb = ex(lambda *args: copy.deepcopy(first), seed=0, hidden=True)
    assert not fb


@pytest.mark.parametrize("name", EXERCISES)
def test_hidden_cases_use_other_sizes(name):
    ex = C.CHECKS[name]
    visible, hidden = [], []
    for seed in range(3):
        assert ex(_spy(ex, visible), seed=seed)
        calls_before = len(hidden)
        assert ex(_spy(ex, hidden), seed=seed, hidden=True)
        new = [s for s in hidden[calls_before:] if s not in visible]
        assert new, f"{name}: a hidden call (seed {seed}) had no case of a size the visible calls lack"
    new = [s for s in hidden if s not in visible]
    assert len(new) >= len(hidden) / 2, f"{name}: most hidden cases repeat visible sizes"


@pytest.mark.parametrize("name", EXERCISES)
def test_instructor_metadata(name):
    ex = C.CHECKS[name]
    assert ex.kind in core.KINDS, f"{name}: kind {ex.kind!r}"
    assert ex.skill and len(ex.skill) > 10, f"{name}: say which skill it grades"
    assert isinstance(ex.points, int) and ex.points > 0
    assert name in GRADE_CELLS, f"{name} is not graded in any chapter"
    chapter, points, _ = GRADE_CELLS[name]
    assert ex.chapter == chapter, f"{name}: registry says chapter {ex.chapter!r}, graded in {chapter}"
    assert ex.points == points, f"{name}: registry says {ex.points} points, the grade cell {points}"


@pytest.mark.parametrize("name", sorted(GRADE_CELLS))
def test_grade_cell_visible_then_hidden(name):
    chapter, _, src = GRADE_CELLS[name]
    assert name in C.CHECKS, f"{name} (chapter {chapter}) is not in companion.checks.CHECKS"
    m = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", src, re.S)
    assert m, f"{name}: no hidden tests"
    visible, hidden = src[:m.start()], m.group(1).strip().splitlines()
    assert re.search(rf"^feedback = {name}\(\w+\)$", visible, re.M), visible
    assert hidden[0] == core.PURGE, "the hidden tests must first forget the loaded companion modules"
    assert re.fullmatch(rf"from companion\.checks(\.\w+)? import {name}", hidden[1]), hidden[1]
    assert re.fullmatch(rf"assert {name}\(\w+, hidden=True\)", hidden[2]), hidden[2]


def _trains(path):
    return "trains_seeds" in json.loads(path.read_text())["metadata"].get("companion", {})


@pytest.mark.parametrize("chapter", [c for c in NOTEBOOKS if c != "00"])
def test_each_chapter_has_three_exercises_and_a_transfer(chapter):
    kinds = [C.CHECKS[n].kind for n, (ch, _, _) in GRADE_CELLS.items() if ch == chapter and n in C.CHECKS]
    assert len(kinds) >= 3, f"chapter {chapter}: {len(kinds)} exercises"
    assert "transfer" in kinds, f"chapter {chapter}: no transfer exercise ({kinds})"
    if _trains(NOTEBOOKS[chapter]):
        assert "experiment" in kinds, f"chapter {chapter} trains, but has no experiment exercise"


def test_purge_then_import_reads_the_checks_afresh():
    """What the hidden tests rely on: after PURGE, a check a student replaced is the real one again."""
    import importlib
    import sys
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "companion"}
    try:
        sys.modules["companion.checks"].check_softmax = lambda fn, **kw: True   # the cheat
        exec(core.PURGE, {})
        fresh = importlib.import_module("companion.checks")
        assert fresh is not saved["companion.checks"]
        assert not fresh.check_softmax(lambda o: o, seed=0)
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] == "companion"]:
            del sys.modules[k]
        sys.modules.update(saved)
        saved["companion.checks"].check_softmax = saved["companion.checks.rnn"].check_softmax


@pytest.mark.parametrize("chapter", [c for c in NOTEBOOKS if c != "00"])
def test_each_solution_sits_in_an_exercise_and_a_dropdown(chapter):
    """The book's layout of an exercise: an ``{exercise}`` directive, ``{solution-start}`` (a closed
    dropdown), the solution cell, ``{solution-end}``, then the grade cell."""
    cells = json.loads(NOTEBOOKS[chapter].read_text())["cells"]
    src = ["".join(c["source"]) for c in cells]
    for k, cell in enumerate(cells):
        if not cell["metadata"].get("nbgrader", {}).get("solution") or cell["cell_type"] != "code":
            continue
        gid = cell["metadata"]["nbgrader"]["grade_id"]
        start = next((j for j in range(k - 1, -1, -1) if "{solution-start}" in src[j]), None)
        assert start is not None and ":class: dropdown" in src[start], f"{gid}: no dropdown before the solution"
        assert all(cells[j]["cell_type"] == "markdown" or j == k for j in range(start, k + 1))
        label = re.search(r"\{solution-start\} (\S+)", src[start]).group(1)
        assert any(f":label: {label}" in s and "{exercise}" in s for s in src[:start]), f"{gid}: no exercise {label}"
        end = next(j for j in range(k + 1, len(cells)) if cells[j]["cell_type"] == "markdown")
        assert "{solution-end}" in src[end], f"{gid}: the dropdown is not closed right after the solution"
        grade = next(j for j in range(end, len(cells)) if cells[j]["metadata"].get("nbgrader", {}).get("grade"))
        assert grade == end + 1, f"{gid}: the grade cell must follow the solution"


@pytest.mark.parametrize("chapter", [c for c in NOTEBOOKS if c != "00"])
def test_no_answer_is_given_away_to_students(chapter):
    """What a student's notebook keeps (every cell outside a solution or hidden-test region) says
    no exercise's answer: a markdown cell that explains one is a written answer (an nbgrader
    solution cell, 0 points), so companion.assign and nbgrader replace it; and no cell sits
    between a solution cell and the end of its dropdown."""
    cells = json.loads(NOTEBOOKS[chapter].read_text())["cells"]
    for k, cell in enumerate(cells):
        src = "".join(cell["source"])
        meta = cell["metadata"].get("nbgrader", {})
        if re.match(r"```\{admonition\} (The answer|What the measurement shows|The sum, and what it shows)", src):
            assert meta.get("solution") and "BEGIN SOLUTION" in src, f"cell {k} gives an answer away: {src[:60]!r}"
        if meta.get("solution") and cell["cell_type"] == "markdown":
            assert meta.get("grade") and meta.get("points") == 0 and "BEGIN SOLUTION" in src, f"cell {k}"
        if "{solution-start}" in src:
            inside = next(j for j in range(k + 1, len(cells)) if "{solution-end}" in "".join(cells[j]["source"]))
            assert all(cells[j]["metadata"].get("nbgrader", {}).get("solution") for j in range(k + 1, inside)), \
                f"cell {k}: a cell inside a solution dropdown that is not a solution cell reaches students"


def test_the_instructors_table_is_what_the_registry_says():
    """book/instructors.md lists every exercise from the registry (scripts/make_instructors.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_instructors", ROOT / "scripts" / "make_instructors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    table = mod.render()
    for name, ex in C.CHECKS.items():
        assert f"`{name}`" in table and f"| {ex.kind} | {ex.points} |" in table
    text = mod.PAGE.read_text()
    assert mod.page_with_table(text, table) == text, "run: python scripts/make_instructors.py"
    # a title that names its kind and points names the registry's
    for name, nb in mod.exercises_in_notebooks().items():
        m = re.search(r"\((\w+), (\d+) points?\)$", nb["title"])
        if m:
            assert (m.group(1), int(m.group(2))) == (C.CHECKS[name].kind, C.CHECKS[name].points), (name, nb["title"])
    # each chapter is named by its title (the notebook's first markdown heading), not a code comment
    for nb in mod.exercises_in_notebooks().values():
        cells = json.loads((ROOT / "notebooks" / f"{nb['notebook']}.ipynb").read_text())["cells"]
        first = next("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
                     and "".join(c["source"]).startswith("# "))
        assert first.splitlines()[0] == f"# {nb['chapter_title']}", nb
