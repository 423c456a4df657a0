"""Checks for the exercises of "Why naive RNNs forget" (vanishing and exploding gradients).

Signatures the exercises ask for:

* ``step_jacobian(h_t, W) -> J_t`` (H, H): the Jacobian dh(t)/dh(t-1) of the vanilla RNN
  h(t) = tanh(b + W h(t-1) + U x(t)), which is diag(1 - h(t)^2) W; h_t of shape (H,).
* ``linear_grad_norms(W, g, n) -> norms`` (n + 1,): for the linear RNN h(t) = W h(t-1) + U x(t)
  and dL/dh(T) = g, the norms ||dL/dh(T - k)|| = ||(W^T)^k g|| for k = 0, 1, ..., n, on
  matrices W that are not rho Q (where rho^k ||g|| is not the answer).
* ``clip_grad_norm(grads, max_norm) -> (clipped, total_norm)``: gradient norm clipping over a
  dict of arrays, as ``torch.nn.utils.clip_grad_norm_``: total_norm = sqrt(sum of every squared
  entry of every array); every array is multiplied by min(1, max_norm / (total_norm + 1e-6)).
* ``relu_jacobian_product(h, W) -> M`` (H, H), a transfer: for the ReLU RNN
  h(t) = relu(b + W h(t-1) + U x(t)), which the chapter does not derive, the Jacobian
  dh(T)/dh(0) = J_T ... J_1 with J_t = diag([h(t) > 0]) W, given the states h (T, H).
* ``measure(rhos, scale, Q, U, z, g) -> (factors, rho_star)``, an experiment: for each rho of the
  grid, the tanh RNN h(t) = tanh(rho Q h(t-1) + U x(t)), h(0) = 0, x = scale * z (T, D), L = g^T h(T);
  the per-step factor (||dL/dh(0)|| / ||g||)^(1/T), and the conclusion rho_star, the smallest rho
  of the grid whose factor is at least 1 (np.inf if none): where the gradient stops vanishing.

What each check compares with, and what it refuses (the answer may not call it): the Jacobian is
built column by column from :func:`companion.rnn_step_backward` (refused, as are
:func:`companion.gradcheck.numerical_grad` and torch's ``autograd.functional.jacobian``,
``func.jacrev``, ``func.jacfwd``); the norms, the ReLU product and the experiment's measurement
are this module's :func:`reference_linear_grad_norms`, :func:`reference_relu_jacobian_product` and
:func:`reference_vanishing_factors` (refused); the clipping is :func:`reference_clip_grad_norm`
(which ``tests/test_checks_gradients.py`` proves equal to torch's; refused with
:func:`companion.optim.clip_grad_norm`, :func:`companion.optim.global_norm` and torch's
``clip_grad_norm_``, ``clip_grad_norm`` and ``get_total_norm``). The driver is :mod:`companion.checks.core`.
"""
from __future__ import annotations

import numpy as np

from .. import cells, gradcheck, optim
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    hidden_cases,
    make_rng,
    registry,
    rnn_weights,
    run_check,
    single,
    size,
    torch_function,
)

__all__ = ["check_step_jacobian", "check_linear_grad_norms", "check_clip_grad_norm", "check_relu_jacobian_product",
           "check_vanishing_experiment", "reference_clip_grad_norm", "reference_linear_grad_norms",
           "reference_relu_jacobian_product", "reference_vanishing_factors", "CHECKS"]

EPS = 1e-6   # torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing


def _jacobian_tools():
    """What computes a Jacobian for the student: companion's finite differences, torch's autograd."""
    return (gradcheck.numerical_grad, torch_function("autograd.functional.jacobian"),
            torch_function("func.jacrev"), torch_function("func.jacfwd"))


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
    return run_check("Jacobian of one RNN step", fn, cases, single("J_t"), _jacobian_ref, slips,
                     forbid=(cells.rnn_step_backward, *_jacobian_tools()), analytic=True)


# --------------------------------------------------------------------------- norms in the linear RNN

