"""companion.checks.bidirectional: the right answer passes, each slip is named, a stub fails."""
import numpy as np
import pytest

from companion.checks import bidirectional as C

from check_helpers import assert_rejects_non_answers


def shapes_right(T, B, D, H, num_layers, bidirectional):
    nd = 2 if bidirectional else 1
    return (T, B, nd * H), (num_layers * nd, B, H)


def bi_right(fwd, bwd, x):
    y_f, _ = fwd(x)
    y_b, _ = bwd(x[::-1])
    return np.concatenate([y_f, y_b[::-1]], axis=-1)


def final_right(output, H):
    return np.stack([output[-1, :, :H], output[0, :, H:]])


RIGHT = [(C.check_rnn_shapes, shapes_right), (C.check_bidirectional_output, bi_right),
         (C.check_final_states, final_right)]
CHECKS = [c for c, _ in RIGHT]


@pytest.mark.parametrize("check, right", RIGHT)
def test_right_answer_passes(check, right):
    for _ in range(3):
        fb = check(right)
        assert fb and str(fb).startswith("PASSED"), str(fb)


@pytest.mark.parametrize("check", CHECKS)
def test_stub_crash_and_non_function_fail(check):
    assert_rejects_non_answers(check)


def test_hard_coded_answer_fails():
    assert not C.check_rnn_shapes(lambda *a: ((5, 3, 8), (4, 3, 4)))
    seen = []

    def spy(*a):
        seen.append(final_right(*a))
        return seen[-1]
    assert C.check_final_states(spy)
    assert not C.check_final_states(lambda *a: seen[0])


def _expect_hint(check, fn, hint):
    fb = check(fn)
    text = str(fb)
    assert not fb and "hint: " in text and hint in text.split("hint: ")[1], text


@pytest.mark.parametrize("fn, hint", [
    (lambda T, B, D, H, L, bi: ((T, B, H), (L * (2 if bi else 1), B, H)), "but both directions"),
    (lambda T, B, D, H, L, bi: ((T, B, L * (2 if bi else 1) * H), (L * (2 if bi else 1), B, H)), "LAST layer only"),
    (lambda T, B, D, H, L, bi: ((T, B, (2 if bi else 1) * H), (L, B, (2 if bi else 1) * H)), "not concatenated"),
    (lambda T, B, D, H, L, bi: ((T, B, (2 if bi else 1) * H), (L, B, H)), "one row per layer and direction"),
    (lambda T, B, D, H, L, bi: ((T, B, (2 if bi else 1) * H), (T, L * (2 if bi else 1), B, H)), "no time axis"),
    (lambda T, B, D, H, L, bi: ((B, T, (2 if bi else 1) * H), (L * (2 if bi else 1), B, H)), "time-major"),
])
def test_shape_slips_are_named(fn, hint):
    _expect_hint(C.check_rnn_shapes, fn, hint)


@pytest.mark.parametrize("fn, hint", [
    (lambda f, b, x: np.concatenate([f(x)[0], b(x[::-1])[0]], -1), "still in reversed time"),
    (lambda f, b, x: np.concatenate([f(x)[0], b(x)[0]], -1), "REVERSED sequence"),
    (lambda f, b, x: np.concatenate([b(x[::-1])[0][::-1], f(x)[0]], -1), "forward direction comes first"),
])
def test_bidirectional_slips_are_named(fn, hint):
    _expect_hint(C.check_bidirectional_output, fn, hint)


@pytest.mark.parametrize("fn, hint", [
    (lambda o, H: np.stack([o[-1, :, :H], o[-1, :, H:]]), "backward direction ends at t = 1"),
    (lambda o, H: np.stack([o[0, :, :H], o[0, :, H:]]), "forward direction ends at the last step"),
    (lambda o, H: np.stack([o[0, :, :H], o[-1, :, H:]]), "both ends swapped"),
    (lambda o, H: np.stack([o[0, :, H:], o[-1, :, :H]]), "h_n[0] is the forward direction"),
])
def test_final_state_slips_are_named(fn, hint):
    _expect_hint(C.check_final_states, fn, hint)
