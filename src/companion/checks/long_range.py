"""Checks for the exercises of "Long-range dependencies" (chapter 09, slides 9-16 in practice).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``accuracy_from_logits(logits, y) -> float``: logits (B, K), y (B,) ints
* ``adding_targets(x) -> y``: x (n, T, 2) of (value, marker) pairs, y (n,) the sums of marked values
* ``jacobian_chain(h, W) -> J``: the vanilla RNN's d h_T / d h_0 = prod_t diag(1 - h_t^2) W, h (T, H)

Each check draws fresh random inputs on every call, compares with companion and names the
likely slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .core import Answer, Exercise, Feedback, Wrong, grading_check, make_rng, registry, run_check, single, size

__all__ = ["check_accuracy_from_logits", "check_adding_targets", "check_jacobian_chain", "CHECKS"]


def _scalar(r, case):
    return {"value": np.asarray(float(r))}


# --------------------------------------------------------------------------- long range

@grading_check
def check_accuracy_from_logits(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``accuracy_from_logits(logits, y)``: the fraction of rows whose argmax is y."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        B, K = size(rng, 6, 12), size(rng, 3, 6)
        logits = rng.normal(0, 2, (B, K))
        y = (logits.argmax(1) + rng.integers(1, K, B)) % K      # all wrong ...
        n_right = size(rng, 1, B)                      # ... but some: accuracy inside (0, 1),
        if 2 * n_right == B:                                   # and never 1/2, where the error rate
            n_right += 1                                       # 1 - accuracy would equal it
        y[:n_right] = logits[:n_right].argmax(1)
        cases.append((logits, y))
    ref = lambda lo, y: {"value": np.asarray((lo.argmax(-1) == y).mean())}
    slips = [("you returned the number of correct predictions: divide by the batch size",
              lambda lo, y: {"value": np.asarray(float((lo.argmax(-1) == y).sum()))}),
             ("you returned the error rate: accuracy is the fraction that is right",
              lambda lo, y: {"value": np.asarray(1 - (lo.argmax(-1) == y).mean())})]
    return run_check("accuracy from logits", fn, cases, _scalar, ref, slips)


def _adding_case(rng):
    n, T = size(rng, 2, 5), size(rng, 4, 9)
    values = rng.random((n, T))
    markers = np.zeros((n, T))
    for k in range(n):
        markers[k, rng.choice(T, 2, replace=False)] = 1.0
    return (np.stack([values, markers], -1),)


@grading_check
def check_adding_targets(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``adding_targets(x) -> y``: y[k] = sum_t x[k, t, 0] * x[k, t, 1]."""
    rng = make_rng(seed)
    cases = [_adding_case(rng) for _ in range(4)]
    ref = lambda x: {"y": (x[..., 0] * x[..., 1]).sum(1)}
    slips = [("you summed every value: only the two marked values (marker = 1) count",
              lambda x: {"y": x[..., 0].sum(1)}),
             ("you summed over the batch instead of over time: sum over axis 1 (T)",
              lambda x: {"y": (x[..., 0] * x[..., 1]).sum(0)} if x.shape[0] == x.shape[1] else None),
             ("you multiplied the two marked values: the task adds them",
              lambda x: {"y": np.prod(np.where(x[..., 1] > 0, x[..., 0], 1.0), axis=1)})]
    return run_check("adding-problem targets", fn, cases, single("y"), ref, slips)


def _jac(h, W, *, deriv=True, order="right", transpose=False):
    H = W.shape[0]
    Wm = W.T if transpose else W
    J = np.eye(H)
    for t in range(len(h)):
        Jt = (np.diag(1 - h[t] ** 2) if deriv else np.eye(H)) @ Wm
        J = Jt @ J if order == "right" else J @ Jt
    return J


@grading_check
def check_jacobian_chain(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``jacobian_chain(h, W)``: d h_T / d h_0 = J_T ... J_1, J_t = diag(1 - h_t^2) W."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, H = size(rng, 2, 6), size(rng, 2, 5)
        cases.append((np.tanh(rng.normal(0, 1, (T, H))), rng.normal(0, 0.8, (H, H))))
    ref = lambda h, W: {"J": _jac(h, W)}
    slips = [("the tanh derivative is missing: each step's Jacobian is diag(1 - h_t^2) W",
              lambda h, W: {"J": _jac(h, W, deriv=False)}),
             ("the product is in the wrong order: the latest step's Jacobian goes on the left, "
              "J = J_T ... J_2 J_1", lambda h, W: {"J": _jac(h, W, order="left")}),
             ("W is transposed: d h_t / d h_{t-1} = diag(1 - h_t^2) W (row i: unit i of h_t)",
              lambda h, W: {"J": _jac(h, W, transpose=True)})]
    return run_check("vanilla RNN Jacobian chain", fn, cases, single("J"), ref, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _jacobian_chain(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = np.diag(1 - h_t ** 2) @ W @ J
    return J


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_accuracy_from_logits, lambda lo, y: float((lo.argmax(-1) == y).mean()),
             (Wrong(lambda lo, y: float((lo.argmax(-1) == y).sum()), "divide by the batch"),)),
    Exercise(check_adding_targets, lambda x: (x[..., 0] * x[..., 1]).sum(1),
             (Wrong(lambda x: x[..., 0].sum(1), "only the two marked"),)),
    Exercise(check_jacobian_chain, _jacobian_chain,
             (Wrong(lambda h, W: np.linalg.matrix_power(W, len(h)), "tanh derivative"),)),
)
