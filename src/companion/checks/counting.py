"""Checks for the parameter-counting exercises of "From feed-forward networks to recurrence".

Signatures the exercises ask for (D input size, H hidden size, K classes, T time steps, m a
hidden width), each count with the slides' single bias per layer:

* ``rnn_num_params(D, H, K)``: the slides' vanilla RNN with its output head,
  U (H, D), W (H, H), b (H,), V (K, H), c (K,), whatever the length T (recall: the page derives it).
* ``unshared_many_to_one_num_params(D, H, K, T)``: slide 6's network with a *different* f at
  every step (its own U_t, W_t, b_t), used for one label per sequence (many to one): only the
  last step has an output head V (K, H), c (K,) (apply: the page counts a head at every step).
* ``fc_many_to_one_num_params(D, K, T, m)``: the fully connected net of slide 1 that reads the
  whole sequence at once (T*D inputs) into one hidden layer of width m and gives one label,
  K scores (apply: the page counts T*K outputs).
* ``jordan_num_params(D, H, K)``: a recurrent net that feeds back its previous *output*
  y_hat(t-1) instead of h(t-1), h(t) = tanh(b + W y_hat(t-1) + U x(t)), y_hat(t) =
  softmax(c + V h(t)) (transfer: the page does not count it; W is (H, K)).

Each count below is the check's own answer (a student who imports it is refused); the driver
is :mod:`companion.checks.core`. The sizes of a case are distinct and drawn so that every known
slip gives a count of its own; the hidden cases (``check(fn, hidden=True)``) draw them from
larger ranges.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..layers import RNN
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    hidden_cases,
    make_rng,
    registry,
    run_check,
    torch_function,
)

__all__ = ["check_rnn_num_params", "check_unshared_many_to_one_num_params", "check_fc_many_to_one_num_params",
           "check_jordan_num_params", "rnn_num_params", "unshared_many_to_one_num_params",
           "fc_many_to_one_num_params", "jordan_num_params", "CHECKS"]


# --------------------------------------------------------------------------- the checks' own answers

def rnn_num_params(D: int, H: int, K: int) -> int:
    """U, W, b, V, c of slide 5 (the check's own answer)."""
    return H * D + H * H + H + K * H + K


def unshared_many_to_one_num_params(D: int, H: int, K: int, T: int) -> int:
    """A different U_t, W_t, b_t at each of the T steps, one head V, c after the last (the check's own answer)."""
    return T * (H * D + H * H + H) + K * H + K


def fc_many_to_one_num_params(D: int, K: int, T: int, m: int) -> int:
    """Fully connected, one label: (T*D) -> m -> K, weights and biases (the check's own answer)."""
    return (T * D) * m + m + m * K + K


def jordan_num_params(D: int, H: int, K: int) -> int:
    """U (H, D), W (H, K) reading y_hat(t-1), b (H,), V (K, H), c (K,) (the check's own answer)."""
    return H * D + H * K + H + K * H + K


# --------------------------------------------------------------------------- cases

def _sizes(rng, n):
    """n distinct sizes: from [2, 24) on the visible cases, from [24, 64) on the hidden ones."""
    low, high = (24, 64) if hidden_cases() else (2, 24)
    return [int(v) for v in rng.choice(np.arange(low, high), size=n, replace=False)]


def _length(rng):
    """A sequence length T: [3, 30) visible, [30, 90) hidden."""
    return int(rng.integers(30, 90)) if hidden_cases() else int(rng.integers(3, 30))


def _cases(rng, draw: Callable, ref: Callable, slips, n=4):
    """n cases from ``draw(rng)`` on which the reference and every slip give different counts, so
    that a wrong count names its slip and no other."""
    cases = []
    while len(cases) < n:
        case = draw(rng)
        counts = [ref(*case)] + [slip(*case) for _, slip in slips]
        if len(set(counts)) == len(counts):
            cases.append(case)
    return cases


def _unpack(r, case):
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer, float, np.floating)):
        raise ValueError(f"expected a number, got {type(r).__name__}")
    return {"count": np.asarray(r, dtype=np.float64)}