def _norms_case(rng):
    H = size(rng, 3, 7)
    W = rng.normal(0, 1.0, (H, H)) / np.sqrt(H) * rng.uniform(0.6, 1.4)
    W = W + np.triu(rng.normal(0, 0.8, (H, H)), 1)      # clearly non-normal: W and W^T differ
    return (W, rng.normal(0, 1, H), size(rng, 4, 12))


def reference_linear_grad_norms(W: np.ndarray, g: np.ndarray, n: int) -> np.ndarray:
    """The check's own answer: [||(W^T)^k g|| for k = 0..n], the gradient carried back n steps."""
    norms, d = [np.linalg.norm(g)], g.copy()
    for _ in range(n):
        d = W.T @ d
        norms.append(np.linalg.norm(d))
    return np.array(norms)


def _norms_ref(W, g, n):
    return {"norms": reference_linear_grad_norms(W, g, n)}


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
    return run_check("gradient norms of the linear RNN", fn, cases, single("norms"), _norms_ref, slips,
                     forbid=(reference_linear_grad_norms,), analytic=True)


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
                     forbid=(reference_clip_grad_norm, optim.clip_grad_norm, optim.global_norm,
                             torch_function("nn.utils.clip_grad_norm_"), torch_function("nn.utils.clip_grad_norm"),
                             torch_function("nn.utils.get_total_norm")))


# --------------------------------------------------------------------------- transfer: the ReLU RNN

def reference_relu_jacobian_product(h: np.ndarray, W: np.ndarray) -> np.ndarray:
    """The check's own answer: dh(T)/dh(0) = J_T ... J_1 of the ReLU RNN h(t) = relu(a(t)), with
    J_t = diag([h(t) > 0]) W (relu'(a) = 1 where a > 0, that is where h > 0, else 0);
    h: the states h(1), ..., h(T), shape (T, H)."""
    M = np.eye(W.shape[0])
    for h_t in h:                                   # J_t on the left of the product so far
        M = ((h_t > 0)[:, None] * W) @ M
    return M


def _relu_states(rng, H, T):
    # a real ReLU RNN run: each step has some units active and some not (redrawn otherwise)
    while True:
        W, U, b = rng.normal(0, 1.2 / np.sqrt(H), (H, H)), rng.normal(0, 1, (H, 2)), rng.normal(0, 0.3, H)
        h, hs = rng.normal(0, 0.5, H).clip(0), []
        for _ in range(T):
            h = np.maximum(b + W @ h + U @ rng.normal(0, 1, 2), 0.0)
            hs.append(h)
        hs = np.array(hs)
        active = (hs > 0).sum(axis=1)
        if (active > 0).all() and (active < H).all():
            return hs, W


def _relu_case(rng):
    H, T = size(rng, 3, 7), size(rng, 2, 6)
    h, W = _relu_states(rng, H, T)
    return Case((h, W))


def _masked_product(h, W, *, mask=lambda h_t: h_t > 0, reverse=False, side="rows", masks_of=None):
    M = np.eye(W.shape[0])
    steps = list(h if masks_of is None else masks_of(h))
    for h_t in (reversed(steps) if reverse else steps):
        m = mask(h_t).astype(float)
        J = m[:, None] * W if side == "rows" else W * m[None, :]
        M = J @ M
    return M


