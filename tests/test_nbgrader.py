"""The exercise notebooks work with real nbgrader: generate_assignment accepts every notebook with
exercises; autograde gives the instructor's version full points and the blank student version zero."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FIXTURE = ROOT / "tests" / "data" / "exercise_fixture.ipynb"


def _has_exercises(path):
    nb = json.loads(path.read_text())
    return any("nbgrader" in c.get("metadata", {}) for c in nb["cells"])


NOTEBOOKS = [FIXTURE] + [p for p in sorted((ROOT / "notebooks").glob("*.ipynb")) if _has_exercises(p)]

if shutil.which("nbgrader", path=str(Path(sys.executable).parent)) is None:
    if os.environ.get("CI"):
        raise RuntimeError("nbgrader is missing in CI: .ci/run must install requirements-instructor.txt")
    pytest.skip("nbgrader is not installed; `make instructor` (pip install -r requirements-instructor.txt) "
                "enables these tests", allow_module_level=True)

NBGRADER = str(Path(sys.executable).parent / "nbgrader")


# A guard against a hang, not a time budget: autograde runs every chapter in full.
TIMEOUT_S = 1800


def _run(course, *args):
    r = subprocess.run([NBGRADER, *args], cwd=course, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert r.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r


def _run_together(jobs):
    """Run ``nbgrader`` jobs [(course, args), ...] at once (each course has its own gradebook),
    so that the two autogrades share the machine's cores; assert each succeeded."""
    # One BLAS/OpenMP thread each: two autogrades side by side then use one core each instead of
    # four threads contending for two cores (the chapters' outputs do not depend on it).
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [(args, subprocess.Popen([NBGRADER, *args], cwd=course, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)) for course, args in jobs]
    try:
        results = [(args, p.communicate(timeout=TIMEOUT_S), p.returncode) for args, p in procs]
    finally:
        for _, p in procs:          # a timeout or an error leaves no autograde running
            if p.poll() is None:
                p.kill()
                p.communicate()
    for args, (out, err), rc in results:
        assert rc == 0, f"nbgrader {' '.join(args)} failed:\n{out}\n{err}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "rnn"\n')
    src = course / "source" / "ch"
    src.mkdir(parents=True)
    for nb in NOTEBOOKS:
        shutil.copy(nb, src / nb.name)
    _run(course, "generate_assignment", "ch", "--force")
    # One copy of the course (with the gradebook generate_assignment wrote) per student, so the
    # two autogrades can run side by side: each executes every chapter in full.
    courses = {"instructor": course, "blank": tmp_path_factory.mktemp("course_blank")}
    shutil.copytree(course, courses["blank"], dirs_exist_ok=True)
    for student, folder in (("instructor", src), ("blank", course / "release" / "ch")):
        dest = courses[student] / "submitted" / student / "ch"
        dest.mkdir(parents=True)
        for nb in NOTEBOOKS:
            shutil.copy(folder / nb.name, dest / nb.name)
    _run_together([(courses[s], ["autograde", "ch", "--student", s, "--create", "--force"]) for s in courses])
    from nbgrader.api import Gradebook
    scores = {}
    for student, where in courses.items():
        with Gradebook(f"sqlite:///{where / 'gradebook.db'}") as gb:
            for nb in gb.find_submission("ch", student).notebooks:
                scores[(student, nb.name)] = (nb.score, nb.max_score)
    return course, scores


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_generate_assignment_accepts(graded, nb):
    course, _ = graded
    released = json.loads((course / "release" / "ch" / nb.name).read_text())
    text = json.dumps(released)
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_autograde_full_and_zero(graded, nb):
    _, scores = graded
    score, max_score = scores[("instructor", nb.stem)]
    assert max_score > 0 and score == max_score, f"{nb.name}: instructor got {score}/{max_score}"
    score, max_score = scores[("blank", nb.stem)]
    assert score == 0, f"{nb.name}: blank student version got {score}/{max_score}"
    full = scores[("instructor", nb.stem)][0]
    print(f"\n{nb.name}: instructor {full:g}/{max_score:g}, blank {score:g}/{max_score:g}")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_our_assign_matches_nbgrader_on_sources(graded, nb, tmp_path):
    """Our command and nbgrader strip the same solutions: compare the sources of every cell."""
    from companion.assign import student_notebook
    course, _ = graded
    ours = student_notebook(json.loads(nb.read_text()))
    theirs = json.loads((course / "release" / "ch" / nb.name).read_text())
    def sources(notebook):
        return ["".join(c["source"]).strip() for c in notebook["cells"]]
    assert sources(ours) == sources(theirs)


# --------------------------------------------------------------------------- copying and cheating
# Every exercise of the book, in one assignment: each chapter's solution cell and grade cell (grade
# ids prefixed with the chapter). Two students submit it: one whose every answer calls companion's
# reference (the registry's ``copying`` answer), one whose every answer cell rigs the checks
# (replaces every check, run_check and compare in the loaded modules, and makes every Feedback
# true) and returns nothing. Both must score 0: the checks refuse the first; the hidden tests,
# which import the checks afresh, fail the second.

