"""Central-difference gradient checks: the proof that a hand-written backward is right."""
from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:   # for the hints only: any layer with their interface (params, grads, backward) works
    from .layers import GRU, LSTM, RNN

__all__ = ["numerical_grad", "check_layer_grads", "relative_error"]


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    r"""Central differences  df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    ``f`` takes no argument and returns a scalar; ``x`` is an array that ``f``
    reads, perturbed in place and restored exactly, also when ``f`` raises. The
    error is O(eps^2).

    ``x`` must be floating point and ``eps`` large enough for x's precision:
    x ± eps is stored in x's dtype, so a step below the spacing of x's values is
    rounded away (an integer x truncates it entirely). Refused (ValueError) when
    that rounding could exceed 1% of eps: float64 with the default eps is fine
    for values of x up to about 6e7 in magnitude; float32 needs eps of at least
    about 1e-5 times the largest magnitude in x (in practice 1e-3 or more, as an
    f computed in float32 rounds too).
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x: expected a numpy array that f reads, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x: expected a floating-point array (float64 for the default eps; x + eps is "
                         f"stored in x), got dtype {x.dtype}")
    if (isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (numbers.Real, np.floating))
            or not np.isfinite(eps) or eps <= 0):
        raise ValueError(f"eps: expected a positive finite number, got {eps!r}")
    if not x.flags.writeable:
        raise ValueError("x: expected a writeable array (it is perturbed in place), got a read-only one")
    g = np.zeros(x.shape, dtype=np.float64)
    flat, gf = x.reshape(-1), g.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x: expected a contiguous array (its flat view must share memory)")
    if flat.size:
        top = float(np.abs(flat[np.isfinite(flat)]).max(initial=0.0))
        with np.errstate(over="ignore", invalid="ignore"):   # float16 beyond its range: inf, not refused here
            spacing = float(np.spacing(x.dtype.type(top + eps)))
        if eps < 100 * spacing:
            raise ValueError(f"eps: {eps:g} is too small for a {x.dtype} x with values up to {top:.3g}: "
                             f"x + eps is rounded by up to {spacing:.1e}, more than 1% of eps; use "
                             f"eps >= {100 * spacing:.1e}" + ("" if x.dtype == np.float64 else " or a float64 x"))
    for i in range(flat.size):
        old = flat[i]
        try:
            flat[i] = old + eps
            fp = f()
            flat[i] = old - eps
            fm = f()
        finally:                  # restored exactly even if f raises (or Ctrl-C) half way
            flat[i] = old
        gf[i] = (fp - fm) / (2.0 * eps)
    return g


def relative_error(a: ArrayLike, b: ArrayLike) -> float:
    """``max |a - b| / max(|a|, |b|, 1e-12)``, a scale-free distance between two gradients."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), 1e-12)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def check_layer_grads(layer: RNN | LSTM | GRU, x: ArrayLike,
                      state: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
                      eps: float = 1e-6, seed: int = 0) -> dict[str, float]:
    """Compare a layer's BPTT gradients with central differences.

    Uses the scalar loss L = sum(R_out * output) + sum(R_s * final state) with
    fixed random weights R, so every output and state element matters. Returns
    a dict ``name -> relative error`` for every parameter, ``"x"`` and the
    initial state(s). The layer must be float64 (central differences with a step
    of 1e-6 are meaningless in float32). Afterwards the parameters are exactly
    restored, and the recorded pass (``backward``, ``traces``) and ``grads`` are
    those of the unperturbed input under the check's loss, not of the last
    perturbed evaluation.
    """
    if getattr(layer, "dtype", None) is None or np.dtype(layer.dtype) != np.float64:
        raise ValueError(f"layer: expected a float64 layer (central differences need float64), "
                         f"got dtype {getattr(layer, 'dtype', None)}")
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=layer.dtype)
    out, st = layer(x, state)
    st_list = list(st) if isinstance(st, tuple) else [st]
    R_out = rng.standard_normal(out.shape)
    R_st = [rng.standard_normal(s.shape) for s in st_list]
    if state is None:
        zeros = [np.zeros_like(s) for s in st_list]
        state = tuple(zeros) if isinstance(st, tuple) else zeros[0]
    state_list = [np.array(s, dtype=layer.dtype) for s in (state if isinstance(state, tuple) else [state])]

    def loss():
        s = tuple(state_list) if isinstance(st, tuple) else state_list[0]
        o, fs = layer(x, s)
        fs = list(fs) if isinstance(fs, tuple) else [fs]
        return float((R_out * o).sum() + sum((r * f).sum() for r, f in zip(R_st, fs, strict=True)))

    s_in = tuple(state_list) if isinstance(st, tuple) else state_list[0]
    layer(x, s_in)
    d_state = tuple(R_st) if isinstance(st, tuple) else R_st[0]
    dx, ds0 = layer.backward(R_out, d_state)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    ds0 = list(ds0) if isinstance(ds0, tuple) else [ds0]
    errors = {}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_grad(loss, p, eps))
    errors["x"] = relative_error(dx, numerical_grad(loss, x, eps))
    for k, s in enumerate(state_list):
        errors[f"state{k}"] = relative_error(ds0[k], numerical_grad(loss, s, eps))
    layer(x, s_in)                  # leave the unperturbed pass recorded, not the last perturbed one
    layer.backward(R_out, d_state)
    return errors
