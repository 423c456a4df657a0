"""companion.checks: a right answer passes, each known slip is named, a hard-coded answer fails."""
import numpy as np
import pytest

from companion import cells, sigmoid
from companion import checks as C


def lstm_right(x, h, Cp, w):
    s = cells.lstm_step(x, h, Cp, w)
    return s.h_t, s.C_t


def lstm_wrong(x, h, Cp, w, **kw):
    r = C._lstm_slip(x, h, Cp, w, **kw)
    return r["h_t"], r["C_t"]


RIGHT = {
    "softmax": lambda o: np.exp(o - o.max(-1, keepdims=True)) / np.exp(o - o.max(-1, keepdims=True)).sum(-1, keepdims=True),
    "rnn_step": lambda x, h, U, W, b: np.tanh(b + h @ W.T + x @ U.T),
    "forget_gate": lambda x, h, Wx, Wh, b: sigmoid(h @ Wh.T + x @ Wx.T + b),
    "lstm_step": lstm_right,
    "peephole_forget_gate": lambda x, h, Cp, Wx, Wh, wc, b: sigmoid(wc * Cp + h @ Wh.T + x @ Wx.T + b),
    "gru_step": lambda x, h, w: cells.gru_step(x, h, w, variant="lecture").h_t,
}


@pytest.mark.parametrize("kind", sorted(C.CHECKS))
def test_right_answer_passes(kind):
    fb = C.CHECKS[kind](RIGHT[kind])
    assert fb, str(fb)
    assert str(fb).startswith("PASSED")


@pytest.mark.parametrize("kind", sorted(C.CHECKS))
def test_stub_and_crash_are_reported(kind):
    def stub(*a):
        raise NotImplementedError()

    def crash(*a):
        raise KeyError("W_xq")

    fb = C.CHECKS[kind](stub)
    assert not fb and "not implemented yet" in str(fb)
    fb = C.CHECKS[kind](crash)
    assert not fb and "KeyError" in str(fb) and "W_xq" in str(fb)
    assert not C.CHECKS[kind]("not a function")


def test_hard_coded_answer_fails():
    """Record the answer to one call's inputs and replay it: fresh vectors make it fail."""
    seen = []

    def spy(*a):
        out = RIGHT["lstm_step"](*a)
        seen.append(out)
        return out

    assert C.check_lstm_step(spy)
    first = seen[0]
    fb = C.check_lstm_step(lambda *a: first)
    assert not fb and "expected" in str(fb)


@pytest.mark.parametrize("kw, hint", [
    (dict(swap_hC=True), "C_{t-1} used where h_{t-1} belongs"),
    (dict(swap_if=True), "f_t and i_t swapped"),
    (dict(cand_act=sigmoid), "sigmoid where tanh belongs for the candidate"),
    (dict(gate_act=np.tanh), "tanh where sigmoid belongs"),
    (dict(no_tanh_out=True), "tanh of the cell is missing"),
])
def test_lstm_slips_are_named(kw, hint):
    fb = C.check_lstm_step(lambda *a: lstm_wrong(*a, **kw))
    assert not fb
    text = str(fb)
    assert "hint: " in text and hint in text.split("hint: ")[1], text
    assert "expected" in text and "got" in text and "[" in text    # which output, where, expected vs got


def test_rnn_and_gates_slips():
    fb = C.check_rnn_step(lambda x, h, U, W, b: b + h @ W.T + x @ U.T)
    assert "you returned a(t)" in str(fb)
    fb = C.check_rnn_step(lambda x, h, U, W, b: np.tanh(h @ W.T + x @ U.T))
    assert "bias b is missing" in str(fb)
    fb = C.check_forget_gate(lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + x @ Wx.T + b))
    assert "tanh where sigmoid belongs" in str(fb)
    fb = C.check_peephole_forget_gate(lambda x, h, Cp, Wx, Wh, wc, b: sigmoid(h @ Wh.T + x @ Wx.T + b))
    assert "peephole term" in str(fb)
    fb = C.check_softmax(lambda o: np.exp(o) / np.exp(o).sum(-1, keepdims=True))
    assert "subtract the maximum" in str(fb)


def test_gru_conventions_are_told_apart():
    def z_swapped(x, h, w):
        s = cells.gru_step(x, h, w, variant="lecture")
        return s.z_t * h + (1 - s.z_t) * s.h_tilde_t

    assert "z_t and 1 - z_t swapped" in str(C.check_gru_step(z_swapped))
    fb = C.check_gru_step(lambda x, h, w: cells.gru_step(x, h, w, variant="torch").h_t)
    assert not fb and "torch.nn.GRU's form" in str(fb)


def test_wrong_shape_is_reported():
    fb = C.check_rnn_step(lambda x, h, U, W, b: np.zeros(7))
    assert not fb and "expected shape" in str(fb)


def test_markdown_repr():
    fb = C.check_rnn_step(RIGHT["rnn_step"])
    assert "passed" in fb._repr_markdown_()