@grading_check
def check_relu_jacobian_product(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``relu_jacobian_product(h, W) -> M`` = dh(T)/dh(0) = J_T ... J_1 for the ReLU RNN,
    J_t = diag(relu'(a(t))) W, given the states h (T, H) and W (H, H)."""
    rng = make_rng(seed)
    cases = [_relu_case(rng) for _ in range(4)]
    slip = lambda **kw: (lambda h, W: {"M": _masked_product(h, W, **kw)})
    prev = lambda h: np.vstack([np.ones((1, h.shape[1])), h[:-1]])   # the state before each step
    slips = [("the order is reversed: dh(T)/dh(0) = J_T J_(T-1) ... J_1, the last step's Jacobian on the "
              "left (M = J_t @ M at each step), not J_1 ... J_T", slip(reverse=True)),
             ("ReLU's slope is 1 where a(t) > 0 (where h(t) > 0) and 0 elsewhere: 1 - h(t)^2 is tanh's",
              lambda h, W: {"M": _tanh_product(h, W)}),
             ("the ReLU's slope is missing: each J_t is diag([h(t) > 0]) W, not W (without it the "
              "product is W multiplied by itself T times)", slip(mask=lambda h_t: np.ones_like(h_t, dtype=bool))),
             ("the slope scales the columns instead of the rows: diag(m) W multiplies row i of W by "
              "unit i's slope (m[:, None] * W, not W * m[None, :])", slip(side="columns")),
             ("the slope of step t comes from the state that step produced, h(t), not from h(t-1)",
              slip(masks_of=prev)),
             ("this is the transpose: (J_T ... J_1)^T = J_1^T ... J_T^T carries a gradient back; the "
              "Jacobian dh(T)/dh(0) itself is J_T ... J_1",
              lambda h, W: {"M": reference_relu_jacobian_product(h, W).T})]
    return run_check("Jacobian product of the ReLU RNN", fn, cases, single("M"),
                     lambda h, W: {"M": reference_relu_jacobian_product(h, W)}, slips,
                     forbid=(reference_relu_jacobian_product, cells.rnn_step_backward, *_jacobian_tools()),
                     analytic=True)


def _tanh_product(h, W):
    M = np.eye(W.shape[0])
    for h_t in h:
        M = ((1 - h_t ** 2)[:, None] * W) @ M
    return M


# --------------------------------------------------------------------------- experiment: input scale

def _tanh_states(W, U, x):
    h, hs = np.zeros(W.shape[0]), []
    for x_t in x:
        h = np.tanh(W @ h + U @ x_t)
        hs.append(h)
    return hs


def _factors(rhos, scale, Q, U, z, g, *, tanh_slope=True, shift=False, back=lambda W: W.T, root=None,
             relative=True, use_scale=True):
    """The per-step factors of the grid (a slip changes one keyword)."""
    x = scale * z if use_scale else z
    T = len(x)
    out = []
    for rho in rhos:
        W = rho * Q
        hs = _tanh_states(W, U, x)
        if shift:                                  # the slope of the state before the step
            hs = [np.zeros_like(hs[0])] + hs[:-1]
        d = g.copy()
        for t in range(T - 1, -1, -1):
            d = back(W) @ (d * (1 - hs[t] ** 2) if tanh_slope else d)
        n = np.linalg.norm(d) / (np.linalg.norm(g) if relative else 1.0)
        out.append(n ** (1.0 / (T if root is None else root(T))))
    return np.array(out)


def _crossing(rhos, factors):
    above = np.flatnonzero(np.asarray(factors) >= 1.0)
    return float(rhos[above[0]]) if len(above) else np.inf


def reference_vanishing_factors(rhos: np.ndarray, scale: float, Q: np.ndarray, U: np.ndarray,
                                z: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """The check's own measurement: for each rho of ``rhos`` the per-step factor
    (||dL/dh(0)|| / ||g||)^(1/T) of the tanh RNN h(t) = tanh(rho Q h(t-1) + U x(t)), h(0) = 0,
    x = scale * z, L = g^T h(T); and rho_star, the smallest rho whose factor is at least 1."""
    factors = _factors(rhos, scale, Q, U, z, g)
    return factors, _crossing(rhos, factors)


AGREES = "rho_star agrees with your own factors (1 = yes)"


def _experiment_case(rng):
    H, D, T = size(rng, 4, 10), size(rng, 1, 4), size(rng, 10, 25)
    n = size(rng, 6, 12)
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))
    U = rng.normal(0, 1 / np.sqrt(D), (H, D))
    g = rng.normal(0, 1, H)                                 # not a unit vector: divide by ||g||
    while True:
        lo, hi = rng.uniform(0.5, 0.8), rng.uniform(1.6, 2.6)
        rhos = np.round(np.linspace(lo, hi, n), 3)
        # small inputs (near-linear: the factor crosses 1 near rho = 1) or large ones (saturated)
        scale = float(rng.choice([rng.uniform(0.05, 0.2), rng.uniform(0.7, 1.5)]) if not hidden_cases()
                      else rng.choice([rng.uniform(0.2, 0.4), rng.uniform(1.5, 2.5)]))
        z = rng.standard_normal((T, D))
        f = _factors(rhos, scale, Q, U, z, g)
        if np.abs(f - 1.0).min() > 1e-6:                   # no factor so close to 1 that rounding decides
            return Case((rhos, scale, Q, U, z, g))


def _experiment_unpack(r, case):
    if not isinstance(r, (tuple, list)) or len(r) != 2:
        raise ValueError(f"expected a tuple (factors, rho_star), got {type(r).__name__}"
                         + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else ""))
    factors, rho_star = r
    try:
        rho_star = float(rho_star)
    except (TypeError, ValueError):
        raise ValueError(f"rho_star: expected a number (np.inf where no factor reaches 1), "
                         f"got {type(rho_star).__name__}") from None
    rhos = case.args[0]
    try:
        f = np.asarray(factors, dtype=float)
    except Exception:            # compared (and reported) as factors below
        f = None
    own = _crossing(rhos, f) if f is not None and f.shape == rhos.shape else rho_star
    return {"factors": factors, "rho_star": rho_star, AGREES: float(np.isclose(own, rho_star))}