def _run(exercise, fn, rng, draw, ref, slips, forbid):
    cases = _cases(rng, draw, ref, slips)
    as_outputs = lambda f: (lambda *case: {"count": np.asarray(f(*case), dtype=np.float64)})
    return run_check(exercise, fn, cases, _unpack, as_outputs(ref), [(h, as_outputs(s)) for h, s in slips],
                     forbid=forbid)


#: what already counts a vanilla RNN's parameters: companion's layer (built and counted, it does
#: the exercise's job) and torch's
def _layers():
    return (RNN, torch_function("nn.RNN"))


# --------------------------------------------------------------------------- the checks

@grading_check
def check_rnn_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_num_params(D, H, K)`` = H*D + H*H + H + K*H + K (slide 5, one bias b)."""
    slips = [("you counted torch's two biases (bias_ih and bias_hh); the slides have one b of shape (H,)",
              lambda D, H, K: rnn_num_params(D, H, K) + H),
             ("the output head is missing: V (K, H) and c (K,) are parameters too",
              lambda D, H, K: H * D + H * H + H),
             ("the output bias c (K,) is missing", lambda D, H, K: rnn_num_params(D, H, K) - K),
             ("the bias b (H,) is missing", lambda D, H, K: rnn_num_params(D, H, K) - H),
             ("W maps h(t-1) to h(t): it is (H, H), not (H, D)",
              lambda D, H, K: H * D + H * D + H + K * H + K),
             ("the biases are missing: b (H,) and c (K,)", lambda D, H, K: H * D + H * H + K * H)]
    return _run("parameters of the vanilla RNN", fn, make_rng(seed), lambda rng: tuple(_sizes(rng, 3)),
                rnn_num_params, slips, forbid=(rnn_num_params, *_layers()))


@grading_check
def check_unshared_many_to_one_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``unshared_many_to_one_num_params(D, H, K, T)`` = T*(H*D + H*H + H) + K*H + K: a
    different U_t, W_t, b_t at every step, one output head after the last step."""
    per_step = lambda D, H: H * D + H * H + H
    slips = [("that counts a head at every step (the page's network); with one label per sequence only "
              "the last step has V (K, H) and c (K,)", lambda D, H, K, T: T * rnn_num_params(D, H, K)),
             ("that is the shared count: with a different f at every step, each of the T steps has its "
              "own U_t, W_t, b_t", lambda D, H, K, T: rnn_num_params(D, H, K)),
             ("the output head is missing: the last step still needs V (K, H) and c (K,)",
              lambda D, H, K, T: T * per_step(D, H)),
             ("T - 1 steps: each of the T steps, the first included, has its own U_t, W_t, b_t",
              lambda D, H, K, T: (T - 1) * per_step(D, H) + K * H + K),
             ("you counted torch's two biases; the slides have one b_t per step",
              lambda D, H, K, T: T * (per_step(D, H) + H) + K * H + K),
             ("every step's W_t is (H, H): it maps h(t-1) to h(t)",
              lambda D, H, K, T: T * (2 * H * D + H) + K * H + K)]
    return _run("parameters with a different f at every step, one label", fn, make_rng(seed),
                lambda rng: (*_sizes(rng, 3), _length(rng)), unshared_many_to_one_num_params, slips,
                forbid=(unshared_many_to_one_num_params, rnn_num_params))


