"""The checks of Chapter III: each named slip is recognised (wrong answers written here by hand). What
every check must do is in tests/test_checks.py."""
import numpy as np
import pytest

from companion.checks import training as ct

from check_helpers import hint_of

# correct answers, from the registry (each passes: tests/test_checks.py); the slips below that
# change one of them are built on these, never on the module's slip generators
_jac = ct.CHECKS["check_jacobian_chain"].solution
_cells = ct.CHECKS["check_cell_from_gates"].solution


def _cells_swapped(f, i, Ct, C0):
    return _cells(i, f, Ct, C0)


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
    ("last_step", lambda o: o[:, 0], "first step"),
    ("last_step", lambda o: o.mean(1), "averaged"),
    ("bidirectional_summary", lambda o, H: o[:, -1], "both halves at the last step"),
    ("bidirectional_summary", lambda o, H: np.concatenate([o[:, 0, H:], o[:, -1, :H]], -1), "swapped"),
    ("masked_accuracy", lambda lo, tg: float((lo.argmax(-1) == tg).mean()), "padding is counted"),
    ("masked_accuracy",
     lambda lo, tg: float(np.mean([(lo[b].argmax(-1)[tg[b] != -100] == tg[b][tg[b] != -100]).mean()
                                   for b in range(len(tg))])), "per sentence"),
    ("split_input_weights", lambda W: dict(zip(["W_xf", "W_xi", "W_xC", "W_xo"], np.split(W, 4), strict=True)),
     "i, f, g, o"),
    ("split_input_weights", lambda W: dict(zip(["W_xi", "W_xf", "W_xo", "W_xC"], np.split(W, 4), strict=True)),
     "third block"),
    ("cell_from_gates", _cells_swapped, "swapped"),
    ("cell_from_gates", lambda f, i, Ct, C0: C0 + np.cumsum(i * Ct, 0), "forget gate is missing"),
    ("cell_from_gates", lambda f, i, Ct, C0: f * C0 + i * Ct, "starts again from C0"),
    ("memory_after", lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),
    ("memory_after", lambda f, s, t: np.prod(f[s + 1:t], axis=0), "f_t is left out"),
    ("memory_after", lambda f, s, t: np.sum(f[s + 1:t + 1], axis=0), "added the gates"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
def test_slip_is_named(name, slip, hint):
    assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip))


def test_hand_written_answers_pass():
    """The answers above are right when no slip is made (else the slips built on them prove nothing)."""
    assert ct.check_jacobian_chain(_jac)
    assert ct.check_cell_from_gates(_cells)


def test_wrong_shape_is_reported():
    fb = ct.check_last_step(lambda o: o[:, -1:])
    assert not fb and "expected shape" in str(fb)
