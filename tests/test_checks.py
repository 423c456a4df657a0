"""companion.checks: every check of every topic module, run from its registry, and the driver itself.

The parametrized tests take each module's ``CHECKS``: the correct solution passes on fresh and on
seeded cases; each hand-written wrong answer fails with its hint; a stub, a crash and a
non-function fail with feedback; an answer recorded on one call fails the next; an answer that
changes its inputs in place still passes (the check hands out copies). The tests specific to one
check (each of its slips, written by hand) are in ``tests/test_checks_<topic>.py``.
"""
import copy
import importlib
import inspect
import json
import pkgutil
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import companion.checks as C
from companion import cells
from companion.checks import core, lstm, trained_lstm

from check_helpers import assert_clean, assert_rejects_non_answers, hint_of

ROOT = Path(__file__).parents[1]
EXERCISES = [(m, name) for m in C.MODULES for name in m.CHECKS]
IDS = [f"{m.__name__.rsplit('.', 1)[1]}.{name}" for m, name in EXERCISES]


def _modules():
    """Every module of the package (the driver included), by walking it: a new module cannot hide."""
    return [importlib.import_module(f"companion.checks.{info.name}") for info in pkgutil.iter_modules(C.__path__)]


def _defined_checks(module):
    return {name: f for name, f in vars(module).items()
            if name.startswith("check_") and inspect.isfunction(f) and f.__module__ == module.__name__}


# --------------------------------------------------------------------------- the registries

def test_every_topic_module_is_registered():
    topics = {m for m in _modules() if m is not core}
    assert topics == set(C.MODULES)


@pytest.mark.parametrize("module", C.MODULES, ids=lambda m: m.__name__)
def test_registry_holds_every_check_the_module_defines(module):
    defined = _defined_checks(module)
    assert set(module.CHECKS) == set(defined)
    for name, ex in module.CHECKS.items():
        assert isinstance(ex, core.Exercise) and ex.check is defined[name] and ex.name == name
        assert name in module.__all__
        assert ex.check.__doc__, f"{name}: the docstring tells students what the check wants"
        assert ex.wrong and all(isinstance(w, core.Wrong) and w.hint for w in ex.wrong)


def test_no_two_checks_share_a_name():
    names = Counter(name for m in _modules() for name in _defined_checks(m))
    assert names and not [n for n, k in names.items() if k > 1], names
    assert len(C.CHECKS) == sum(len(m.CHECKS) for m in C.MODULES) == sum(names.values())


def test_the_package_reexports_every_check():
    for name, ex in C.CHECKS.items():
        assert getattr(C, name) is ex.check and name in C.__all__
    assert all(hasattr(C, name) for name in C.__all__)


def test_chapter_11_does_not_repeat_split_gates():
    """Splitting torch's stacked gate weights is chapter 06's exercise (split_gates); chapter 11 grades
    other skills (issue 14: it repeated it as split_input_weights)."""
    assert C.check_split_gates is lstm.check_split_gates
    assert not [name for name in trained_lstm.CHECKS if "split" in name]
    assert not hasattr(C, "check_split_input_weights")


def _notebook_imports():
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + [ROOT / "tests" / "data" / "exercise_fixture.ipynb"]
    found = []
    for path in paths:
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            for module, names in re.findall(r"from (companion\.checks(?:\.\w+)?) import ([\w, ]+)", src):
                found += [(path.name, module, n.strip()) for n in names.split(",")]
    return found


def test_every_check_the_notebooks_import_exists():
    found = _notebook_imports()
    assert len(found) >= 30
    missing = [(nb, f"from {module} import {name}") for nb, module, name in found
               if not hasattr(importlib.import_module(module), name)]
    assert not missing, missing


# --------------------------------------------------------------------------- every check, from its registry

