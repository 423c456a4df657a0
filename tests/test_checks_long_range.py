"""The checks of chapter 09 (``companion.checks.long_range``): each named slip is recognised (wrong
answers written here by hand), the whole-cell Jacobian is what finite differences say, and every way
of letting something else differentiate is refused. What every check must do is in
tests/test_checks.py and tests/test_exercises.py."""
import numpy as np
import pytest

import companion
from companion import cells, tasks
from companion.checks import long_range as ct
from companion.gradcheck import numerical_grad

from check_helpers import hint_of

REFUSED = "already does this exercise's job"

# correct answers, from the registry; the slips below that change them are built on them
_jac = ct.CHECKS["check_jacobian_chain"].solution
_cell_jac = ct.CHECKS["check_lstm_cell_jacobian"].solution
_sweep = ct.CHECKS["check_forget_bias_sweep"].solution


def _jac_no_deriv(h, W):
    return np.linalg.matrix_power(W, len(h))


def _jac_left(h, W):
    J = np.eye(W.shape[0])
    for h_t in h:
        J = J @ np.diag(1 - h_t ** 2) @ W
    return J


def _C_T(x, h0, C, w, j):
    """C_T[j] as a function of C (the initial cell, changed in place by numerical_grad)."""
    return lambda: _forward(x, h0, C, w)[-1].C_t[j]


def _forward(x, h0, C0, w):
    h, C, steps = h0, C0, []
    for x_t in x:
        s = cells.lstm_step(x_t, h, C, w)
        steps.append(s)
        h, C = s.h_t, s.C_t
    return steps


def _direct_path(x, h0, C0, w):
    return np.diag(np.prod([s.f_t for s in _forward(x, h0, C0, w)], axis=0))


def _cell_only(x, h0, C0, w):
    """A chain of C alone: dC_t/dC_{t-1} = diag(f_t) + dC_t/dh_{t-1} diag(o_{t-1} tanh'(C_{t-1})),
    with o_{t-1} held fixed."""
    J, C, o_prev = np.eye(len(C0)), C0, None
    for s in _forward(x, h0, C0, w):
        f, i, g = s.f_t, s.i_t, s.C_tilde_t
        step = np.diag(f)
        if o_prev is not None:
            dC_dh = (np.diag(C * f * (1 - f)) @ w["W_hf"] + np.diag(g * i * (1 - i)) @ w["W_hi"]
                     + np.diag(i * (1 - g ** 2)) @ w["W_hC"])
            step = step + dC_dh @ np.diag(o_prev * (1 - np.tanh(C) ** 2))
        J, C, o_prev = step @ J, s.C_t, s.o_t
    return J


def _both_states(x, h0, C0, w, order="right", block="C"):
    """The 2H x 2H chain of (h_t, C_t), with a slip: the product in the wrong order, or the block
    d h_T / d C_0 returned."""
    H = len(C0)
    J, C = np.eye(2 * H), C0
    for s in _forward(x, h0, C0, w):
        f, i, g, o, th = s.f_t, s.i_t, s.C_tilde_t, s.o_t, np.tanh(s.C_t)
        dC_dh = (np.diag(C * f * (1 - f)) @ w["W_hf"] + np.diag(g * i * (1 - i)) @ w["W_hi"]
                 + np.diag(i * (1 - g ** 2)) @ w["W_hC"])
        dh_dh = np.diag(o * (1 - th ** 2)) @ dC_dh + np.diag(th * o * (1 - o)) @ w["W_ho"]
        step = np.block([[dh_dh, np.diag(o * (1 - th ** 2) * f)], [dC_dh, np.diag(f)]])
        J = step @ J if order == "right" else J @ step
        C = s.C_t
    return J[H:, H:] if block == "C" else J[:H, H:]


def _sweep_at_last(layer, x, b_fs, threshold):
    return _sweep(layer, x, b_fs, threshold, last=True)


def _sweep_by_hand(layer, x, b_fs, threshold, *, block=1, zero_hh=True, reduce=np.mean, slope_of_h=False):
    """The sweep with one slip: another gate's bias, bias_hh's f block left as drawn, the norms
    summed, or the slope of h_T."""
    H, grads, slopes = layer.hidden_size, [], []
    for b_f in b_fs:
        layer.params["bias_ih_l0"][block * H:(block + 1) * H] = b_f
        if zero_hh:
            layer.params["bias_hh_l0"][block * H:(block + 1) * H] = 0.0
        out, (_, c_n) = layer(x)
        d = np.zeros_like(out)
        d[:, -1] = 1.0
        dx, _ = layer.backward(d)
        grads.append(reduce(np.linalg.norm(dx[:, 0], axis=-1)))
        slopes.append(np.mean(1 - out[:, -1] ** 2) if slope_of_h else np.mean(1 - np.tanh(c_n) ** 2))
    grads = np.array(grads)
    return grads, np.array(slopes), float(b_fs[np.argmax(grads >= threshold)])


