"""Checks for the exercises of the LSTM and peephole-LSTM chapters (slides 10-15, 12).

Signatures the exercises ask for (names follow :mod:`companion.cells`):

* ``cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev) -> (dC_prev, df_t, di_t, dC_tilde_t)``:
  the backward of C_t = f_t * C_{t-1} + i_t * C_tilde_t, gradients with respect to the
  gate *values* (after their activations)
* ``split_gates(weight_ih, weight_hh, bias_ih, bias_hh) -> dict`` with the twelve names of
  :data:`companion.cells.LSTM_WEIGHTS`, cut out of torch's stacked (4H, .) layout, gate order i, f, g, o
* ``peephole_lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``: slide 12 with diagonal
  peepholes w_cf, w_ci, w_co (shape (H,)) in ``w``
* ``peephole_cell_backward(dC_t, f_t, df_pre, di_pre, w_cf, w_ci) -> dC_prev``: the gradient
  highway with diagonal peepholes, dC_{t-1} = dC_t * f_t + df_pre * w_cf + di_pre * w_ci

Each check draws fresh random inputs on every call, compares with companion and names the
likely slip (see :func:`companion.checks.run_check`).
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import sigmoid
from ..layers import LSTM
from . import _batches, _lstm_case, _rng, _vec, run_check

__all__ = ["check_cell_update_backward", "check_split_gates", "check_peephole_lstm_step",
           "check_peephole_cell_backward", "CHECKS"]


def _tuple_of(n, names):
    def unpack(r):
        if not isinstance(r, (tuple, list)) or len(r) != n:
            raise ValueError(f"expected a tuple ({', '.join(names)}), got {type(r).__name__}"
                             + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else ""))
        return dict(zip(names, r))
    return unpack


# --------------------------------------------------------------------------- cell update backward

_CU_NAMES = ("dC_prev", "df_t", "di_t", "dC_tilde_t")


def _cu(dC, f, i, Ct, Cp):
    return dict(zip(_CU_NAMES, (dC * f, dC * Cp, dC * Ct, dC * i)))


def check_cell_update_backward(fn):
    """Check ``cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev) -> (dC_prev, df_t, di_t, dC_tilde_t)``,
    the backward of C_t = f_t * C_{t-1} + i_t * C_tilde_t."""
    rng = _rng()

    def case(rng, B):
        H = int(rng.integers(2, 6))
        return (_vec(rng, B, H), sigmoid(_vec(rng, B, H, 2.0)), sigmoid(_vec(rng, B, H, 2.0)),
                np.tanh(_vec(rng, B, H)), _vec(rng, B, H))

    def with_(**changes):
        return lambda *a: {**_cu(*a), **{k: v(*a) for k, v in changes.items()}}

    slips = [("dC_{t-1} = dC_t * f_t: the factor f_t is missing (the cell's gradient passes the forget gate)",
              with_(dC_prev=lambda dC, f, i, Ct, Cp: dC)),
             ("dC_{t-1} and df_t swapped: dC_{t-1} = dC_t * f_t, df_t = dC_t * C_{t-1}",
              with_(dC_prev=lambda dC, f, i, Ct, Cp: dC * Cp, df_t=lambda dC, f, i, Ct, Cp: dC * f)),
             ("di_t and dC_tilde_t swapped: di_t = dC_t * C_tilde_t, dC_tilde_t = dC_t * i_t",
              with_(di_t=lambda dC, f, i, Ct, Cp: dC * i, dC_tilde_t=lambda dC, f, i, Ct, Cp: dC * Ct)),
             ("these are gradients of the gate values, not of their pre-activations: do not multiply "
              "by sigma'(.) = f_t (1 - f_t) here",
              with_(df_t=lambda dC, f, i, Ct, Cp: dC * Cp * f * (1 - f),
                    di_t=lambda dC, f, i, Ct, Cp: dC * Ct * i * (1 - i),
                    dC_tilde_t=lambda dC, f, i, Ct, Cp: dC * i * (1 - Ct ** 2)))]
    return run_check("cell update backward", fn, _batches(rng, case), _tuple_of(4, _CU_NAMES), _cu, slips)


# --------------------------------------------------------------------------- fused gate slicing

def _split(W_ih, W_hh, b_ih, b_hh, order="ifCo", add_hh=True):
    H = W_hh.shape[1]
    w = {}
    for k, g in enumerate(order):
        rows = slice(k * H, (k + 1) * H)
        w[f"W_x{g}"], w[f"W_h{g}"] = W_ih[rows], W_hh[rows]
        w[f"b_{g}"] = b_ih[rows] + b_hh[rows] if add_hh else b_ih[rows]
    return w


def _split_ref(W_ih, W_hh, b_ih, b_hh):
    """companion.LSTM.cell_weights on a layer holding these parameters."""
    H, D = W_hh.shape[1], W_ih.shape[1]
    layer = LSTM(D, H)
    layer.params.update(weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    return {k: np.array(v) for k, v in layer.cell_weights().items()}


def check_split_gates(fn):
    """Check ``split_gates(weight_ih, weight_hh, bias_ih, bias_hh) -> dict`` of the twelve per-gate
    weights (:data:`companion.cells.LSTM_WEIGHTS`), cut from torch's stacked layout (order i, f, g, o)."""
    rng = _rng()
    cases = []
    for _ in range(4):
        D, H = int(rng.integers(2, 6)), int(rng.integers(2, 6))
        cases.append((rng.normal(0, 1, (4 * H, D)), rng.normal(0, 1, (4 * H, H)),
                      rng.normal(0, 1, 4 * H), rng.normal(0, 1, 4 * H)))

    def unpack(r):
        if not isinstance(r, dict):
            raise ValueError(f"expected a dict with keys {', '.join(cells.LSTM_WEIGHTS)}, got {type(r).__name__}")
        missing = [k for k in cells.LSTM_WEIGHTS if k not in r]
        if missing:
            raise ValueError(f"missing keys {', '.join(missing)}")
        return r

    slips = [("torch stacks the gates in the order i, f, g, o (g is C_tilde): "
              "you used i, f, o, g", lambda *a: _split(*a, order="ifoC")),
             ("torch stacks the gates in the order i, f, g, o: you used f, i, g, o",
              lambda *a: _split(*a, order="fiCo")),
             ("torch stacks the gates in the order i, f, g, o: you used f, i, o, g",
              lambda *a: _split(*a, order="fioC")),
             ("the slides' one bias b is torch's bias_ih + bias_hh: you kept bias_ih only",
              lambda *a: _split(*a, add_hh=False))]
    return run_check("fused gate slicing", fn, cases, unpack, _split_ref, slips)