@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_solution_passes(module, name):
    ex = module.CHECKS[name]
    for seed in (None, None, 0, 1):        # fresh cases twice, then two seeded runs
        fb = ex(ex.solution, seed=seed)
        text = assert_clean(fb)
        assert fb and text.startswith("PASSED") and "fresh random cases" in text, text


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_wrong_answers_fail_with_their_hint(module, name):
    ex = module.CHECKS[name]
    for wrong in ex.wrong:
        fb = ex(wrong.fn)
        assert "on random test case" in str(fb)
        assert wrong.hint in hint_of(fb), str(fb)


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_non_answers_fail_with_feedback(module, name):
    ex = module.CHECKS[name]
    assert_rejects_non_answers(ex)
    for constant in (None, "many", 1234, (np.zeros(3), np.zeros(3)), {"W_xq": np.zeros(2)}):
        fb = ex(lambda *a, c=constant: c)
        assert not fb, str(fb)
        assert_clean(fb)


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_hard_coded_answer_fails(module, name):
    """An answer recorded on one call's inputs fails the next call, whose inputs are others."""
    ex = module.CHECKS[name]
    seen = []

    def spy(*a):
        seen.append(copy.deepcopy(ex.solution(*a)))
        return seen[-1]

    assert ex(spy, seed=1)
    fb = ex(lambda *a: seen[0], seed=2)
    assert not fb and "expected" in assert_clean(fb), str(fb)


def _scribble(a):
    if isinstance(a, np.ndarray):
        a[...] = 7
    elif isinstance(a, dict):
        for v in a.values():
            _scribble(v)


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_answer_that_changes_its_inputs_passes(module, name):
    """The student's function gets copies: overwriting them changes neither the reference nor
    the next case."""
    ex = module.CHECKS[name]

    def vandal(*a):
        out = copy.deepcopy(ex.solution(*a))
        for arg in a:
            _scribble(arg)
        return out

    fb = ex(vandal, seed=3)
    assert fb, str(fb)


def _values(args):
    """The numbers and arrays among a call's arguments (dicts opened), in order."""
    out = []
    for a in args:
        if isinstance(a, dict):
            out += _values(a.values())
        elif isinstance(a, (np.ndarray, int, float, bool)):
            out.append(a)
    return out


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_a_seed_repeats_the_cases(module, name):
    ex = module.CHECKS[name]
    calls = [[], []]
    for seen in calls:
        ex(lambda *a, seen=seen: seen.append(_values(copy.deepcopy(a))) or ex.solution(*a), seed=4)
    assert len(calls[0]) == len(calls[1]) > 0
    for a, b in zip(*calls, strict=True):
        assert len(a) == len(b) > 0 and all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize("module, name", EXERCISES, ids=IDS)
def test_feedback_renders_as_markdown(module, name):
    ex = module.CHECKS[name]
    assert "✅" in ex(ex.solution)._repr_markdown_()
    assert "❌" in ex(ex.wrong[0].fn)._repr_markdown_()


# --------------------------------------------------------------------------- the driver

def test_unpack_receives_its_own_case():
    """Each case's result is read with that case: keys that differ from case to case need no call order."""
    cases = [core.Case(({"a": np.ones(2)},)), core.Case(({"b": np.ones(3), "c": np.ones(1)},))]

    def unpack(r, case):
        assert set(r) == set(case.args[0])
        return r

    def ref(p):
        return {k: 2 * v for k, v in p.items()}

    fb = core.run_check("double", lambda p: {k: 2 * v for k, v in p.items()}, cases, unpack, ref, [])
    assert fb, str(fb)
    fb = core.run_check("double", lambda p: {k: 2 * v for k, v in reversed(p.items())}, cases[::-1], unpack, ref, [])
    assert fb, str(fb)


def test_hidden_reaches_the_reference_not_the_student():
    seen = []
    case = core.Case((np.arange(3.0),), hidden=(10.0,))

    def fn(*a):
        seen.append(len(a))
        return a[0] + 10.0

    fb = core.run_check("add", fn, [case], core.single("y"), lambda x, k: {"y": x + k}, [])
    assert fb and seen == [1]