def _sweep_best(layer, x, b_fs, threshold):
    grads, slopes, _ = _sweep(layer, x, b_fs, threshold)
    return grads, slopes, float(b_fs[np.argmax(grads)])   # the largest gradient, not the smallest b_f


SLIPS = [
    ("jacobian_chain", _jac_no_deriv, "tanh derivative"),
    ("jacobian_chain", _jac_left, "wrong order"),
    ("jacobian_chain", lambda h, W: _jac(h, W.T), "transposed"),
    ("lstm_cell_jacobian", _direct_path, "only the direct path"),
    ("lstm_cell_jacobian", _cell_only, "through o_t as well"),
    ("lstm_cell_jacobian", lambda x, h0, C0, w: _both_states(x, h0, C0, w, order="left"), "wrong order"),
    ("lstm_cell_jacobian", lambda x, h0, C0, w: _both_states(x, h0, C0, w, block="h"), "d h_T / d C_0"),
    ("forget_bias_sweep", _sweep_at_last, "last input"),
    ("forget_bias_sweep", lambda *a: _sweep_by_hand(*a, block=0), "second block"),
    ("forget_bias_sweep", lambda *a: _sweep_by_hand(*a, zero_hh=False), "bias_ih + bias_hh"),
    ("forget_bias_sweep", lambda *a: _sweep_by_hand(*a, reduce=np.sum), "their mean"),
    ("forget_bias_sweep", lambda *a: _sweep_by_hand(*a, slope_of_h=True), "not 1 - h_T^2"),
    ("forget_bias_sweep", _sweep_best, "does not follow"),
]


@pytest.mark.parametrize("name, slip, hint", SLIPS, ids=[f"{n}-{h}" for n, _, h in SLIPS])
def test_slip_is_named(name, slip, hint):
    assert hint in hint_of(ct.CHECKS[f"check_{name}"](slip))


def test_hand_written_answers_pass():
    assert ct.check_jacobian_chain(_jac)
    assert ct.check_lstm_cell_jacobian(_cell_jac, hidden=True)
    assert ct.check_forget_bias_sweep(_sweep, hidden=True)


