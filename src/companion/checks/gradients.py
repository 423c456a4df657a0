"""Checks for the exercises of "Why naive RNNs forget" (vanishing and exploding gradients).

Signatures the exercises ask for:

* ``step_jacobian(h_t, W) -> J_t`` (H, H): the Jacobian dh(t)/dh(t-1) of the vanilla RNN
  h(t) = tanh(b + W h(t-1) + U x(t)), which is diag(1 - h(t)^2) W; h_t of shape (H,).
* ``linear_grad_norms(W, g, n) -> norms`` (n + 1,): for the linear RNN h(t) = W h(t-1) + U x(t)
  and dL/dh(T) = g, the norms ||dL/dh(T - k)|| = ||(W^T)^k g|| for k = 0, 1, ..., n.
* ``clip_grad_norm(grads, max_norm) -> (clipped, total_norm)``: gradient norm clipping over a
  dict of arrays, as ``torch.nn.utils.clip_grad_norm_``: total_norm = sqrt(sum of every squared
  entry of every array); every array is multiplied by min(1, max_norm / (total_norm + 1e-6)).

The references are companion's own: the Jacobian is built column by column from
:func:`companion.rnn_step_backward` (row j of J is the gradient of h(t)_j), the norms from
repeated products, the clipping from the definition above (which ``tests/test_checks_gradients.py``
proves equal to torch's). The driver is :mod:`companion.checks.core`.
"""
from __future__ import annotations

import numpy as np

from .. import cells, optim
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    make_rng,
    registry,
    rnn_weights,
    run_check,
    single,
    size,
    torch_function,
)

__all__ = ["check_step_jacobian", "check_linear_grad_norms", "check_clip_grad_norm",
           "reference_clip_grad_norm", "CHECKS"]

EPS = 1e-6   # torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing


# --------------------------------------------------------------------------- Jacobian of one step

def _jacobian_case(rng):
    H, D = size(rng, 3, 7), size(rng, 2, 5)
    x, h_prev = rng.normal(0, 1, D), rng.normal(0, 0.5, H)
    w = rnn_weights(rng, D, H)
    step = cells.rnn_step(x, h_prev, w["U"], w["W"], w["b"])
    # the student gets h_t and W; the reference differentiates the step behind them
    return Case((step.h_t, w["W"]), hidden=(x, h_prev, w["U"], w["b"]))


def _jacobian_ref(h_t, W, x, h_prev, U, b):
    """Row j of dh(t)/dh(t-1) is dL/dh(t-1) for L = h(t)_j: one backward step per row."""
    step = cells.rnn_step(x, h_prev, U, W, b)
    H = h_t.shape[0]
    rows = [cells.rnn_step_backward(np.eye(H)[j], x, h_prev, step, U, W)["dh_prev"] for j in range(H)]
    return {"J_t": np.stack(rows)}


