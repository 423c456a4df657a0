"""companion.checks.lstm: each known slip is named. Every wrong answer is written here by hand, with
numpy, not with the module's own slip generators, so a wrong generator is caught."""
import numpy as np
import pytest

from companion import sigmoid
from companion.checks import lstm as L

from check_helpers import hint_of

# --------------------------------------------------------------------------- by hand


def lstm_step(x, h, C, w, *, gate=sigmoid, cand=np.tanh, out=np.tanh, gates_read_C=False, swap_if=False):
    """The LSTM step of slide 10, with switches for the usual slips."""
    read, keep = (C, h) if gates_read_C else (h, C)       # the slip: C_{t-1} where h_{t-1} belongs
    a = {g: read @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    f, i, o = gate(a["f"]), gate(a["i"]), gate(a["o"])
    if swap_if:
        f, i = i, f
    C_t = f * keep + i * cand(a["C"])
    return o * out(C_t), C_t


def peephole_step(x, h, C, w, *, o_reads_old=False, drop="", peep_at_h=False):
    """Slide 12 with diagonal peepholes, with switches for the usual slips."""
    a = {g: h @ w[f"W_h{g}"].T + x @ w[f"W_x{g}"].T + w[f"b_{g}"] for g in "ifCo"}
    peep = lambda g, c: 0.0 if g in drop else w[f"w_c{g}"] * c  # noqa: E731
    seen = h if peep_at_h else C
    f, i = sigmoid(a["f"] + peep("f", seen)), sigmoid(a["i"] + peep("i", seen))
    C_t = f * C + i * np.tanh(a["C"])
    o = sigmoid(a["o"] + peep("o", C if o_reads_old else C_t))
    return o * np.tanh(C_t), C_t


def split(W_ih, W_hh, b_ih, b_hh, order="ifCo", add_hh=True):
    """torch's stacked blocks cut in ``order`` (the right one: i, f, g = C, o)."""
    Wx, Wh, bi, bh = (dict(zip(order, np.split(a, 4), strict=True)) for a in (W_ih, W_hh, b_ih, b_hh))
    w = {}
    for g in "ifCo":
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = Wx[g], Wh[g], bi[g] + bh[g] if add_hh else bi[g]
    return w


# --------------------------------------------------------------------------- forget gates


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),
    (lambda x, h, Wx, Wh, b: h @ Wh.T + x @ Wx.T + b, "returned the pre-activation"),
    (lambda x, h, Wx, Wh, b: sigmoid(h @ Wh.T + x @ Wx.T), "bias b_f is missing"),
    (lambda x, h, Wx, Wh, b: sigmoid(-(h @ Wh.T + x @ Wx.T + b)), "1 - f_t"),
])
def test_forget_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_forget_gate(wrong))


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, h, C, Wx, Wh, wc, b: sigmoid(h @ Wh.T + x @ Wx.T + b), "peephole term w_cf * C_{t-1} is missing"),
    (lambda x, h, C, Wx, Wh, wc, b: sigmoid(wc * h + h @ Wh.T + x @ Wx.T + b), "not at h_{t-1}"),
    (lambda x, h, C, Wx, Wh, wc, b: np.tanh(wc * C + h @ Wh.T + x @ Wx.T + b), "tanh where sigmoid belongs"),
])
def test_peephole_forget_gate_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_peephole_forget_gate(wrong))


# --------------------------------------------------------------------------- LSTM steps


@pytest.mark.parametrize("kw, hint", [
    (dict(gates_read_C=True), "C_{t-1} used where h_{t-1} belongs"),
    (dict(swap_if=True), "f_t and i_t swapped"),
    (dict(cand=sigmoid), "sigmoid where tanh belongs for the candidate"),
    (dict(gate=np.tanh), "tanh where sigmoid belongs for the gates"),
    (dict(out=lambda c: c), "tanh of the cell is missing"),
    (dict(out=sigmoid), "sigmoid used instead of tanh on the cell"),
])
def test_lstm_step_slips_are_named(kw, hint):
    fb = L.check_lstm_step(lambda *a: lstm_step(*a, **kw))
    assert hint in hint_of(fb)
    assert "[" in str(fb)                # which output, and where


