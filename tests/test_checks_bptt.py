"""companion.checks.bptt: the right answer passes, each slip is named, a stub fails."""
import numpy as np
import pytest

from companion import softmax
from companion.checks import bptt as C

from check_helpers import assert_rejects_non_answers


def output_grad_right(o, y):
    d = softmax(o)
    return d - np.eye(o.shape[-1])[np.asarray(y)]


def backward_right(dh, h, W):
    da = dh * (1 - h ** 2)
    return da, da @ W


@pytest.mark.parametrize("check, right", [(C.check_output_grad, output_grad_right),
                                          (C.check_rnn_backward_step, backward_right)])
def test_right_answer_passes(check, right):
    fb = check(right)
    assert fb and str(fb).startswith("PASSED"), str(fb)


@pytest.mark.parametrize("check", [C.check_output_grad, C.check_rnn_backward_step])
def test_stub_crash_and_non_function_fail(check):
    assert_rejects_non_answers(check)


def test_hard_coded_answer_fails():
    seen = []

    def spy(*a):
        seen.append(backward_right(*a))
        return seen[-1]
    assert C.check_rnn_backward_step(spy)
    assert not C.check_rnn_backward_step(lambda *a: seen[0])


@pytest.mark.parametrize("wrong, hint", [
    (lambda o, y: -output_grad_right(o, y), "sign is flipped"),
    (lambda o, y: o - np.eye(o.shape[-1])[np.asarray(y)], "apply the softmax first"),
    (lambda o, y: softmax(o), "subtract the one-hot"),
    (lambda o, y: -np.eye(o.shape[-1])[np.asarray(y)], "y_hat is missing"),
])
def test_output_grad_slips(wrong, hint):
    fb = C.check_output_grad(wrong)
    text = str(fb)
    assert not fb and "hint: " in text and hint in text.split("hint: ")[1], text


@pytest.mark.parametrize("wrong, hint", [
    (lambda dh, h, W: (dh * (1 - h ** 2), (dh * (1 - h ** 2)) @ W.T), "not da_t @ W.T"),
    (lambda dh, h, W: (dh, dh @ W), "tanh derivative is missing"),
    (lambda dh, h, W: (dh * (1 - h), (dh * (1 - h)) @ W), "not 1 - h(t)"),
    (lambda dh, h, W: (dh * h * (1 - h), (dh * h * (1 - h)) @ W), "sigmoid's derivative"),
    (lambda dh, h, W: (dh * (1 - h ** 2), dh @ W), "must pass through the tanh"),
])
def test_backward_slips(wrong, hint):
    fb = C.check_rnn_backward_step(wrong)
    text = str(fb)
    assert not fb and "hint: " in text and hint in text.split("hint: ")[1], text
    assert "expected" in text and "got" in text and "[" in text