def _experiment_ref(*args):
    factors, rho_star = reference_vanishing_factors(*args)
    return {"factors": factors, "rho_star": np.array(rho_star), AGREES: np.array(1.0)}


def _factor_slip(hint, **change):
    return hint, lambda *args: {"factors": _factors(*args, **change)}


@grading_check
def check_vanishing_experiment(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``measure(rhos, scale, Q, U, z, g) -> (factors, rho_star)``: the per-step factor of the
    gradient through the tanh RNN with W = rho Q at each rho, and the smallest rho where it is >= 1."""
    rng = make_rng(seed)
    cases = [_experiment_case(rng) for _ in range(4)]

    def last_vanishing(rhos, scale, Q, U, z, g):
        f = _factors(rhos, scale, Q, U, z, g)
        below = np.flatnonzero(f < 1.0)
        return {"rho_star": np.array(float(rhos[below[-1]]) if len(below) else np.inf)}

    slips = [_factor_slip("the tanh's slope is missing: without the factors 1 - h(t)^2 you measured the "
                          "linear RNN, whose factor is rho itself", tanh_slope=False),
             _factor_slip("the inputs are x = scale * z: the scale is the factor this experiment changes",
                          use_scale=False),
             _factor_slip("the slope of step t is 1 - h(t)^2, from the state that step produced, "
                          "not from h(t-1)", shift=True),
             _factor_slip("the gradient goes back through W^T: dL/dh(t-1) = W^T (dL/dh(t) * (1 - h(t)^2))",
                          back=lambda W: W),
             _factor_slip("the per-step factor is the T-th root of ||dL/dh(0)|| / ||g||: you returned "
                          "the norm itself", root=lambda T: 1),
             _factor_slip("T steps lie between h(0) and h(T): take the T-th root", root=lambda T: T - 1),
             _factor_slip("T steps lie between h(0) and h(T): take the T-th root", root=lambda T: T + 1),
             _factor_slip("divide by ||g|| before the root: the factor compares dL/dh(0) with dL/dh(T) = g",
                          relative=False),
             ("rho_star is the smallest rho whose factor is at least 1 (the first where the gradient "
              "stops vanishing), not the largest whose factor is below 1", last_vanishing),
             ("your conclusion contradicts your own measurement: rho_star must be the smallest rho of "
              "the grid whose factor (in your factors) is at least 1, np.inf if there is none",
              lambda *args: {AGREES: np.array(0.0)})]
    return run_check("the gradient's per-step factor against rho", fn, cases, _experiment_unpack,
                     _experiment_ref, slips, forbid=(reference_vanishing_factors,))


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


def _relu_jacobian_product(h, W):
    M = np.eye(len(W))
    for h_t in h:                                  # steps 1..T: each new J_t multiplies from the left
        M = np.diag((h_t > 0).astype(float)) @ W @ M
    return M


def _measure(rhos, scale, Q, U, z, g, slope=True):
    x = scale * z
    T = len(x)
    factors = []
    for rho in rhos:
        W = rho * Q
        h, hs = np.zeros(len(g)), []
        for t in range(T):
            h = np.tanh(W @ h + U @ x[t])
            hs.append(h)
        delta = g
        for t in reversed(range(T)):
            delta = W.T @ (delta * (1 - hs[t] ** 2) if slope else delta)
        factors.append((np.linalg.norm(delta) / np.linalg.norm(g)) ** (1 / T))
    above = [r for r, f in zip(rhos, factors, strict=True) if f >= 1]
    return np.array(factors), (above[0] if above else np.inf)


# answers that call what the checks refuse (each must get "already does this exercise's job")

def _jacobian_by_backward(h, W):
    step = cells.RNNStep(np.arctanh(h), h, None, None)
    H = len(h)
    return np.stack([cells.rnn_step_backward(np.eye(H)[j], np.zeros(1), np.zeros(H), step, np.zeros((H, 1)),
                                             W)["dh_prev"] for j in range(H)])


def _clip_with_companion(grads, max_norm):
    clipped = {k: g.copy() for k, g in grads.items()}
    return clipped, optim.clip_grad_norm(clipped, max_norm)


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_step_jacobian, lambda h, W: (1 - h ** 2)[:, None] * W,
             (Wrong(lambda h, W: W * (1 - h ** 2)[None, :], "scales the columns instead of the rows"),),
             chapter="05", kind="recall", points=2,
             skill="the Jacobian of one tanh RNN step, diag(1 - h_t^2) W: which index the tanh's slope scales",
             copying=_jacobian_by_backward),
    Exercise(check_linear_grad_norms, _linear_grad_norms,
             (Wrong(lambda W, g, n: _linear_grad_norms(W.T, g, n), "through W^T, not W"),),
             chapter="05", kind="apply", points=2,
             skill="carrying a gradient back through W^T step by step for a W that is not rho Q, where "
                   "neither rho(W)^k nor ||W||_2^k is its norm",
             copying=lambda W, g, n: reference_linear_grad_norms(W, g, n)),
    Exercise(check_clip_grad_norm, _clip,
             (Wrong(lambda G, m: _clip(G, m, per_tensor=True), "clipped by its own norm"),),
             chapter="05", kind="recall", points=2,
             skill="gradient norm clipping as torch does it: one global norm over all arrays, one scale, "
                   "applied only above the threshold",
             copying=_clip_with_companion),
    Exercise(check_relu_jacobian_product, _relu_jacobian_product,
             (Wrong(lambda h, W: _relu_jacobian_product(h[::-1], W), "the order is reversed"),
              Wrong(lambda h, W: _relu_jacobian_product(h, W).T, "this is the transpose")),
             chapter="05", kind="transfer", points=3,
             skill="the Jacobian product dh_T/dh_0 of an RNN the chapter did not derive (ReLU): its slope, "
                   "and the order of the factors",
             copying=lambda h, W: reference_relu_jacobian_product(h, W)),
    Exercise(check_vanishing_experiment, _measure,
             (Wrong(lambda *a: _measure(*a, slope=False), "the tanh's slope is missing"),
              Wrong(lambda *a: (_measure(*a)[0], a[0][0]), "contradicts your own measurement")),
             chapter="05", kind="experiment", points=3,
             skill="measuring the gradient's per-step factor through a tanh RNN against rho at another input "
                   "scale, and reading off from the measurement where it stops vanishing",
             copying=lambda *args: reference_vanishing_factors(*args)),
)