@grading_check
def check_fc_many_to_one_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``fc_many_to_one_num_params(D, K, T, m)`` = (T*D)*m + m + m*K + K: the whole sequence
    in, a hidden layer of width m, one label (K scores) out."""
    slips = [("that network outputs T*K scores, one label per step (the page's); this one gives one label "
              "for the whole sequence: K scores", lambda D, K, T, m: (T * D) * m + m + m * (T * K) + T * K),
             ("the first layer reads the whole concatenated sequence: W_1 has T*D columns, not D",
              lambda D, K, T, m: D * m + m + m * K + K),
             ("the biases are missing: m for the hidden layer, K for the output",
              lambda D, K, T, m: (T * D) * m + m * K),
             ("the output layer is missing: m x K weights and K biases",
              lambda D, K, T, m: (T * D) * m + m)]

    def draw(rng):
        D, K, m = _sizes(rng, 3)
        return D, K, _length(rng), m
    return _run("parameters of the fully connected net, one label", fn, make_rng(seed), draw,
                fc_many_to_one_num_params, slips, forbid=(fc_many_to_one_num_params,))


@grading_check
def check_jordan_num_params(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``jordan_num_params(D, H, K)`` = H*D + H*K + H + K*H + K: h(t) = tanh(b + W y_hat(t-1)
    + U x(t)), y_hat(t) = softmax(c + V h(t)); W reads y_hat(t-1), of size K."""
    slips = [("that is the vanilla RNN's count: here W multiplies y_hat(t-1), of size K, so W is (H, K), "
              "not (H, H)", rnn_num_params),
             ("W feeds y_hat(t-1) (size K) into the hidden layer (size H): it is (H, K), not (K, K)",
              lambda D, H, K: H * D + K * K + H + K * H + K),
             ("W reads the fed-back output y_hat(t-1), of size K, not the input x(t): (H, K), not (H, D)",
              lambda D, H, K: H * D + H * D + H + K * H + K),
             ("the output head is missing: y_hat(t) = softmax(c + V h(t)) needs V (K, H) and c (K,), and it "
              "is what is fed back", lambda D, H, K: H * D + H * K + H),
             ("you counted torch's two biases; one b (H,), as on the slides",
              lambda D, H, K: jordan_num_params(D, H, K) + H),
             ("the biases are missing: b (H,) and c (K,)", lambda D, H, K: H * D + H * K + K * H)]
    return _run("parameters of an RNN that feeds back its output", fn, make_rng(seed),
                lambda rng: tuple(_sizes(rng, 3)), jordan_num_params, slips,
                forbid=(jordan_num_params,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, term by term: not with the formulas above.

#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_rnn_num_params, lambda D, H, K: H * D + H * H + H + K * H + K,
             (Wrong(lambda D, H, K: H * D + H * H + 2 * H + K * H + K, "two biases"),
              Wrong(lambda D, H, K: H * D + H * H + H, "output head is missing")),
             chapter="01", kind="recall", points=1,
             skill="write the slides' parameter count of the vanilla RNN (U, W, b, V, c) as code",
             copying=lambda D, H, K: rnn_num_params(D, H, K)),
    Exercise(check_unshared_many_to_one_num_params, lambda D, H, K, T: T * (H * D + H * H + H) + (K * H + K),
             (Wrong(lambda D, H, K, T: T * (H * D + H * H + H + K * H + K), "only the last step has V"),
              Wrong(lambda D, H, K, T: H * D + H * H + H + K * H + K, "shared count")),
             chapter="01", kind="apply", points=2,
             skill="count an unshared (feed-forward) unrolling whose output head sits at the last step only",
             copying=lambda D, H, K, T: unshared_many_to_one_num_params(D, H, K, T)),
    Exercise(check_fc_many_to_one_num_params, lambda D, K, T, m: (T * D) * m + m + m * K + K,
             (Wrong(lambda D, K, T, m: (T * D) * m + m + m * (T * K) + T * K, "one label for the whole"),
              Wrong(lambda D, K, T, m: D * m + m + m * K + K, "T*D columns")),
             chapter="01", kind="apply", points=2,
             skill="count a fully connected net on a whole sequence from its layers' shapes, for one label",
             copying=lambda D, K, T, m: fc_many_to_one_num_params(D, K, T, m)),
    Exercise(check_jordan_num_params, lambda D, H, K: H * D + H * K + H + K * H + K,
             (Wrong(lambda D, H, K: H * D + H * H + H + K * H + K, "(H, K), not (H, H)"),
              Wrong(lambda D, H, K: H * D + H * K + H, "output head is missing")),
             chapter="01", kind="transfer", points=3,
             skill="derive the weight shapes, and so the count, of a recurrence the chapter did not count "
                   "(the output fed back)",
             copying=lambda D, H, K: jordan_num_params(D, H, K)),
)
