"""companion.checks.lstm: a right answer passes, each known slip is named, a stub fails."""
import numpy as np
import pytest

from companion import cells
from companion.checks import lstm as L

from check_helpers import assert_rejects_non_answers


def split_right(W_ih, W_hh, b_ih, b_hh):
    H = W_hh.shape[1]
    w = {}
    for k, g in enumerate("ifCo"):
        r = slice(k * H, (k + 1) * H)
        w[f"W_x{g}"], w[f"W_h{g}"], w[f"b_{g}"] = W_ih[r], W_hh[r], b_ih[r] + b_hh[r]
    return w


def peep_right(x, h, C, w):
    s = cells.lstm_step(x, h, C, w, peephole="diagonal")
    return s.h_t, s.C_t


RIGHT = {
    "cell_update_backward": lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * Ct, dC * i),
    "split_gates": split_right,
    "peephole_lstm_step": peep_right,
    "peephole_cell_backward": lambda dC, f, df, di, wf, wi: dC * f + df * wf + di * wi,
}


def _tup(d, names):
    return tuple(d[n] for n in names)


WRONG = {   # kind -> [(wrong function, a phrase its hint must contain)]
    "cell_update_backward": [
        (lambda dC, f, i, Ct, Cp: (dC, dC * Cp, dC * Ct, dC * i), "factor f_t is missing"),
        (lambda dC, f, i, Ct, Cp: (dC * Cp, dC * f, dC * Ct, dC * i), "df_t swapped"),
        (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp, dC * i, dC * Ct), "dC_tilde_t swapped"),
        (lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp * f * (1 - f), dC * Ct * i * (1 - i), dC * i * (1 - Ct ** 2)),
         "pre-activations"),
    ],
    "split_gates": [
        (lambda *a: L._split(*a, order="ifoC"), "you used i, f, o, g"),
        (lambda *a: L._split(*a, order="fiCo"), "you used f, i, g, o"),
        (lambda *a: L._split(*a, order="fioC"), "you used f, i, o, g"),
        (lambda *a: L._split(*a, add_hh=False), "bias_ih only"),
    ],
    "peephole_lstm_step": [
        (lambda *a: _tup(L._peep_slip(*a, o_sees="C_prev"), ("h_t", "C_t")), "*new* cell C_t"),
        (lambda *a: _tup(L._peep_slip(*a, drop="fio"), ("h_t", "C_t")), "plain LSTM"),
        (lambda *a: _tup(L._peep_slip(*a, drop="o"), ("h_t", "C_t")), "output gate's peephole"),
        (lambda *a: _tup(L._peep_slip(*a, drop="i"), ("h_t", "C_t")), "input gate's peephole"),
        (lambda *a: _tup(L._peep_slip(*a, drop="f"), ("h_t", "C_t")), "forget gate's peephole"),
        (lambda *a: _tup(L._peep_slip(*a, peep_at_h=True), ("h_t", "C_t")), "not at h"),
    ],
    "peephole_cell_backward": [
        (lambda dC, f, df, di, wf, wi: dC * f, "peephole terms are missing"),
        (lambda dC, f, df, di, wf, wi: dC * f + df * wi + di * wf, "swapped"),
        (lambda dC, f, df, di, wf, wi: dC * f + df * wf, "input gate's term"),
        (lambda dC, f, df, di, wf, wi: dC * f + di * wi, "forget gate's term"),
        (lambda dC, f, df, di, wf, wi: df * wf + di * wi, "direct path"),
    ],
}


@pytest.mark.parametrize("kind", sorted(L.CHECKS))
def test_right_answer_passes(kind):
    for _ in range(3):
        fb = L.CHECKS[kind](RIGHT[kind])
        assert fb, str(fb)
        assert str(fb).startswith("PASSED")


@pytest.mark.parametrize("kind, k", [(kind, k) for kind in sorted(WRONG) for k in range(len(WRONG[kind]))])
def test_each_slip_is_named(kind, k):
    wrong, phrase = WRONG[kind][k]
    fb = L.CHECKS[kind](wrong)
    assert not fb
    text = str(fb)
    assert "hint:" in text and phrase in text, text
    assert "expected" in text and "got" in text, text


@pytest.mark.parametrize("kind", sorted(L.CHECKS))
def test_stub_crash_and_non_function_fail(kind):
    assert_rejects_non_answers(L.CHECKS[kind])


def test_hard_coded_answer_fails():
    """An answer recorded on one call's inputs fails the next call: the vectors are fresh."""
    rng = np.random.default_rng(0)
    fixed = tuple(rng.normal(size=3) for _ in range(4))
    assert not L.check_cell_update_backward(lambda *a: fixed)


def test_wrong_shapes_and_types_are_reported():
    fb = L.check_split_gates(lambda *a: [1, 2])
    assert not fb and "expected a dict" in str(fb)
    fb = L.check_split_gates(lambda *a: {"W_xi": 0})
    assert not fb and "missing keys" in str(fb)
    fb = L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: (dC * f, dC * Cp))
    assert not fb and "expected a tuple" in str(fb)
    fb = L.check_peephole_cell_backward(lambda dC, f, df, di, wf, wi: (dC * f)[..., :1])
    assert not fb and "expected shape" in str(fb)


def test_gates_in_range():
    """The check's cases draw gate values in (0, 1), as a sigmoid gives."""
    seen = []
    L.check_cell_update_backward(lambda dC, f, i, Ct, Cp: seen.append((f, i)) or RIGHT["cell_update_backward"](dC, f, i, Ct, Cp))
    assert seen and all(((f > 0) & (f < 1)).all() and ((i > 0) & (i < 1)).all() for f, i in seen)
