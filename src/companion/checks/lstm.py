"""Checks for the exercises of the LSTM and peephole-LSTM chapters (slides 10-15, 12).

Signatures the exercises ask for (names follow :mod:`companion.cells`; row vectors, one example
(n,) or a batch (B, n)):

Chapter 06, the LSTM:

* ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t = sigma(W_f · [h_{t-1}, x_t] + b_f)``
* ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``, w as in :data:`companion.cells.LSTM_WEIGHTS`
* ``cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev) -> (dC_prev, df_t, di_t, dC_tilde_t)``:
  the backward of C_t = f_t * C_{t-1} + i_t * C_tilde_t, gradients with respect to the
  gate *values* (after their activations)
* ``split_gates(weight_ih, weight_hh, bias_ih, bias_hh) -> dict`` with the twelve names of
  :data:`companion.cells.LSTM_WEIGHTS`, cut out of torch's stacked (4H, .) layout, gate order i, f, g, o
* ``coupled_gate_backward(dh_t, dC_t, f_t, C_tilde_t, C_prev, o_t) -> (dC_prev, df_pre, dC_tilde_pre)``:
  the backward of a cell the chapter does not derive, the coupled-gate LSTM (i_t = 1 - f_t):
  C_t = f_t * C_{t-1} + (1 - f_t) * C_tilde_t, f_t = sigma(a^f_t), C_tilde_t = tanh(a^C_t),
  h_t = o_t * tanh(C_t); ``dC_t`` is the gradient arriving at C_t from step t+1, ``dh_t`` the
  one at h_t; the outputs are the gradients of C_{t-1}, a^f_t and a^C_t
  (reference :func:`reference_coupled_gate_backward`, a hand derivation that the tests prove
  against finite differences)
* ``memory_kept(b_fs, T, seed) -> (kept, b_f_min)``: the experiment. For each forget bias b_f,
  ``companion.LSTM(3, 8, seed=seed)`` with the forget gate's bias set to b_f in every unit
  (bias_ih's f block = b_f, bias_hh's = 0), run on ``default_rng(seed).standard_normal((T, 3))``
  and differentiated with dL/dC_T = 1 (every unit; nothing else): kept = ||dL/dC_0|| / ||dL/dC_T||.
  b_f_min is the smallest b_f of ``b_fs`` (not sorted) with kept >= 0.1
  (reference :func:`reference_memory_kept`)

Chapter 07, the peephole LSTM (slide 12):

* ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f) -> f_t`` (diagonal w_cf)
* ``peephole_lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``: slide 12 with diagonal
  peepholes w_cf, w_ci, w_co (shape (H,)) in ``w``
* ``peephole_cell_backward(dC_t, f_t, i_t, C_tilde_t, C_prev, w_cf, w_ci) -> dC_prev``: the gradient
  highway with diagonal peepholes, from the gate values:
  dC_{t-1} = dC_t * f_t + w_cf * (dC_t * C_{t-1} * f_t (1 - f_t)) + w_ci * (dC_t * C_tilde_t * i_t (1 - i_t))
* ``peephole_full_backward(dh_t, dC_t, C_prev, s, w) -> dC_prev``: the same with *full* (H, H)
  peephole matrices and the output gate's peephole, which reads C_t: everything that reaches
  C_{t-1} from dh_t and dC_t, ``s`` holding f_t, i_t, C_tilde_t, C_t, o_t and ``w`` the matrices
  w_cf, w_ci, w_co (reference :func:`reference_peephole_full_backward`)
* ``gate_sight(b_os, H, seed) -> (plain, peephole, b_o_blind)``: the experiment. For each
  output-gate bias b_o, ``companion.LSTM(1, H, seed=seed, peephole="diagonal")`` with the output
  gate's bias set to b_o; two steps of x_t = 1 from h_0 = 0, once from C_0 = 0 and once from
  C_0 = 1: the sight is ``max_j |f_2(C_0 = 1) - f_2(C_0 = 0)|``, for the peephole layer and for the
  same layer with its three peephole weights zero (the plain LSTM). b_o_blind is the largest b_o
  of ``b_os`` (not sorted) at which plain < peephole / 10 (reference :func:`reference_gate_sight`)

Each check draws fresh random inputs on every call (other sizes for the hidden tests), compares
with its reference and names the likely slip (see :mod:`companion.checks.core`). While the
student's function runs, the functions that already do its job are unavailable: the
``reference_*`` functions of this module, companion's LSTM step and its backward
(``cells.lstm_step``, ``cells.lstm_step_backward``), the layer's methods that run or slice the
cell (``forward``, ``cell_weights``, ``backward``; see :func:`companion.checks.core.forbidding_methods`),
companion's finite differences (``gradcheck.numerical_grad``) for a backward, and torch's
``nn.LSTM`` / ``nn.LSTMCell`` and autograd.
"""
from __future__ import annotations

import numpy as np

from .. import cells, gradcheck
from ..activations import sigmoid
from ..layers import LSTM
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    batches,
    forbidding_methods,
    grading_check,
    lstm_case,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
    vec,
)

__all__ = ["check_forget_gate", "check_lstm_step", "check_cell_update_backward", "check_split_gates",
           "check_coupled_gate_backward", "check_memory_kept",
           "check_peephole_forget_gate", "check_peephole_lstm_step", "check_peephole_cell_backward",
           "check_peephole_full_backward", "check_gate_sight",
           "reference_forget_gate", "reference_lstm_step", "reference_cell_update_backward",
           "reference_split_gates", "reference_coupled_gate_backward", "reference_memory_kept",
           "reference_peephole_forget_gate", "reference_peephole_lstm_step",
           "reference_peephole_cell_backward", "reference_peephole_full_backward", "reference_gate_sight",
           "CHECKS"]


# --------------------------------------------------------------------------- what is forbidden

