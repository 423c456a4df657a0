"""companion.checks.rnn: each slip of softmax and of the vanilla RNN step is named (wrong answers by hand)."""
import numpy as np
import pytest

from companion import sigmoid
from companion.checks import rnn as C

from check_helpers import hint_of


def _normalise(e, axis):
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("wrong, hint", [
    (lambda o: _normalise(np.exp(o), -1), "subtract the maximum"),
    (lambda o: _normalise(np.exp(o - o.max()), None), "normalise over the last axis"),
])
def test_softmax_slips_are_named(wrong, hint):
    with np.errstate(over="ignore", invalid="ignore"):
        assert hint in hint_of(C.check_softmax(wrong))


def test_softmax_meets_large_logits():
    """One case is [1000, 1001, 999]: exp without the shift overflows there."""
    seen = []
    C.check_softmax(lambda o: seen.append(o.copy()) or C.CHECKS["check_softmax"].solution(o))
    assert any(np.array_equal(o, [1000.0, 1001.0, 999.0]) for o in seen)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, h, U, W, b: b + h @ W.T + x @ U.T, "you returned a(t)"),
    (lambda x, h, U, W, b: sigmoid(b + h @ W.T + x @ U.T), "sigmoid where tanh belongs"),
    (lambda x, h, U, W, b: np.tanh(h @ W.T + x @ U.T), "bias b is missing"),
    (lambda x, h, U, W, b: np.tanh(b + x @ U.T), "recurrent term W h(t-1) is missing"),
])
def test_rnn_step_slips_are_named(wrong, hint):
    assert hint in hint_of(C.check_rnn_step(wrong))


def test_rnn_step_swapped_and_untransposed_weights_are_named_where_they_can_be_told():
    """U and W swapped is only computable when D = H; then the check names it (or reports the mismatch)."""
    def swapped(x, h, U, W, b):
        return np.tanh(b + h @ U.T + x @ W.T)

    for seed in range(40):
        fb = C.check_rnn_step(swapped, seed=seed)
        assert not fb
        if "hint: " in str(fb):
            assert "U and W are swapped" in hint_of(fb)
            break
    else:
        pytest.fail("no seed in 0..39 drew D = H")


def test_wrong_shape_is_reported():
    fb = C.check_rnn_step(lambda x, h, U, W, b: np.zeros(7))
    assert not fb and "expected shape" in str(fb)
