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
rtol 1e-6, atol 1e-8; a derivative to work out by hand, ``run_check(..., analytic=True)``, with
rtol 1e-9, atol 1e-11, which a numerical derivative does not reach: such an answer is told so).
At the first case that differs the feedback lists the differences and,
as a hint, the first slip whose outputs all match the student's. A missing implementation, a
crash or a result of the wrong form becomes feedback, never a traceback.

**What a student's function cannot do to the check.** The reference answer and the slips are
computed first, each on its own deep copy of the case, and the student's function gets another
copy: changing the models or arrays it is handed (zeroing a layer's weights, say) changes
nothing the check compares with. It runs under a time limit (:data:`TIME_LIMIT_S`, with
``SIGALRM`` where the check runs in the main thread, as in a notebook): an endless loop is
stopped and reported. Every exception it raises, ``SystemExit`` included, becomes feedback
(``KeyboardInterrupt`` still interrupts). :func:`run_check` holds its own references to
:func:`compare` and :func:`matches`: replacing them in ``companion.checks`` or here from a
notebook does not change a verdict.

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

import contextlib
import contextvars
import copy
import functools
import signal
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import cells

__all__ = ["Feedback", "Case", "Answer", "Outputs", "Unpack", "Slip", "run_check", "compare", "matches",
           "single", "tuple_of", "RTOL", "ATOL", "ANALYTIC_RTOL", "ANALYTIC_ATOL",
           "TIME_LIMIT_S", "TORCH_REEXPORTS", "torch_function",
           "make_rng", "size", "vec", "batches", "rnn_weights", "lstm_weights", "gru_weights",
           "rnn_case", "lstm_case", "gru_case", "Wrong", "Exercise", "registry",
           "grading_check", "hidden_cases", "KINDS", "PURGE", "forbidding_methods", "method_functions"]

#: the tolerances of every comparison (numpy.isclose)
RTOL, ATOL = 1e-6, 1e-8
#: seconds a student's function may run on one case (the exercises' answers take milliseconds)
TIME_LIMIT_S = 10.0

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


class _OutOfTime(BaseException):
    """Raised inside a student's function when its time is up (not an Exception: a bare
    ``except Exception`` in the student's code cannot swallow it)."""


def _private(args):
    """A deep copy of a case's arguments (arrays, dicts, companion layers); what cannot be
    deep-copied is copied as :func:`_copy` does."""
    try:
        return copy.deepcopy(args)
    except Exception:
        return tuple(_copy(a) for a in args)


#: the torch modules that re-export the functions a check may forbid
TORCH_REEXPORTS = ("torch", "torch.nn", "torch.nn.functional", "torch.nn.utils", "torch.nn.utils.clip_grad",
                   "torch.autograd")


def torch_function(path: str) -> Callable[..., Any] | None:
    """``torch.<path>`` if torch is already imported (a check never imports it), else None."""
    obj = sys.modules.get("torch")
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


class _ReferenceCalled(BaseException):
    """Raised when a student's function calls a function its check forbids (a BaseException,
    so that ``except Exception`` in the student's code does not hide it)."""


def _label(f) -> str:
    return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', getattr(f, '__name__', f))}"


def _key(f):
    """What identifies a forbidden function: companion's by module and qualified name (a fresh
    import of companion, as the hidden tests make, has new function objects that still do the
    job), anything else (torch's) by identity."""
    mod = getattr(f, "__module__", None) or ""
    if (mod == "companion" or mod.startswith("companion.")) and hasattr(f, "__qualname__"):
        return ("companion", mod, f.__qualname__)
    return ("id", id(f))


def _companion_modules(start):
    """The companion modules reachable from ``start`` (a namespace dict) through module
    attributes: the student's ``companion`` may be an older import than ``sys.modules`` holds."""
    seen, todo = {}, [v for v in start.values() if isinstance(v, types.ModuleType)]
    while todo:
        m = todo.pop()
        name = getattr(m, "__name__", "") or ""
        if id(m) in seen or not (name == "companion" or name.startswith("companion.")):
            continue
        seen[id(m)] = m
        todo.extend(v for v in vars(m).values() if isinstance(v, types.ModuleType))
    return list(seen.values())


@contextlib.contextmanager
def _forbidden(fn, forbid):
    """While the block runs, every binding of a function in ``forbid`` (see :func:`_key`) in a
    loaded companion or torch module, in any companion module the student's globals reach, in
    ``fn``'s globals and in the names ``fn`` closes over, is a stand-in that raises
    :class:`_ReferenceCalled`."""
    forbid = [f for f in forbid if f is not None]
    if not forbid:
        yield
        return
    keys = {_key(f): f for f in forbid}

    def hit(value):
        if not callable(value):
            return None
        try:
            return keys.get(_key(value))
        except Exception:            # an object whose attributes raise: not ours
            return None

    def stand_in(f):
        def called(*args, **kwargs):
            raise _ReferenceCalled(_label(f))
        return called
    # companion's modules, each forbidden function's own module, torch's re-exports, and the
    # companion modules the student's globals reach
    names = {n for n in list(sys.modules) if n == "companion" or n.startswith("companion.")}
    names |= {getattr(f, "__module__", None) for f in forbid} | set(TORCH_REEXPORTS)
    modules = {id(sys.modules[n]): sys.modules[n] for n in names if sys.modules.get(n) is not None}
    student = getattr(fn, "__globals__", {})
    for m in _companion_modules(student):
        modules.setdefault(id(m), m)
    namespaces = [vars(m) for m in modules.values()] + [student]
    swapped = []
    for ns in namespaces:
        for key, value in list(ns.items()):
            f = hit(value)
            if f is not None:
                swapped.append((ns, key, value))
                ns[key] = stand_in(value)
    cells_swapped = []            # names the student's function closes over (a nested def)
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:        # an empty cell
            continue
        if hit(value) is not None:
            cells_swapped.append((cell, value))
            cell.cell_contents = stand_in(value)
    try:
        yield
    finally:
        for ns, key, value in reversed(swapped):
            ns[key] = value
        for cell, value in cells_swapped:
            cell.cell_contents = value


def _call(fn, args, forbid=()):
    """Run the student's function on ``args`` (already private copies) under the time limit,
    with the functions in ``forbid`` unavailable; turn whatever goes wrong into feedback instead
    of a traceback."""
    limit = float(TIME_LIMIT_S)
    timed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    if timed:
        def out_of_time(signum, frame):
            raise _OutOfTime()
        previous = signal.signal(signal.SIGALRM, out_of_time)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with _forbidden(fn, forbid):
            return fn(*args), None
    except _ReferenceCalled as e:
        return None, (f"your function calls {e}, which already does this exercise's job (the check "
                      f"compares with it): write the computation yourself")
    except _OutOfTime:
        return None, (f"your function did not finish within {limit:g} s on one small case and was "
                      f"stopped: look for a loop that never ends")
    except KeyboardInterrupt:
        raise
    except NotImplementedError:
        return None, "not implemented yet: replace `raise NotImplementedError()` with your code"
    except SystemExit as e:
        return None, (f"your function called exit ({type(e).__name__}, code {e.code!r}): "
                      f"return the result instead")
    except BaseException as e:   # a student's bug: report it, don't crash the notebook
        return None, f"your function raised {type(e).__name__}: {e}"
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


def compare(name: str, got: Any, expected: np.ndarray, rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """None if equal (``numpy.isclose`` with ``rtol``, ``atol``), else a line saying where and how
    they differ."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except Exception:        # a str, a torch tensor that requires grad, ...: not a numpy array
        return (f"{name}: expected a numeric numpy array, got {type(got).__name__} "
                f"(return numpy arrays; a torch tensor needs .detach().numpy())")
    if got.shape != expected.shape:
        return f"{name}: expected shape {expected.shape}, got {got.shape}"
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"[{', '.join(map(str, idx))}]" if idx else ""
    return (f"{name}{where}: expected {expected[idx]:.6g}, got {got[idx]:.6g} "
            f"({int(bad.sum())} of {bad.size} values differ)")


def _relative_error(got: Any, expected: np.ndarray) -> float:
    """The smallest rtol at which ``got`` passes the analytic comparison, atol scaled with it:
    max |got - expected| / (|expected| + ANALYTIC_ATOL / ANALYTIC_RTOL)."""
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(got - expected) / (np.abs(expected) + ANALYTIC_ATOL / ANALYTIC_RTOL),
                        initial=0.0))


def matches(got: Any, expected: np.ndarray) -> bool:
    """Whether ``got`` equals ``expected`` within the tolerances (NaN matching NaN): how a slip is
    recognised."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except Exception:
        return False
    return got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


#: the tolerances of a derivative exercise (``run_check(..., analytic=True)``): a chain rule worked
#: out by hand agrees with the reference to about 1e-13; a numerical derivative (central
#: differences) only to about 1e-10 .. 1e-6, so it fails here (a fourth-order stencil with a
#: well-chosen step can reach 1e-12 and pass: a known limit, stated on the instructors' page).
ANALYTIC_RTOL, ANALYTIC_ATOL = 1e-9, 1e-11

_NUMERICAL = ("your values are close to the exact derivative but off by up to {err:.1e} (relative), where "
              "the chain rule's are exact to 1e-9: that is what a numerical derivative (finite "
              "differences) gives, and this exercise asks "
              "for the derivative worked out with the chain rule. Use finite differences to test your "
              "answer, not as your answer")


def _driver(compare: Callable[..., str | None],
            matches: Callable[[Any, np.ndarray], bool]) -> Callable[..., Feedback]:
    # run_check keeps its own references to compare and matches (closure cells, not module
    # globals): a notebook that rebinds companion.checks.compare changes no verdict.
    def run_check(exercise: str, fn: Any, cases: Sequence[Case | tuple], unpack: Unpack,
                  reference: Callable[..., Outputs], slips: Sequence[Slip],
                  forbid: Sequence[Callable[..., Any] | None] = (), analytic: bool = False) -> Feedback:
        """Shared driver: for each case compare the outputs, then look for a slip that explains
        a mismatch (the protocol is in this module's docstring). A plain tuple in ``cases`` is
        ``Case(args=tuple)``. ``forbid``: the functions the student's function may not call
        (None entries are ignored: a torch function where torch is not installed). ``analytic``:
        the exercise is a derivative to work out by hand; compare with :data:`ANALYTIC_RTOL`,
        :data:`ANALYTIC_ATOL`, and say so when an answer is right only to a numerical
        derivative's accuracy."""
        tol = (ANALYTIC_RTOL, ANALYTIC_ATOL) if analytic else (RTOL, ATOL)
        if not callable(fn):
            return Feedback(exercise, False, [f"expected a function, got {type(fn).__name__}"])
        cases = [c if isinstance(c, Case) else Case(tuple(c)) for c in cases]
        for n, case in enumerate(cases):
            # the answer to compare with first, on a private copy; the slips get their own
            expected = reference(*_private(case.args), *_private(case.hidden))
            for_slips = _private((case.args, case.hidden))
            out, err = _call(fn, _private(case.args), forbid)
            if err:
                return Feedback(exercise, False, [err])
            try:
                got = unpack(out, case)
            except Exception as e:
                return Feedback(exercise, False, [f"could not read your result: {e}"])
            try:
                problems = [f"{k}: missing from your result" if k not in got else compare(k, got[k], v, *tol)
                            for k, v in expected.items()]
                if analytic and any(problems) and all(k in got and compare(k, got[k], v) is None
                                                      for k, v in expected.items()):
                    err = max(_relative_error(got[k], v) for k, v in expected.items())
                    return Feedback(exercise, False, [f"on random test case {n + 1} of {len(cases)}:",
                                                      _NUMERICAL.format(err=err)])
            except Exception as e:   # a result whose items cannot even be looked up
                return Feedback(exercise, False, [f"could not read your result: {type(e).__name__}: {e}"])
            problems = [p for p in problems if p]
            if problems:
                lines = [f"on random test case {n + 1} of {len(cases)}:"] + problems
                args, hidden = for_slips
                for hint, slip in slips:
                    wrong = slip(*_private(args), *_private(hidden))
                    if wrong is not None and all(k in got and matches(got[k], wrong[k]) for k in wrong):
                        lines.append(f"hint: {hint}")
                        break
                return Feedback(exercise, False, lines)
        return Feedback(exercise, True, [f"all outputs match companion's on {len(cases)} fresh random cases"])
    return run_check


run_check = _driver(compare, matches)


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


#: whether the check now running draws its hidden cases (see :func:`grading_check`)
_HIDDEN: contextvars.ContextVar[bool] = contextvars.ContextVar("hidden", default=False)


def hidden_cases() -> bool:
    """True while a check runs with ``hidden=True``: its cases must then use other sizes (and
    values) than the visible ones. :func:`size` does so by itself."""
    return _HIDDEN.get()


def size(rng: np.random.Generator, low: int = 2, high: int = 5) -> int:
    """A random size in [low, high) as a Python int; in hidden mode one in
    [high, high + max(2, high - low)), a range the visible cases never use.

    Only for sizes (dimensions, lengths, counts of cases): a quantity bounded by another one
    (an index below T, say) is drawn with ``rng.integers``."""
    if _HIDDEN.get():
        return int(rng.integers(high, high + max(2, high - low)))
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


# --------------------------------------------------------------------------- visible and hidden

def grading_check(check: Callable[..., Feedback]) -> Callable[..., Feedback]:
    """Give a check its keyword ``hidden``: ``check(fn, seed=None, hidden=False)``.

    ``hidden=True`` is what nbgrader's hidden tests call: the cases use other sizes than the
    visible ones (:func:`size` draws from a range above the visible one; a check that draws
    values another way asks :func:`hidden_cases`), so an answer tuned to what the visible call
    showed does not pass the hidden one."""
    @functools.wraps(check)
    def with_hidden(fn: Any, *, seed: int | None = None, hidden: bool = False) -> Feedback:
        if not isinstance(hidden, (bool, np.bool_)):
            raise ValueError(f"hidden: expected True or False, got {hidden!r}")
        token = _HIDDEN.set(bool(hidden))
        try:
            return check(fn, seed=seed)
        finally:
            _HIDDEN.reset(token)
    return with_hidden


#: The first line of every hidden test: it forgets every companion module, so that the import
#: that follows reads the checks afresh from disk and whatever a student's cell replaced in the
#: loaded ones (a check, ``run_check``, ``Feedback``) is not what grades. Plain Python on purpose:
#: it must not call anything a student could have replaced.
PURGE = ("import sys; [sys.modules.pop(_m) for _m in list(sys.modules) "
         "if _m.split('.')[0] == 'companion']")


# --------------------------------------------------------------------------- the registries

@dataclass(frozen=True)
class Wrong:
    """A hand-written wrong answer and a phrase of the hint its feedback must give."""

    fn: Answer
    hint: str


#: the kinds of exercise, from reproducing the page to changing an experiment
KINDS = {
    "recall": "write down what the page derived (the slide's equation as code)",
    "apply": "use the page's equations on a case the page did not work through",
    "transfer": "answer a question the page does not answer (a variant, a new count, a new backward)",
    "experiment": "change one factor of an experiment and report what the measurement shows",
}


@dataclass(frozen=True)
class Exercise:
    """A check with a correct ``solution`` and hand-written ``wrong`` answers; calling it calls the check.

    What an instructor needs (and ``book/instructors.md`` lists): the ``chapter`` ("02"), the
    ``kind`` (a key of :data:`KINDS`), the ``points`` of its grade cell and the ``skill`` it
    grades. ``copying`` is an answer that calls the function the check forbids (its test
    proves that such an answer is refused)."""

    check: Callable[..., Feedback]
    solution: Answer
    wrong: tuple[Wrong, ...]
    chapter: str = ""
    kind: str = ""
    points: int = 0
    skill: str = ""
    copying: Answer | None = None

    def __post_init__(self) -> None:
        if not self.wrong:
            raise ValueError(f"wrong: {self.name} needs at least one hand-written wrong answer")
        if self.kind and self.kind not in KINDS:
            raise ValueError(f"kind: {self.name}: expected one of {sorted(KINDS)}, got {self.kind!r}")

    @property
    def name(self) -> str:
        return self.check.__name__

    def __call__(self, fn: Any, *, seed: int | None = None, hidden: bool = False) -> Feedback:
        return self.check(fn, seed=seed, hidden=hidden)


def registry(*exercises: Exercise, merge: Sequence[Mapping[str, Exercise]] = ()) -> dict[str, Exercise]:
    """``{check name: exercise}`` of ``exercises`` and of the registries in ``merge``; two checks
    of one name are refused (a notebook imports a check by its name)."""
    out: dict[str, Exercise] = {}
    for ex in [*exercises, *(e for reg in merge for e in reg.values())]:
        if ex.name in out and out[ex.name].check is not ex.check:
            raise ValueError(f"exercises: two checks are named {ex.name}")
        out[ex.name] = ex
    return out


# --------------------------------------------------------------------------- methods, forbidden
# A class method (companion.RNN.backward) is reached through an object, not a global name, so
# run_check's swap of names cannot refuse it: the method itself is swapped on its class.

def _classes(fn, module, qualname):
    """Every loaded version of the class ``module.qualname``: in ``sys.modules``, in the companion
    modules the student's globals reach (an import older than the hidden tests' fresh one), and
    among the classes of the objects in the student's globals."""
    found = {}
    student = getattr(fn, "__globals__", None) or {}
    modules = [m for n, m in list(sys.modules.items()) if n == module and m is not None]
    modules += [m for m in _companion_modules(student) if getattr(m, "__name__", None) == module]
    for m in modules:
        c = getattr(m, qualname, None)
        if isinstance(c, type):
            found[id(c)] = c
    for value in list(student.values()):
        try:
            cls = value if isinstance(value, type) else type(value)
            for c in cls.__mro__:
                if getattr(c, "__module__", None) == module and getattr(c, "__qualname__", None) == qualname:
                    found[id(c)] = c
        except Exception:         # an object whose type cannot be read: not one of ours
            continue
    return list(found.values())


@contextlib.contextmanager
def forbidding_methods(fn, methods):
    """While the block runs, each method of ``methods`` (``(module, class, method, label)``) is,
    on every loaded version of its class, a stand-in that refuses to run: a student's function
    that calls it gets the feedback of a forbidden function (see :func:`run_check`).
    Wrap a whole :func:`run_check` in it only when the check's reference and slips call
    none of these methods."""
    swapped = []

    def stand_in(label):
        def called(*args, **kwargs):
            raise _ReferenceCalled(label)
        return called
    try:
        for module, qualname, name, label in methods:
            for cls in _classes(fn, module, qualname):
                if name in vars(cls):
                    swapped.append((cls, name, vars(cls)[name]))
                    setattr(cls, name, stand_in(label))
        yield
    finally:
        for cls, name, value in reversed(swapped):
            setattr(cls, name, value)


def method_functions(methods):
    """The functions behind ``methods`` in the loaded modules, for a check's ``forbid``: a
    student's global or closure that holds one (``bw = companion.RNN.backward``) is refused by
    :func:`run_check`, whose swap reads names, not classes."""
    out = []
    for module, qualname, name, _ in methods:
        cls = getattr(sys.modules.get(module), qualname, None)
        out.append(vars(cls).get(name) if isinstance(cls, type) else None)
    return tuple(out)