#: the methods that run an LSTM step for a student: companion's layer and torch's modules
_STEP_METHODS = (("companion.layers", "_Recurrent", "forward", "companion.LSTM"),
                 ("companion.layers", "_Recurrent", "forward_unfused", "companion.LSTM.forward_unfused"),
                 ("torch.nn.modules.rnn", "LSTM", "forward", "torch.nn.LSTM"),
                 ("torch.nn.modules.rnn", "LSTMCell", "forward", "torch.nn.LSTMCell"))
#: the methods that cut torch's stacked weights into the cell's twelve
_SLICE_METHODS = (("companion.layers", "_Recurrent", "cell_weights", "companion.LSTM.cell_weights"),
                  ("companion.layers", "_Recurrent", "_cell_weights", "companion.LSTM._cell_weights"),
                  ("companion.layers", "_Recurrent", "_blocks", "companion.LSTM._blocks"))
#: the method that differentiates a whole layer
_BACKWARD_METHODS = (("companion.layers", "_Recurrent", "backward", "companion.LSTM.backward"),)


def _torch_step():
    """torch's own LSTM cell functions (None where torch is not imported)."""
    return (torch_function("lstm_cell"), torch_function("lstm"))


def _autograd():
    """torch's automatic differentiation (None where torch is not imported): ``Tensor.backward``
    calls ``torch.autograd.backward``, so refusing that refuses ``loss.backward()`` too."""
    return (torch_function("autograd.grad"), torch_function("autograd.backward"),
            torch_function("Tensor.backward"))


#: what already differentiates a cell: companion's backward, its finite differences, torch's autograd
def _differentiators():
    return (cells.lstm_step_backward, cells._peep_back, gradcheck.numerical_grad, *_autograd())


# --------------------------------------------------------------------------- forget gate

def reference_forget_gate(x_t, h_prev, W_xf, W_hf, b_f):
    """The check's own answer to ``forget_gate``: sigma(W_hf h_{t-1} + W_xf x_t + b_f)."""
    return sigmoid(h_prev @ W_hf.T + x_t @ W_xf.T + b_f)


