"""Instant feedback for the exercises: call a check on your function, read what is wrong.

Each check draws *fresh* random inputs on every call (a hard-coded answer
cannot pass), runs your function and companion's reference on them, and
reports the first output that differs: its name, the index, the expected and
the actual value, and, where your output matches a known slip (C_{t-1} used
where h_{t-1} belongs, sigmoid where tanh belongs, z and 1 - z swapped...),
a hint naming it.

A check returns a :class:`Feedback`, truthy only when everything matched, so a
grading cell can ``assert check_lstm_step(lstm_step)``. In a notebook the
feedback shows itself; ``print(feedback)`` works anywhere.

Signatures the exercises ask for (names follow :mod:`companion.cells`):

* ``softmax(o) -> y_hat`` for o of shape (K,) or (B, K)
* ``rnn_step(x_t, h_prev, U, W, b) -> h_t``
* ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t``
* ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)``, w as in :data:`companion.cells.LSTM_WEIGHTS`
* ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f) -> f_t`` (diagonal w_cf)
* ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form, w as in :data:`companion.cells.GRU_WEIGHTS`

Checks for one chapter's own exercises live in submodules (``companion.checks.<topic>``)
built on the same driver, :func:`run_check`.
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..activations import sigmoid, softmax

__all__ = ["Feedback", "run_check", "compare", "check_softmax", "check_rnn_step", "check_forget_gate", "check_lstm_step",
           "check_peephole_forget_gate", "check_gru_step", "CHECKS"]

RTOL, ATOL = 1e-6, 1e-8


class Feedback:
    """The outcome of a check: ``bool(feedback)`` is True only if every output matched."""

    def __init__(self, exercise, passed, lines):
        self.exercise, self.passed, self.lines = exercise, passed, list(lines)

    def __bool__(self):
        return self.passed

    def __str__(self):
        head = ("PASSED" if self.passed else "NOT YET") + f" - {self.exercise}"
        return "\n".join([head] + [f"  {line}" for line in self.lines])

    __repr__ = __str__

    def _repr_markdown_(self):
        icon = "✅" if self.passed else "❌"
        body = "\n".join(f"- {line}" for line in self.lines)
        return f"**{icon} {self.exercise}: {'passed' if self.passed else 'not yet'}**\n\n{body}"


def _rng():
    # Fresh entropy on every call: the vectors differ each time, so only a real implementation passes.
    return np.random.default_rng()


def _call(fn, args):
    """Run the student's function; turn a crash into feedback instead of a traceback."""
    try:
        return fn(*[a.copy() if isinstance(a, np.ndarray) else
                    ({k: v.copy() for k, v in a.items()} if isinstance(a, dict) else a) for a in args]), None
    except NotImplementedError:
        return None, "not implemented yet: replace `raise NotImplementedError()` with your code"
    except Exception as e:       # a student's bug: report it, don't crash the notebook
        return None, f"your function raised {type(e).__name__}: {e}"