CHEAT = '''import sys
from companion.checks.core import Feedback as _Feedback
_Feedback.__bool__ = lambda self: True                       # every feedback passes
for _name, _m in list(sys.modules.items()):
    if _name.startswith("companion.checks"):
        for _k in dir(_m):
            if _k.startswith("check_"):
                setattr(_m, _k, lambda fn, **kw: _Feedback("rigged", True, []))
        for _k, _v in (("run_check", lambda *a, **k: _Feedback("rigged", True, [])),
                       ("compare", lambda *a, **k: None), ("matches", lambda *a, **k: True)):
            if hasattr(_m, _k):
                setattr(_m, _k, _v)
{fn} = lambda *args, **kwargs: None
'''

COPY = '''from companion.checks import CHECKS as _CHECKS
{fn} = _CHECKS["{check}"].copying                            # calls companion's reference
'''


def _every_exercise():
    """The one-notebook assignment: [(solution cell, grade cell, check name, function name)]."""
    out = []
    for nb in NOTEBOOKS[1:]:                                  # the chapters, not the fixture
        cells = json.loads(nb.read_text())["cells"]
        solution = None
        for cell in cells:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("solution") and cell["cell_type"] == "code":
                solution = cell
            elif cell["cell_type"] != "code":           # a written answer (0 points): not autograded
                continue
            elif meta.get("grade"):
                src = "".join(cell["source"])
                check, fn = re.search(r"^feedback = (check_\w+)\((\w+)\)$", src, re.M).groups()
                out.append((nb.name[:2], solution, cell, check, fn))
    return out


def _cell(cell, chapter, source=None):
    import copy

    import nbformat
    c = nbformat.from_dict(copy.deepcopy(cell))
    c["metadata"]["nbgrader"]["grade_id"] = f"c{chapter}_{c['metadata']['nbgrader']['grade_id']}"
    c["id"] = c["metadata"]["nbgrader"]["grade_id"].replace("_", "-")
    if source is not None:
        c["source"] = source
    if c["cell_type"] == "code":
        c["outputs"], c["execution_count"] = [], None
    return c


@pytest.fixture(scope="module")
def copied_and_rigged(tmp_path_factory):
    import nbformat
    exercises = _every_exercise()
    setup = nbformat.v4.new_code_cell("import numpy as np\nimport companion")
    setup["id"] = "setup"

    def notebook(solution_source):
        nb = nbformat.v4.new_notebook()
        nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
        nb.cells = [setup]
        for chapter, sol, grade, check, fn in exercises:
            src = None if solution_source is None else solution_source(check, fn)
            nb.cells += [_cell(sol, chapter, src), _cell(grade, chapter)]
        return nb

    course = tmp_path_factory.mktemp("course_all")
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "rnn"\n')
    src = course / "source" / "all"
    src.mkdir(parents=True)
    nbformat.write(notebook(None), src / "exercises.ipynb")
    _run(course, "generate_assignment", "all", "--force")
    versions = {"copying": lambda check, fn: COPY.format(fn=fn, check=check),
                "rigged": lambda check, fn: CHEAT.format(fn=fn)}
    courses = {}
    for student, make in versions.items():
        courses[student] = tmp_path_factory.mktemp(f"course_all_{student}")
        shutil.copytree(course, courses[student], dirs_exist_ok=True)
        dest = courses[student] / "submitted" / student / "all"
        dest.mkdir(parents=True)
        nbformat.write(notebook(make), dest / "exercises.ipynb")
    _run_together([(courses[s], ["autograde", "all", "--student", s, "--create", "--force"]) for s in courses])
    from nbgrader.api import Gradebook
    scores = {}
    for student, where in courses.items():
        with Gradebook(f"sqlite:///{where / 'gradebook.db'}") as gb:
            sub = gb.find_submission_notebook("exercises", "all", student)
            scores[student] = (sub.score, sub.max_score,
                               {g.name: g.score for g in sub.grades if g.max_score})
    # what each grade cell printed or raised, in the autograded notebooks
    said = {}
    for student, where in courses.items():
        nb = json.loads((where / "autograded" / student / "all" / "exercises.ipynb").read_text())
        said[student] = {c["metadata"]["nbgrader"]["grade_id"]: json.dumps(c.get("outputs", []))
                         for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}
    return exercises, scores, said


@pytest.mark.parametrize("student", ["copying", "rigged"])
def test_copying_and_rigging_score_zero(copied_and_rigged, student):
    exercises, scores, said = copied_and_rigged
    score, max_score, per_cell = scores[student]
    assert len(per_cell) == len(exercises) and max_score >= 2 * len(exercises)
    assert score == 0, f"{student}: {score}/{max_score}: " + str({k: v for k, v in per_cell.items() if v})
    print(f"\n{student}: {score:g}/{max_score:g} over {len(exercises)} exercises")
    for grade_id, outputs in said[student].items():
        if student == "copying":      # refused by the visible check, with the reason
            assert "already does this exercise's job" in outputs, (grade_id, outputs[:500])
        else:                         # fooled the visible check, failed the hidden one
            assert "PASSED - rigged" in outputs and "AssertionError" in outputs, (grade_id, outputs[:500])


def test_the_rigging_fools_an_unprotected_check():
    """The rigged answer is a real threat: in the student's kernel the visible check passes it."""
    import subprocess as sp
    code = CHEAT.format(fn="rnn_step") + (
        "from companion.checks import check_rnn_step\n"
        "import companion.checks.rnn as r\n"
        "print(bool(r.check_rnn_step(rnn_step)), bool(check_rnn_step(rnn_step)))\n")
    out = sp.run([sys.executable, "-c", "import companion.checks\n" + code], capture_output=True, text=True,
                 check=True)
    assert out.stdout.split() == ["True", "True"]