@grading_check
def check_forget_gate(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t = sigma(W_f · [h_{t-1}, x_t] + b_f)``."""
    rng = make_rng(seed)

    def case(rng, B):
        x, h, _, w = lstm_case(rng, B).args
        return (x, h, w["W_xf"], w["W_hf"], w["b_f"])

    pre = lambda x, h, Wx, Wh, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": reference_forget_gate(*a)}
    slips = [("tanh where sigmoid belongs: a gate is a 0-1 switch, f_t = sigma(...)",
              lambda *a: {"f_t": np.tanh(pre(*a))}),
             ("you returned the pre-activation: apply the sigmoid",
              lambda *a: {"f_t": pre(*a)}),
             ("the bias b_f is missing", lambda x, h, Wx, Wh, b: {"f_t": sigmoid(h @ Wh.T + x @ Wx.T)}),
             ("1 - f_t: sigma(-a) instead of sigma(a)", lambda *a: {"f_t": 1 - sigmoid(pre(*a))}),
             ("the weights are applied untransposed: for row vectors use h_prev @ W_hf.T",
              lambda x, h, Wx, Wh, b: {"f_t": sigmoid(h @ Wh + x @ Wx + b)}
              if Wh.shape[0] == Wh.shape[1] == Wx.shape[0] == Wx.shape[1] else None)]
    with forbidding_methods(fn, _STEP_METHODS):
        return run_check("forget gate", fn, batches(rng, case), single("f_t"), ref, slips,
                         forbid=(reference_forget_gate, cells.lstm_step, cells._lstm_step, *_torch_step()))


# --------------------------------------------------------------------------- LSTM step

def reference_lstm_step(x_t, h_prev, C_prev, w):
    """The check's own answer to ``lstm_step``: (h_t, C_t) of :func:`companion.cells.lstm_step`."""
    s = cells.lstm_step(x_t, h_prev, C_prev, w)
    return s.h_t, s.C_t


def _lstm_ref(x, h, C, w):
    h_t, C_t = reference_lstm_step(x, h, C, w)
    return {"h_t": h_t, "C_t": C_t}


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
    # cells.LSTMStep too: the chapter's own variant step (lstm_step_act, with tanh swapped for another
    # activation) returns one, and called with tanh it is this exercise's answer
    with forbidding_methods(fn, _STEP_METHODS):
        return run_check("LSTM step", fn, batches(rng, lstm_case), tuple_of("h_t", "C_t"), _lstm_ref, _LSTM_SLIPS,
                         forbid=(reference_lstm_step, cells.lstm_step, cells._lstm_step, cells.LSTMStep,
                                 *_torch_step()))


# --------------------------------------------------------------------------- cell update backward

_CU_NAMES = ("dC_prev", "df_t", "di_t", "dC_tilde_t")


def reference_cell_update_backward(dC_t, f_t, i_t, C_tilde_t, C_prev):
    """The check's own answer to ``cell_update_backward``: each factor's gradient is dC_t times
    the factor it multiplies."""
    return dC_t * f_t, dC_t * C_prev, dC_t * C_tilde_t, dC_t * i_t


def _cu(*a):
    return dict(zip(_CU_NAMES, reference_cell_update_backward(*a), strict=True))


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
    with forbidding_methods(fn, _BACKWARD_METHODS):
        return run_check("cell update backward", fn, batches(rng, case), tuple_of(*_CU_NAMES), _cu, slips,
                         forbid=(reference_cell_update_backward, *_differentiators()), analytic=True)


# --------------------------------------------------------------------------- fused gate slicing

def reference_split_gates(weight_ih, weight_hh, bias_ih, bias_hh):
    """The check's own answer to ``split_gates``: block k of H rows is gate "ifCo"[k] (torch's
    order i, f, g, o); the slides' one bias is bias_ih + bias_hh."""
    return _split(weight_ih, weight_hh, bias_ih, bias_hh)


def _split(W_ih, W_hh, b_ih, b_hh, order="ifCo", add_hh=True):
    H = W_hh.shape[1]
    w = {}
    for k, g in enumerate(order):
        rows = slice(k * H, (k + 1) * H)
        w[f"W_x{g}"], w[f"W_h{g}"] = W_ih[rows].copy(), W_hh[rows].copy()
        w[f"b_{g}"] = b_ih[rows] + b_hh[rows] if add_hh else b_ih[rows].copy()
    return w


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
    with forbidding_methods(fn, _SLICE_METHODS):
        return run_check("fused gate slicing", fn, cases, _split_unpack, lambda *a: reference_split_gates(*a),
                         slips, forbid=(reference_split_gates,))


# --------------------------------------------------------------------------- coupled-gate backward

_CG_NAMES = ("dC_prev", "df_pre", "dC_tilde_pre")


def reference_coupled_gate_backward(dh_t, dC_t, f_t, C_tilde_t, C_prev, o_t):
    """The check's own answer to ``coupled_gate_backward``, derived by hand (the tests prove it
    against finite differences). With C_t = f_t * C_{t-1} + (1 - f_t) * C_tilde_t and
    h_t = o_t * tanh(C_t), everything reaching C_t is dC = dC_t + dh_t * o_t * (1 - tanh^2 C_t);
    f_t appears twice, so dL/df_t = dC * (C_{t-1} - C_tilde_t)."""
    return _coupled(dh_t, dC_t, f_t, C_tilde_t, C_prev, o_t)


def _coupled(dh, dC_next, f, Ct, Cp, o, *, minus=-1.0, sig=True, tanh_c=True, input_gate=None,
             h_path=True, h_tanh=True, forget=True):
    """The coupled-gate backward with switches for the usual slips (the defaults are right)."""
    tC = np.tanh(f * Cp + (1 - f) * Ct)
    dC = dC_next + (dh * o * ((1 - tC ** 2) if h_tanh else 1.0) if h_path else 0.0)
    df = dC * (Cp + minus * Ct)
    df_pre = df * f * (1 - f) if sig else df
    gate = (1 - f) if input_gate is None else input_gate(f)
    dCt_pre = dC * gate * ((1 - Ct ** 2) if tanh_c else 1.0)
    return dC * f if forget else dC, df_pre, dCt_pre


def _coupled_slip(**kw):
    return lambda *a: dict(zip(_CG_NAMES, _coupled(*a, **kw), strict=True))


@grading_check
def check_coupled_gate_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``coupled_gate_backward(dh_t, dC_t, f_t, C_tilde_t, C_prev, o_t) -> (dC_prev, df_pre, dC_tilde_pre)``
    for the coupled-gate LSTM C_t = f_t * C_{t-1} + (1 - f_t) * C_tilde_t, h_t = o_t * tanh(C_t)."""
    rng = make_rng(seed)

    def case(rng, B):
        H = size(rng, 2, 6)
        return (vec(rng, B, H), vec(rng, B, H), sigmoid(vec(rng, B, H, 2.0)), np.tanh(vec(rng, B, H)),
                vec(rng, B, H), sigmoid(vec(rng, B, H, 2.0)))

    slips = [("the coupled input gate 1 - f_t depends on f_t too: f_t appears twice in C_t, so "
              "dL/df_t = dL/dC_t * (C_{t-1} - C_tilde_t) (you forgot the -1 of 1 - f_t)",
              _coupled_slip(minus=0.0)),
             ("the derivative of 1 - f_t with respect to f_t is -1: dL/df_t = dL/dC_t * (C_{t-1} - C_tilde_t), "
              "not (C_{t-1} + C_tilde_t)", _coupled_slip(minus=1.0)),
             ("df_pre is the gradient of the pre-activation a^f_t: multiply by sigma'(a^f_t) = f_t (1 - f_t)",
              _coupled_slip(sig=False)),
             ("dC_tilde_pre is the gradient of the pre-activation a^C_t: multiply by tanh' = 1 - C_tilde_t^2",
              _coupled_slip(tanh_c=False)),
             ("the candidate is written through the input gate 1 - f_t, not through f_t",
              _coupled_slip(input_gate=lambda f: f)),
             ("the path through h_t = o_t * tanh(C_t) is missing: dL/dC_t gains dh_t * o_t * (1 - tanh^2(C_t))",
              _coupled_slip(h_path=False)),
             ("h_t = o_t * tanh(C_t): the path from h_t to C_t carries tanh' = 1 - tanh^2(C_t)",
              _coupled_slip(h_tanh=False)),
             ("dL/dC_{t-1} = dL/dC_t * f_t: the cell's gradient passes the forget gate",
              _coupled_slip(forget=False))]
    ref = lambda *a: dict(zip(_CG_NAMES, reference_coupled_gate_backward(*a), strict=True))
    with forbidding_methods(fn, _BACKWARD_METHODS):
        return run_check("coupled-gate LSTM backward", fn, batches(rng, case), tuple_of(*_CG_NAMES), ref, slips,
                         forbid=(reference_coupled_gate_backward, *_differentiators()), analytic=True)


# --------------------------------------------------------------------------- experiment: b_f

#: the experiment's sizes (the chapter's gradient measurement: D = 3 inputs, H = 8 units)
MEMORY_D, MEMORY_H = 3, 8
#: the fraction of the gradient that counts as "kept" for the conclusion
MEMORY_KEEP = 0.1


def _memory(b_f, T, seed, *, mode="set", block=1, normalise=True, highway_only=False):
    """One measurement of the experiment, with switches for the usual slips (defaults: right)."""
    D, H = MEMORY_D, MEMORY_H
    lay = LSTM(D, H, seed=int(seed))
    rows = slice(block * H, (block + 1) * H)          # torch's order i, f, g, o: f is block 1
    if mode == "add":
        lay.params["bias_ih_l0"][rows] += b_f
    else:
        lay.params["bias_ih_l0"][rows] = b_f
        if mode == "set":
            lay.params["bias_hh_l0"][rows] = 0.0
    x = np.random.default_rng(int(seed)).standard_normal((int(T), D))
    lay(x)
    dC_T = np.ones((1, H))
    if highway_only:                                  # the product of the forget gates alone
        dC_0 = dC_T * np.prod(lay.traces["l0"]["f"], axis=0)
    else:
        _, (_, dC_0) = lay.backward(None, (np.zeros((1, H)), dC_T))
    return float(np.linalg.norm(dC_0) / (np.linalg.norm(dC_T) if normalise else 1.0))


def _smallest_kept(b_fs, kept, pick="smallest"):
    ok = [b for b, k in zip(b_fs, kept, strict=True) if k >= MEMORY_KEEP]
    if not ok:
        return np.nan
    return {"smallest": min(ok), "first": ok[0], "largest": max(ok)}[pick]


def reference_memory_kept(b_fs, T, seed):
    """The check's own measurement for ``memory_kept``: (kept per b_f, the smallest b_f with
    kept >= 0.1)."""
    kept = np.array([_memory(b, T, seed) for b in b_fs])
    return kept, _smallest_kept(b_fs, kept)


def _memory_outputs(b_fs, T, seed, pick="smallest", **kw):
    kept = np.array([_memory(b, T, seed, **kw) for b in b_fs])
    return {"kept": kept, "b_f_min": np.array(_smallest_kept(b_fs, kept, pick))}


def _memory_case(rng):
    """b_fs: a large bias first (it always keeps), then a shuffled grid in [-2, 5) and one
    value in [6, 8) (so that at least two keep, and the first that keeps is not the smallest)."""
    n = size(rng, 4, 7)
    grid = rng.choice(np.arange(-2.0, 5.0, 0.5), n - 2, replace=False)
    rest = rng.permutation(np.r_[grid, rng.choice(np.arange(6.0, 8.0, 0.5))])
    return (np.r_[9.0, rest], size(rng, 10, 30), int(rng.integers(0, 10_000)))


def _ending_in_a_number(*names, of):
    """Unpack a tuple ``names`` whose last item is a number chosen from the argument ``of``."""
    def unpack(r, case):
        out = tuple_of(*names)(r, case)
        try:
            out[names[-1]] = np.asarray(out[names[-1]], dtype=np.float64)
        except Exception:
            raise ValueError(f"{names[-1]}: expected a number (one of the {of})") from None
        return out
    return unpack


_memory_unpack = _ending_in_a_number("kept", "b_f_min", of="b_fs")


@grading_check
def check_memory_kept(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``memory_kept(b_fs, T, seed) -> (kept, b_f_min)``: the gradient kept over T steps,
    ||dL/dC_0|| / ||dL/dC_T||, of ``companion.LSTM(3, 8, seed=seed)`` with forget bias b_f, for
    each b_f; and the smallest b_f that keeps at least 0.1."""
    rng = make_rng(seed)
    cases = [_memory_case(rng) for _ in range(3)]
    slips = [("set the forget bias to b_f (bias_ih's f block = b_f, bias_hh's = 0: the slides' b_f is their "
              "sum); do not add b_f to the initial bias", lambda *a: _memory_outputs(*a, mode="add")),
             ("the slides' b_f is bias_ih + bias_hh: set bias_hh's f block to 0 too",
              lambda *a: _memory_outputs(*a, mode="ih")),
             ("torch's gate order is i, f, g, o: the forget gate's bias is block 1, rows H:2H",
              lambda *a: _memory_outputs(*a, block=0)),
             ("divide by the size of the gradient you put on C_T: kept = ||dL/dC_0|| / ||dL/dC_T||",
              lambda *a: _memory_outputs(*a, normalise=False)),
             ("the product of the forget gates is only the path along the cell: measure the whole "
              "gradient dL/dC_0 with the layer's backward", lambda *a: _memory_outputs(*a, highway_only=True)),
             ("the conclusion contradicts your measurement: b_f_min is the smallest b_f whose kept is at "
              "least 0.1, not the first one that keeps nor the largest (the b_fs are not sorted)",
              lambda *a: _memory_outputs(*a, pick="first"))]

    def ref(*a):
        kept, b_f_min = reference_memory_kept(*a)
        return {"kept": kept, "b_f_min": np.array(b_f_min)}
    return run_check("forget bias and memory (experiment)", fn, cases, _memory_unpack, ref, slips,
                     forbid=(reference_memory_kept,))


