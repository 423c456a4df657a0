"""Checks for the exercises of "A character-level language model" (chapter 12).

Signatures the exercises ask for (numpy in, numpy out):

* ``softmax_temperature(o, tau) -> p``: p_k = exp(o_k / τ) / Σ_j exp(o_j / τ) over the last axis,
  stable for large scores and small τ
* ``auroc(scores, labels) -> float``: P(a random positive scores above a random negative), a tie
  counting one half
* ``best_mixture(pa_val, pb_val, pa_test, pb_test, lams) -> (lam, test_nats)``: the weight λ of
  the grid ``lams`` whose mixture λ p_a + (1 − λ) p_b has the lowest validation cross-entropy
  (the first such λ on a tie), and that mixture's mean −log p on the test characters (nats)

Each check draws fresh random inputs on every call, compares with its own answer (the
``reference_*`` functions below, which an answer may not call, nor the module's private answers,
nor a library function that does the job: ``scipy.special.softmax``, scikit-learn's
``roc_auc_score``, where they are installed) and names the likely slip.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys

import numpy as np

from .. import activations, charlm
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    _ReferenceCalled,
    grading_check,
    hidden_cases,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
)

__all__ = ["check_softmax_temperature", "check_auroc", "check_best_mixture", "reference_softmax_temperature",
           "reference_auroc", "reference_best_mixture", "CHECKS"]


# --------------------------------------------------------------------------- libraries that do the job

def _library_function(module: str, name: str):
    """``module.name`` where that library is installed (SciPy and scikit-learn are, on Colab), else
    None. Imported here, lazily, so that an answer which imports it inside its own body is refused
    too; a library that is not installed is never imported."""
    try:
        if module not in sys.modules and importlib.util.find_spec(module.split(".")[0]) is None:
            return None
        return getattr(importlib.import_module(module), name, None)
    except Exception:                # a broken install: nothing to forbid
        return None


@contextlib.contextmanager
def _public_names(*paths):
    """While the block runs, ``module.name`` for each ``(module, name)`` raises as a forbidden call
    does. The core swaps the bindings in a function's own module (``scipy.special._logsumexp``) and
    in the answer's globals; an answer may also call it through the public module
    (``scipy.special.softmax``), whose binding this swaps."""
    swapped = []
    for module, name in paths:
        m = sys.modules.get(module)
        f = getattr(m, name, None) if m is not None else None
        if f is None:
            continue

        def called(*args, _label=f"{module}.{name}", **kwargs):
            raise _ReferenceCalled(_label)
        swapped.append((m, name, f))
        setattr(m, name, called)
    try:
        yield
    finally:
        for m, name, f in reversed(swapped):
            setattr(m, name, f)


# --------------------------------------------------------------------------- softmax with temperature

def reference_softmax_temperature(o, tau):
    """The check's own answer: exp((o − max o) / τ) normalised over the last axis."""
    z = (np.asarray(o, dtype=np.float64) - np.max(o, axis=-1, keepdims=True)) / tau
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@grading_check
def check_softmax_temperature(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``softmax_temperature(o, tau)``: p_k = exp(o_k / τ) / Σ_j exp(o_j / τ), last axis."""
    rng = make_rng(seed)
    K = size(rng, 3, 8)
    cases = [(rng.normal(0, 3, K), float(rng.uniform(0.3, 2.0))),
             (rng.normal(0, 3, (size(rng, 2, 5), K)), float(rng.uniform(0.3, 2.0))),
             # scores of a trained model reach tens; at τ = 0.1 exp(o / τ) overflows without the shift
             (rng.normal(0, 5, K) + (100.0 if hidden_cases() else 80.0), 0.1)]
    ref = lambda o, tau: {"p": reference_softmax_temperature(o, tau)}
    slips = [("divide the scores by τ, do not multiply: a small τ must sharpen the distribution",
              lambda o, tau: {"p": reference_softmax_temperature(o, 1.0 / tau)}),
             ("the temperature is missing: p = softmax(o / τ)",
              lambda o, tau: {"p": reference_softmax_temperature(o, 1.0)}),
             ("subtract the largest score before exp: exp(o / τ) overflows to inf for large o and small τ",
              lambda o, tau: {"p": np.exp(o / tau) / np.exp(o / tau).sum(-1, keepdims=True)}),
             ("normalise over the last axis (the characters of each row), not over the whole array",
              lambda o, tau: {"p": np.exp((o - o.max()) / tau) / np.exp((o - o.max()) / tau).sum()})]
    scipy_softmax = _library_function("scipy.special", "softmax")
    with np.errstate(all="ignore"), _public_names(("scipy.special", "softmax")):
        return run_check("softmax with temperature", fn, cases, single("p"), ref, slips,
                         forbid=(reference_softmax_temperature, _softmax_temperature, charlm.softmax_temperature,
                                 activations.softmax, activations.log_softmax, torch_function("softmax"),
                                 torch_function("nn.functional.softmax"), torch_function("special.softmax"),
                                 scipy_softmax))


# --------------------------------------------------------------------------- AUROC

def reference_auroc(scores, labels):
    """The check's own answer: P(s_pos > s_neg) + ½ P(s_pos = s_neg) over all pairs."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    pos, neg = s[y][:, None], s[~y][None, :]
    return float(np.mean(pos > neg) + 0.5 * np.mean(pos == neg))


def _auroc_case(rng):
    T = size(rng, 20, 60)
    y = rng.random(T) < rng.uniform(0.2, 0.6)
    y[:2] = [True, False]                                      # both classes, always
    s = np.round(rng.normal(0, 1, T) + rng.uniform(0.3, 1.5) * y, 1)   # rounded: ties happen
    return (s, y)


@grading_check
def check_auroc(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``auroc(scores, labels)``: P(a random positive scores above a random negative), ties ½."""
    rng = make_rng(seed)
    cases = [_auroc_case(rng) for _ in range(4)]
    ref = lambda s, y: {"auroc": np.asarray(reference_auroc(s, y))}
    slips = [("a tie counts one half: add ½ P(s_pos = s_neg)",
              lambda s, y: {"auroc": np.asarray(np.mean(s[y][:, None] > s[~y][None, :]))}),
             ("a tie counts one half, not one: use > and add ½ of the ties",
              lambda s, y: {"auroc": np.asarray(np.mean(s[y][:, None] >= s[~y][None, :]))}),
             ("positives and negatives swapped: the AUROC is P(a *positive* scores above a negative)",
              lambda s, y: {"auroc": np.asarray(reference_auroc(s, ~y))}),
             ("that is the accuracy of the threshold 0, not the area under the ROC curve (all thresholds)",
              lambda s, y: {"auroc": np.asarray(np.mean((s > 0) == y))})]
    roc_auc_score = _library_function("sklearn.metrics", "roc_auc_score")
    with _public_names(("sklearn.metrics", "roc_auc_score")):
        return run_check("AUROC of a unit", fn, cases, single("auroc"), ref, slips,
                         forbid=(reference_auroc, _auroc, charlm.auroc, charlm.unit_aurocs, roc_auc_score))


# --------------------------------------------------------------------------- mixing two language models

def _mixture(pa_val, pb_val, pa_test, pb_test, lams, *, choose_on="val", geometric=False, report="test"):
    lams = np.asarray(lams, dtype=np.float64)

    def nats(pa, pb, lam):
        if geometric:
            return float(-np.mean(lam * np.log(pa) + (1 - lam) * np.log(pb)))
        return float(-np.mean(np.log(lam * pa + (1 - lam) * pb)))
    data = {"val": (pa_val, pb_val), "test": (pa_test, pb_test)}
    k = int(np.argmin([nats(*data[choose_on], lam) for lam in lams]))
    return {"lam": np.asarray(lams[k]), "test_nats": np.asarray(nats(*data[report], lams[k]))}


def reference_best_mixture(pa_val, pb_val, pa_test, pb_test, lams):
    """The check's own answer: λ* = the first λ of ``lams`` minimising the validation mean
    −log(λ p_a + (1 − λ) p_b), and the test mean −log of that mixture."""
    out = _mixture(pa_val, pb_val, pa_test, pb_test, lams)
    return float(out["lam"]), float(out["test_nats"])


def _mixture_case(rng):
    for _ in range(100):
        T = size(rng, 60, 200)
        # two models, each better on other characters; the validation block favours a more than test does
        pa_val, pb_val = rng.uniform(0.05, 1.0, T) ** 1.5, rng.uniform(0.05, 1.0, T) ** 2.0
        pa_test, pb_test = rng.uniform(0.05, 1.0, T) ** 2.2, rng.uniform(0.05, 1.0, T) ** 1.3
        lams = np.linspace(0.0, 1.0, size(rng, 6, 12))
        val = [_mixture(pa_val, pb_val, pa_val, pb_val, [lam], report="val")["test_nats"] for lam in lams]
        top = np.sort(np.asarray(val, dtype=np.float64))[:2]
        on_test = _mixture(pa_val, pb_val, pa_test, pb_test, lams, choose_on="test")["lam"]
        on_val = _mixture(pa_val, pb_val, pa_test, pb_test, lams)["lam"]
        if top[1] - top[0] > 1e-6 and on_test != on_val:     # a clear choice, and the test would choose another
            break
    return (pa_val, pb_val, pa_test, pb_test, lams)


@grading_check
def check_best_mixture(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``best_mixture(pa_val, pb_val, pa_test, pb_test, lams) -> (lam, test_nats)``: λ chosen on
    validation, the mixture λ p_a + (1 − λ) p_b of probabilities, its test cross-entropy in nats."""
    rng = make_rng(seed)
    cases = [_mixture_case(rng) for _ in range(3)]
    ref = lambda *a: _mixture(*a)
    slips = [("you chose λ on the test block: choose on validation, then report the test once (choosing on "
              "test makes the reported number optimistic)", lambda *a: _mixture(*a, choose_on="test")),
             ("you mixed log-probabilities (a geometric mixture, which does not sum to 1): mix the "
              "probabilities, p = λ p_a + (1 − λ) p_b", lambda *a: _mixture(*a, geometric=True)),
             ("you reported the validation cross-entropy: report the chosen mixture's test cross-entropy",
              lambda *a: _mixture(*a, report="val"))]
    return run_check("mix two language models", fn, cases, tuple_of("lam", "test_nats"), ref, slips,
                     forbid=(reference_best_mixture, _best_mixture, _mixture))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _softmax_temperature(o, tau):
    z = o / tau
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _auroc(scores, labels, ties=0.5):
    pos, neg = scores[labels], scores[~labels]
    wins = sum(np.sum(p > neg) + ties * np.sum(p == neg) for p in pos)
    return wins / (len(pos) * len(neg))


def _best_mixture(pa_val, pb_val, pa_test, pb_test, lams, on_test=False):
    pa, pb = (pa_test, pb_test) if on_test else (pa_val, pb_val)
    scores = [-np.mean(np.log(lam * pa + (1 - lam) * pb)) for lam in lams]
    lam = lams[int(np.argmin(scores))]
    return lam, -np.mean(np.log(lam * pa_test + (1 - lam) * pb_test))


#: the checks of this module: each with a correct answer, hand-written wrong ones and one that
#: calls the function the check forbids. The private answers above are forbidden too (a student
#: could import them), so the wrong ones reach them through a default argument, which the check
#: does not swap.
CHECKS = registry(
    Exercise(check_softmax_temperature, _softmax_temperature,
             (Wrong(lambda o, tau, f=_softmax_temperature: f(o * tau * tau, tau), "divide the scores by τ"),
              Wrong(lambda o, tau: np.exp(o / tau) / np.exp(o / tau).sum(-1, keepdims=True), "subtract the largest")),
             chapter="12", kind="recall", points=2,
             skill="the sampling distribution p = softmax(o / τ) of a language model, stable for small τ",
             copying=lambda o, tau: charlm.softmax_temperature(o, tau)),
    Exercise(check_auroc, _auroc,
             (Wrong(lambda s, y, f=_auroc: f(s, y, ties=0.0), "a tie counts one half"),
              Wrong(lambda s, y, f=_auroc: f(s, ~y), "positives and negatives swapped")),
             chapter="12", kind="apply", points=2,
             skill="score how well one unit's activation separates two kinds of characters (AUROC, ties ½)",
             copying=lambda s, y: charlm.auroc(s, y)),
    Exercise(check_best_mixture, _best_mixture,
             (Wrong(lambda *a, f=_best_mixture: f(*a, on_test=True), "you chose λ on the test block"),),
             chapter="12", kind="transfer", points=3,
             skill="combine two language models by interpolation, choosing the weight on validation data only",
             copying=lambda *a: reference_best_mixture(*a)),
)
