"""The checks of Chapter III: the right answer passes, each named slip is recognised, a stub fails."""
import numpy as np
import pytest

from companion.activations import sigmoid  # noqa: F401  (used by some slips below)
from companion.checks import training as ct


def right(name):
    return {
        "accuracy_from_logits": lambda lo, y: float((lo.argmax(-1) == y).mean()),
        "adding_targets": lambda x: (x[..., 0] * x[..., 1]).sum(1),
        "jacobian_chain": _jac,
        "last_step": lambda o: o[:, -1],
        "bidirectional_summary": lambda o, H: np.concatenate([o[:, -1, :H], o[:, 0, H:]], -1),
        "masked_accuracy": _masked,
        "split_gates": lambda W: dict(zip(["W_xi", "W_xf", "W_xC", "W_xo"], np.split(W, 4))),
        "cell_from_gates": _cells,
        "memory_after": lambda f, s, t: np.prod(f[s + 1:t + 1], axis=0),
    }[name]


def _jac(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = np.diag(1 - h_t ** 2) @ W @ J
    return J


def _masked(lo, tg):
    keep = tg != -100
    return float((lo.argmax(-1)[keep] == tg[keep]).mean())


def _cells(f, i, Ct, C0):
    C, out = C0, []
    for t in range(len(f)):
        C = f[t] * C + i[t] * Ct[t]
        out.append(C)
    return np.stack(out)


def stub(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("name", sorted(ct.CHECKS))
def test_right_answer_passes(name):
    for _ in range(3):
        fb = ct.CHECKS[name](right(name))
        assert fb, str(fb)


@pytest.mark.parametrize("name", sorted(ct.CHECKS))
def test_stub_fails(name):
    fb = ct.CHECKS[name](stub)
    assert not fb and "not implemented" in str(fb)


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
    ("split_gates", lambda W: dict(zip(["W_xf", "W_xi", "W_xC", "W_xo"], np.split(W, 4))), "i, f, g, o"),
    ("split_gates", lambda W: dict(zip(["W_xi", "W_xf", "W_xo", "W_xC"], np.split(W, 4))), "third block"),
    ("cell_from_gates", _cells_swapped, "swapped"),
    ("cell_from_gates", lambda f, i, Ct, C0: C0 + np.cumsum(i * Ct, 0), "forget gate is missing"),
    ("cell_from_gates", lambda f, i, Ct, C0: f * C0 + i * Ct, "starts again from C0"),
    ("memory_after", lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),
    ("memory_after", lambda f, s, t: np.prod(f[s + 1:t], axis=0), "f_t is left out"),
    ("memory_after", lambda f, s, t: np.sum(f[s + 1:t + 1], axis=0), "added the gates"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
def test_slip_is_named(name, slip, hint):
    fb = ct.CHECKS[name](slip)
    assert not fb
    assert hint in str(fb), str(fb)


def test_wrong_shape_is_reported():
    fb = ct.check_last_step(lambda o: o[:, -1:])
    assert not fb and "expected shape" in str(fb)
