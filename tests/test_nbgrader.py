"""The exercise notebooks work with real nbgrader: generate_assignment accepts every notebook with
exercises; autograde gives the instructor's version full points and the blank student version zero."""
import json
import os
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
