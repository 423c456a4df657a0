"""Checks for the backpropagation-through-time exercises of "The vanilla RNN".

Signatures the exercises ask for (row vectors: one example (H,) or a batch (B, H)):

* ``output_grad(o_t, y_t) -> dL/do(t)`` for the cross-entropy L = -log y_hat(t)[y(t)]:
  softmax(o(t)) - onehot(y(t)); o_t (K,) or (B, K), y_t an int or (B,) ints.
* ``rnn_backward_step(dh_t, h_t, W) -> (da_t, dh_prev)``: one step of BPTT through
  h(t) = tanh(a(t)), a(t) = b + W h(t-1) + U x(t):
  dL/da(t) = dL/dh(t) * (1 - h(t)^2) and dL/dh(t-1) = W^T dL/da(t) (``da_t @ W`` for rows).

Both are compared with companion: :meth:`companion.OutputHead.loss` and
:func:`companion.rnn_step_backward` (the driver is :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import softmax
from ..head import OutputHead
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
    tuple_of,
)

__all__ = ["check_output_grad", "check_rnn_backward_step", "CHECKS"]


def _onehot(y, K):
    return np.eye(K)[np.asarray(y)]


# --------------------------------------------------------------------------- dL/do

def _output_case(rng, B):
    K = int(rng.integers(3, 7))
    if B is None:
        return (rng.normal(0, 2.0, K), int(rng.integers(0, K)))
    return (rng.normal(0, 2.0, (B, K)), rng.integers(0, K, size=B))


def _output_ref(o, y):
    K = o.shape[-1]
    head = OutputHead(1, K)          # only its loss is used: dL/do for logits o and targets y
    _, d_o = head.loss(o.reshape(-1, K), np.asarray(y).reshape(-1))
    return {"dL_do": d_o.reshape(o.shape)}


@grading_check
def check_output_grad(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``output_grad(o_t, y_t)`` = softmax(o(t)) - onehot(y(t))."""
    rng = make_rng(seed)
    cases = [_output_case(rng, None), _output_case(rng, None), _output_case(rng, 3), _output_case(rng, 4)]
    slips = [("the sign is flipped: dL/do = y_hat - y, not y - y_hat (the loss is -log y_hat[y])",
              lambda o, y: {"dL_do": _onehot(y, o.shape[-1]) - softmax(o)}),
             ("apply the softmax first: dL/do = softmax(o) - y, not o - y",
              lambda o, y: {"dL_do": o - _onehot(y, o.shape[-1])}),
             ("subtract the one-hot target y: dL/do = y_hat - y", lambda o, y: {"dL_do": softmax(o)}),
             ("y_hat is missing: dL/do = y_hat - y", lambda o, y: {"dL_do": -_onehot(y, o.shape[-1])})]
    return run_check("dL/do of softmax and cross-entropy", fn, cases, single("dL_do"), _output_ref, slips)


# --------------------------------------------------------------------------- one BPTT step

def _backward_case(rng, B):
    D, H = (int(v) for v in rng.choice(np.arange(2, 6), size=2, replace=False))
    shape = lambda n: (n,) if B is None else (B, n)
    x, h_prev = rng.normal(0, 1, shape(D)), rng.normal(0, 0.5, shape(H))
    w = rnn_weights(rng, D, H)
    U, W, b = w["U"], w["W"], w["b"]
    step = cells.rnn_step(x, h_prev, U, W, b)
    dh = rng.normal(0, 1, shape(H))
    # the student sees dh_t, h_t, W; the rest is kept for the reference
    return Case((dh, step.h_t, W), hidden=(x, h_prev, U, b))


def _backward_ref(dh, h_t, W, x, h_prev, U, b):
    rows = [(dh, x, h_prev)] if dh.ndim == 1 else list(zip(dh, x, h_prev, strict=True))
    da, dhp = [], []
    for dh_r, x_r, h_r in rows:        # one example at a time: then db is exactly dL/da(t)
        g = cells.rnn_step_backward(dh_r, x_r, h_r, cells.rnn_step(x_r, h_r, U, W, b), U, W)
        da.append(g["db"])
        dhp.append(g["dh_prev"])
    if dh.ndim == 1:
        return {"da_t": da[0], "dh_prev": dhp[0]}
    return {"da_t": np.stack(da), "dh_prev": np.stack(dhp)}


def _b_slip(da_fn, dh_fn):
    def slip(dh, h_t, W, *rest):
        da = da_fn(dh, h_t)
        return {"da_t": da, "dh_prev": dh_fn(da, dh, W)}
    return slip


_TANH = lambda dh, h: dh * (1 - h ** 2)
_RIGHT_DH = lambda da, dh, W: da @ W


@grading_check
def check_rnn_backward_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_backward_step(dh_t, h_t, W) -> (da_t, dh_prev)`` against companion.rnn_step_backward."""
    rng = make_rng(seed)
    cases = [_backward_case(rng, None), _backward_case(rng, None), _backward_case(rng, 3),
             _backward_case(rng, 2)]
    slips = [("dh_prev: for row vectors W^T dL/da(t) is da_t @ W, not da_t @ W.T",
              _b_slip(_TANH, lambda da, dh, W: da @ W.T)),
             ("the tanh derivative is missing: dL/da(t) = dL/dh(t) * (1 - h(t)^2)",
              _b_slip(lambda dh, h: dh, _RIGHT_DH)),
             ("tanh'(a) = 1 - tanh(a)^2 = 1 - h(t)^2, not 1 - h(t)",
              _b_slip(lambda dh, h: dh * (1 - h), _RIGHT_DH)),
             ("h(1 - h) is the sigmoid's derivative; tanh's is 1 - h(t)^2",
              _b_slip(lambda dh, h: dh * h * (1 - h), _RIGHT_DH)),
             ("dh_prev must pass through the tanh: it is W^T dL/da(t), not W^T dL/dh(t)",
              _b_slip(_TANH, lambda da, dh, W: dh @ W))]
    return run_check("one BPTT step of the vanilla RNN", fn, cases, tuple_of("da_t", "dh_prev"), _backward_ref,
                     slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _output_grad(o, y):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    d = e / e.sum(axis=-1, keepdims=True)
    return d - np.eye(o.shape[-1])[np.asarray(y)]


def _backward(dh, h, W):
    da = dh * (1 - h ** 2)
    return da, da @ W


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_output_grad, _output_grad, (Wrong(lambda o, y: -_output_grad(o, y), "sign is flipped"),)),
    Exercise(check_rnn_backward_step, _backward,
             (Wrong(lambda dh, h, W: (dh, dh @ W), "tanh derivative is missing"),
              Wrong(lambda dh, h, W: (dh * (1 - h ** 2), (dh * (1 - h ** 2)) @ W.T), "not da_t @ W.T"))),
)