@grading_check
def check_step_jacobian(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``step_jacobian(h_t, W) -> J_t = diag(1 - h_t^2) W``, the Jacobian dh(t)/dh(t-1)."""
    rng = make_rng(seed)
    cases = [_jacobian_case(rng) for _ in range(4)]
    deriv = lambda h: 1 - h ** 2

    slips = [("the derivative scales the columns instead of the rows: diag(1 - h^2) W multiplies "
              "row i of W by 1 - h(t)_i (W * d[:, None]), not column j (W * d[None, :] is W diag(...))",
              lambda h, W, *r: {"J_t": W * deriv(h)[None, :]}),
             ("W is transposed: dh(t)_i/dh(t-1)_j = (1 - h(t)_i^2) W_ij, so row i of J comes from row i "
              "of W (W^T appears only when the gradient is carried backward, as J^T)",
              lambda h, W, *r: {"J_t": deriv(h)[:, None] * W.T}),
             ("the tanh derivative is missing: J = diag(1 - h(t)^2) W, not W",
              lambda h, W, *r: {"J_t": W}),
             ("tanh'(a) = 1 - tanh(a)^2 = 1 - h(t)^2, not 1 - h(t)",
              lambda h, W, *r: {"J_t": (1 - h)[:, None] * W}),
             ("h_t is already tanh(a(t)): the derivative is 1 - h_t^2, not 1 - tanh(h_t)^2",
              lambda h, W, *r: {"J_t": (1 - np.tanh(h) ** 2)[:, None] * W})]
    return run_check("Jacobian of one RNN step", fn, cases, single("J_t"), _jacobian_ref, slips)


# --------------------------------------------------------------------------- norms in the linear RNN

def _norms_case(rng):
    H = size(rng, 3, 7)
    W = rng.normal(0, 1.0, (H, H)) / np.sqrt(H) * rng.uniform(0.6, 1.4)
    W = W + np.triu(rng.normal(0, 0.8, (H, H)), 1)      # clearly non-normal: W and W^T differ
    return (W, rng.normal(0, 1, H), size(rng, 4, 12))


def _norms_ref(W, g, n):
    norms, d = [np.linalg.norm(g)], g.copy()
    for _ in range(n):
        d = W.T @ d
        norms.append(np.linalg.norm(d))
    return {"norms": np.array(norms)}


def _powers(M, g, n):
    out, d = [np.linalg.norm(g)], g.copy()
    for _ in range(n):
        d = M @ d
        out.append(np.linalg.norm(d))
    return np.array(out)


@grading_check
def check_linear_grad_norms(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``linear_grad_norms(W, g, n)`` = [||(W^T)^k g|| for k = 0..n]."""
    rng = make_rng(seed)
    cases = [_norms_case(rng) for _ in range(4)]
    k = lambda n: np.arange(n + 1)
    slips = [("the gradient travels backward through W^T, not W: dL/dh(t-1) = W^T dL/dh(t)",
              lambda W, g, n: {"norms": _powers(W, g, n)}),
             ("rho(W)^k ||g|| (the spectral radius) is only the long-run growth rate, not the norm "
              "at each distance: multiply the vector by W^T k times",
              lambda W, g, n: {"norms": np.max(np.abs(np.linalg.eigvals(W))) ** k(n) * np.linalg.norm(g)}),
             ("||W||_2^k ||g|| is an upper bound, not the norm itself: multiply the vector by W^T k times",
              lambda W, g, n: {"norms": np.linalg.norm(W, 2) ** k(n) * np.linalg.norm(g)}),
             ("start at k = 0: norms[0] is ||g|| itself (distance 0), and there are n + 1 values",
              lambda W, g, n: {"norms": np.append(_norms_ref(W, g, n)["norms"][1:],
                                                  np.linalg.norm(np.linalg.matrix_power(W.T, n + 1) @ g))})]
    return run_check("gradient norms of the linear RNN", fn, cases, single("norms"), _norms_ref, slips)


# --------------------------------------------------------------------------- gradient clipping

def reference_clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """The clipping of ``torch.nn.utils.clip_grad_norm_`` on a dict of numpy arrays (new arrays)."""
    total = float(np.sqrt(sum(float((g ** 2).sum()) for g in grads.values())))
    scale = min(1.0, max_norm / (total + EPS))
    return {k: g * scale for k, g in grads.items()}, total


def _clip_case(rng, active):
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "V", "c"]
    H = size(rng, 2, 5)
    shapes = {"weight_ih_l0": (H, size(rng, 1, 4)), "weight_hh_l0": (H, H), "bias_ih_l0": (H,),
              "bias_hh_l0": (H,), "V": (size(rng, 2, 4), H), "c": (2,)}
    keep = names[:size(rng, 3, 7)]
    grads = {k: rng.normal(0, 1, shapes[k]) for k in keep}
    grads[keep[0]] = grads[keep[0]] * 5.0       # one tensor dominates, so per-tensor clipping differs
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    max_norm = float(total * (rng.uniform(0.1, 0.5) if active else rng.uniform(1.5, 3.0)))
    return (grads, max_norm)


def _clip_ref(grads, max_norm):
    clipped, total = reference_clip_grad_norm(grads, max_norm)
    return {"total_norm": np.array(total), **{f"clipped[{k!r}]": v for k, v in clipped.items()}}