def test_plain_tuples_are_cases_and_slips_see_hidden():
    slips = [("you forgot k", lambda x, k: {"y": x})]
    fb = core.run_check("add", lambda x: x, [core.Case((np.ones(2),), hidden=(1.0,))], core.single("y"),
                        lambda x, k: {"y": x + k}, slips)
    assert "you forgot k" in hint_of(fb)
    assert core.run_check("id", lambda x: x, [(np.ones(2),)], core.single("y"), lambda x: {"y": x}, [])


def test_a_missing_output_is_feedback():
    fb = core.run_check("two", lambda x: x, [(np.ones(2),)], lambda r, case: {"a": r},
                        lambda x: {"a": x, "b": x}, [])
    assert not fb and "b: missing from your result" in assert_clean(fb)


def test_wrong_form_and_shape_are_feedback():
    fb = core.run_check("pair", lambda x: x, [(np.ones(2),)], core.tuple_of("a", "b"),
                        lambda x: {"a": x, "b": x}, [])
    assert not fb and "could not read your result: expected a tuple (a, b), got ndarray" in str(fb)
    fb = core.run_check("pair", lambda x: (x, x, x), [(np.ones(2),)], core.tuple_of("a", "b"),
                        lambda x: {"a": x, "b": x}, [])
    assert "got tuple of length 3" in str(fb)
    fb = core.run_check("one", lambda x: x[:1], [(np.ones(2),)], core.single("y"), lambda x: {"y": x}, [])
    assert "y: expected shape (2,), got (1,)" in str(fb)


def test_compare_names_the_first_difference():
    assert core.compare("h", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])) is None
    assert core.compare("h", np.array([1.0, 3.0]), np.array([1.0, 2.0])) == \
        "h[1]: expected 2, got 3 (1 of 2 values differ)"
    assert core.compare("h", "abc", np.zeros(2)).startswith("h: expected a numeric numpy array, got str")


def test_make_rng_refuses_a_bad_seed():
    assert core.make_rng(0).normal() == np.random.default_rng(0).normal()
    for bad in (1.5, "0", True):
        with pytest.raises(ValueError, match="seed"):
            core.make_rng(bad)
    with pytest.raises(ValueError, match="seed"):
        C.check_rnn_step(lambda *a: None, seed="x")


def test_registry_refuses_two_checks_of_one_name():
    def check_twice(fn, *, seed=None):
        """A check."""

    def other(fn, *, seed=None):
        """Another check of the same name."""

    other.__name__ = "check_twice"
    wrong = (core.Wrong(lambda: 0, "hint"),)
    a, b = core.Exercise(check_twice, lambda: 1, wrong), core.Exercise(other, lambda: 1, wrong)
    assert core.registry(a, merge=[{"check_twice": a}]) == {"check_twice": a}
    with pytest.raises(ValueError, match="two checks are named check_twice"):
        core.registry(a, b)
    with pytest.raises(ValueError, match="wrong"):
        core.Exercise(check_twice, lambda: 1, ())


def test_case_builders_draw_the_schema_weights():
    rng = np.random.default_rng(0)
    x, h, C_prev, w = core.lstm_case(rng, 3, peephole="diagonal").args
    D, H = x.shape[1], h.shape[1]
    assert {k: v.shape for k, v in w.items()} == cells.weight_shapes("lstm", D, H, peephole="diagonal")
    assert C_prev.shape == (3, H)
    x, h, w = core.gru_case(rng, None).args
    assert {k: v.shape for k, v in w.items()} == cells.weight_shapes("gru", x.shape[0], h.shape[0])
    x, h, U, W, b = core.rnn_case(rng, 2).args
    assert (U.shape, W.shape, b.shape) == tuple(cells.weight_shapes("rnn", x.shape[1], h.shape[1]).values())
    cases = core.batches(rng, lambda rng, B: B, n_single=2, n_batch=3)
    assert cases[:2] == [None, None] and all(2 <= B <= 4 for B in cases[2:])
