"""Checks for the exercises of "Training on a long-range task" (chapter 09, slides 9-16 in practice).

Signatures the exercises ask for (numpy in, numpy out; no torch needed):

* ``jacobian_chain(h, W) -> J``: the vanilla RNN's d h_T / d h_0 = prod_t diag(1 - h_t^2) W, h (T, H)
  (recall: the chapter's equation as code)
* ``lstm_cell_jacobian(x, h0, C0, w) -> J``: the LSTM's whole d C_T / d C_0 (H, H), the paths
  through h_{t-1} included (transfer: the page writes only the direct path prod_t diag(f_t));
  x (T, D) one sequence, h0 and C0 (H,), w as in :data:`companion.cells.LSTM_WEIGHTS`
* ``forget_bias_sweep(layer, x, b_fs, threshold) -> (grads, slopes, smallest)``: an untrained
  :class:`companion.LSTM` (batch_first) and one-hot recall sequences x (B, T, D); for each
  forget-gate bias b_f in the grid ``b_fs`` (ascending), the mean over the sequences of
  ||d(sum_j h_T[j]) / d x_1|| and the mean of tanh'(C_T) = 1 - tanh(C_T)^2; and the smallest b_f
  whose gradient is at least ``threshold`` (experiment: the chapter's probe with b_f changed)

Each check draws fresh random inputs on every call, compares with the check's own answer (the
``reference_*`` functions below, which the student's function may not call) and names the
likely slip (see :mod:`companion.checks.core`).
"""
from __future__ import annotations

import copy

import numpy as np

from .. import cells, layers, tasks
from ..gradcheck import numerical_grad
from ..layers import LSTM
from .core import (
    Answer,
    Case,
    Exercise,
    Feedback,
    Wrong,
    grading_check,
    lstm_weights,
    make_rng,
    registry,
    run_check,
    single,
    size,
    torch_function,
    tuple_of,
)

__all__ = ["check_jacobian_chain", "check_lstm_cell_jacobian", "check_forget_bias_sweep",
           "reference_jacobian_chain", "reference_lstm_cell_jacobian", "reference_forget_bias_sweep", "CHECKS"]


def _autograd():
    """torch's functions that would differentiate for the student (None where torch is not
    imported): reverse mode, which torch.autograd.functional and torch.func's jacrev call, and
    forward mode, which jacfwd calls."""
    return tuple(torch_function(p) for p in ("autograd.grad", "autograd.backward",
                                             "autograd.functional.jacobian", "autograd.forward_ad.make_dual"))


# --------------------------------------------------------------------------- the vanilla RNN's chain

def _jac(h, W, *, deriv=True, order="right", transpose=False):
    H = W.shape[0]
    Wm = W.T if transpose else W
    J = np.eye(H)
    for t in range(len(h)):
        Jt = (np.diag(1 - h[t] ** 2) if deriv else np.eye(H)) @ Wm
        J = Jt @ J if order == "right" else J @ Jt
    return J


def reference_jacobian_chain(h, W):
    """The check's own answer to ``jacobian_chain``: d h_T / d h_0 = J_T ... J_1 with
    J_t = diag(1 - h_t^2) W (the student's function may not call it)."""
    return _jac(h, W)


