"""Checks for the exercises of the LSTM and peephole-LSTM chapters (slides 10-15, 12).

Signatures the exercises ask for (names follow :mod:`companion.cells`; row vectors, one example
(n,) or a batch (B, n)):

* ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t = sigma(W_f · [h_{t-1}, x_t] + b_f)``
* ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``, w as in :data:`companion.cells.LSTM_WEIGHTS`
* ``cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev) -> (dC_prev, df_t, di_t, dC_tilde_t)``:
  the backward of C_t = f_t * C_{t-1} + i_t * C_tilde_t, gradients with respect to the
  gate *values* (after their activations)
* ``split_gates(weight_ih, weight_hh, bias_ih, bias_hh) -> dict`` with the twelve names of
  :data:`companion.cells.LSTM_WEIGHTS`, cut out of torch's stacked (4H, .) layout, gate order i, f, g, o
* ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f) -> f_t`` (diagonal w_cf)
* ``peephole_lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``: slide 12 with diagonal
  peepholes w_cf, w_ci, w_co (shape (H,)) in ``w``
* ``peephole_cell_backward(dC_t, f_t, df_pre, di_pre, w_cf, w_ci) -> dC_prev``: the gradient
  highway with diagonal peepholes, dC_{t-1} = dC_t * f_t + df_pre * w_cf + di_pre * w_ci

Each check draws fresh random inputs on every call, compares with companion and names the
likely slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import sigmoid
from ..layers import LSTM
from .core import (
    Answer,
    Exercise,
    Feedback,
    Wrong,
    batches,
    grading_check,
    lstm_case,
    make_rng,
    registry,
    run_check,
    single,
    size,
    tuple_of,
    vec,
)

__all__ = ["check_forget_gate", "check_lstm_step", "check_cell_update_backward", "check_split_gates",
           "check_peephole_forget_gate", "check_peephole_lstm_step", "check_peephole_cell_backward", "CHECKS"]


# --------------------------------------------------------------------------- forget gate

@grading_check
def check_forget_gate(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t = sigma(W_f · [h_{t-1}, x_t] + b_f)``."""
    rng = make_rng(seed)

    def case(rng, B):
        x, h, _, w = lstm_case(rng, B).args
        return (x, h, w["W_xf"], w["W_hf"], w["b_f"])

    pre = lambda x, h, Wx, Wh, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": sigmoid(pre(*a))}
    slips = [("tanh where sigmoid belongs: a gate is a 0-1 switch, f_t = sigma(...)",
              lambda *a: {"f_t": np.tanh(pre(*a))}),
             ("you returned the pre-activation: apply the sigmoid",
              lambda *a: {"f_t": pre(*a)}),
             ("the bias b_f is missing", lambda x, h, Wx, Wh, b: {"f_t": sigmoid(h @ Wh.T + x @ Wx.T)}),
             ("1 - f_t: sigma(-a) instead of sigma(a)", lambda *a: {"f_t": 1 - sigmoid(pre(*a))})]
    return run_check("forget gate", fn, batches(rng, case), single("f_t"), ref, slips)


# --------------------------------------------------------------------------- LSTM step

def _lstm_ref(x, h, C, w):
    s = cells.lstm_step(x, h, C, w)
    return {"h_t": s.h_t, "C_t": s.C_t}


def _lstm_slip(x, h, C, w, *, swap_hC=False, gate_act=None, cand_act=None, out_act=None,
               swap_if=False, no_tanh_out=False):
    """The reference LSTM step with one deliberate mistake, to recognise a student's slip."""
    act = gate_act or sigmoid
    cand = cand_act or np.tanh
    hh, CC = (C, h) if swap_hC else (h, C)
    pre = {g: hh @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    f, i = act(pre["f"]), act(pre["i"])
    if swap_if:
        f, i = i, f
    C_t = f * CC + i * cand(pre["C"])
    o = act(pre["o"])
    h_t = o * C_t if no_tanh_out else o * (out_act or np.tanh)(C_t)
    return {"h_t": h_t, "C_t": C_t}


_LSTM_SLIPS = [
    ("C_{t-1} used where h_{t-1} belongs (the gates read h_{t-1}; the cell update reads C_{t-1})",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, swap_hC=True)),
    ("f_t and i_t swapped: C_t = f_t * C_{t-1} + i_t * C_tilde_t",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, swap_if=True)),
    ("sigmoid where tanh belongs for the candidate C_tilde_t",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, cand_act=sigmoid)),
    ("tanh where sigmoid belongs for the gates f_t, i_t, o_t",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, gate_act=np.tanh)),
    ("h_t = o_t * tanh(C_t): the tanh of the cell is missing",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, no_tanh_out=True)),
    ("h_t = o_t * tanh(C_t): sigmoid used instead of tanh on the cell",
     lambda x, h, C, w: _lstm_slip(x, h, C, w, out_act=sigmoid)),
]


