"""The driver of the exercise checks: :class:`Feedback`, :func:`run_check`, the comparison, the
one random-generator helper and the case builders that every topic module shares.

**How a check works.** A check ``check_<exercise>(fn, *, seed=None) -> Feedback`` draws a few
random cases (:class:`Case`) with :func:`make_rng` (fresh entropy unless a seed is given, so an
answer recorded on one call cannot pass the next) and hands them to :func:`run_check`::

    run_check(exercise, fn, cases, unpack, reference, slips)

* a :class:`Case` holds ``args``, what the student's function is called with, and ``hidden``,
  what only companion needs (the weights behind a given h_t, say);
* ``fn(*case.args)`` is called on copies of the arrays (and of the dicts of arrays), so an answer
  that changes its inputs in place changes neither the reference nor the next case;
* ``unpack(result, case) -> {name: value}`` reads the student's result under the output names;
  it raises ``ValueError`` with a readable message when the result has the wrong form, and it
  receives the case, so it can ask for that case's keys (no reliance on the order of calls);
* ``reference(*case.args, *case.hidden) -> {name: array}`` is companion's answer;
* ``slips`` is a list of ``(hint, slip)``, ``slip(*case.args, *case.hidden)`` being the
  reference with one known mistake, ``{name: array}`` for some of the outputs, or None where
  that mistake cannot be told apart on this case.

For each case in turn every output is compared (:func:`compare`: ``numpy.isclose`` with
rtol 1e-6, atol 1e-8). At the first case that differs the feedback lists the differences and,
as a hint, the first slip whose outputs all match the student's. A missing implementation, a
crash or a result of the wrong form becomes feedback, never a traceback.

**The registries.** Every topic module ``companion.checks.<topic>`` exports
``CHECKS = {check name: Exercise}`` with every check it defines (built by :func:`registry`,
which refuses two of one name), and ``companion.checks.CHECKS`` merges them. An
:class:`Exercise` is called like its check, ``CHECKS["check_rnn_step"](rnn_step)``, and carries
what a parametrized test needs:

* ``solution``: a correct answer written as a student would write it (not with the reference);
* ``wrong``: hand-written wrong answers, each a :class:`Wrong` holding the function and a
  phrase of the hint its feedback must give.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import cells

__all__ = ["Feedback", "Case", "Answer", "Outputs", "Unpack", "Slip", "run_check", "compare", "matches",
           "single", "tuple_of", "RTOL", "ATOL",
           "make_rng", "size", "vec", "batches", "rnn_weights", "lstm_weights", "gru_weights",
           "rnn_case", "lstm_case", "gru_case", "Wrong", "Exercise", "registry"]

#: the tolerances of every comparison (numpy.isclose)
RTOL, ATOL = 1e-6, 1e-8

#: a student's function (the answer a check is given)
Answer = Callable[..., Any]
#: outputs by name: what the reference, a slip and ``unpack`` return
Outputs = dict[str, Any]


class Feedback:
    """The outcome of a check: ``bool(feedback)`` is True only if every output matched."""

    def __init__(self, exercise: str, passed: bool, lines: Sequence[str]) -> None:
        self.exercise, self.passed, self.lines = exercise, passed, list(lines)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = ("PASSED" if self.passed else "NOT YET") + f" - {self.exercise}"
        return "\n".join([head] + [f"  {line}" for line in self.lines])

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        icon = "✅" if self.passed else "❌"
        body = "\n".join(f"- {line}" for line in self.lines)
        return f"**{icon} {self.exercise}: {'passed' if self.passed else 'not yet'}**\n\n{body}"


@dataclass(frozen=True)
class Case:
    """One random test case: the student's function gets ``args``; the reference and the slips
    get ``args`` followed by ``hidden``."""

    args: tuple
    hidden: tuple = ()


#: reads a student's result for one case: ``unpack(result, case) -> {name: value}``
Unpack = Callable[[Any, Case], Outputs]
#: a known mistake: ``(hint, slip)`` with ``slip(*case.args, *case.hidden) -> {name: array} | None``
Slip = tuple[str, Callable[..., Outputs | None]]


def _copy(a):
    # Only arrays and dicts of arrays are copied: the layers and ints the checks also pass are
    # read, not changed, by a sensible answer.
    if isinstance(a, np.ndarray):
        return a.copy()
    if isinstance(a, dict):
        return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in a.items()}
    return a


def _call(fn, args):
    """Run the student's function; turn a crash into feedback instead of a traceback."""
    try:
        return fn(*[_copy(a) for a in args]), None
    except NotImplementedError:
        return None, "not implemented yet: replace `raise NotImplementedError()` with your code"
    except Exception as e:       # a student's bug: report it, don't crash the notebook
        return None, f"your function raised {type(e).__name__}: {e}"