# --------------------------------------------------------------------------- peephole step

def _peep_case(rng, B):
    x, h, C, w = _lstm_case(rng, B)
    H = h.shape[-1]
    for g in ("cf", "ci", "co"):
        w[f"w_{g}"] = rng.normal(0, 0.7, H)
    return (x, h, C, w)


def _peep_ref(x, h, C, w):
    s = cells.lstm_step(x, h, C, w, peephole="diagonal")
    return {"h_t": s.h_t, "C_t": s.C_t}


def _peep_slip(x, h, C, w, *, o_sees="C_t", drop=(), peep_at_h=False):
    pre = {g: h @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    src = h if peep_at_h else C
    f = sigmoid(pre["f"] + (0 if "f" in drop else w["w_cf"] * src))
    i = sigmoid(pre["i"] + (0 if "i" in drop else w["w_ci"] * src))
    C_t = f * C + i * np.tanh(pre["C"])
    peep_o = {"C_t": C_t, "C_prev": C}[o_sees]
    o = sigmoid(pre["o"] + (0 if "o" in drop else w["w_co"] * peep_o))
    return {"h_t": o * np.tanh(C_t), "C_t": C_t}


def check_peephole_lstm_step(fn):
    """Check ``peephole_lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)`` (slide 12, diagonal peepholes
    w_cf, w_ci on C_{t-1} and w_co on C_t, each of shape (H,))."""
    rng = _rng()
    slips = [("the output gate peeps at the *new* cell C_t, not at C_{t-1}: "
              "o_t = sigma(w_co * C_t + W_ho h_{t-1} + W_xo x_t + b_o)",
              lambda *a: _peep_slip(*a, o_sees="C_prev")),
             ("the peephole terms are missing: this is the plain LSTM",
              lambda *a: _peep_slip(*a, drop="fio")),
             ("the output gate's peephole w_co * C_t is missing", lambda *a: _peep_slip(*a, drop="o")),
             ("the input gate's peephole w_ci * C_{t-1} is missing", lambda *a: _peep_slip(*a, drop="i")),
             ("the forget gate's peephole w_cf * C_{t-1} is missing", lambda *a: _peep_slip(*a, drop="f")),
             ("the gates peep at the cell C, not at h", lambda *a: _peep_slip(*a, peep_at_h=True))]
    return run_check("peephole LSTM step", fn, _batches(rng, _peep_case), _tuple_of(2, ("h_t", "C_t")),
                     _peep_ref, slips)


# --------------------------------------------------------------------------- peephole backward

def _pcb(dC, f, df, di, wf, wi):
    return {"dC_prev": dC * f + df * wf + di * wi}


def check_peephole_cell_backward(fn):
    """Check ``peephole_cell_backward(dC_t, f_t, df_pre, di_pre, w_cf, w_ci) -> dC_prev``:
    dC_{t-1} = dC_t * f_t + df_pre * w_cf + di_pre * w_ci (diagonal peepholes)."""
    rng = _rng()

    def case(rng, B):
        H = int(rng.integers(2, 6))
        return (_vec(rng, B, H), sigmoid(_vec(rng, B, H, 2.0)), _vec(rng, B, H, 0.3), _vec(rng, B, H, 0.3),
                rng.normal(0, 0.7, H), rng.normal(0, 0.7, H))

    slips = [("the peephole terms are missing: with peepholes C_{t-1} also reaches f_t and i_t, "
              "so add df_pre * w_cf + di_pre * w_ci", lambda dC, f, df, di, wf, wi: {"dC_prev": dC * f}),
             ("w_cf and w_ci swapped: w_cf carries the forget gate's gradient df_pre",
              lambda dC, f, df, di, wf, wi: {"dC_prev": dC * f + df * wi + di * wf}),
             ("the input gate's term di_pre * w_ci is missing",
              lambda dC, f, df, di, wf, wi: {"dC_prev": dC * f + df * wf}),
             ("the forget gate's term df_pre * w_cf is missing",
              lambda dC, f, df, di, wf, wi: {"dC_prev": dC * f + di * wi}),
             ("the direct path dC_t * f_t is missing",
              lambda dC, f, df, di, wf, wi: {"dC_prev": df * wf + di * wi})]
    return run_check("peephole cell backward", fn, _batches(rng, case), lambda r: {"dC_prev": r}, _pcb, slips)


#: the checks of this module, by exercise kind
CHECKS = {"cell_update_backward": check_cell_update_backward, "split_gates": check_split_gates,
          "peephole_lstm_step": check_peephole_lstm_step, "peephole_cell_backward": check_peephole_cell_backward}
