"""Checks for the backpropagation-through-time exercises of "The vanilla RNN".

Signatures the exercises ask for (row vectors: one example (H,) or a batch (B, H)):

* ``output_grad(o_t, y_t) -> dL/do(t)`` for the cross-entropy L = -log y_hat(t)[y(t)]:
  softmax(o(t)) - onehot(y(t)); o_t (K,) or (B, K), y_t an int or (B,) ints.
* ``rnn_backward_step(dh_t, h_t, W) -> (da_t, dh_prev)``: one step of BPTT through
  h(t) = tanh(a(t)), a(t) = b + W h(t-1) + U x(t):
  dL/da(t) = dL/dh(t) * (1 - h(t)^2) and dL/dh(t-1) = W^T dL/da(t) (``da_t @ W`` for rows).

Both are compared with companion: :meth:`companion.OutputHead.loss` and
:func:`companion.rnn_step_backward`.
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import softmax
from ..head import OutputHead
from . import run_check

__all__ = ["check_output_grad", "check_rnn_backward_step"]


def _fresh():
    return np.random.default_rng()


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


def check_output_grad(fn):
    """Check ``output_grad(o_t, y_t)`` = softmax(o(t)) - onehot(y(t))."""
    rng = _fresh()
    cases = [_output_case(rng, None), _output_case(rng, None), _output_case(rng, 3), _output_case(rng, 4)]
    slips = [("the sign is flipped: dL/do = y_hat - y, not y - y_hat (the loss is -log y_hat[y])",
              lambda o, y: {"dL_do": _onehot(y, o.shape[-1]) - softmax(o)}),
             ("apply the softmax first: dL/do = softmax(o) - y, not o - y",
              lambda o, y: {"dL_do": o - _onehot(y, o.shape[-1])}),
             ("subtract the one-hot target y: dL/do = y_hat - y", lambda o, y: {"dL_do": softmax(o)}),
             ("y_hat is missing: dL/do = y_hat - y", lambda o, y: {"dL_do": -_onehot(y, o.shape[-1])})]
    return run_check("dL/do of softmax and cross-entropy", fn, cases, lambda r: {"dL_do": r},
                     _output_ref, slips)


# --------------------------------------------------------------------------- one BPTT step

def _backward_case(rng, B):
    D, H = (int(v) for v in rng.choice(np.arange(2, 6), size=2, replace=False))
    shape = lambda n: (n,) if B is None else (B, n)
    x, h_prev = rng.normal(0, 1, shape(D)), rng.normal(0, 0.5, shape(H))
    U, W, b = rng.normal(0, 0.7, (H, D)), rng.normal(0, 0.7, (H, H)), rng.normal(0, 0.3, H)
    step = cells.rnn_step(x, h_prev, U, W, b)
    dh = rng.normal(0, 1, shape(H))
    # the student sees dh_t, h_t, W; the rest is kept for the reference
    return (dh, step.h_t, W, x, h_prev, U, b)


def _backward_ref(dh, h_t, W, x, h_prev, U, b):
    rows = [(dh, x, h_prev)] if dh.ndim == 1 else list(zip(dh, x, h_prev))
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


def check_rnn_backward_step(fn):
    """Check ``rnn_backward_step(dh_t, h_t, W) -> (da_t, dh_prev)`` against companion.rnn_step_backward."""
    rng = _fresh()
    cases = [_backward_case(rng, None), _backward_case(rng, None), _backward_case(rng, 3),
             _backward_case(rng, 2)]

    def unpack(r):
        if not isinstance(r, (tuple, list)) or len(r) != 2:
            raise ValueError(f"expected a tuple (da_t, dh_prev), got {type(r).__name__}")
        return {"da_t": r[0], "dh_prev": r[1]}

    if not callable(fn):
        return run_check("one BPTT step of the vanilla RNN", fn, cases, unpack, _backward_ref, [])

    def student(dh, h_t, W, *rest):
        return fn(dh, h_t, W)

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
    return run_check("one BPTT step of the vanilla RNN", student, cases, unpack, _backward_ref, slips)