@grading_check
def check_lstm_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)`` (slide 10)."""
    rng = make_rng(seed)
    return run_check("LSTM step", fn, batches(rng, lstm_case), tuple_of("h_t", "C_t"), _lstm_ref, _LSTM_SLIPS,
                     forbid=(cells.lstm_step,))


# --------------------------------------------------------------------------- cell update backward

_CU_NAMES = ("dC_prev", "df_t", "di_t", "dC_tilde_t")


def _cu(dC, f, i, Ct, Cp):
    return dict(zip(_CU_NAMES, (dC * f, dC * Cp, dC * Ct, dC * i), strict=True))


@grading_check
def check_cell_update_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev) -> (dC_prev, df_t, di_t, dC_tilde_t)``,
    the backward of C_t = f_t * C_{t-1} + i_t * C_tilde_t."""
    rng = make_rng(seed)

    def case(rng, B):
        H = size(rng, 2, 6)
        return (vec(rng, B, H), sigmoid(vec(rng, B, H, 2.0)), sigmoid(vec(rng, B, H, 2.0)),
                np.tanh(vec(rng, B, H)), vec(rng, B, H))

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
    return run_check("cell update backward", fn, batches(rng, case), tuple_of(*_CU_NAMES), _cu, slips)


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
    layer = LSTM(D, H, seed=0)
    layer.params.update(weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    return {k: np.array(v) for k, v in layer.cell_weights().items()}


def _split_unpack(r, case):
    if not isinstance(r, dict):
        raise ValueError(f"expected a dict with keys {', '.join(cells.LSTM_WEIGHTS)}, got {type(r).__name__}")
    missing = [k for k in cells.LSTM_WEIGHTS if k not in r]
    if missing:
        raise ValueError(f"missing keys {', '.join(missing)}")
    return r


@grading_check
def check_split_gates(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``split_gates(weight_ih, weight_hh, bias_ih, bias_hh) -> dict`` of the twelve per-gate
    weights (:data:`companion.cells.LSTM_WEIGHTS`), cut from torch's stacked layout (order i, f, g, o)."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        D, H = size(rng, 2, 6), size(rng, 2, 6)
        cases.append((rng.normal(0, 1, (4 * H, D)), rng.normal(0, 1, (4 * H, H)),
                      rng.normal(0, 1, 4 * H), rng.normal(0, 1, 4 * H)))
    slips = [("torch stacks the gates in the order i, f, g, o (g is C_tilde): "
              "you used i, f, o, g", lambda *a: _split(*a, order="ifoC")),
             ("torch stacks the gates in the order i, f, g, o: you used f, i, g, o",
              lambda *a: _split(*a, order="fiCo")),
             ("torch stacks the gates in the order i, f, g, o: you used f, i, o, g",
              lambda *a: _split(*a, order="fioC")),
             ("the slides' one bias b is torch's bias_ih + bias_hh: you kept bias_ih only",
              lambda *a: _split(*a, add_hh=False))]
    return run_check("fused gate slicing", fn, cases, _split_unpack, _split_ref, slips)


# --------------------------------------------------------------------------- peephole forget gate

@grading_check
def check_peephole_forget_gate(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f)`` (slide 12, diagonal):
    f_t = sigma(w_cf * C_{t-1} + W_hf h_{t-1} + W_xf x_t + b_f)."""
    rng = make_rng(seed)

    def case(rng, B):
        x, h, C, w = lstm_case(rng, B, peephole="diagonal").args
        return (x, h, C, w["W_xf"], w["W_hf"], w["w_cf"], w["b_f"])

    pre = lambda x, h, C, Wx, Wh, wc, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": sigmoid(pre(*a) + a[5] * a[2])}
    slips = [("the peephole term w_cf * C_{t-1} is missing", lambda *a: {"f_t": sigmoid(pre(*a))}),
             ("the forget gate peeps at C_{t-1} through w_cf * C_{t-1}, an element-wise product, "
              "not at h_{t-1}", lambda *a: {"f_t": sigmoid(pre(*a) + a[5] * a[1])}),
             ("tanh where sigmoid belongs", lambda *a: {"f_t": np.tanh(pre(*a) + a[5] * a[2])})]
    return run_check("peephole forget gate", fn, batches(rng, case), single("f_t"), ref, slips)


# --------------------------------------------------------------------------- peephole step

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


@grading_check
def check_peephole_lstm_step(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)`` (slide 12, diagonal peepholes
    w_cf, w_ci on C_{t-1} and w_co on C_t, each of shape (H,))."""
    rng = make_rng(seed)
    slips = [("the output gate peeps at the *new* cell C_t, not at C_{t-1}: "
              "o_t = sigma(w_co * C_t + W_ho h_{t-1} + W_xo x_t + b_o)",
              lambda *a: _peep_slip(*a, o_sees="C_prev")),
             ("the peephole terms are missing: this is the plain LSTM",
              lambda *a: _peep_slip(*a, drop="fio")),
             ("the output gate's peephole w_co * C_t is missing", lambda *a: _peep_slip(*a, drop="o")),
             ("the input gate's peephole w_ci * C_{t-1} is missing", lambda *a: _peep_slip(*a, drop="i")),
             ("the forget gate's peephole w_cf * C_{t-1} is missing", lambda *a: _peep_slip(*a, drop="f")),
             ("the gates peep at the cell C, not at h", lambda *a: _peep_slip(*a, peep_at_h=True))]
    case = lambda rng, B: lstm_case(rng, B, peephole="diagonal")
    return run_check("peephole LSTM step", fn, batches(rng, case), tuple_of("h_t", "C_t"), _peep_ref, slips)


# --------------------------------------------------------------------------- peephole backward

def _pcb(dC, f, df, di, wf, wi):
    return {"dC_prev": dC * f + df * wf + di * wi}


@grading_check
def check_peephole_cell_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_cell_backward(dC_t, f_t, df_pre, di_pre, w_cf, w_ci) -> dC_prev``:
    dC_{t-1} = dC_t * f_t + df_pre * w_cf + di_pre * w_ci (diagonal peepholes)."""
    rng = make_rng(seed)

    def case(rng, B):
        H = size(rng, 2, 6)
        return (vec(rng, B, H), sigmoid(vec(rng, B, H, 2.0)), vec(rng, B, H, 0.3), vec(rng, B, H, 0.3),
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
    return run_check("peephole cell backward", fn, batches(rng, case), single("dC_prev"), _pcb, slips)


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.

def _lstm_by_hand(x, h, C, w, peep=False):
    gate = lambda g, c: sigmoid(h @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"]
                                + (w[f"w_c{g}"] * c if peep else 0))
    f, i = gate("f", C), gate("i", C)
    C_t = f * C + i * np.tanh(h @ w["W_hC"].T + x @ w["W_xC"].T + w["b_C"])
    o = gate("o", C_t)
    return o * np.tanh(C_t), C_t


def _lstm_no_tanh_out(x, h, C, w):
    f, i, o = (sigmoid(h @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"]) for g in "fio")
    C_t = f * C + i * np.tanh(h @ w["W_hC"].T + x @ w["W_xC"].T + w["b_C"])
    return o * C_t, C_t


def _split_by_hand(W_ih, W_hh, b_ih, b_hh, bias_hh=True):
    blocks = lambda a: dict(zip("ifCo", np.split(a, 4), strict=True))
    Wx, Wh, bi, bh = blocks(W_ih), blocks(W_hh), blocks(b_ih), blocks(b_hh)
    w = {}
    for g in "ifCo":
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = Wx[g], Wh[g], bi[g] + (bh[g] if bias_hh else 0)
    return w


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_forget_gate, lambda x, h, Wx, Wh, b: sigmoid(h @ Wh.T + x @ Wx.T + b),
             (Wrong(lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),)),
    Exercise(check_lstm_step, _lstm_by_hand, (Wrong(_lstm_no_tanh_out, "tanh of the cell is missing"),)),
    Exercise(check_cell_update_backward, lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * Ct, dC * i),
             (Wrong(lambda dC, f, i, Ct, Cp: (dC, dC * Cp, dC * Ct, dC * i), "factor f_t is missing"),)),
    Exercise(check_split_gates, _split_by_hand,
             (Wrong(lambda *a: _split_by_hand(*a, bias_hh=False), "bias_ih only"),)),
    Exercise(check_peephole_forget_gate,
             lambda x, h, C, Wx, Wh, wc, b: sigmoid(wc * C + h @ Wh.T + x @ Wx.T + b),
             (Wrong(lambda x, h, C, Wx, Wh, wc, b: sigmoid(h @ Wh.T + x @ Wx.T + b), "peephole term"),)),
    Exercise(check_peephole_lstm_step, lambda x, h, C, w: _lstm_by_hand(x, h, C, w, peep=True),
             (Wrong(lambda x, h, C, w: _lstm_by_hand(x, h, C, {k: v for k, v in w.items() if k[:3] != "w_c"}),
                    "plain LSTM"),)),
    Exercise(check_peephole_cell_backward, lambda dC, f, df, di, wf, wi: dC * f + df * wf + di * wi,
             (Wrong(lambda dC, f, df, di, wf, wi: dC * f, "peephole terms are missing"),)),
)
