"""Central-difference gradient checks: the proof that a hand-written backward is right."""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_grad", "check_layer_grads", "relative_error"]


def numerical_grad(f, x, eps=1e-6):
    r"""Central differences  df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).

    ``f`` takes no argument and returns a scalar; ``x`` is an array that ``f``
    reads, perturbed in place and restored exactly. The error is O(eps^2).
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"x: expected a numpy array that f reads, got {type(x).__name__}")
    g = np.zeros(x.shape, dtype=np.float64)
    flat, gf = x.reshape(-1), g.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("x: expected a contiguous array (its flat view must share memory)")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        gf[i] = (fp - fm) / (2.0 * eps)
    return g


def relative_error(a, b):
    """``max |a - b| / max(|a|, |b|, 1e-12)``, a scale-free distance between two gradients."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), 1e-12)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def check_layer_grads(layer, x, state=None, eps=1e-6, seed=0):
    """Compare a layer's BPTT gradients with central differences.

    Uses the scalar loss L = sum(R_out * output) + sum(R_s * final state) with
    fixed random weights R, so every output and state element matters. Returns
    a dict ``name -> relative error`` for every parameter, ``"x"`` and the
    initial state(s). The layer should be float64.
    """
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
        return float((R_out * o).sum() + sum((r * f).sum() for r, f in zip(R_st, fs)))

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
    return errors