# --------------------------------------------------------------------------- peephole forget gate

def reference_peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f):
    """The check's own answer to ``peephole_forget_gate``: sigma(w_cf * C_{t-1} + W_hf h + W_xf x + b_f)."""
    return sigmoid(w_cf * C_prev + h_prev @ W_hf.T + x_t @ W_xf.T + b_f)


@grading_check
def check_peephole_forget_gate(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f)`` (slide 12, diagonal):
    f_t = sigma(w_cf * C_{t-1} + W_hf h_{t-1} + W_xf x_t + b_f)."""
    rng = make_rng(seed)

    def case(rng, B):
        x, h, C, w = lstm_case(rng, B, peephole="diagonal").args
        return (x, h, C, w["W_xf"], w["W_hf"], w["w_cf"], w["b_f"])

    pre = lambda x, h, C, Wx, Wh, wc, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": reference_peephole_forget_gate(*a)}
    slips = [("the peephole term w_cf * C_{t-1} is missing", lambda *a: {"f_t": sigmoid(pre(*a))}),
             ("the forget gate peeps at C_{t-1} through w_cf * C_{t-1}, an element-wise product, "
              "not at h_{t-1}", lambda *a: {"f_t": sigmoid(pre(*a) + a[5] * a[1])}),
             ("tanh where sigmoid belongs", lambda *a: {"f_t": np.tanh(pre(*a) + a[5] * a[2])})]
    with forbidding_methods(fn, _STEP_METHODS):
        return run_check("peephole forget gate", fn, batches(rng, case), single("f_t"), ref, slips,
                         forbid=(reference_peephole_forget_gate, cells.lstm_step, cells._lstm_step, cells._peep))


# --------------------------------------------------------------------------- peephole step

def reference_peephole_lstm_step(x_t, h_prev, C_prev, w):
    """The check's own answer to ``peephole_lstm_step``: :func:`companion.cells.lstm_step` with
    ``peephole="diagonal"``."""
    s = cells.lstm_step(x_t, h_prev, C_prev, w, peephole="diagonal")
    return s.h_t, s.C_t


def _peep_ref(x, h, C, w):
    h_t, C_t = reference_peephole_lstm_step(x, h, C, w)
    return {"h_t": h_t, "C_t": C_t}


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
    with forbidding_methods(fn, _STEP_METHODS):
        return run_check("peephole LSTM step", fn, batches(rng, case), tuple_of("h_t", "C_t"), _peep_ref, slips,
                         forbid=(reference_peephole_lstm_step, cells.lstm_step, cells._lstm_step, cells._peep))


# --------------------------------------------------------------------------- peephole backward (diagonal)

def reference_peephole_cell_backward(dC_t, f_t, i_t, C_tilde_t, C_prev, w_cf, w_ci):
    """The check's own answer to ``peephole_cell_backward`` (diagonal peepholes):
    dC_t * f_t + w_cf * dL/da^f_t + w_ci * dL/da^i_t, with dL/da^f_t = dC_t * C_{t-1} * f_t (1 - f_t)
    and dL/da^i_t = dC_t * C_tilde_t * i_t (1 - i_t)."""
    return _pcb(dC_t, f_t, i_t, C_tilde_t, C_prev, w_cf, w_ci)


def _pcb(dC, f, i, Ct, Cp, wf, wi, *, sig=True, swap_w=False, swap_c=False, drop=""):
    """The diagonal peephole backward with switches for the usual slips (defaults: right)."""
    if swap_w:
        wf, wi = wi, wf
    a, b = (Ct, Cp) if swap_c else (Cp, Ct)
    df_pre = dC * a * (f * (1 - f) if sig else 1.0)
    di_pre = dC * b * (i * (1 - i) if sig else 1.0)
    return ((0.0 if "d" in drop else dC * f) + (0.0 if "f" in drop else df_pre * wf)
            + (0.0 if "i" in drop else di_pre * wi))


@grading_check
def check_peephole_cell_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_cell_backward(dC_t, f_t, i_t, C_tilde_t, C_prev, w_cf, w_ci) -> dC_prev``:
    dC_{t-1} = dC_t * f_t + w_cf * (dC_t * C_{t-1} * f_t (1 - f_t)) + w_ci * (dC_t * C_tilde_t * i_t (1 - i_t))
    (diagonal peepholes)."""
    rng = make_rng(seed)

    def case(rng, B):
        H = size(rng, 2, 6)
        return (vec(rng, B, H), sigmoid(vec(rng, B, H, 2.0)), sigmoid(vec(rng, B, H, 2.0)),
                np.tanh(vec(rng, B, H)), vec(rng, B, H), rng.normal(0, 0.7, H), rng.normal(0, 0.7, H))

    slip = lambda **kw: (lambda *a: {"dC_prev": _pcb(*a, **kw)})
    slips = [("the peephole terms are missing: with peepholes C_{t-1} also reaches f_t and i_t, "
              "so add w_cf * dL/da^f_t + w_ci * dL/da^i_t", slip(drop="fi")),
             ("the peepholes act on the gates' pre-activations: dL/da^f_t = dC_t * C_{t-1} * f_t (1 - f_t), "
              "the sigmoid's slope included (and likewise for i_t)", slip(sig=False)),
             ("w_cf and w_ci swapped: w_cf carries the forget gate's gradient dL/da^f_t", slip(swap_w=True)),
             ("C_{t-1} and C_tilde_t swapped: f_t multiplies C_{t-1}, so dL/df_t = dC_t * C_{t-1}; "
              "dL/di_t = dC_t * C_tilde_t", slip(swap_c=True)),
             ("the input gate's term w_ci * dL/da^i_t is missing", slip(drop="i")),
             ("the forget gate's term w_cf * dL/da^f_t is missing", slip(drop="f")),
             ("the direct path dC_t * f_t is missing", slip(drop="d"))]
    ref = lambda *a: {"dC_prev": reference_peephole_cell_backward(*a)}
    with forbidding_methods(fn, _BACKWARD_METHODS):
        return run_check("peephole cell backward", fn, batches(rng, case), single("dC_prev"), ref, slips,
                         forbid=(reference_peephole_cell_backward, *_differentiators()), analytic=True)


