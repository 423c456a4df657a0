"""The checks of chapter 09 (``companion.checks.long_range``): each named slip is recognised (wrong
answers written here by hand). What every check must do is in tests/test_checks.py and
tests/test_exercises.py."""
import numpy as np
import pytest

from companion.checks import long_range as ct

from check_helpers import hint_of

# a correct answer, from the registry; the slips below that change it are built on it
_jac = ct.CHECKS["check_jacobian_chain"].solution


def _jac_no_deriv(h, W):
    return np.linalg.matrix_power(W, len(h))


def _jac_left(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = J @ np.diag(1 - h_t ** 2) @ W
    return J


SLIPS = [
    ("accuracy_from_logits", lambda lo, y: float((lo.argmax(-1) == y).sum()), "divide by the batch"),
    ("accuracy_from_logits", lambda lo, y: 1 - float((lo.argmax(-1) == y).mean()), "error rate"),
    ("adding_targets", lambda x: x[..., 0].sum(1), "only the two marked"),
    ("jacobian_chain", _jac_no_deriv, "tanh derivative"),
    ("jacobian_chain", _jac_left, "wrong order"),
    ("jacobian_chain", lambda h, W: _jac(h, W.T), "transposed"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
def test_slip_is_named(name, slip, hint):
    assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip))


def test_hand_written_answer_passes():
    assert ct.check_jacobian_chain(_jac)
