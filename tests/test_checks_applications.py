"""The checks of chapter 10 (``companion.checks.applications``): each named slip is recognised (wrong
answers written here by hand). What every check must do is in tests/test_checks.py and
tests/test_exercises.py."""
import numpy as np
import pytest

from companion.checks import applications as ct

from check_helpers import hint_of

SLIPS = [
    ("last_step", lambda o: o[:, 0], "first step"),
    ("last_step", lambda o: o.mean(1), "averaged"),
    ("bidirectional_summary", lambda o, H: o[:, -1], "both halves at the last step"),
    ("bidirectional_summary", lambda o, H: np.concatenate([o[:, 0, H:], o[:, -1, :H]], -1), "swapped"),
    ("masked_accuracy", lambda lo, tg: float((lo.argmax(-1) == tg).mean()), "padding is counted"),
    ("masked_accuracy",
     lambda lo, tg: float(np.mean([(lo[b].argmax(-1)[tg[b] != -100] == tg[b][tg[b] != -100]).mean()
                                   for b in range(len(tg))])), "per sentence"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
def test_slip_is_named(name, slip, hint):
    assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip))


def test_wrong_shape_is_reported():
    fb = ct.check_last_step(lambda o: o[:, -1:])
    assert not fb and "expected shape" in str(fb)