def _clip_slip(scale_fn):
    def slip(grads, max_norm):
        return {f"clipped[{k!r}]": v for k, v in scale_fn(grads, max_norm).items()}
    return slip


def _per_tensor(grads, max_norm, eps=EPS):
    return {k: g * min(1.0, max_norm / (np.linalg.norm(g) + eps)) for k, g in grads.items()}


def _always(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    return {k: g * max_norm / total for k, g in grads.items()}


def _no_sqrt(grads, max_norm):
    sq = sum((g ** 2).sum() for g in grads.values())
    return {k: g * min(1.0, max_norm / sq) for k, g in grads.items()}


def _sum_of_norms(grads, max_norm):
    s = sum(np.linalg.norm(g) for g in grads.values())
    return {k: g * min(1.0, max_norm / s) for k, g in grads.items()}


def _divide_only(grads, max_norm):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    return {k: g / total if total > max_norm else g for k, g in grads.items()}


@grading_check
def check_clip_grad_norm(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``clip_grad_norm(grads, max_norm) -> (clipped, total_norm)`` (global norm clipping)."""
    rng = make_rng(seed)
    cases = [_clip_case(rng, True), _clip_case(rng, False), _clip_case(rng, True), _clip_case(rng, False)]

    def unpack(r, case):
        if not isinstance(r, (tuple, list)) or len(r) != 2 or not isinstance(r[0], dict):
            raise ValueError(f"expected a tuple (clipped dict, total_norm), got {type(r).__name__}")
        missing = set(case.args[0]) - set(r[0])
        if missing:
            raise ValueError(f"the clipped dict lacks the key(s) {sorted(missing)}: return every gradient")
        return {"total_norm": np.asarray(r[1], dtype=float),
                **{f"clipped[{k!r}]": v for k, v in r[0].items()}}

    per_tensor = ("each array was clipped by its own norm: clipping uses ONE global norm, "
                  "sqrt(sum over all arrays of their squared entries), and one scale for all arrays, "
                  "so the direction of the whole gradient is kept")
    # with or without torch's 1e-6: on a small array's norm the two differ by more than the tolerance
    slips = [(per_tensor, _clip_slip(_per_tensor)),
             (per_tensor, _clip_slip(lambda grads, max_norm: _per_tensor(grads, max_norm, eps=0.0))),
             ("the gradient was rescaled although its norm was below max_norm: the scale is "
              "min(1, max_norm / total_norm), so small gradients are left unchanged", _clip_slip(_always)),
             ("the norm is the square root of the sum of squares: you divided by the sum of squares",
              _clip_slip(_no_sqrt)),
             ("the global norm is sqrt(sum of squared entries of all arrays), not the sum of the "
              "arrays' norms", _clip_slip(_sum_of_norms)),
             ("dividing by the norm alone gives length 1: multiply by max_norm / total_norm so the "
              "clipped gradient has length max_norm", _clip_slip(_divide_only))]
    return run_check("gradient norm clipping", fn, cases, unpack, _clip_ref, slips,
                     forbid=(optim.clip_grad_norm, torch_function("nn.utils.clip_grad_norm_")))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _linear_grad_norms(W, g, n):
    out, d = [np.linalg.norm(g)], g
    for _ in range(n):
        d = W.T @ d
        out.append(np.linalg.norm(d))
    return np.array(out)


def _clip(grads, max_norm, per_tensor=False):
    total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
    if per_tensor:
        return {k: g * min(1.0, max_norm / np.linalg.norm(g)) for k, g in grads.items()}, total
    return {k: g * min(1.0, max_norm / (total + 1e-6)) for k, g in grads.items()}, total


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_step_jacobian, lambda h, W: (1 - h ** 2)[:, None] * W,
             (Wrong(lambda h, W: W * (1 - h ** 2)[None, :], "scales the columns instead of the rows"),)),
    Exercise(check_linear_grad_norms, _linear_grad_norms,
             (Wrong(lambda W, g, n: _linear_grad_norms(W.T, g, n), "through W^T, not W"),)),
    Exercise(check_clip_grad_norm, _clip,
             (Wrong(lambda G, m: _clip(G, m, per_tensor=True), "clipped by its own norm"),)),
)