def test_the_whole_cell_jacobian_is_what_finite_differences_say():
    """The check's answer is d C_T / d C_0 itself: central differences of the forward pass agree."""
    rng = np.random.default_rng(5)
    for T, D, H in ((1, 2, 3), (4, 3, 2), (7, 2, 4)):
        w = cells.random_weights("lstm", D, H, rng, scale=0.7, distribution="normal")
        x, h0, C0 = rng.normal(0, 1, (T, D)), rng.normal(0, 0.5, H), rng.normal(0, 1, H)
        J = ct.reference_lstm_cell_jacobian(x, h0, C0, w)
        for j in range(H):
            C = C0.copy()
            num = numerical_grad(_C_T(x, h0, C, w, j), C)
            np.testing.assert_allclose(J[j], num, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(J, _cell_jac(x, h0, C0, w), rtol=1e-12, atol=1e-15)
    # one step: only the direct path, diag(f_1) (h_0 is given, not a function of C_0)
    np.testing.assert_allclose(ct.reference_lstm_cell_jacobian(x[:1], h0, C0, w),
                               np.diag(_forward(x[:1], h0, C0, w)[0].f_t), rtol=1e-12)


def test_the_sweep_measures_what_the_chapter_measures():
    """With b_f = 4 and b_i left as drawn the sweep's measurement at the symbol is the chapter's
    input_gradients on that layer, the mean over the batch of ||d(sum_j h_T[j]) / d x_1||, and its
    slope the chapter's gate_summary's tanh'(C_T)."""
    layer = companion.LSTM(9, 5, batch_first=True, seed=3)
    x = np.eye(9)[tasks.recall_task(6, 15, seed=3).x]
    grads, slopes, smallest = ct.reference_forget_bias_sweep(layer, x, np.array([0.0, 4.0]), 0.0)
    assert smallest == 0.0 and grads[1] > 1e3 * grads[0] and slopes[1] < slopes[0]
    H = 5
    layer.params["bias_ih_l0"][H:2 * H], layer.params["bias_hh_l0"][H:2 * H] = 4.0, 0.0
    out, _ = layer(x)
    d = np.zeros_like(out)
    d[:, -1] = 1.0
    dx, _ = layer.backward(d)
    assert np.isclose(grads[1], np.linalg.norm(dx[:, 0], axis=-1).mean(), rtol=1e-12)
    C_T = layer.traces["l0"]["C"][:, -1]
    assert np.isclose(slopes[1], (1 - np.tanh(C_T) ** 2).mean(), rtol=1e-12)


# --------------------------------------------------------------------------- what is refused

def _numerical(x, h0, C0, w):
    rows = []
    for j in range(len(C0)):
        C = C0.copy()
        rows.append(numerical_grad(_C_T(x, h0, C, w, j), C))
    return np.array(rows)


def _step_backward(x, h0, C0, w):
    H, h, C, saved = len(C0), h0, C0, []
    for x_t in x:
        s = cells.lstm_step(x_t, h, C, w)
        saved.append((x_t, h, C, s))
        h, C = s.h_t, s.C_t
    rows = []
    for j in range(H):
        dh, dC = np.zeros(H), np.eye(H)[j]
        for x_t, hp, Cp, s in reversed(saved):
            g = companion.lstm_step_backward(dh, dC, x_t, hp, Cp, s, w)
            dh, dC = g["dh_prev"], g["dC_prev"]
        rows.append(dC)
    return np.array(rows)


def _layer_bptt(x, h0, C0, w):
    D, H = x.shape[1], len(C0)
    layer = companion.LSTM(D, H)
    for k, g in enumerate("ifCo"):            # torch's blocks i, f, g, o
        layer.params["weight_ih_l0"][k * H:(k + 1) * H] = w[f"W_x{g}"]
        layer.params["weight_hh_l0"][k * H:(k + 1) * H] = w[f"W_h{g}"]
        layer.params["bias_ih_l0"][k * H:(k + 1) * H] = w[f"b_{g}"]
        layer.params["bias_hh_l0"][k * H:(k + 1) * H] = 0.0
    rows = []
    for j in range(H):
        layer(x, (h0[None], C0[None]))
        _, (_, dC0) = layer.backward(None, (np.zeros((1, H)), np.eye(H)[j][None]))
        rows.append(dC0[0])
    return np.array(rows)


@pytest.mark.parametrize("answer", [_numerical, _step_backward, _layer_bptt])
def test_letting_companion_differentiate_is_refused(answer):
    fb = ct.check_lstm_cell_jacobian(answer, seed=0)
    assert not fb and REFUSED in str(fb), str(fb)
    assert ct.check_lstm_cell_jacobian(_cell_jac, seed=0)      # nothing is left swapped out


def _torch_answers(torch):
    def C_T(x, h0, w):
        W = {k: torch.from_numpy(v) for k, v in w.items()}

        def f(C):
            h = torch.from_numpy(h0)
            for x_t in torch.from_numpy(x):
                pre = {g: W[f"W_x{g}"] @ x_t + W[f"W_h{g}"] @ h + W[f"b_{g}"] for g in "fiCo"}
                C = torch.sigmoid(pre["f"]) * C + torch.sigmoid(pre["i"]) * torch.tanh(pre["C"])
                h = torch.sigmoid(pre["o"]) * torch.tanh(C)
            return C
        return f

    def functional(x, h0, C0, w):
        return torch.autograd.functional.jacobian(C_T(x, h0, w), torch.from_numpy(C0)).numpy()

    def jacrev(x, h0, C0, w):
        return torch.func.jacrev(C_T(x, h0, w))(torch.from_numpy(C0)).numpy()

    def jacfwd(x, h0, C0, w):
        return torch.func.jacfwd(C_T(x, h0, w))(torch.from_numpy(C0)).numpy()

    def backward(x, h0, C0, w):
        rows = []
        for j in range(len(C0)):
            C = torch.from_numpy(C0.copy()).requires_grad_()
            C_T(x, h0, w)(C)[j].backward()
            rows.append(C.grad.numpy().copy())
        return np.array(rows)

    return functional, jacrev, jacfwd, backward


def test_letting_torch_differentiate_is_refused():
    torch = pytest.importorskip("torch")
    functional = _torch_answers(torch)[0]
    rng = np.random.default_rng(0)
    w = cells.random_weights("lstm", 2, 3, rng, scale=0.7, distribution="normal")
    args = (rng.normal(0, 1, (4, 2)), rng.normal(0, 0.5, 3), rng.normal(0, 1, 3), w)
    np.testing.assert_allclose(functional(*args), ct.reference_lstm_cell_jacobian(*args), rtol=1e-10)
    for answer in _torch_answers(torch):                      # each would pass if it were allowed
        fb = ct.check_lstm_cell_jacobian(answer, seed=0)
        assert not fb and REFUSED in str(fb) and "torch.autograd" in str(fb), (answer.__name__, str(fb))
    assert ct.check_lstm_cell_jacobian(_cell_jac, seed=0)
