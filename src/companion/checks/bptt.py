"""Checks for the backpropagation-through-time exercises of "The vanilla RNN".

Signatures the exercises ask for (row vectors: one example (n,) or a batch (B, n)):

* ``output_grad(o_t, y_t) -> dL/do(t)`` for the cross-entropy L = -log y_hat(t)[y(t)]:
  softmax(o(t)) - onehot(y(t)); o_t (K,) or (B, K), y_t an int or (B,) ints.
* ``rnn_backward_step(dh_t, h_t, W) -> (da_t, dh_prev)``: one step of BPTT through
  h(t) = tanh(a(t)), a(t) = b + W h(t-1) + U x(t):
  dL/da(t) = dL/dh(t) * (1 - h(t)^2) and dL/dh(t-1) = W^T dL/da(t) (``da_t @ W`` for rows).
* ``rnn_bptt(x, y, h0, U, W, b, V, c) -> (dU, dW, db, dV, dc, dh0)``: full BPTT over a batch
  of sequences, x (T, B, D), y (T, B) classes, h0 (B, H), for
  L = sum over t and over the sequences of -log y_hat(t)[y(t)], slide 5's network
  (o(t) = c + V h(t), y_hat(t) = softmax(o(t))). Its reference, :func:`reference_bptt`, is
  central finite differences of L (float64, fourth order): it rests on no analytic gradient,
  companion's or this module's.
* ``leaky_backward_step(dh_t, x_t, h_prev, U, W, b, alpha) -> (da_t, dh_prev)``: the backward
  of a step the chapter does not derive, the leaky RNN
  h(t) = (1 - alpha) h(t-1) + alpha tanh(a(t)); reference :func:`reference_leaky_step_backward`.

While the student's function runs, the functions that already do its job are unavailable
(``forbid`` of :func:`companion.checks.core.run_check`); companion's *methods* that do it
(``RNN.backward``, ``OutputHead.loss`` and ``OutputHead.backward``) are replaced on their
classes for the duration of the check (:func:`forbidding_methods`). torch's autograd
(``torch.autograd.grad``, ``torch.autograd.backward``, through which ``Tensor.backward`` runs)
is refused in every check here.
"""
from __future__ import annotations

import numpy as np

from .. import bptt as truncation
from .. import cells, gradcheck, numpy_training
from ..activations import softmax
from ..head import OutputHead
from ..layers import RNN
from .core import (
    ATOL,
    RTOL,
    Answer,
    Case,
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
    rnn_weights,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
    vec,
)

__all__ = ["check_output_grad", "check_rnn_backward_step", "check_rnn_bptt", "check_leaky_backward_step",
           "reference_output_grad", "reference_bptt", "numerical_bptt", "reference_leaky_step_backward",
           "forbidding_methods", "method_functions", "CHECKS"]


def _onehot(y, K):
    return np.eye(K)[np.asarray(y)]


def _autograd():
    """torch's automatic differentiation (None where torch is not imported): ``Tensor.backward``
    calls ``torch.autograd.backward``, so refusing that refuses ``loss.backward()`` too."""
    return (torch_function("autograd.grad"), torch_function("autograd.backward"),
            torch_function("Tensor.backward"))


# --------------------------------------------------------------------------- methods, forbidden

#: companion's methods that compute a gradient: (module, class, method, the name a student knows)
BACKWARD_METHODS = (("companion.layers", "_Recurrent", "backward", "companion.RNN.backward"),
                    ("companion.head", "OutputHead", "backward", "companion.OutputHead.backward"),
                    ("companion.head", "OutputHead", "loss", "companion.OutputHead.loss"))


# --------------------------------------------------------------------------- dL/do

def reference_output_grad(o, y):
    """The check's own answer to ``output_grad``: softmax(o) - onehot(y)."""
    return softmax(o) - _onehot(y, o.shape[-1])


def _output_case(rng, B):
    K = size(rng, 3, 7)
    if B is None:
        return (rng.normal(0, 2.0, K), int(rng.integers(0, K)))
    return (rng.normal(0, 2.0, (B, K)), rng.integers(0, K, size=B))


