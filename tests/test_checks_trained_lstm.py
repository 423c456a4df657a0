"""The checks of chapter 11 (``companion.checks.trained_lstm``): each named slip is recognised (wrong
answers written here by hand). What every check must do is in tests/test_checks.py and
tests/test_exercises.py."""
import numpy as np
import pytest

from companion.checks import trained_lstm as ct

from check_helpers import hint_of

# a correct answer, from the registry; the slips below that change it are built on it
_cells = ct.CHECKS["check_cell_from_gates"].solution


def _cells_swapped(f, i, Ct, C0):
    return _cells(i, f, Ct, C0)


SLIPS = [
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


def test_hand_written_answer_passes():
    assert ct.check_cell_from_gates(_cells)