@grading_check
def check_jacobian_chain(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``jacobian_chain(h, W)``: d h_T / d h_0 = J_T ... J_1, J_t = diag(1 - h_t^2) W."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, H = size(rng, 2, 6), size(rng, 2, 5)
        cases.append((np.tanh(rng.normal(0, 1, (T, H))), rng.normal(0, 0.8, (H, H))))
    ref = lambda h, W: {"J": reference_jacobian_chain(h, W)}
    slips = [("the tanh derivative is missing: each step's Jacobian is diag(1 - h_t^2) W",
              lambda h, W: {"J": _jac(h, W, deriv=False)}),
             ("the product is in the wrong order: the latest step's Jacobian goes on the left, "
              "J = J_T ... J_2 J_1", lambda h, W: {"J": _jac(h, W, order="left")}),
             ("W is transposed: d h_t / d h_{t-1} = diag(1 - h_t^2) W (row i: unit i of h_t)",
              lambda h, W: {"J": _jac(h, W, transpose=True)})]
    return run_check("vanilla RNN Jacobian chain", fn, cases, single("J"), ref, slips,
                     forbid=(reference_jacobian_chain, *_autograd()), analytic=True)


# --------------------------------------------------------------------------- the LSTM's whole cell Jacobian

def _cell_jacobian(x, h0, C0, w, *, path="all"):
    """d C_T / d C_0 through (h_t, C_t): the 2H x 2H Jacobian of each step, multiplied newest on
    the left. ``path`` names a slip: "direct" (prod diag f_t only), "cell" (a chain of C alone,
    o_{t-1} held fixed: the same as leaving out h_t's dependence on h_{t-1} through o_t), "left"
    (the product in the wrong order), "h" (d h_T / d C_0 returned)."""
    H = len(C0)
    h, C = h0, C0
    P, P_cell, o_prev = np.eye(2 * H), np.eye(H), None
    for x_t in x:
        s = cells._lstm_step(x_t, h, C, w)
        f, i, g, o = s.f_t, s.i_t, s.C_tilde_t, s.o_t
        # C_t = f_t * C_{t-1} + i_t * C~_t; f, i and C~ all read h_{t-1}
        dC_dh = (np.diag(C * f * (1 - f)) @ w["W_hf"] + np.diag(g * i * (1 - i)) @ w["W_hi"]
                 + np.diag(i * (1 - g ** 2)) @ w["W_hC"])
        dC_dC = np.diag(f)
        # h_t = o_t * tanh(C_t): through C_t, and through o_t, which reads h_{t-1}
        dh_dCt = np.diag(o * (1 - np.tanh(s.C_t) ** 2))
        dh_dh = dh_dCt @ dC_dh + np.diag(np.tanh(s.C_t) * o * (1 - o)) @ w["W_ho"]
        J = np.block([[dh_dh, dh_dCt @ dC_dC], [dC_dh, dC_dC]])
        P = P @ J if path == "left" else J @ P
        Jc = dC_dC if o_prev is None else dC_dC + dC_dh @ np.diag(o_prev * (1 - np.tanh(C) ** 2))
        P_cell = (np.diag(f) if path == "direct" else Jc) @ P_cell
        h, C, o_prev = s.h_t, s.C_t, o
    if path in ("direct", "cell"):
        return P_cell
    return P[:H, H:] if path == "h" else P[H:, H:]


def _layer_backward():
    """What a companion layer's backward (BPTT) calls for its weight gradients: refusing it refuses
    ``layer.backward`` (a method, which cannot be swapped out by name)."""
    return (layers._weight_grads,)


def reference_lstm_cell_jacobian(x, h0, C0, w):
    """The check's own answer to ``lstm_cell_jacobian``: d C_T / d C_0 of an LSTM run on x from
    (h0, C0), every path included (the student's function may not call it)."""
    return _cell_jacobian(x, h0, C0, w)


@grading_check
def check_lstm_cell_jacobian(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``lstm_cell_jacobian(x, h0, C0, w)``: d C_T / d C_0 (H, H) of an LSTM (slide 10) run on
    x (T, D) from h_0 = h0, C_0 = C0, through every path: the Jacobian of (h_t, C_t) with respect
    to (h_{t-1}, C_{t-1}) at each step, multiplied newest on the left."""
    rng = make_rng(seed)
    cases = []
    for _ in range(4):
        T, D, H = size(rng, 3, 6), size(rng, 2, 5), size(rng, 2, 5)
        w = lstm_weights(rng, D, H)
        w["b_f"] = w["b_f"] + 1.0                  # a cell that leans to keeping: J stays far from 0
        cases.append((rng.normal(0, 1, (T, D)), rng.normal(0, 0.5, H), rng.normal(0, 1, H), w))
    ref = lambda x, h0, C0, w: {"J": reference_lstm_cell_jacobian(x, h0, C0, w)}
    slip = lambda path: (lambda x, h0, C0, w: {"J": _cell_jacobian(x, h0, C0, w, path=path)})
    slips = [("that is only the direct path prod_t diag(f_t) of the page: C_{t-1} also reaches C_t "
              "through h_{t-1} = o_{t-1} * tanh(C_{t-1}), which every gate reads", slip("direct")),
             ("a path is missing: h_t = o_t * tanh(C_t) reads h_{t-1} through o_t as well (the term "
              "diag(tanh(C_t) * o_t * (1 - o_t)) W_ho), and so C_0 reaches C_T through the output gates too; "
              "a chain of H x H Jacobians of C alone cannot carry it: chain the 2H x 2H Jacobians of (h_t, C_t)",
              slip("cell")),
             ("the product is in the wrong order: the newest step's Jacobian goes on the left, "
              "J_T ... J_2 J_1", slip("left")),
             ("that is d h_T / d C_0; the exercise asks for d C_T / d C_0, the other block of the product",
              slip("h"))]
    forbid = (reference_lstm_cell_jacobian, cells.lstm_step_backward, numerical_grad, *_layer_backward(),
              *_autograd())
    return run_check("the LSTM's whole cell Jacobian", fn, cases, single("J"), ref, slips, forbid=forbid, analytic=True)


# --------------------------------------------------------------------------- the forget-bias experiment

def _set_forget_bias(layer, b_f, *, block=1, zero_hh=True):
    """The slides' b_f = bias_ih + bias_hh of the f block (torch's order i, f, g, o): b_f in
    bias_ih, 0 in bias_hh, as the chapter's ``build`` does."""
    H = layer.hidden_size
    layer.params["bias_ih_l0"][block * H:(block + 1) * H] = b_f
    if zero_hh:
        layer.params["bias_hh_l0"][block * H:(block + 1) * H] = 0.0


def _sweep(layer, x, b_fs, *, at=0, reduce="mean", block=1, zero_hh=True, slope_of="C"):
    """(grads, slopes) over the grid; the keywords name the slips (the gradient at another input,
    summed instead of averaged, the wrong gate's bias, bias_hh left as drawn, the slope of h_T)."""
    layer = copy.deepcopy(layer)
    grads, slopes = [], []
    for b_f in b_fs:
        _set_forget_bias(layer, b_f, block=block, zero_hh=zero_hh)
        out, (_, C_n) = layer(x)
        d_out = np.zeros_like(out)
        d_out[:, -1, :] = 1.0                       # the gradient of sum_j h_T[j]
        dx, _ = layer.backward(d_out)
        norms = np.linalg.norm(dx[:, at, :], axis=-1)
        grads.append(norms.mean() if reduce == "mean" else norms.sum())
        if slope_of == "C":
            slopes.append((1.0 - np.tanh(C_n[0]) ** 2).mean())   # tanh' at the last cell state
        else:
            slopes.append((1.0 - out[:, -1, :] ** 2).mean())
    return np.array(grads), np.array(slopes)


def _smallest(b_fs, grads, threshold):
    reached = np.flatnonzero(np.asarray(grads) >= threshold)
    return float(b_fs[reached[0]]) if len(reached) else float("nan")


def reference_forget_bias_sweep(layer, x, b_fs, threshold):
    """The check's own answer to ``forget_bias_sweep``: for each b_f in ``b_fs``, with the forget-gate
    bias set to b_f (bias_ih's f block b_f, bias_hh's 0), the mean over the sequences of
    ||d(sum_j h_T[j]) / d x_1|| and the mean of tanh'(C_T) = 1 - tanh(C_T)^2 over the sequences and
    units; and the smallest b_f whose gradient is at least ``threshold`` (the student's function
    may not call it)."""
    grads, slopes = _sweep(layer, x, b_fs)
    return grads, slopes, _smallest(b_fs, grads, threshold)


def _sweep_case(rng):
    """An untrained LSTM, recall sequences, a grid of b_f and a threshold that one b_f of the grid,
    neither the first nor the last nor the one of the largest gradient, is the first to reach."""
    while True:
        B, H, d = size(rng, 6, 12), size(rng, 4, 8), size(rng, 12, 24)
        draw = int(rng.integers(0, 2 ** 31))
        data = tasks.recall_task(B, d, seed=draw)
        x = np.eye(len(data.vocab))[data.x]                         # one-hot, (B, T, D)
        layer = LSTM(len(data.vocab), H, batch_first=True, seed=draw)
        b_fs = rng.uniform(-1.0, 1.0) + rng.uniform(0.8, 1.5) * np.arange(5)
        grads, slopes, _ = reference_forget_bias_sweep(layer, x, b_fs, np.inf)
        ok = [k for k in range(1, len(b_fs) - 1)
              if grads[k] > 2 * grads[:k].max() and k != int(np.argmax(grads))]
        if ok:
            k = int(rng.choice(ok))
            threshold = float(np.sqrt(grads[:k].max() * grads[k]))    # between them, far from both
            return Case((layer, x, b_fs, threshold), hidden=(grads, slopes))


def _read_sweep(result, case):
    out = tuple_of("grads", "slopes", "smallest")(result, case)
    if isinstance(out["smallest"], (bool, np.bool_)) or np.ndim(out["smallest"]) != 0:
        raise ValueError(f"smallest: expected one number (a b_f of the grid), got {out['smallest']!r}")
    return out


@grading_check
def check_forget_bias_sweep(fn: Answer, *, seed: int | None = None) -> Feedback:
    """Check ``forget_bias_sweep(layer, x, b_fs, threshold) -> (grads, slopes, smallest)``: for each
    b_f of the grid (the forget-gate bias of an untrained LSTM set to b_f), the gradient that reaches
    the symbol x_1 (the mean over the sequences of ||d(sum_j h_T[j]) / d x_1||) and the cell's slope
    at the end (the mean of 1 - tanh(C_T)^2); and the smallest b_f whose gradient reaches the
    threshold."""
    rng = make_rng(seed)
    cases = [_sweep_case(rng) for _ in range(3)]

    def ref(layer, x, b_fs, threshold, grads, slopes):
        return {"grads": grads, "slopes": slopes, "smallest": np.asarray(_smallest(b_fs, grads, threshold))}

    def slip(**how):
        return lambda layer, x, b_fs, threshold, grads, slopes: dict(
            zip(("grads", "slopes"), _sweep(layer, x, b_fs, **how), strict=True))

    def only(name, **how):
        both = slip(**how)
        return lambda *case: {name: both(*case)[name]}

    slips = [("your measurements are right, but your conclusion does not follow from them: smallest is "
              "the smallest b_f of b_fs whose gradient is at least threshold",
              lambda layer, x, b_fs, threshold, grads, slopes: {"grads": grads, "slopes": slopes}),
             ("you measured the gradient at the last input x_T, the query; the symbol is x_1, d steps "
              "before it", only("grads", at=-1)),
             ("b_f is the sum bias_ih + bias_hh of the f block: you set bias_ih's and left bias_hh's as "
              "drawn; set it to 0, as the chapter's build() does", slip(zero_hh=False)),
             ("torch stacks the gates i, f, g, o: the forget gate's bias is the second block, entries "
              "H to 2H (you set the input gate's)", slip(block=0)),
             ("you summed the norms over the sequences: the measurement is their mean",
              only("grads", reduce="sum")),
             ("the slope is the cell's, tanh'(C_T) = 1 - tanh(C_T)^2 with C_T the last cell state, "
              "not 1 - h_T^2", only("slopes", slope_of="h"))]
    return run_check("gradient and drift as b_f changes", fn, cases, _read_sweep, ref, slips,
                     forbid=(reference_forget_bias_sweep,))


# --------------------------------------------------------------------------- what a test needs
# Written as a student would, with numpy only: not with the references or the slips above.


def _jacobian_chain(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = np.diag(1 - h_t ** 2) @ W @ J
    return J


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _lstm_cell_jacobian(x, h0, C0, w, o_path=True):
    H = len(C0)
    h, C = h0, C0
    J = np.eye(2 * H)                                # d (h_t, C_t) / d (h_0, C_0)
    for x_t in x:
        pre = {g: w[f"W_x{g}"] @ x_t + w[f"W_h{g}"] @ h + w[f"b_{g}"] for g in "fiCo"}
        f, i, o, Ct = _sig(pre["f"]), _sig(pre["i"]), _sig(pre["o"]), np.tanh(pre["C"])
        C_new = f * C + i * Ct
        th = np.tanh(C_new)
        dC_dh = ((C * f * (1 - f))[:, None] * w["W_hf"] + (Ct * i * (1 - i))[:, None] * w["W_hi"]
                 + (i * (1 - Ct ** 2))[:, None] * w["W_hC"])
        dh_dh = (o * (1 - th ** 2))[:, None] * dC_dh
        if o_path:
            dh_dh = dh_dh + (th * o * (1 - o))[:, None] * w["W_ho"]
        step = np.zeros((2 * H, 2 * H))
        step[:H, :H], step[:H, H:] = dh_dh, np.diag(o * (1 - th ** 2) * f)
        step[H:, :H], step[H:, H:] = dC_dh, np.diag(f)
        J = step @ J
        h, C = o * th, C_new
    return J[H:, H:]


def _direct_path_only(x, h0, C0, w):
    h, C, keep = h0, C0, np.ones(len(C0))
    for x_t in x:
        step = cells.lstm_step(x_t, h, C, w)
        keep = keep * step.f_t
        h, C = step.h_t, step.C_t
    return np.diag(keep)


def _forget_bias_sweep(layer, x, b_fs, threshold, last=False):
    H = layer.hidden_size
    grads, slopes = [], []
    for b_f in b_fs:
        layer.params["bias_ih_l0"][H:2 * H] = b_f
        layer.params["bias_hh_l0"][H:2 * H] = 0.0
        out, (h_n, c_n) = layer(x)
        seed = np.zeros_like(out)
        seed[:, -1] = 1.0
        dx, _ = layer.backward(seed)
        grads.append(np.linalg.norm(dx[:, -1 if last else 0], axis=1).mean())
        slopes.append(np.mean(1 - np.tanh(c_n) ** 2))
    grads = np.array(grads)
    return grads, np.array(slopes), float(b_fs[np.argmax(grads >= threshold)])


#: the checks of this module: each with a correct answer, hand-written wrong ones and one that
#: calls the check's own answer
CHECKS = registry(
    Exercise(check_jacobian_chain, _jacobian_chain,
             (Wrong(lambda h, W: np.linalg.matrix_power(W, len(h)), "tanh derivative"),),
             chapter="09", kind="recall", points=2,
             skill="write the vanilla RNN's Jacobian chain d h_T / d h_0 as a product in the right order",
             copying=lambda h, W: reference_jacobian_chain(h, W)),
    Exercise(check_lstm_cell_jacobian, _lstm_cell_jacobian,
             (Wrong(lambda x, h0, C0, w: _lstm_cell_jacobian(x, h0, C0, w, o_path=False), "through o_t as well"),
              Wrong(_direct_path_only, "only the direct path")),
             chapter="09", kind="transfer", points=4,
             skill="derive the LSTM's whole Jacobian d C_T / d C_0, the paths through h_{t-1} included, "
                   "by chaining the Jacobians of both states",
             copying=lambda x, h0, C0, w: reference_lstm_cell_jacobian(x, h0, C0, w)),
    Exercise(check_forget_bias_sweep, _forget_bias_sweep,
             (Wrong(lambda layer, x, b_fs, thr: _forget_bias_sweep(layer, x, b_fs, thr, last=True), "last input"),
              Wrong(lambda layer, x, b_fs, thr: (*_forget_bias_sweep(layer, x, b_fs, thr)[:2], float(b_fs[-1])),
                    "does not follow")),
             chapter="09", kind="experiment", points=3,
             skill="change the forget-gate bias of an untrained LSTM on the recall task, measure the gradient "
                   "that reaches the distant symbol and the cell's drift, and read off the smallest b_f that "
                   "keeps the gradient",
             copying=lambda layer, x, b_fs, thr: reference_forget_bias_sweep(layer, x, b_fs, thr)),
)