def compare(name: str, got: Any, expected: np.ndarray) -> str | None:
    """None if equal, else a line saying where and how they differ."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name}: expected a numeric array, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"{name}: expected shape {expected.shape}, got {got.shape}"
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"[{', '.join(map(str, idx))}]" if idx else ""
    return (f"{name}{where}: expected {expected[idx]:.6g}, got {got[idx]:.6g} "
            f"({int(bad.sum())} of {bad.size} values differ)")


def matches(got: Any, expected: np.ndarray) -> bool:
    """Whether ``got`` equals ``expected`` within the tolerances (NaN matching NaN): how a slip is
    recognised."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def run_check(exercise: str, fn: Any, cases: Sequence[Case | tuple], unpack: Unpack,
              reference: Callable[..., Outputs], slips: Sequence[Slip]) -> Feedback:
    """Shared driver: for each case compare the outputs, then look for a slip that explains a
    mismatch (the protocol is in this module's docstring). A plain tuple in ``cases`` is
    ``Case(args=tuple)``."""
    if not callable(fn):
        return Feedback(exercise, False, [f"expected a function, got {type(fn).__name__}"])
    cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in cases]
    for n, case in enumerate(cases):
        out, err = _call(fn, case.args)
        if err:
            return Feedback(exercise, False, [err])
        try:
            got = unpack(out, case)
        except Exception as e:
            return Feedback(exercise, False, [f"could not read your result: {e}"])
        expected = reference(*case.args, *case.hidden)
        problems = [f"{k}: missing from your result" if k not in got else compare(k, got[k], v)
                    for k, v in expected.items()]
        problems = [p for p in problems if p]
        if problems:
            lines = [f"on random test case {n + 1} of {len(cases)}:"] + problems
            for hint, slip in slips:
                wrong = slip(*case.args, *case.hidden)
                if wrong is not None and all(k in got and matches(got[k], wrong[k]) for k in wrong):
                    lines.append(f"hint: {hint}")
                    break
            return Feedback(exercise, False, lines)
    return Feedback(exercise, True, [f"all outputs match companion's on {len(cases)} fresh random cases"])


def single(name: str) -> Unpack:
    """``unpack`` for a function that returns one array, compared under ``name``."""
    return lambda result, case: {name: result}