def compare(name, got, expected):
    """None if equal, else a line saying where and how they differ."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name}: expected a numeric array, got {type(got).__name__}"
    if got.shape != expected.shape:
        return f"{name}: expected shape {expected.shape}, got {got.shape}"
    bad = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL)
    if not bad.any():
        return None
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"[{', '.join(map(str, idx))}]" if idx else ""
    return (f"{name}{where}: expected {expected[idx]:.6g}, got {got[idx]:.6g} "
            f"({int(bad.sum())} of {bad.size} values differ)")


def _matches(got, expected):
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and np.allclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True)


def run_check(exercise, fn, cases, unpack, reference, slips):
    """Shared driver: for each case compare outputs, then look for a slip that explains a mismatch.

    cases: list of argument tuples; ``unpack(result)`` -> dict name -> array;
    ``reference(*args)`` -> dict name -> array; slips: list of (hint, ``fn(*args)`` -> dict, or None
    where that slip cannot be told apart on these shapes).
    """
    if not callable(fn):
        return Feedback(exercise, False, [f"expected a function, got {type(fn).__name__}"])
    for n, args in enumerate(cases):
        out, err = _call(fn, args)
        if err:
            return Feedback(exercise, False, [err])
        try:
            got = unpack(out)
        except Exception as e:
            return Feedback(exercise, False, [f"could not read your result: {e}"])
        expected = reference(*args)
        problems = [p for p in (compare(k, got[k], v) for k, v in expected.items()) if p]
        if problems:
            lines = [f"on random test case {n + 1} of {len(cases)}:"] + problems
            for hint, slip in slips:
                wrong = slip(*args)
                if wrong is not None and all(_matches(got[k], wrong[k]) for k in wrong):
                    lines.append(f"hint: {hint}")
                    break
            return Feedback(exercise, False, lines)
    return Feedback(exercise, True, [f"all outputs match companion's on {len(cases)} fresh random cases"])


def _batches(rng, make, n_single=2, n_batch=2):
    """Some cases with one example, some with a batch, so both shapes are exercised."""
    return [make(rng, None) for _ in range(n_single)] + [make(rng, int(rng.integers(2, 5)))
                                                        for _ in range(n_batch)]


def _vec(rng, B, n, scale=1.0):
    return rng.normal(0, scale, (n,) if B is None else (B, n))


# --------------------------------------------------------------------------- softmax

def check_softmax(fn):
    """Check ``softmax(o)``: exp(o_k) / sum_j exp(o_j) over the last axis, stable for large o."""
    rng = _rng()
    cases = [(_vec(rng, B, int(rng.integers(3, 7)), 3.0),) for B in (None, 3)]
    cases.append((np.array([1000.0, 1001.0, 999.0]),))          # overflows exp without the shift
    ref = lambda o: {"y_hat": softmax(o)}
    slips = [("subtract the maximum before exp: exp(1000) overflows to inf",
              lambda o: {"y_hat": np.exp(o) / np.exp(o).sum(-1, keepdims=True)}),
             ("normalise over the last axis (the classes), not over the whole array",
              lambda o: {"y_hat": np.exp(o - o.max()) / np.exp(o - o.max()).sum()})]
    with np.errstate(all="ignore"):
        return run_check("softmax", fn, cases, lambda r: {"y_hat": r}, ref, slips)


# --------------------------------------------------------------------------- vanilla RNN

def _rnn_case(rng, B):
    D, H = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return (_vec(rng, B, D), _vec(rng, B, H, 0.5), rng.normal(0, 0.7, (H, D)),
            rng.normal(0, 0.7, (H, H)), rng.normal(0, 0.3, H))


def check_rnn_step(fn):
    """Check ``rnn_step(x_t, h_prev, U, W, b) -> h_t`` (slide 5: h = tanh(b + W h(t-1) + U x(t)))."""
    rng = _rng()
    ref = lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ W.T + x @ U.T)}
    slips = [("U and W are swapped: W multiplies h(t-1), U multiplies x(t)",
              lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ U.T + x @ W.T)}
              if U.shape == W.shape else None),
             ("the weights are applied untransposed: for row vectors use h @ W.T (or W @ h for one column vector)",
              lambda x, h, U, W, b: {"h_t": np.tanh(b + h @ W + x @ U)}
              if U.shape[0] == U.shape[1] else None),
             ("you returned a(t): apply tanh to get h(t)",
              lambda x, h, U, W, b: {"h_t": b + h @ W.T + x @ U.T}),
             ("sigmoid where tanh belongs: h(t) = tanh(a(t))",
              lambda x, h, U, W, b: {"h_t": sigmoid(b + h @ W.T + x @ U.T)}),
             ("the bias b is missing", lambda x, h, U, W, b: {"h_t": np.tanh(h @ W.T + x @ U.T)}),
             ("the recurrent term W h(t-1) is missing", lambda x, h, U, W, b: {"h_t": np.tanh(b + x @ U.T)})]
    return run_check("vanilla RNN step", fn, _batches(rng, _rnn_case), lambda r: {"h_t": r}, ref, slips)


# --------------------------------------------------------------------------- LSTM

def _lstm_weights(rng, D, H):
    w = {}
    for g in "ifCo":
        w[f"W_x{g}"] = rng.normal(0, 0.7, (H, D))
        w[f"W_h{g}"] = rng.normal(0, 0.7, (H, H))
        w[f"b_{g}"] = rng.normal(0, 0.5, H)
    return w


def _lstm_case(rng, B):
    D, H = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    return (_vec(rng, B, D), _vec(rng, B, H, 0.5), _vec(rng, B, H), _lstm_weights(rng, D, H))


def check_forget_gate(fn):
    """Check ``forget_gate(x_t, h_prev, W_xf, W_hf, b_f) -> f_t = sigma(W_f · [h_{t-1}, x_t] + b_f)``."""
    rng = _rng()

    def case(rng, B):
        x, h, _, w = _lstm_case(rng, B)
        return (x, h, w["W_xf"], w["W_hf"], w["b_f"])

    pre = lambda x, h, Wx, Wh, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": sigmoid(pre(*a))}
    slips = [("tanh where sigmoid belongs: a gate is a 0-1 switch, f_t = sigma(...)",
              lambda *a: {"f_t": np.tanh(pre(*a))}),
             ("you returned the pre-activation: apply the sigmoid",
              lambda *a: {"f_t": pre(*a)}),
             ("the bias b_f is missing", lambda x, h, Wx, Wh, b: {"f_t": sigmoid(h @ Wh.T + x @ Wx.T)}),
             ("1 - f_t: sigma(-a) instead of sigma(a)", lambda *a: {"f_t": 1 - sigmoid(pre(*a))})]
    return run_check("forget gate", fn, _batches(rng, case), lambda r: {"f_t": r}, ref, slips)


def _lstm_ref(x, h, C, w, peephole=None):
    s = cells.lstm_step(x, h, C, w, peephole=peephole)
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


def check_lstm_step(fn):
    """Check ``lstm_step(x_t, h_prev, C_prev, w) -> (h_t, C_t)`` (slide 10)."""
    rng = _rng()

    def unpack(r):
        if not isinstance(r, (tuple, list)) or len(r) != 2:
            raise ValueError(f"expected a tuple (h_t, C_t), got {type(r).__name__}")
        return {"h_t": r[0], "C_t": r[1]}

    return run_check("LSTM step", fn, _batches(rng, _lstm_case), unpack, _lstm_ref, _LSTM_SLIPS)


def check_peephole_forget_gate(fn):
    """Check ``peephole_forget_gate(x_t, h_prev, C_prev, W_xf, W_hf, w_cf, b_f)`` (slide 12, diagonal):
    f_t = sigma(w_cf * C_{t-1} + W_hf h_{t-1} + W_xf x_t + b_f)."""
    rng = _rng()

    def case(rng, B):
        x, h, C, w = _lstm_case(rng, B)
        return (x, h, C, w["W_xf"], w["W_hf"], rng.normal(0, 0.7, h.shape[-1]), w["b_f"])

    pre = lambda x, h, C, Wx, Wh, wc, b: h @ Wh.T + x @ Wx.T + b
    ref = lambda *a: {"f_t": sigmoid(pre(*a) + a[5] * a[2])}
    slips = [("the peephole term w_cf * C_{t-1} is missing", lambda *a: {"f_t": sigmoid(pre(*a))}),
             ("the forget gate peeps at C_{t-1} through w_cf * C_{t-1}, an element-wise product, "
              "not at h_{t-1}", lambda *a: {"f_t": sigmoid(pre(*a) + a[5] * a[1])}),
             ("tanh where sigmoid belongs", lambda *a: {"f_t": np.tanh(pre(*a) + a[5] * a[2])})]
    return run_check("peephole forget gate", fn, _batches(rng, case), lambda r: {"f_t": r}, ref, slips)


# --------------------------------------------------------------------------- GRU

def _gru_case(rng, B):
    D, H = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    w = {}
    for g in "rz":
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = (rng.normal(0, 0.7, (H, D)), rng.normal(0, 0.7, (H, H)),
                                                   rng.normal(0, 0.5, H))
    w["W_xh"], w["W_hh"] = rng.normal(0, 0.7, (H, D)), rng.normal(0, 0.7, (H, H))
    w["b_xh"], w["b_hh"] = rng.normal(0, 0.5, H), rng.normal(0, 0.5, H)
    return (_vec(rng, B, D), _vec(rng, B, H, 0.5), w)


def check_gru_step(fn):
    """Check ``gru_step(x_t, h_prev, w) -> h_t`` in the slides' form (slide 16):
    h_t = (1 - z_t) * h_{t-1} + z_t * h_tilde_t, h_tilde_t = tanh(W_xh x_t + b_xh + W_hh (r_t * h_{t-1}) + b_hh)."""
    rng = _rng()
    ref = lambda x, h, w: {"h_t": cells.gru_step(x, h, w, variant="lecture").h_t}

    def z_swapped(x, h, w):
        s = cells.gru_step(x, h, w, variant="lecture")
        return {"h_t": s.z_t * h + (1 - s.z_t) * s.h_tilde_t}

    def reset_after(x, h, w):
        s = cells.gru_step(x, h, w, variant="torch")
        return {"h_t": s.z_t * s.h_tilde_t + (1 - s.z_t) * h}

    slips = [("z_t and 1 - z_t swapped: in the slides z_t weights the new candidate h_tilde_t "
              "(torch.nn.GRU and Cho et al. use the opposite convention)", z_swapped),
             ("the reset gate is applied after the product, r_t * (W_hh h_{t-1} + b_hh), as torch does; "
              "the slides apply it before: W_hh (r_t * h_{t-1})", reset_after),
             ("torch.nn.GRU's form: both z's role and the place of r_t differ from the slides",
              lambda x, h, w: {"h_t": cells.gru_step(x, h, w, variant="torch").h_t})]
    return run_check("GRU step (slides' form)", fn, _batches(rng, _gru_case), lambda r: {"h_t": r}, ref, slips)


#: every check, by exercise kind
CHECKS = {"softmax": check_softmax, "rnn_step": check_rnn_step, "forget_gate": check_forget_gate,
          "lstm_step": check_lstm_step, "peephole_forget_gate": check_peephole_forget_gate,
          "gru_step": check_gru_step}
