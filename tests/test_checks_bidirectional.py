"""companion.checks.bidirectional: each slip is named (wrong answers written here by hand). What every
check must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion.checks import bidirectional as C

from check_helpers import hint_of


def _expect_hint(check, fn, hint):
    assert hint in hint_of(check(fn))


def test_the_student_sees_only_the_exercise_arguments():
    """bidirectional_output gets (forward_rnn, backward_rnn, x) and final_states (output, H): the
    bidirectional layer and its h_n stay with the reference."""
    bi_right = C.CHECKS["check_bidirectional_output"].solution
    final_right = C.CHECKS["check_final_states"].solution
    seen = []
    assert C.check_bidirectional_output(lambda *a: seen.append(len(a)) or bi_right(*a))
    assert C.check_final_states(lambda *a: seen.append(len(a)) or final_right(*a))
    assert seen == [3] * 3 + [2] * 3


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