@grading_check
def check_output_grad(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``output_grad(o_t, y_t)`` = softmax(o(t)) - onehot(y(t))."""
    rng = make_rng(seed)
    cases = [_output_case(rng, None), _output_case(rng, None),
             _output_case(rng, size(rng, 2, 5)), _output_case(rng, size(rng, 2, 5))]
    slips = [("the sign is flipped: dL/do = y_hat - y, not y - y_hat (the loss is -log y_hat[y])",
              lambda o, y: {"dL_do": _onehot(y, o.shape[-1]) - softmax(o)}),
             ("apply the softmax first: dL/do = softmax(o) - y, not o - y",
              lambda o, y: {"dL_do": o - _onehot(y, o.shape[-1])}),
             ("subtract the one-hot target y: dL/do = y_hat - y", lambda o, y: {"dL_do": softmax(o)}),
             ("y_hat is missing: dL/do = y_hat - y", lambda o, y: {"dL_do": -_onehot(y, o.shape[-1])}),
             ("normalise the softmax over the classes of each row (the last axis), not over the whole batch",
              lambda o, y: {"dL_do": np.exp(o - o.max()) / np.exp(o - o.max()).sum() - _onehot(y, o.shape[-1])}
              if o.ndim == 2 else None)]
    ref = lambda o, y: {"dL_do": reference_output_grad(o, y)}
    methods = [m for m in BACKWARD_METHODS if m[1] == "OutputHead"]
    forbid = (reference_output_grad, *method_functions(methods), *_autograd())   # before the swap
    with forbidding_methods(fn, methods):
        return run_check("dL/do of softmax and cross-entropy", fn, cases, single("dL_do"), ref, slips,
                         forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- one BPTT step

def _backward_case(rng, B):
    D, H = size(rng, 2, 6), size(rng, 2, 6)
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
    cases = [_backward_case(rng, None), _backward_case(rng, None), _backward_case(rng, size(rng, 2, 5)),
             _backward_case(rng, size(rng, 2, 5))]
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
    methods = [m for m in BACKWARD_METHODS if m[1] == "_Recurrent"]
    forbid = (cells.rnn_step_backward, *method_functions(methods), *_autograd())   # before the swap
    with forbidding_methods(fn, methods):
        return run_check("one BPTT step of the vanilla RNN", fn, cases, tuple_of("da_t", "dh_prev"),
                         _backward_ref, slips, forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- BPTT over a whole sequence

BPTT_OUTPUTS = ("dU", "dW", "db", "dV", "dc", "dh0")
#: the step of the central differences. The fourth-order stencil of :func:`reference_bptt` errs
#: by O(eps^4) and rounding adds about 1e-16 L / eps: measured over 120 cases of both the visible
#: and the hidden sizes, at most 1% of the comparison's tolerance (rtol 1e-6, atol 1e-8), where
#: the two-point difference (L(+eps) - L(-eps)) / (2 eps) came up to 87% of it (eps = 1e-5).
FD_EPS = 1e-4


def _losses(x, y, h0, U, W, b, V, c):
    """L = sum over t and over the sequences of -log softmax(o(t))[y(t)], for N sets of
    parameters at once: each argument after y has a leading axis of N or 1 (numpy broadcasts it)."""
    h, L = h0, 0.0
    rows = np.arange(x.shape[1])
    for t in range(x.shape[0]):
        h = np.tanh(b[:, None, :] + h @ np.swapaxes(W, -1, -2) + x[t] @ np.swapaxes(U, -1, -2))  # (N, B, H)
        o = c[:, None, :] + h @ np.swapaxes(V, -1, -2)                                          # (N, B, K)
        m = o.max(axis=-1, keepdims=True)
        lse = (m + np.log(np.exp(o - m).sum(axis=-1, keepdims=True)))[..., 0]                   # (N, B)
        L = L + (lse - o[:, rows, y[t]]).sum(axis=-1)
    return L


def numerical_bptt(x, y, h0, U, W, b, V, c):
    """Every entry of every gradient by central differences of L (float64), the fourth-order
    stencil

        dL/dtheta_i ~ (8 (L(+eps) - L(-eps)) - (L(+2 eps) - L(-2 eps))) / (12 eps),

    L(d) being L with theta_i moved by d. All entries of one array are moved at once (one
    forward pass over N copies of the parameters). No analytic gradient is involved."""
    params = {"U": U, "W": W, "b": b, "V": V, "c": c, "h0": h0}
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    out = {}
    for name, p in params.items():
        unit = np.eye(p.size).reshape(p.size, *p.shape)      # one copy per entry, that entry moved
        L = {d: _losses_moved(x, y, params, name, d * unit) for d in (-2, -1, 1, 2)}
        g = (8 * (L[1] - L[-1]) - (L[2] - L[-2])) / (12 * FD_EPS)
        out["d" + name] = g.reshape(p.shape)
    return out


def reference_bptt(x, y, h0, U, W, b, V, c):
    """The check's own answer to ``rnn_bptt``: the chain rule over the unrolled graph (the
    analytic BPTT of this module), confirmed on every case by :func:`numerical_bptt`, finite
    differences that rest on no analytic gradient (to rtol 1e-6, atol 1e-8). A student's answer
    is compared with the analytic values to rtol 1e-9, which a numerical derivative does not reach."""
    exact = _bptt(x, y, h0, U, W, b, V, c)
    numerical = numerical_bptt(x, y, h0, U, W, b, V, c)
    for k, v in exact.items():
        if not np.allclose(v, numerical[k], rtol=RTOL, atol=ATOL):
            raise RuntimeError(f"reference_bptt: the analytic {k} disagrees with finite differences")
    return exact


def _losses_moved(x, y, params, name, moves):
    """L for copies of the parameters in which ``params[name]`` is moved by each of ``moves``."""
    args = {k: v[None] for k, v in params.items()}
    args[name] = params[name][None] + FD_EPS * moves
    return _losses(x, y, args["h0"], args["U"], args["W"], args["b"], args["V"], args["c"])


def _bptt(x, y, h0, U, W, b, V, c, slip=None):
    """The analytic BPTT; with ``slip``, with one named mistake: what the hints recognise."""
    T, B = y.shape
    hs = [np.zeros_like(h0) if slip == "h0 zero" else h0]
    for t in range(T):
        hs.append(np.tanh(b + hs[-1] @ W.T + x[t] @ U.T))
    g = dict.fromkeys(("U", "W", "b", "V", "c"), 0.0)
    da_next = np.zeros_like(h0)
    terms = {}
    for t in reversed(range(T)):
        do = softmax(hs[t + 1] @ V.T + c) - _onehot(y[t], V.shape[0])
        if slip == "sign":
            do = -do
        if slip == "mean":
            do = do / B
        carried = 0.0 if slip == "carry" else da_next @ (W.T if slip == "carry W.T" else W)
        dh = do @ V + carried
        h = hs[t + 1]
        da = dh if slip == "no tanh'" else dh * (h * (1 - h) if slip == "sigmoid'" else 1 - h ** 2)
        h_in = hs[t + 1] if slip == "W with h(t)" else hs[t]
        terms[t] = {"U": da.T @ x[t], "W": da.T @ h_in, "b": da.sum(0), "V": do.T @ h, "c": do.sum(0)}
        for k in g:
            g[k] = g[k] + terms[t][k]
        da_next = da
    if slip == "last only":
        g = terms[T - 1]
    if slip == "overwrite":
        g = terms[0]
    dh0 = da_next if slip == "dh0 = da(1)" else da_next @ W
    return {"dU": g["U"], "dW": g["W"], "db": g["b"], "dV": g["V"], "dc": g["c"], "dh0": dh0}


def _bptt_slip(slip, keys=BPTT_OUTPUTS, when=lambda x, *rest: True, transform=None):
    def wrong(x, y, h0, U, W, b, V, c):
        if not when(x, y, h0, U, W, b, V, c):
            return None
        out = _bptt(x, y, h0, U, W, b, V, c, slip)
        if transform is not None:
            out = {k: transform(v) for k, v in out.items()}
        return {k: out[k] for k in keys}
    return wrong


def _bptt_case(rng, B):
    T, D, H, K = size(rng, 2, 6), size(rng, 2, 5), size(rng, 2, 5), size(rng, 2, 5)
    w = rnn_weights(rng, D, H)
    V, c = rng.normal(0, 0.7, (K, H)), rng.normal(0, 0.3, K)
    x, y, h0 = rng.normal(0, 1, (T, B, D)), rng.integers(0, K, size=(T, B)), rng.normal(0, 0.5, (B, H))
    return Case((x, y, h0, w["U"], w["W"], w["b"], V, c))


_RNN_FORBID = lambda: (reference_bptt, cells.rnn_step_backward, numpy_training.forward_backward,
                       truncation.truncated_bptt, gradcheck.numerical_grad, gradcheck.check_layer_grads,
                       *method_functions(BACKWARD_METHODS), *_autograd())


@grading_check
def check_rnn_bptt(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``rnn_bptt(x, y, h0, U, W, b, V, c) -> (dU, dW, db, dV, dc, dh0)``, full BPTT over a
    batch of sequences (x (T, B, D), y (T, B), h0 (B, H)), against central finite differences of
    L = sum over t and over the sequences of -log y_hat(t)[y(t)] on random sizes."""
    rng = make_rng(seed)
    cases = [_bptt_case(rng, 1), _bptt_case(rng, size(rng, 2, 4)), _bptt_case(rng, size(rng, 2, 4))]
    several = lambda x, *rest: x.shape[1] > 1
    slips = [("dL/dh(t) has two terms (step 2): V^T dL/do(t) and W^T dL/da(t+1), carried back from the step "
              "after; carry dL/da(t+1) from t = T down to 1", _bptt_slip("carry")),
             ("the carried term: for rows, W^T dL/da(t+1) is da_next @ W, not da_next @ W.T",
              _bptt_slip("carry W.T")),
             ("the tanh derivative is missing: dL/da(t) = dL/dh(t) * (1 - h(t)^2) (step 3)",
              _bptt_slip("no tanh'")),
             ("h(1 - h) is the sigmoid's derivative; tanh's is 1 - h(t)^2", _bptt_slip("sigmoid'")),
             ("dL/dW sums dL/da(t) h(t-1)^T: h(t-1), the state that entered step t, not h(t)",
              _bptt_slip("W with h(t)", keys=("dW",))),
             ("the weight gradients sum a term for every step t = 1..T (step 4), not the last step's only",
              _bptt_slip("last only", keys=("dU", "dW", "db", "dV", "dc"))),
             ("accumulate over the steps (dW += ..., as every weight gradient): dW = ... keeps only the "
              "term of step t = 1", _bptt_slip("overwrite", keys=("dU", "dW", "db", "dV", "dc"))),
             ("L sums over the sequences of the batch too: do not divide by B",
              _bptt_slip("mean", when=several)),
             ("the sign: dL/do(t) = y_hat(t) - onehot(y(t)), not onehot(y(t)) - y_hat(t)", _bptt_slip("sign")),
             ("start the forward pass from the given h0, not from zeros", _bptt_slip("h0 zero")),
             ("dL/dh(0) = W^T dL/da(1): after the loop, one more step back through W",
              _bptt_slip("dh0 = da(1)", keys=("dh0",)))]
    transposed = ("a weight gradient has the shape of its weight, entry (i, j) = sum over t of dL/da(t)_i "
                  "times input j: for rows da.T @ h_prev (H, H), da.T @ x_t (H, D), do.T @ h_t (K, H); "
                  "not the transpose")
    slips += [(transposed, _bptt_slip(None, keys=(k,), transform=np.transpose)) for k in ("dW", "dU", "dV")]
    forbid = _RNN_FORBID()                # the methods' functions, read before they are swapped out
    with forbidding_methods(fn, BACKWARD_METHODS):
        return run_check("backpropagation through time over whole sequences", fn, cases,
                         tuple_of(*BPTT_OUTPUTS), reference_bptt, slips, forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- transfer: a leaky RNN step

def reference_leaky_step_backward(dh_t, x_t, h_prev, U, W, b, alpha):
    """The check's own answer to ``leaky_backward_step``. With g(t) = tanh(a(t)) and
    h(t) = (1 - alpha) h(t-1) + alpha g(t): dL/da(t) = alpha dL/dh(t) * (1 - g(t)^2), and
    h(t-1) reaches h(t) directly and through a(t): dL/dh(t-1) = (1 - alpha) dL/dh(t) + W^T dL/da(t)."""
    g = np.tanh(b + h_prev @ W.T + x_t @ U.T)
    da = alpha * dh_t * (1 - g ** 2)
    return {"da_t": da, "dh_prev": (1 - alpha) * dh_t + da @ W}


def _leaky_case(rng, B):
    D, H = size(rng, 2, 5), size(rng, 2, 5)
    w = rnn_weights(rng, D, H)
    # alpha in (0, 1): never 1 (there the leaky step is the vanilla one) nor tiny (no tanh left)
    alpha = float(rng.uniform(0.55, 0.9) if hidden_cases() else rng.uniform(0.15, 0.5))
    return Case((vec(rng, B, H), vec(rng, B, D), vec(rng, B, H, 0.5), w["U"], w["W"], w["b"], alpha))


def _leaky_slip(da_fn, dh_fn):
    def slip(dh, x, h_prev, U, W, b, alpha):
        g = np.tanh(b + h_prev @ W.T + x @ U.T)
        h = (1 - alpha) * h_prev + alpha * g
        da = da_fn(dh, g, h, alpha)
        return {"da_t": da, "dh_prev": dh_fn(dh, da, W, alpha)}
    return slip


_L_DA = lambda dh, g, h, alpha: alpha * dh * (1 - g ** 2)
_L_DH = lambda dh, da, W, alpha: (1 - alpha) * dh + da @ W


@grading_check
def check_leaky_backward_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``leaky_backward_step(dh_t, x_t, h_prev, U, W, b, alpha) -> (da_t, dh_prev)`` for the
    leaky RNN h(t) = (1 - alpha) h(t-1) + alpha tanh(a(t)), a(t) = b + W h(t-1) + U x(t)."""
    rng = make_rng(seed)
    slips = [("that is the vanilla step's backward (alpha = 1): here h(t) = (1 - alpha) h(t-1) + alpha g(t)",
              _leaky_slip(lambda dh, g, h, alpha: dh * (1 - g ** 2), lambda dh, da, W, alpha: da @ W)),
             ("h(t-1) reaches h(t) along two paths, through a(t) and directly with the factor (1 - alpha): "
              "dL/dh(t-1) = (1 - alpha) dL/dh(t) + W^T dL/da(t)",
              _leaky_slip(_L_DA, lambda dh, da, W, alpha: da @ W)),
             ("the direct path carries the factor (1 - alpha) of h(t-1) in h(t), not alpha",
              _leaky_slip(_L_DA, lambda dh, da, W, alpha: alpha * dh + da @ W)),
             ("g(t) = tanh(a(t)) enters h(t) times alpha: dL/da(t) = alpha dL/dh(t) * (1 - g(t)^2)",
              _leaky_slip(lambda dh, g, h, alpha: dh * (1 - g ** 2), _L_DH)),
             ("tanh' belongs to g(t) = tanh(a(t)): 1 - g(t)^2, not 1 - h(t)^2 (the leaky h(t) is not tanh(a(t)))",
              _leaky_slip(lambda dh, g, h, alpha: alpha * dh * (1 - h ** 2), _L_DH)),
             ("the tanh derivative is missing: dL/da(t) = alpha dL/dh(t) * (1 - g(t)^2)",
              _leaky_slip(lambda dh, g, h, alpha: alpha * dh, _L_DH)),
             ("for row vectors W^T dL/da(t) is da_t @ W, not da_t @ W.T",
              _leaky_slip(_L_DA, lambda dh, da, W, alpha: (1 - alpha) * dh + da @ W.T))]
    ref = lambda *args: reference_leaky_step_backward(*args)
    methods = [m for m in BACKWARD_METHODS if m[1] == "_Recurrent"]
    forbid = (reference_leaky_step_backward, cells.rnn_step_backward, *method_functions(methods),
              *_autograd())                                                      # before the swap
    with forbidding_methods(fn, methods):
        return run_check("the backward of a leaky RNN step", fn, batches(rng, _leaky_case),
                         tuple_of("da_t", "dh_prev"), ref, slips, forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _output_grad(o, y):
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    d = e / e.sum(axis=-1, keepdims=True)
    return d - np.eye(o.shape[-1])[np.asarray(y)]


def _backward(dh, h, W):
    da = dh * (1 - h ** 2)
    return da, da @ W


def _rnn_bptt(x, y, h0, U, W, b, V, c, carry=True, dW_state_shift=0):
    T, B, _ = x.shape
    h = [h0]                                          # h[t] is h(t)
    for t in range(T):
        h.append(np.tanh(b + h[t] @ W.T + x[t] @ U.T))
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
    dV, dc = np.zeros_like(V), np.zeros_like(c)
    da_next = np.zeros_like(h0)
    for t in range(T, 0, -1):
        do = _output_grad(c + h[t] @ V.T, y[t - 1])   # (B, K)
        dh = do @ V + (da_next @ W if carry else 0)
        da = dh * (1 - h[t] ** 2)
        dV += do.T @ h[t]
        dc += do.sum(axis=0)
        dW += da.T @ h[t - 1 + dW_state_shift]          # h(t-1)
        dU += da.T @ x[t - 1]
        db += da.sum(axis=0)
        da_next = da
    return dU, dW, db, dV, dc, da_next @ W


def _copy_bptt(x, y, h0, U, W, b, V, c):
    """companion's layer and head do the work: refused."""
    T, B, D = x.shape
    H, K = W.shape[0], V.shape[0]
    rnn, head = RNN(D, H), OutputHead(H, K)
    rnn.params.update(weight_ih_l0=U.copy(), weight_hh_l0=W.copy(), bias_ih_l0=b.copy(), bias_hh_l0=0 * b)
    head.params.update(V=V.copy(), c=c.copy())
    out, _ = rnn(x, h0[None])
    o, _ = head(out)
    _, d_o = head.loss(o, y)
    rnn.backward(head.backward(d_o * B))
    g = rnn.grads
    return g["weight_ih_l0"], g["weight_hh_l0"], g["bias_ih_l0"], head.grads["V"], head.grads["c"], None


def _copy_output_grad(o, y):
    K = o.shape[-1]
    _, d_o = OutputHead(1, K).loss(o.reshape(1, -1, K), np.asarray(y).reshape(1, -1))
    return d_o.reshape(o.shape) * (1 if o.ndim == 1 else o.shape[0])


def _copy_backward(dh, h, W):
    x = np.zeros(h.shape[:-1] + (1,))
    step = cells.RNNStep(np.arctanh(h), h, None, None)
    g = cells.rnn_step_backward(dh, x, np.zeros_like(h), step, np.zeros((h.shape[-1], 1)), W)
    return g["db"], g["dh_prev"]


def _leaky(dh, x, h_prev, U, W, b, alpha):
    g = np.tanh(b + h_prev @ W.T + x @ U.T)
    da = alpha * dh * (1 - g ** 2)
    return da, (1 - alpha) * dh + da @ W


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_output_grad, _output_grad, (Wrong(lambda o, y: -_output_grad(o, y), "sign is flipped"),),
             chapter="02", kind="recall", points=2,
             skill="the error at the output, dL/do = softmax(o) - onehot(y), for one example or a batch",
             copying=_copy_output_grad),
    Exercise(check_rnn_backward_step, _backward,
             (Wrong(lambda dh, h, W: (dh, dh @ W), "tanh derivative is missing"),
              Wrong(lambda dh, h, W: (dh * (1 - h ** 2), (dh * (1 - h ** 2)) @ W.T), "not da_t @ W.T")),
             chapter="02", kind="apply", points=2,
             skill="one step back through the tanh and W, written for row vectors (steps 2 and 3 of BPTT)",
             copying=_copy_backward),
    Exercise(check_rnn_bptt, _rnn_bptt,
             (Wrong(lambda *a: _rnn_bptt(*a, carry=False), "carry dL/da(t+1)"),
              Wrong(lambda *a: _rnn_bptt(*a, dW_state_shift=1), "h(t-1), the state that entered step t")),
             chapter="02", kind="apply", points=4,
             skill="full BPTT over a batch of sequences: carry dL/da from t = T down to 1 and sum the "
                   "weight gradients over t",
             copying=_copy_bptt),
    Exercise(check_leaky_backward_step, _leaky,
             (Wrong(lambda dh, x, hp, U, W, b, al: (lambda da: (da, da @ W))(
                  al * dh * (1 - np.tanh(b + hp @ W.T + x @ U.T) ** 2)), "along two paths"),),
             chapter="02", kind="transfer", points=3,
             skill="derive the backward of a step the chapter did not: the leaky RNN, whose state reaches "
                   "the next step along two paths",
             copying=lambda *a: reference_leaky_step_backward(*a)),
)