# --------------------------------------------------------------------------- peephole backward (full, with o)

_STEP_KEYS = ("f_t", "i_t", "C_tilde_t", "C_t", "o_t")


def reference_peephole_full_backward(dh_t, dC_t, C_prev, s, w):
    """The check's own answer to ``peephole_full_backward`` (full (H, H) peepholes, row vectors),
    derived by hand (the tests prove it against ``cells.lstm_step_backward`` and finite
    differences): dC = dC_t + dh_t * o_t (1 - tanh^2 C_t) + (dh_t * tanh(C_t) * o_t (1 - o_t)) @ w_co,
    then dC_prev = dC * f_t + (dC * C_{t-1} * f_t (1 - f_t)) @ w_cf + (dC * C_tilde_t * i_t (1 - i_t)) @ w_ci."""
    return _pfb(dh_t, dC_t, C_prev, s, w)


def _pfb(dh, dC_next, Cp, s, w, *, peep="fio", transpose=False, o_to_prev=False, gates_see_next=False,
         h_tanh=True, o_sig=True):
    """The full peephole backward with switches for the usual slips (defaults: right)."""
    f, i, Ct, C, o = (s[k] for k in _STEP_KEYS)
    W = {k: (w[k].T if transpose else w[k]) for k in ("w_cf", "w_ci", "w_co")}
    tC = np.tanh(C)
    da_o = dh * tC * (o * (1 - o) if o_sig else 1.0)
    o_term = da_o @ W["w_co"] if "o" in peep else 0.0
    dC = dC_next + dh * o * ((1 - tC ** 2) if h_tanh else 1.0) + (0.0 if o_to_prev else o_term)
    g = dC_next if gates_see_next else dC
    out = dC * f
    if "f" in peep:
        out = out + (g * Cp * f * (1 - f)) @ W["w_cf"]
    if "i" in peep:
        out = out + (g * Ct * i * (1 - i)) @ W["w_ci"]
    return out + (o_term if o_to_prev else 0.0)