def tuple_of(*names: str) -> Unpack:
    """``unpack`` for a function that returns a tuple of ``len(names)`` arrays, in that order."""
    def unpack(result, case):
        if not isinstance(result, (tuple, list)) or len(result) != len(names):
            raise ValueError(f"expected a tuple ({', '.join(names)}), got {type(result).__name__}"
                             + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
        return dict(zip(names, result, strict=True))
    return unpack


# --------------------------------------------------------------------------- random cases

def make_rng(seed: int | None = None) -> np.random.Generator:
    """The generator of a check's cases. ``seed=None`` (what a notebook uses) takes fresh entropy,
    so the vectors differ on every call and only a real implementation passes; an int seed
    repeats a call's cases (tests, or reproducing a student's report)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"seed: expected an int or None, got {seed!r}")
    return np.random.default_rng(seed)


def size(rng: np.random.Generator, low: int = 2, high: int = 5) -> int:
    """A random size in [low, high) as a Python int."""
    return int(rng.integers(low, high))


def vec(rng: np.random.Generator, B: int | None, n: int, scale: float = 1.0) -> np.ndarray:
    """N(0, scale^2) entries: one example (n,) for ``B=None``, else a batch (B, n)."""
    return rng.normal(0, scale, (n,) if B is None else (B, n))


def batches(rng: np.random.Generator, make: Callable[[np.random.Generator, int | None], Any],
            n_single: int = 2, n_batch: int = 2) -> list:
    """Some cases with one example, some with a batch of 2 to 4, so both shapes are exercised:
    ``make(rng, B)`` builds one case, ``B=None`` meaning one example."""
    return [make(rng, None) for _ in range(n_single)] + [make(rng, size(rng, 2, 5)) for _ in range(n_batch)]


def rnn_weights(rng: np.random.Generator, D: int, H: int) -> dict[str, np.ndarray]:
    """U (H, D), W (H, H) ~ N(0, 0.7^2) and b (H,) ~ N(0, 0.3^2): tanh neither saturated nor linear."""
    return cells.random_weights("rnn", D, H, rng, scale=0.7, bias_scale=0.3, distribution="normal")


def lstm_weights(rng: np.random.Generator, D: int, H: int, peephole: str | None = None) -> dict[str, np.ndarray]:
    """The LSTM's weights (and peepholes) ~ N(0, 0.7^2), biases ~ N(0, 0.5^2)."""
    return cells.random_weights("lstm", D, H, rng, peephole=peephole, scale=0.7, bias_scale=0.5,
                                distribution="normal")


def gru_weights(rng: np.random.Generator, D: int, H: int) -> dict[str, np.ndarray]:
    """The GRU's weights ~ N(0, 0.7^2), biases ~ N(0, 0.5^2)."""
    return cells.random_weights("gru", D, H, rng, scale=0.7, bias_scale=0.5, distribution="normal")


def rnn_case(rng: np.random.Generator, B: int | None) -> Case:
    """``Case(args=(x_t, h_prev, U, W, b))`` for a vanilla RNN step, D and H in 2..4."""
    D, H = size(rng), size(rng)
    w = rnn_weights(rng, D, H)
    return Case((vec(rng, B, D), vec(rng, B, H, 0.5), w["U"], w["W"], w["b"]))


def lstm_case(rng: np.random.Generator, B: int | None, peephole: str | None = None) -> Case:
    """``Case(args=(x_t, h_prev, C_prev, w))`` for an LSTM step, D and H in 2..4."""
    D, H = size(rng), size(rng)
    w = lstm_weights(rng, D, H, peephole)
    return Case((vec(rng, B, D), vec(rng, B, H, 0.5), vec(rng, B, H), w))


def gru_case(rng: np.random.Generator, B: int | None) -> Case:
    """``Case(args=(x_t, h_prev, w))`` for a GRU step, D and H in 2..4."""
    D, H = size(rng), size(rng)
    w = gru_weights(rng, D, H)
    return Case((vec(rng, B, D), vec(rng, B, H, 0.5), w))


# --------------------------------------------------------------------------- the registries

@dataclass(frozen=True)
class Wrong:
    """A hand-written wrong answer and a phrase of the hint its feedback must give."""

    fn: Answer
    hint: str


@dataclass(frozen=True)
class Exercise:
    """A check with a correct ``solution`` and hand-written ``wrong`` answers; calling it calls the check."""

    check: Callable[..., Feedback]
    solution: Answer
    wrong: tuple[Wrong, ...]

    def __post_init__(self) -> None:
        if not self.wrong:
            raise ValueError(f"wrong: {self.name} needs at least one hand-written wrong answer")

    @property
    def name(self) -> str:
        return self.check.__name__

    def __call__(self, fn: Any, *, seed: int | None = None) -> Feedback:
        return self.check(fn, seed=seed)


def registry(*exercises: Exercise, merge: Sequence[Mapping[str, Exercise]] = ()) -> dict[str, Exercise]:
    """``{check name: exercise}`` of ``exercises`` and of the registries in ``merge``; two checks
    of one name are refused (a notebook imports a check by its name)."""
    out: dict[str, Exercise] = {}
    for ex in [*exercises, *(e for reg in merge for e in reg.values())]:
        if ex.name in out and out[ex.name].check is not ex.check:
            raise ValueError(f"exercises: two checks are named {ex.name}")
        out[ex.name] = ex
    return out
