"""companion.checks.rnn: each slip of softmax and of the vanilla RNN step is named (wrong answers by hand)."""
import numpy as np
import pytest
import torch

import companion
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


def test_softmax_hidden_cases_are_larger_and_still_meet_large_logits():
    seen = {False: [], True: []}
    for hidden, calls in seen.items():
        C.check_softmax(lambda o, s=calls: s.append(o.copy()) or C.CHECKS["check_softmax"].solution(o),
                        seed=0, hidden=hidden)
    assert max(o.shape[-1] for o in seen[False]) < min(o.shape[-1] for o in seen[True])
    assert any(o.min() > 990 for o in seen[True])            # large scores in the hidden cases too


@pytest.mark.parametrize("answer, name", [
    (lambda o: np.exp(companion.log_softmax(o)), "log_softmax"),
    (lambda o: companion.softmax(o), "companion.activations.softmax"),
    (lambda o: torch.softmax(torch.from_numpy(o), -1).numpy(), "torch"),
    (lambda o: torch.nn.functional.softmax(torch.from_numpy(o), -1).numpy(), "softmax"),
])
def test_softmax_refuses_the_softmax_that_exists(answer, name):
    fb = C.check_softmax(answer, seed=0)
    assert not fb and name in str(fb) and "already does this exercise's job" in str(fb), str(fb)


def _layer_step(x, h, U, W, b):
    rnn = companion.RNN(U.shape[1], W.shape[0])
    rnn.params.update(weight_ih_l0=U, weight_hh_l0=W, bias_ih_l0=b, bias_hh_l0=0 * b)
    return rnn(x[None], h[None])[0][0]                 # one step: T = 1


def _torch_cell_step(x, h, U, W, b):
    cell = torch.nn.RNNCell(U.shape[1], W.shape[0], dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(U))
        cell.weight_hh.copy_(torch.from_numpy(W))
        cell.bias_ih.copy_(torch.from_numpy(b))
        cell.bias_hh.zero_()
        return cell(torch.from_numpy(x), torch.from_numpy(h)).numpy()


@pytest.mark.parametrize("answer, name", [
    (_layer_step, "companion.RNN"),
    (_torch_cell_step, "torch.nn.RNNCell"),
    (lambda x, h, U, W, b: companion.cells._rnn_step(x, h, U, W, b).h_t, "_rnn_step"),
])
def test_rnn_step_refuses_the_layers_that_run_it(answer, name):
    """A companion.RNN or torch's RNNCell computes the step: refused (their forward swapped on the
    class for the call) and usable again afterwards."""
    for hidden in (False, True):
        fb = C.check_rnn_step(answer, seed=0, hidden=hidden)
        assert not fb and name in str(fb) and "already does this exercise's job" in str(fb), str(fb)
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    U, W, b = np.ones((4, 3)) * 0.1, np.eye(4) * 0.5, np.zeros(4)
    assert np.allclose(_layer_step(x, h, U, W, b), np.tanh(x @ U.T))
    assert np.allclose(_torch_cell_step(x, h, U, W, b), np.tanh(x @ U.T))
