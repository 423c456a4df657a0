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


# --------------------------------------------------------------------------- what each step left in C_T

def _contrib(f, i, Ct, C0, lo=1, hi=0, forward=False, gate=True, forget_C0=True):
    T = len(f)
    rows = []
    for s in range(T):
        factors = f[:s] if forward else f[s + lo:T - hi]
        rows.append(np.prod(factors, axis=0) * (i[s] if gate else 1) * Ct[s])
    return (np.prod(f[:T - hi], axis=0) * C0 if forget_C0 else C0), np.array(rows)


# --------------------------------------------------------------------------- silencing a unit

def _sig(a):
    return 1 / (1 + np.exp(-a))


def _forward(w, V, c, x, unit=None, when="before"):
    B, T, _ = x.shape
    H = w["b_f"].shape[0]
    h = np.zeros((B, H))
    C = np.zeros((B, H))
    for t in range(T):
        a = {g: x[:, t] @ w["W_x" + g].T + h @ w["W_h" + g].T + w["b_" + g] for g in "ifCo"}
        C = _sig(a["f"]) * C + _sig(a["i"]) * np.tanh(a["C"])
        zero = unit is not None and (when != "last" or t == T - 1)
        if zero and when in ("before", "last"):
            C[:, unit] = 0
        h = _sig(a["o"]) * np.tanh(C)
        if zero and when == "after":
            C[:, unit] = 0
    return h @ V.T + c


def _p_right(o, y):
    p = np.exp(o - o.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True))[np.arange(len(y)), y].mean()


def _ablate(w, V, c, x, y, when="before", sign=1, acc=False, pick=np.argmax):
    score = (lambda o: np.mean(o.argmax(1) == y)) if acc else (lambda o: _p_right(o, y))
    full = score(_forward(w, V, c, x))
    drop = np.array([sign * (full - score(_forward(w, V, c, x, j, when))) for j in range(len(w["b_f"]))])
    return drop, int(pick(drop))


SLIPS = [
    ("cell_from_gates", _cells_swapped, "swapped"),
    ("cell_from_gates", lambda f, i, Ct, C0: C0 + np.cumsum(i * Ct, 0), "forget gate is missing"),
    ("cell_from_gates", lambda f, i, Ct, C0: f * C0 + i * Ct, "starts again from C0"),
    ("memory_after", lambda f, s, t: np.prod(f[s:t + 1], axis=0), "f_s is included"),
    ("memory_after", lambda f, s, t: np.prod(f[s + 1:t], axis=0), "f_t is left out"),
    ("memory_after", lambda f, s, t: np.sum(f[s + 1:t + 1], axis=0), "added the gates"),
    ("step_contributions", lambda *a: _contrib(*a, lo=0), "f_s is included"),
    ("step_contributions", lambda *a: _contrib(*a, hi=1), "f_T is left out"),
    ("step_contributions", lambda *a: _contrib(*a, forward=True), "before* step s"),
    ("step_contributions", lambda *a: _contrib(*a, gate=False), "input gate is missing"),
    ("step_contributions", lambda *a: _contrib(*a, forget_C0=False), "C_0 is forgotten too"),
    ("unit_ablation", lambda *a: _ablate(*a, when="after"), "after computing h_t"),
    ("unit_ablation", lambda *a: _ablate(*a, when="last"), "last step only"),
    ("unit_ablation", lambda *a: _ablate(*a, sign=-1), "subtracted the other way"),
    ("unit_ablation", lambda *a: _ablate(*a, acc=True), "measured the accuracy"),
    ("unit_ablation", lambda *a: _ablate(*a, pick=np.argmin), "contradicts your own measurement"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
@pytest.mark.parametrize("hidden", [False, True])
def test_slip_is_named(name, slip, hint, hidden):
    for seed in range(3):
        assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip, seed=seed, hidden=hidden))


def test_hand_written_answers_pass():
    assert ct.check_cell_from_gates(_cells)
    assert ct.check_step_contributions(lambda *a: _contrib(*a))
    assert ct.check_unit_ablation(lambda *a: _ablate(*a))


def test_the_contributions_add_up_to_the_last_cell():
    rng = np.random.default_rng(0)
    f, i, Ct, C0 = ct._gates_case(rng)
    from_C0, from_steps = ct.reference_step_contributions(f, i, Ct, C0)
    assert np.allclose(from_C0 + from_steps.sum(0), _cells(f, i, Ct, C0)[-1])


def test_silencing_the_cell_is_silencing_h():
    """Without peepholes a unit's cell reaches the rest of the network only through its h_t: zeroing
    C_t[j] before h_t and zeroing h_t[j] (keeping the cell) give the same scores."""
    rng = np.random.default_rng(1)
    w, V, c, x, y = ct._ablation_case(rng)
    B, T, _ = x.shape
    H = len(w["b_f"])
    h = np.zeros((B, H))
    C = np.zeros((B, H))
    for t in range(T):
        a = {g: x[:, t] @ w["W_x" + g].T + h @ w["W_h" + g].T + w["b_" + g] for g in "ifCo"}
        C = _sig(a["f"]) * C + _sig(a["i"]) * np.tanh(a["C"])
        h = _sig(a["o"]) * np.tanh(C)
        h[:, 0] = 0
    assert np.allclose(h @ V.T + c, _forward(w, V, c, x, 0))


def test_a_cell_from_cell_dynamics_is_refused():
    """companion.cell_dynamics.cell_step does one step of the update: an answer built on it is refused."""
    from companion import cell_dynamics

    def with_cell_step(f, i, Ct, C0):
        C, out = C0, []
        for t in range(len(f)):
            C = C + cell_dynamics.cell_step(f[t], i[t], Ct[t], C)
            out.append(C)
        return np.stack(out)

    fb = ct.check_cell_from_gates(with_cell_step, seed=0)
    assert not fb and "already does this exercise's job" in str(fb)