def test_lstm_step_by_hand_is_right():
    """The hand-written step above is the right one when no switch is set (else the slips prove nothing)."""
    assert L.check_lstm_step(lstm_step)
    assert L.check_peephole_lstm_step(peephole_step)
    assert L.check_split_gates(split)


@pytest.mark.parametrize("kw, hint", [
    (dict(o_reads_old=True), "*new* cell C_t"),
    (dict(drop="fio"), "plain LSTM"),
    (dict(drop="o"), "output gate's peephole"),
    (dict(drop="i"), "input gate's peephole"),
    (dict(drop="f"), "forget gate's peephole"),
    (dict(peep_at_h=True), "not at h"),
])
def test_peephole_lstm_step_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_peephole_lstm_step(lambda *a: peephole_step(*a, **kw)))


# --------------------------------------------------------------------------- backward and slicing


@pytest.mark.parametrize("wrong, hint", [
    (lambda dC, f, i, Ct, Cp: (dC, dC * Cp, dC * Ct, dC * i), "factor f_t is missing"),
    (lambda dC, f, i, Ct, Cp: (dC * Cp, dC * f, dC * Ct, dC * i), "df_t swapped"),
    (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * i, dC * Ct), "dC_tilde_t swapped"),
    (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp * f * (1 - f), dC * Ct * i * (1 - i), dC * i * (1 - Ct ** 2)),
     "pre-activations"),
])
def test_cell_update_backward_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_cell_update_backward(wrong))


@pytest.mark.parametrize("kw, hint", [
    (dict(order="ifoC"), "you used i, f, o, g"),
    (dict(order="fiCo"), "you used f, i, g, o"),
    (dict(order="fioC"), "you used f, i, o, g"),
    (dict(add_hh=False), "bias_ih only"),
])
def test_split_gates_slips_are_named(kw, hint):
    assert hint in hint_of(L.check_split_gates(lambda *a: split(*a, **kw)))


@pytest.mark.parametrize("wrong, hint", [
    (lambda dC, f, df, di, wf, wi: dC * f, "peephole terms are missing"),
    (lambda dC, f, df, di, wf, wi: dC * f + df * wi + di * wf, "swapped"),
    (lambda dC, f, df, di, wf, wi: dC * f + df * wf, "input gate's term"),
    (lambda dC, f, df, di, wf, wi: dC * f + di * wi, "forget gate's term"),
    (lambda dC, f, df, di, wf, wi: df * wf + di * wi, "direct path"),
])
def test_peephole_cell_backward_slips_are_named(wrong, hint):
    assert hint in hint_of(L.check_peephole_cell_backward(wrong))


def test_wrong_shapes_and_types_are_reported():
    fb = L.check_split_gates(lambda *a: [1, 2])
    assert not fb and "expected a dict" in str(fb)
    fb = L.check_split_gates(lambda *a: {"W_xi": 0})
    assert not fb and "missing keys" in str(fb)
    fb = L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp))
    assert not fb and "expected a tuple" in str(fb)
    fb = L.check_lstm_step(lambda x, h, C, w: lstm_step(x, h, C, w)[0])
    assert not fb and "expected a tuple (h_t, C_t)" in str(fb)
    fb = L.check_peephole_cell_backward(lambda dC, f, df, di, wf, wi: (dC * f)[..., :1])
    assert not fb and "expected shape" in str(fb)


def test_gates_in_range():
    """The check's cases draw gate values in (0, 1), as a sigmoid gives."""
    seen = []
    L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: seen.append((f, i)) or (dC * f, dC * Cp, dC * Ct, dC * i))
    assert seen and all(((f > 0) & (f < 1)).all() and ((i > 0) & (i < 1)).all() for f, i in seen)


def test_peephole_cases_use_diagonal_peepholes():
    seen = []
    L.check_peephole_lstm_step(lambda x, h, C, w: seen.append(w) or peephole_step(x, h, C, w))
    assert seen and all(w[k].shape == (w["b_f"].shape[0],) for w in seen for k in ("w_cf", "w_ci", "w_co"))