@grading_check
def check_peephole_full_backward(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``peephole_full_backward(dh_t, dC_t, C_prev, s, w) -> dC_prev``: the gradient reaching
    C_{t-1} through one step of the full peephole LSTM, from dh_t and from dC_t (what arrives at
    C_t from step t+1); ``s``: f_t, i_t, C_tilde_t, C_t, o_t; ``w``: w_cf, w_ci, w_co of shape (H, H)."""
    rng = make_rng(seed)

    def case(rng, B):
        x, h, C, w = lstm_case(rng, B, peephole="full").args
        st = cells.lstm_step(x, h, C, w, peephole="full")
        H = h.shape[-1]
        s = {k: getattr(st, k) for k in _STEP_KEYS}
        return Case((vec(rng, B, H), vec(rng, B, H), C, s, {k: w[k] for k in ("w_cf", "w_ci", "w_co")}))

    slip = lambda **kw: (lambda *a: {"dC_prev": _pfb(*a, **kw)})
    slips = [("with peepholes C_{t-1} also reaches f_t and i_t, and C_t reaches o_t: this is the plain "
              "LSTM's backward", slip(peep="")),
             ("the output gate reads C_t through w_co: dL/dC_t gains (dh_t * tanh(C_t) * o_t (1 - o_t)) @ w_co",
              slip(peep="fi")),
             ("row vectors: the column form W^T v is v @ W, not v @ W.T", slip(transpose=True)),
             ("the output gate reads C_t, not C_{t-1}: add its term to dL/dC_t before the forget gate "
              "and the other peepholes", slip(o_to_prev=True)),
             ("the gates' terms use everything that reaches C_t: dC_t from step t+1 plus both paths "
              "from h_t", slip(gates_see_next=True)),
             ("h_t = o_t * tanh(C_t): the path from h_t to C_t carries tanh' = 1 - tanh^2(C_t)",
              slip(h_tanh=False)),
             ("the output gate's peephole acts on its pre-activation: multiply by sigma' = o_t (1 - o_t)",
              slip(o_sig=False)),
             ("the forget gate's peephole term (through w_cf) is missing", slip(peep="io")),
             ("the input gate's peephole term (through w_ci) is missing", slip(peep="fo"))]
    ref = lambda *a: {"dC_prev": reference_peephole_full_backward(*a)}
    with forbidding_methods(fn, _BACKWARD_METHODS):
        return run_check("full peephole backward", fn, batches(rng, case), single("dC_prev"), ref, slips,
                         forbid=(reference_peephole_full_backward, *_differentiators()), analytic=True)


# --------------------------------------------------------------------------- experiment: b_o

#: a plain gate "sees less than a tenth" of the peephole gate's sight: the conclusion's threshold
SIGHT_RATIO = 0.1


def _sight(b_o, H, seed, *, plain=False, mode="set", block=3, step=1, zero=("ci", "cf", "co")):
    """One measurement of the experiment, with switches for the usual slips (defaults: right)."""
    H = int(H)
    lay = LSTM(1, H, seed=int(seed), peephole="diagonal")
    rows = slice(block * H, (block + 1) * H)          # torch's order i, f, g, o: o is block 3
    if mode == "add":
        lay.params["bias_ih_l0"][rows] += b_o
    else:
        lay.params["bias_ih_l0"][rows] = b_o
        lay.params["bias_hh_l0"][rows] = 0.0
    if plain:
        for g in zero:
            lay.params[f"weight_{g}_l0"][...] = 0.0
    f = []
    for C_0 in (0.0, 1.0):
        lay(np.ones((2, 1)), state=(np.zeros((1, H)), np.full((1, H), C_0)))
        f.append(lay.traces["l0"]["f"][step])
    return float(np.abs(f[1] - f[0]).max())


def _blind(b_os, plain, peep, pick="largest"):
    ok = [b for b, p, q in zip(b_os, plain, peep, strict=True) if p < SIGHT_RATIO * q]
    if not ok:
        return np.nan
    return {"largest": max(ok), "first": ok[0], "smallest": min(ok)}[pick]


def reference_gate_sight(b_os, H, seed):
    """The check's own measurement for ``gate_sight``: (plain, peephole, the largest b_o at which
    plain < peephole / 10)."""
    plain = np.array([_sight(b, H, seed, plain=True) for b in b_os])
    peep = np.array([_sight(b, H, seed) for b in b_os])
    return plain, peep, _blind(b_os, plain, peep)


def _sight_outputs(b_os, H, seed, pick="largest", **kw):
    plain = np.array([_sight(b, H, seed, plain=True, **kw) for b in b_os])
    peep = np.array([_sight(b, H, seed, **{k: v for k, v in kw.items() if k != "zero"}) for b in b_os])
    return {"plain": plain, "peephole": peep, "b_o_blind": np.array(_blind(b_os, plain, peep, pick))}


def _sight_case(rng):
    """b_os: a closed output gate first (b_o = -10, always blind), then a shuffled grid in
    [-5, 3) and one value in [-8, -6) (blind too: the first blind b_o is not the largest)."""
    n = size(rng, 4, 7)
    grid = rng.choice(np.arange(-5.0, 3.0, 0.5), n - 2, replace=False)
    rest = rng.permutation(np.r_[grid, rng.choice(np.arange(-8.0, -6.0, 0.5))])
    return (np.r_[-10.0, rest], size(rng, 4, 9), int(rng.integers(0, 10_000)))


_sight_unpack = _ending_in_a_number("plain", "peephole", "b_o_blind", of="b_os")


@grading_check
def check_gate_sight(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``gate_sight(b_os, H, seed) -> (plain, peephole, b_o_blind)``: how much the forget gate
    f_2 changes when C_0 goes from 0 to 1, for each output-gate bias b_o, without and with
    peepholes; and the largest b_o at which the plain gate sees less than a tenth of the peephole one's."""
    rng = make_rng(seed)
    cases = [_sight_case(rng) for _ in range(3)]
    slips = [("torch's gate order is i, f, g, o: the output gate's bias is block 3, rows 3H:4H",
              lambda *a: _sight_outputs(*a, block=1)),
             ("set the output gate's bias to b_o (bias_ih's o block = b_o, bias_hh's = 0: the slides' b_o "
              "is their sum); do not add b_o to the initial bias", lambda *a: _sight_outputs(*a, mode="add")),
             ("measure at step 2: at step 1 the plain gate sees only h_0, the same in both runs",
              lambda *a: _sight_outputs(*a, step=0)),
             ("the plain LSTM is the same layer with all three peephole weights (weight_ci, weight_cf, "
              "weight_co) set to zero", lambda *a: _sight_outputs(*a, zero=("cf",))),
             ("the conclusion contradicts your measurement: b_o_blind is the largest b_o at which "
              "plain < peephole / 10, not the first one nor the smallest (the b_os are not sorted)",
              lambda *a: _sight_outputs(*a, pick="first"))]

    def ref(*a):
        plain, peep, blind = reference_gate_sight(*a)
        return {"plain": plain, "peephole": peep, "b_o_blind": np.array(blind)}
    return run_check("blind gates (experiment)", fn, cases, _sight_unpack, ref, slips,
                     forbid=(reference_gate_sight,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy (and companion's layers for the experiments): not with
# the references or the slips above.

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


def _coupled_by_hand(dh_t, dC_t, f_t, C_tilde_t, C_prev, o_t, coupled=True):
    C_t = f_t * C_prev + (1 - f_t) * C_tilde_t
    dC = dC_t + dh_t * o_t * (1 - np.tanh(C_t) ** 2)        # everything that reaches C_t
    df = dC * (C_prev - C_tilde_t) if coupled else dC * C_prev
    return dC * f_t, df * f_t * (1 - f_t), dC * (1 - f_t) * (1 - C_tilde_t ** 2)


def _memory_by_hand(b_fs, T, seed, add=False):
    import companion
    H = 8
    x = np.random.default_rng(seed).standard_normal((T, 3))
    kept = []
    for b_f in b_fs:
        lay = companion.LSTM(3, H, seed=seed)
        if add:
            lay.params["bias_ih_l0"][H:2 * H] += b_f
        else:
            lay.params["bias_ih_l0"][H:2 * H] = b_f
            lay.params["bias_hh_l0"][H:2 * H] = 0.0
        lay(x)
        _, (_, dC_0) = lay.backward(None, (np.zeros((1, H)), np.ones((1, H))))
        kept.append(np.linalg.norm(dC_0) / np.sqrt(H))
    kept = np.array(kept)
    return kept, min(b for b, k in zip(b_fs, kept, strict=True) if k >= 0.1)


def _memory_first_in_list(b_fs, T, seed):
    kept, _ = _memory_by_hand(b_fs, T, seed)
    return kept, next(b for b, k in zip(b_fs, kept, strict=True) if k >= 0.1)


def _pcb_by_hand(dC, f, i, Ct, Cp, wf, wi, peep=True):
    return dC * f + (wf * dC * Cp * f * (1 - f) + wi * dC * Ct * i * (1 - i) if peep else 0)


def _pfb_by_hand(dh, dC_t, C_prev, s, w, transpose=False):
    W = {k: v.T if transpose else v for k, v in w.items()}
    f, i, Ct, C, o = s["f_t"], s["i_t"], s["C_tilde_t"], s["C_t"], s["o_t"]
    dC = dC_t + dh * o * (1 - np.tanh(C) ** 2) + (dh * np.tanh(C) * o * (1 - o)) @ W["w_co"]
    return dC * f + (dC * C_prev * f * (1 - f)) @ W["w_cf"] + (dC * Ct * i * (1 - i)) @ W["w_ci"]


def _sight_by_hand(b_os, H, seed, first=False):
    import companion
    plain, peep = [], []
    for b_o in b_os:
        for out, zero in ((plain, True), (peep, False)):
            lay = companion.LSTM(1, H, seed=seed, peephole="diagonal")
            lay.params["bias_ih_l0"][3 * H:] = b_o
            lay.params["bias_hh_l0"][3 * H:] = 0.0
            if zero:
                for g in ("ci", "cf", "co"):
                    lay.params[f"weight_{g}_l0"][...] = 0.0
            f2 = []
            for C_0 in (0.0, 1.0):
                lay(np.ones((2, 1)), state=(np.zeros((1, H)), np.full((1, H), C_0)))
                f2.append(lay.traces["l0"]["f"][1])
            out.append(np.abs(f2[1] - f2[0]).max())
    plain, peep = np.array(plain), np.array(peep)
    blind = [b for b, p, q in zip(b_os, plain, peep, strict=True) if p < q / 10]
    return plain, peep, (blind[0] if first else max(blind))


def _copy_forget_gate(x, h, W_xf, W_hf, b_f):
    """Copying: the whole LSTM step, for its f_t."""
    H = W_hf.shape[0]
    w = {k: np.zeros(s) for k, s in cells.weight_shapes("lstm", W_xf.shape[1], H).items()}
    w.update(W_xf=W_xf, W_hf=W_hf, b_f=b_f)
    return cells.lstm_step(x, h, np.zeros_like(h), w).f_t


def _copy_split(W_ih, W_hh, b_ih, b_hh):
    """Copying: a companion.LSTM holding these parameters slices them itself."""
    lay = LSTM(W_ih.shape[1], W_hh.shape[1])
    lay.params.update(weight_ih_l0=W_ih, weight_hh_l0=W_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    return {k: np.array(v) for k, v in lay.cell_weights().items()}


def _copy_peephole_cell_backward(dC, f, i, Ct, Cp, wf, wi):
    """Copying: companion's peephole backward helper for the two gate terms."""
    return dC * f + cells._peep_back(wf, dC * Cp * f * (1 - f), Cp, "diagonal")[1] \
        + cells._peep_back(wi, dC * Ct * i * (1 - i), Cp, "diagonal")[1]


#: the checks of this module: each with a correct answer and hand-written wrong ones
CHECKS = registry(
    Exercise(check_forget_gate, lambda x, h, Wx, Wh, b: sigmoid(h @ Wh.T + x @ Wx.T + b),
             (Wrong(lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),),
             chapter="06", kind="recall", points=1,
             skill="the forget gate of slide 10, f_t = sigma(W_f [h_{t-1}, x_t] + b_f), for one example or a batch",
             copying=_copy_forget_gate),
    Exercise(check_lstm_step, _lstm_by_hand, (Wrong(_lstm_no_tanh_out, "tanh of the cell is missing"),),
             chapter="06", kind="recall", points=2,
             skill="the whole LSTM step of slide 10 (three gates, candidate, cell update, output) as code",
             copying=lambda *a: (lambda s: (s.h_t, s.C_t))(cells.lstm_step(*a))),
    Exercise(check_cell_update_backward, lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * Ct, dC * i),
             (Wrong(lambda dC, f, i, Ct, Cp: (dC, dC * Cp, dC * Ct, dC * i), "factor f_t is missing"),),
             chapter="06", kind="apply", points=2,
             skill="the chain rule through C_t = f_t * C_{t-1} + i_t * C_tilde_t: all four local gradients, "
                   "the gradient highway among them",
             copying=lambda *a: reference_cell_update_backward(*a)),
    Exercise(check_split_gates, _split_by_hand,
             (Wrong(lambda *a: _split_by_hand(*a, bias_hh=False), "bias_ih only"),),
             chapter="06", kind="apply", points=2,
             skill="slide 14's concurrent form read back: cut torch's stacked (4H, .) weights into the slides' "
                   "per-gate W and b (order i, f, g, o; b = b_ih + b_hh)",
             copying=_copy_split),
    Exercise(check_coupled_gate_backward, _coupled_by_hand,
             (Wrong(lambda *a: _coupled_by_hand(*a, coupled=False), "forgot the -1 of 1 - f_t"),
              Wrong(lambda dh, dC, f, Ct, Cp, o: (lambda r: (r[0], r[1] / (f * (1 - f)), r[2]))(
                  _coupled_by_hand(dh, dC, f, Ct, Cp, o)), "multiply by sigma'(a^f_t)")),
             chapter="06", kind="transfer", points=3,
             skill="derive the backward of a cell the chapter did not: the coupled-gate LSTM (i_t = 1 - f_t), "
                   "where f_t reaches C_t along two paths",
             copying=lambda *a: reference_coupled_gate_backward(*a)),
    Exercise(check_memory_kept, _memory_by_hand,
             (Wrong(lambda *a: _memory_by_hand(*a, add=True), "do not add b_f to the initial bias"),
              Wrong(_memory_first_in_list, "the b_fs are not sorted")),
             chapter="06", kind="experiment", points=3,
             skill="measure how much gradient survives T steps as the forget bias b_f changes (the layer's "
                   "BPTT), and read the smallest b_f that keeps 10 % off the measurement",
             copying=lambda *a: reference_memory_kept(*a)),
    Exercise(check_peephole_forget_gate,
             lambda x, h, C, Wx, Wh, wc, b: sigmoid(wc * C + h @ Wh.T + x @ Wx.T + b),
             (Wrong(lambda x, h, C, Wx, Wh, wc, b: sigmoid(h @ Wh.T + x @ Wx.T + b), "peephole term"),),
             chapter="07", kind="recall", points=1,
             skill="slide 12's forget gate with a diagonal peephole, sigma(w_cf * C_{t-1} + W_hf h + W_xf x + b_f)",
             copying=lambda *a: reference_peephole_forget_gate(*a)),
    Exercise(check_peephole_lstm_step, lambda x, h, C, w: _lstm_by_hand(x, h, C, w, peep=True),
             (Wrong(lambda x, h, C, w: _lstm_by_hand(x, h, C, {k: v for k, v in w.items() if k[:3] != "w_c"}),
                    "plain LSTM"),),
             chapter="07", kind="apply", points=2,
             skill="the diagonal peephole step on batches (the page works the full form through): which cell "
                   "each gate sees, C_{t-1} for f and i, C_t for o",
             copying=lambda x, h, C, w: (lambda s: (s.h_t, s.C_t))(cells.lstm_step(x, h, C, w, peephole="diagonal"))),
    Exercise(check_peephole_cell_backward, _pcb_by_hand,
             (Wrong(lambda *a: _pcb_by_hand(*a, peep=False), "peephole terms are missing"),),
             chapter="07", kind="apply", points=2,
             skill="the peephole Jacobian of the page applied as a backward in the diagonal form: from the gate "
                   "values to dL/dC_{t-1}, the sigmoid's slope included",
             copying=_copy_peephole_cell_backward),
    Exercise(check_peephole_full_backward, _pfb_by_hand,
             (Wrong(lambda *a: _pfb_by_hand(*a, transpose=True), "not v @ W.T"),),
             chapter="07", kind="transfer", points=3,
             skill="derive what the page only names: the output gate's peephole path into C_t, combined with "
                   "the full (H, H) peepholes into one backward to C_{t-1}, for row vectors",
             copying=lambda *a: reference_peephole_full_backward(*a)),
    Exercise(check_gate_sight, _sight_by_hand,
             (Wrong(lambda *a: _sight_by_hand(*a, first=True), "the b_os are not sorted"),),
             chapter="07", kind="experiment", points=3,
             skill="close the output gate (b_o) and measure how much the forget gate still sees of the cell, "
                   "with and without peepholes; read the conclusion off the measurement",
             copying=lambda *a: reference_gate_sight(*a)),
)
