"""Checks for the forward exercises of "The vanilla RNN" (slide 5).

Signatures the exercises ask for (row vectors: one example (n,) or a batch (B, n)):

* ``softmax(o) -> y_hat`` for o of shape (K,) or (B, K)
* ``rnn_step(x_t, h_prev, U, W, b) -> h_t``: h(t) = tanh(b + W h(t-1) + U x(t))

Each check draws fresh random inputs on every call (other sizes for the hidden tests), compares
with companion and names the likely slip (see :mod:`companion.checks.core`). An answer that calls
the function that already does the job is refused: companion's softmax (and log_softmax) and
torch's for the softmax; companion's ``rnn_step``, the sequence layer ``companion.RNN`` and
torch's ``nn.RNN`` / ``nn.RNNCell`` for the step.
"""
from __future__ import annotations

import numpy as np

from .. import activations, cells
from ..activations import sigmoid, softmax
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    batches,
    forbidding_methods,
    grading_check,
    hidden_cases,
    make_rng,
    method_functions,
    registry,
    rnn_case,
    run_check,
    single,
    size,
    torch_function,
    vec,
)

__all__ = ["check_softmax", "check_rnn_step", "CHECKS"]


# --------------------------------------------------------------------------- softmax

@grading_check
def check_softmax(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``softmax(o)``: exp(o_k) / sum_j exp(o_j) over the last axis, stable for large o."""
    rng = make_rng(seed)
    cases = [(vec(rng, B, size(rng, 3, 7), 3.0),) for B in (None, size(rng, 2, 5))]
    # large scores overflow exp without the shift: the visible case is the exercise's example
    large = 1000.0 + vec(rng, None, size(rng, 3, 7)) if hidden_cases() else np.array([1000.0, 1001.0, 999.0])
    cases.append((large,))
    ref = lambda o: {"y_hat": softmax(o)}
    slips = [("subtract the maximum before exp: exp(1000) overflows to inf",
              lambda o: {"y_hat": np.exp(o) / np.exp(o).sum(-1, keepdims=True)}),
             ("normalise over the last axis (the classes), not over the whole array",
              lambda o: {"y_hat": np.exp(o - o.max()) / np.exp(o - o.max()).sum()})]
    with np.errstate(all="ignore"):
        return run_check("softmax", fn, cases, single("y_hat"), ref, slips,
                         forbid=(activations.softmax, activations.log_softmax, torch_function("softmax"),
                                 torch_function("nn.functional.softmax"), torch_function("special.softmax")))


# --------------------------------------------------------------------------- vanilla RNN step

#: the sequence layers that run the step for a student: companion's and torch's
_STEP_METHODS = (("companion.layers", "_Recurrent", "forward", "companion.RNN"),
                 ("companion.layers", "_Recurrent", "forward_unfused", "companion.RNN.forward_unfused"),
                 ("torch.nn.modules.rnn", "RNN", "forward", "torch.nn.RNN"),
                 ("torch.nn.modules.rnn", "RNNCell", "forward", "torch.nn.RNNCell"))


@grading_check
def check_rnn_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_step(x_t, h_prev, U, W, b) -> h_t`` (slide 5: h = tanh(b + W h(t-1) + U x(t)))."""
    rng = make_rng(seed)
    ref = lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ W.T + x @ U.T)}
    slips = [("U and W are swapped: W multiplies h(t-1), U multiplies x(t)",
              lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ U.T + x @ W.T)}
              if U.shape == W.shape else None),
             ("the weights are applied untransposed: for row vectors use h @ W.T (or W @ h for one column vector)",
              lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ W + x @ U)}
              if U.shape[0] == U.shape[1] else None),
             ("you returned a(t): apply tanh to get h(t)",
              lambda x, h, U, W, b: {"h_t": b + h @ W.T + x @ U.T}),
             ("sigmoid where tanh belongs: h(t) = tanh(a(t))",
              lambda x, h, U, W, b: {"h_t": sigmoid(b + h @ W.T + x @ U.T)}),
             ("the bias b is missing", lambda x, h, U, W, b: {"h_t": np.tanh(h @ W.T + x @ U.T)}),
             ("the recurrent term W h(t-1) is missing", lambda x, h, U, W, b: {"h_t": np.tanh(b + x @ U.T)})]
    # the methods' functions are read before forbidding_methods swaps them out
    forbid = (cells.rnn_step, cells._rnn_step, *method_functions(_STEP_METHODS),
              torch_function("rnn_tanh_cell"), torch_function("rnn_tanh"))
    with forbidding_methods(fn, _STEP_METHODS):
        return run_check("vanilla RNN step", fn, batches(rng, rnn_case), single("h_t"), ref, slips, forbid=forbid)


# --------------------------------------------------------------------------- what a test needs

def _softmax(o):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_no_shift(o):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(o) / np.exp(o).sum(axis=-1, keepdims=True)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_softmax, _softmax,
             (Wrong(_softmax_no_shift, "subtract the maximum"),
              Wrong(lambda o: np.exp(o - o.max()) / np.exp(o - o.max()).sum(), "normalise over the last axis")),
             chapter="02", kind="recall", points=2,
             skill="the softmax of slide 5 over the classes of each row, stable for large scores",
             copying=lambda o: activations.softmax(o)),
    Exercise(check_rnn_step, lambda x, h, U, W, b: np.tanh(b + h @ W.T + x @ U.T),
             (Wrong(lambda x, h, U, W, b: b + h @ W.T + x @ U.T, "you returned a(t)"),
              Wrong(lambda x, h, U, W, b: np.tanh(h @ W.T + x @ U.T), "bias b is missing")),
             chapter="02", kind="recall", points=2,
             skill="slide 5's step h(t) = tanh(b + W h(t-1) + U x(t)) as code, for one example or a batch of rows",
             copying=lambda x, h, U, W, b: cells.rnn_step(x, h, U, W, b).h_t),
)
