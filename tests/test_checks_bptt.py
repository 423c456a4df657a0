"""companion.checks.bptt: each slip is named (wrong answers written here by hand). What every check
must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion import softmax
from companion.checks import bptt as C

from check_helpers import hint_of

# correct answers, from the registry; a wrong answer below that changes one of them is built on
# these, never on the module's slip generators
output_grad_right = C.CHECKS["check_output_grad"].solution
backward_right = C.CHECKS["check_rnn_backward_step"].solution


@pytest.mark.parametrize("wrong, hint", [
    (lambda o, y: -output_grad_right(o, y), "sign is flipped"),
    (lambda o, y: o - np.eye(o.shape[-1])[np.asarray(y)], "apply the softmax first"),
    (lambda o, y: softmax(o), "subtract the one-hot"),
    (lambda o, y: -np.eye(o.shape[-1])[np.asarray(y)], "y_hat is missing"),
])
def test_output_grad_slips(wrong, hint):
    assert hint in hint_of(C.check_output_grad(wrong))


@pytest.mark.parametrize("wrong, hint", [
    (lambda dh, h, W: (dh * (1 - h ** 2), (dh * (1 - h ** 2)) @ W.T), "not da_t @ W.T"),
    (lambda dh, h, W: (dh, dh @ W), "tanh derivative is missing"),
    (lambda dh, h, W: (dh * (1 - h), (dh * (1 - h)) @ W), "not 1 - h(t)"),
    (lambda dh, h, W: (dh * h * (1 - h), (dh * h * (1 - h)) @ W), "sigmoid's derivative"),
    (lambda dh, h, W: (dh * (1 - h ** 2), dh @ W), "must pass through the tanh"),
])
def test_backward_slips(wrong, hint):
    fb = C.check_rnn_backward_step(wrong)
    assert hint in hint_of(fb)
    assert "[" in str(fb)          # which output, and where


def test_backward_sees_only_dh_h_and_W():
    """The student's function gets (dh_t, h_t, W); the step's x, h_prev, U, b stay with the reference."""
    seen = []
    assert C.check_rnn_backward_step(lambda *a: seen.append(len(a)) or backward_right(*a))
    assert seen and set(seen) == {3}


def test_wrong_form_is_reported():
    fb = C.check_rnn_backward_step(lambda dh, h, W: dh * (1 - h ** 2))
    assert not fb and "expected a tuple (da_t, dh_prev)" in str(fb)
